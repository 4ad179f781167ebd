//! `change-operators`' reshare step run by the agent itself: [`DkgReshare`] puts the
//! [`ReshareCeremony`] seam on `dkg::reshare`, with the operators' keys from the chain (the keys
//! the ping already checked they serve) and the owner's signature from the configured signer.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use futures::future::BoxFuture;

use super::change_operators::{CeremonyError, ReshareCeremony, ReshareJob};
use crate::{
    chain::Chain,
    crypto::rsa_keys::OperatorPublicKey,
    dkg::{
        initiator::{ClientTls, Initiator, OperatorInfo},
        owner_sig::OwnerSignature,
        reshare::{ReshareRequest, reshare},
        resign::{ChangeParams, parse_proofs},
    },
};

/// Why the agent's own reshare could not start.
#[derive(Debug, thiserror::Error)]
pub enum ReshareSetupError {
    /// No old `proofs.json` was given: the old operators prove their shares with it.
    #[error(
        "the reshare ceremony needs the old ceremony's proofs.json (--proofs), which the old operators' shares are checked against"
    )]
    NoProofs,
    /// The proofs file could not be read.
    #[error("cannot read {path}")]
    ReadProofs {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// No withdrawal address configured for the new deposit data.
    #[error(
        "validators.withdrawal_address is not set: the reshared deposit data keeps the validator's withdrawal credentials"
    )]
    NoWithdrawalAddress,
    /// No owner key to sign the reshare message with.
    #[error(
        "no owner key to sign the reshare message: configure the signer, or make the keyshares with `ssv-dkg reshare` (e.g. signed by a Safe) and pass --keyshares"
    )]
    NoSigner,
    /// An operator without a registered key or endpoint.
    #[error("operator {id}: {why}")]
    Operator {
        /// The operator.
        id: u64,
        /// What is missing.
        why: String,
    },
    /// The ceremony did not give one output for this validator.
    #[error("the reshare ceremony gave {0} outputs for one validator")]
    Outputs(usize),
}

/// The reshare ceremony through the agent's initiator.
#[derive(Debug)]
pub struct DkgReshare {
    /// Reads the operators' registered keys.
    pub chain: Chain,
    /// Operator TLS trust.
    pub tls: ClientTls,
    /// The execution address of the validator's withdrawal credentials (the config's).
    pub withdraw_address: Option<Address>,
    /// Credentials, amount and network of the new deposit data (the validator's own); owner,
    /// nonce and withdrawal address are the job's and the field above.
    pub params: ChangeParams,
    /// The owner's signature source; `None` when no key is configured (a dry run needs none).
    pub signature: Option<OwnerSignature>,
}

impl DkgReshare {
    async fn operators(
        &self,
        ids: &[u64],
        job: &ReshareJob,
    ) -> Result<Vec<OperatorInfo>, CeremonyError> {
        let keys = self.chain.operator_public_keys(ids).await?;
        let mut out = Vec::with_capacity(ids.len());
        for (id, key) in ids.iter().zip(keys) {
            let err = |why: &str| ReshareSetupError::Operator {
                id: *id,
                why: why.to_string(),
            };
            let key = key.ok_or_else(|| err("no key registered on chain"))?;
            let key = OperatorPublicKey::from_base64_pem(&key)
                .map_err(|_| err("its registered key is not an RSA key"))?;
            let url = job
                .endpoints
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, u)| u.clone())
                .ok_or_else(|| err("no DKG endpoint"))?;
            out.push(OperatorInfo { id: *id, key, url });
        }
        Ok(out)
    }

    async fn run(&self, job: &ReshareJob, out_dir: &Path) -> Result<PathBuf, CeremonyError> {
        let path = job.proofs.as_ref().ok_or(ReshareSetupError::NoProofs)?;
        let text =
            std::fs::read_to_string(path).map_err(|source| ReshareSetupError::ReadProofs {
                path: path.clone(),
                source,
            })?;
        // A bulk run's proofs hold every validator of that ceremony: keep this one's.
        let proofs: Vec<_> = parse_proofs(&text)?
            .into_iter()
            .filter(|p| {
                p.first()
                    .is_some_and(|s| s.proof.validator == job.validator_pubkey)
            })
            .collect();
        let signature = self.signature.clone().ok_or(ReshareSetupError::NoSigner)?;
        let old = self.operators(&job.old_operator_ids, job).await?;
        let new = self.operators(&job.new_operator_ids, job).await?;
        let initiator = Initiator::new(old.clone(), &self.tls)?;
        let params = ChangeParams {
            owner: job.owner,
            nonce: job.nonce,
            withdraw_address: self
                .withdraw_address
                .ok_or(ReshareSetupError::NoWithdrawalAddress)?,
            ..self.params.clone()
        };
        let outs = reshare(
            &initiator,
            ReshareRequest {
                proofs,
                old_operators: old,
                new_operators: new,
                params,
                signature,
            },
            out_dir,
        )
        .await?;
        match outs.as_slice() {
            [one] => Ok(one.keyshares.clone()),
            _ => Err(Box::new(ReshareSetupError::Outputs(outs.len()))),
        }
    }
}

impl ReshareCeremony for DkgReshare {
    fn reshare<'a>(
        &'a self,
        job: &'a ReshareJob,
        out_dir: &'a Path,
    ) -> BoxFuture<'a, Result<PathBuf, CeremonyError>> {
        Box::pin(self.run(job, out_dir))
    }
}
