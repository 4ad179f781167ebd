//! Every keyshares vector in ../shared/vectors/keyshares: valid ones pass all offline checks with the
//! values their README states, negative ones are rejected for the documented reason.

use std::path::PathBuf;

use ssv_agent::ssv::keyshares::{
    KeysharesError, KeysharesFile, Layout, Problem, check_nonce_sequence, shares_data_len, validate,
};

fn vector(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/vectors/keyshares")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "read {}: {e} (the shared vectors must sit in ../shared)",
            path.display()
        )
    })
}

fn problems(name: &str) -> Vec<Problem> {
    let file = KeysharesFile::parse(&vector(name)).expect("negative vectors still parse");
    match validate(&file) {
        Err(e @ KeysharesError::Rejected { .. }) => {
            e.problems().iter().map(|p| p.problem.clone()).collect()
        }
        other => panic!("{name} must be rejected, got {other:?}"),
    }
}

/// (file, version, operator ids, owner, first nonce, count)
type WrapperCase = (
    &'static str,
    &'static str,
    Vec<u64>,
    &'static str,
    u64,
    usize,
);

#[test]
fn valid_wrapper_files_pass_with_expected_cluster_and_nonces() {
    let cases: [WrapperCase; 4] = [
        (
            "01-sdk-valid-v1.1.0-4op-9val.json",
            "v1.1.0",
            vec![378, 379, 381, 382],
            "0x012f55B6Cc5D57F943F1E79cF00214B652513f88",
            833,
            9,
        ),
        (
            "08-dkg-v1.1.0-4op-1val.json",
            "v1.1.0",
            vec![11, 22, 33, 44],
            "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9",
            1,
            1,
        ),
        (
            "09-dkg-bulk-v1.2.0-10op-10val.json",
            "v1.2.0",
            (1..=10).map(|i| i * 11).collect(),
            "0xDCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9",
            1,
            10,
        ),
        (
            "10-dkg-v1.1.0-13op-3val.json",
            "v1.1.0",
            (60..=72).collect(),
            "0x5cC0DdE14E7256340CC820415a6022a7d1c93A35",
            2731,
            3,
        ),
    ];
    for (name, version, ids, owner, first_nonce, count) in cases {
        let file = KeysharesFile::parse(&vector(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(file.layout, Layout::Wrapper, "{name}");
        assert_eq!(file.version.as_deref(), Some(version), "{name}");
        let v = validate(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v.operator_ids, ids, "{name}");
        assert_eq!(v.owner.to_checksum(None), owner, "{name}");
        assert_eq!(v.shares.len(), count, "{name}");
        assert_eq!(
            v.operators.iter().map(|o| o.id).collect::<Vec<_>>(),
            ids,
            "{name}"
        );
        for (i, s) in v.shares.iter().enumerate() {
            assert_eq!(
                s.owner_nonce,
                first_nonce + i as u64,
                "{name} sorted by nonce"
            );
            assert_eq!(s.shares_data.len(), shares_data_len(ids.len()), "{name}");
        }
        check_nonce_sequence(&v, first_nonce).unwrap_or_else(|e| panic!("{name}: {e}"));
        let err = check_nonce_sequence(&v, first_nonce + 1)
            .expect_err("off-by-one chain nonce must fail");
        assert_eq!(
            (err.file_nonce, err.expected),
            (first_nonce, first_nonce + 1)
        );
        assert!(err.to_string().contains("rerun the ceremony"), "{err}");
    }
}

#[test]
fn multi_shares_lowercase_owner_and_legacy_and_bare_layouts() {
    let cases = [
        (
            "02-sdk-multi-shares-v1.2.0-4op-1val.json",
            Layout::Wrapper,
            vec![123, 456, 777, 789],
        ),
        (
            "03-sdk-legacy-single-item-layout.json",
            Layout::LegacySingleItem,
            vec![5, 6, 7, 8],
        ),
        (
            "04-sdk-bare-item-no-wrapper.json",
            Layout::BareItem,
            vec![5, 6, 7, 8],
        ),
    ];
    for (name, layout, ids) in cases {
        let file = KeysharesFile::parse(&vector(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(file.layout, layout, "{name}");
        let v = validate(&file).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(v.operator_ids, ids, "{name}");
        // Lower-case in the file; the signature is over the EIP-55 form.
        assert_eq!(
            v.owner.to_checksum(None).to_lowercase(),
            "0x81592c3de184a3e2c0dcb5a261bc107bfa91f494"
        );
        assert_eq!(v.shares[0].owner_nonce, 1);
    }
}

#[test]
fn negative_05_inconsistent_operator_ids_and_duplicate_validator() {
    let p = problems("05-sdk-NEG-inconsistent-operator-ids.json");
    assert!(
        p.iter().any(
            |p| matches!(p, Problem::InconsistentOperatorIds { expected, got }
            if expected == &vec![220, 221, 223, 224] && got == &vec![219, 221, 223, 224])
        ),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| matches!(p, Problem::DuplicateValidator { first_share: 0, .. })),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| matches!(p, Problem::DuplicateNonce { nonce: 894, .. })),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| matches!(p, Problem::SharesDoNotInterpolate { .. })),
        "{p:?}"
    );
}

#[test]
fn negative_06_corrupted_operator_key() {
    let p = problems("06-sdk-NEG-invalid-operator-key.json");
    assert!(
        matches!(p.as_slice(), [Problem::BadOperatorKey { id: 223, .. }]),
        "{p:?}"
    );
}

#[test]
fn negative_07_odd_hex_shares_and_truncated_key() {
    let p = problems("07-sdk-NEG-invalid-shares-data.json");
    assert!(
        p.iter().any(|p| matches!(
            p,
            Problem::BadHex {
                field: "payload.sharesData",
                ..
            }
        )),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| matches!(p, Problem::BadOperatorKey { id: 224, .. })),
        "{p:?}"
    );
}

