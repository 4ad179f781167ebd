//! The exit double's signature against an independent signer: a validator key split into Shamir
//! shares at x = operator ids, each share signing the `VoluntaryExit` under our domain, any
//! threshold subset Lagrange-combined, must be byte for byte what ethstaker-deposit 1.3.1 signs
//! with the whole key (`tests/py/check_exit.py`: its own SSZ, domain and py_ecc BLS).

use std::{path::PathBuf, process::Command};

use ssv_agent::{
    beacon::{
        types::Fork,
        voluntary_exit::{ExitForks, SignedVoluntaryExitJson, VoluntaryExit},
    },
    crypto::bls::{self, Dst, Scalar},
    devnet::exit_double::threshold::{combine_verified, threshold},
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("SSV_AGENT_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = repo().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "independent exit signer missing: run scripts/install-py-checkers.sh (installs \
         ethstaker-deposit==1.3.1 into .venv), or set SSV_AGENT_PYTHON to a python with it"
    );
    venv
}

fn ethstaker_exit(
    secret: &Scalar,
    exit: &VoluntaryExit,
    fork: [u8; 4],
    gvr: [u8; 32],
) -> serde_json::Value {
    let out = Command::new(python())
        .arg(repo().join("tests/py/check_exit.py"))
        .arg(hex::encode(secret.to_be_bytes()))
        .arg(exit.validator_index.to_string())
        .arg(exit.epoch.to_string())
        .arg(hex::encode(fork))
        .arg(hex::encode(gvr))
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "check_exit.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("checker prints JSON")
}

#[test]
fn threshold_exit_signature_equals_ethstaker_deposits_whole_key_signature() {
    // A phase0 devnet at Hoodi's genesis fork version, as the devnet's Lodestar runs.
    let fork_version = [0x10, 0x00, 0x09, 0x10];
    let gvr = [0x5a; 32];
    let forks = ExitForks {
        state_fork: Fork {
            previous_version: fork_version,
            current_version: fork_version,
            epoch: 0,
        },
        capella_version: Some([0x40, 0x00, 0x09, 0x10]),
        deneb_epoch: Some(u64::MAX),
    };
    let exit = VoluntaryExit {
        epoch: 17,
        validator_index: 9,
    };
    let domain = forks.domain(exit.epoch, exit.epoch, gvr);
    let root = exit.signing_root(domain);

    let ids = [2u64, 5, 7, 11];
    let t = threshold(ids.len());
    let coeffs: Vec<Scalar> = (0..t).map(|_| Scalar::random().unwrap()).collect();
    let secret = coeffs[0].clone();
    let pubkey = bls::public_key(&secret.to_secret_key().unwrap());
    let partials: Vec<(u64, [u8; 96])> = ids
        .iter()
        .map(|&id| {
            let x = Scalar::from_u64(id);
            let share = coeffs
                .iter()
                .rev()
                .fold(Scalar::zero(), |acc, c| acc.mul(&x).add(c));
            (
                id,
                bls::sign(&share.to_secret_key().unwrap(), &root, Dst::Pop),
            )
        })
        .collect();

    let theirs = ethstaker_exit(&secret, &exit, fork_version, gvr);
    assert_eq!(
        theirs["domain"],
        format!("0x{}", hex::encode(domain)),
        "domain"
    );
    for (skip, left_out) in ids.iter().enumerate() {
        let subset: Vec<_> = partials
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, p)| *p)
            .collect();
        let sig = combine_verified(&subset, t, &pubkey, &root).unwrap();
        let ours = serde_json::to_value(SignedVoluntaryExitJson::new(&exit, &sig)).unwrap();
        assert_eq!(
            ours["signature"], theirs["signature"],
            "without operator {left_out}"
        );
        assert_eq!(ours["message"], theirs["message"]);
    }
}