/// Mutations of a valid file, each caught by exactly the check meant for it.
#[test]
fn mutations_of_a_valid_file_are_rejected() {
    let base: serde_json::Value =
        serde_json::from_str(&vector("08-dkg-v1.1.0-4op-1val.json")).unwrap();
    let check =
        |mutate: &dyn Fn(&mut serde_json::Value), want: &dyn Fn(&Problem) -> bool, what: &str| {
            let mut v = base.clone();
            mutate(&mut v);
            let file = KeysharesFile::parse(&v.to_string()).unwrap();
            let err = validate(&file).expect_err(what);
            assert!(
                err.problems().iter().any(|p| want(&p.problem)),
                "{what}: {err}"
            );
        };
    check(
        &|v| v["shares"][0]["data"]["ownerNonce"] = 2.into(),
        &|p| matches!(p, Problem::BadOwnerSignature { nonce: 2, .. }),
        "wrong nonce",
    );
    check(
        &|v| {
            v["shares"][0]["data"]["ownerAddress"] =
                "0x5cC0DdE14E7256340CC820415a6022a7d1c93A35".into();
        },
        &|p| matches!(p, Problem::BadOwnerSignature { .. }),
        "other owner",
    );
    check(
        &|v| {
            v["shares"][0]["data"]["ownerAddress"] =
                "0xdCc846fA10C7CfCE9e6Eb37e06eD93b666cFC5E9".into();
        },
        &|p| matches!(p, Problem::BadOwnerAddress { .. }),
        "bad checksum",
    );
    check(
        &|v| {
            let s = v["shares"][0]["payload"]["sharesData"]
                .as_str()
                .unwrap()
                .to_string();
            v["shares"][0]["payload"]["sharesData"] = format!("{}00", s).into();
        },
        &|p| {
            matches!(
                p,
                Problem::SharesDataLength {
                    expected: 1312,
                    got: 1313,
                    ..
                }
            )
        },
        "one byte too many",
    );
    check(
        &|v| {
            // Swap two share public keys: every share is still valid G1, but at the wrong x.
            let s = v["shares"][0]["payload"]["sharesData"]
                .as_str()
                .unwrap()
                .to_string();
            let (a, b) = (2 + 192, 2 + 192 + 96);
            let swapped = format!("{}{}{}{}", &s[..a], &s[b..b + 96], &s[a..b], &s[b + 96..]);
            v["shares"][0]["payload"]["sharesData"] = swapped.into();
        },
        &|p| matches!(p, Problem::SharesDoNotInterpolate { .. }),
        "swapped shares",
    );
    check(
        &|v| v["shares"][0]["payload"]["operatorIds"] = serde_json::json!([22, 11, 33, 44]),
        &|p| matches!(p, Problem::UnsortedOperatorIds { .. }),
        "unsorted ids",
    );
    check(
        &|v| {
            let ops = v["shares"][0]["data"]["operators"].as_array_mut().unwrap();
            let key = ops[0]["operatorKey"].clone();
            ops[1]["operatorKey"] = key;
        },
        &|p| {
            matches!(
                p,
                Problem::DuplicateOperatorKey {
                    first: 11,
                    second: 22
                }
            )
        },
        "duplicate key",
    );
    check(
        &|v| v["shares"][0]["data"]["operators"][0]["id"] = 12.into(),
        &|p| matches!(p, Problem::OperatorIdsMismatch { .. }),
        "data/payload ids",
    );
    check(
        &|v| {
            let pk = v["shares"][0]["payload"]["publicKey"]
                .as_str()
                .unwrap()
                .replacen("0xb9", "0xb8", 1);
            v["shares"][0]["payload"]["publicKey"] = pk.into();
        },
        &|p| matches!(p, Problem::PublicKeyMismatch { .. }),
        "payload key differs",
    );
}

#[test]
fn unsupported_versions_and_layouts_are_refused() {
    let mut v: serde_json::Value =
        serde_json::from_str(&vector("08-dkg-v1.1.0-4op-1val.json")).unwrap();
    v["version"] = "v4".into();
    assert!(
        matches!(KeysharesFile::parse(&v.to_string()), Err(KeysharesError::UnsupportedVersion(s)) if s == "v4")
    );
    v["shares"] = serde_json::json!([]);
    v["version"] = "v1.1.0".into();
    assert!(matches!(
        KeysharesFile::parse(&v.to_string()),
        Err(KeysharesError::NoShares)
    ));
    assert!(matches!(
        KeysharesFile::parse("{\"version\":\"v1.1.0\"}"),
        Err(KeysharesError::UnknownLayout)
    ));
    assert!(matches!(
        KeysharesFile::parse("not json"),
        Err(KeysharesError::Json(_))
    ));
}
