//! `ssv-agent status`: each cluster of an owner with balance, burn rate, collateral, runway and the
//! block it would become liquidatable, as a table or (with `--json`) as JSON.

use std::{collections::BTreeSet, str::FromStr};

use alloy::primitives::Address;
use clap::Args;
use eyre::WrapErr;

use super::{
    GlobalOpts,
    opts::{ChainArgs, Mode, connect},
};
use crate::{
    beacon::client::BeaconClient,
    chain::{Chain, signer::load_signer},
    config::Config,
    journal::now_secs,
    ssv::status::{discover_clusters, lifecycle_flags, render_table, status, validator_rows},
};

/// Operator ids of one cluster as typed: `1,2,3,4`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorSet(pub Vec<u64>);

impl FromStr for OperatorSet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut ids = s
            .split(',')
            .map(|p| {
                p.trim()
                    .parse::<u64>()
                    .map_err(|_| format!("`{p}` in `{s}` is not an operator id"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        ids.dedup();
        if ![4, 7, 10, 13].contains(&ids.len()) {
            return Err(format!(
                "`{s}` names {} distinct operators; an SSV cluster has 4, 7, 10 or 13",
                ids.len()
            ));
        }
        Ok(Self(ids))
    }
}

/// `status` options.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Cluster owner (default: the configured signer's address).
    #[arg(long)]
    pub owner: Option<Address>,
    /// Only these clusters, by operator ids (repeat the flag for more), e.g. `--cluster 1,2,3,4`.
    /// Default: every cluster the owner has events for, plus `watch.clusters` of the config.
    #[arg(long = "cluster", value_name = "IDS")]
    pub clusters: Vec<OperatorSet>,
    /// Do not ask the beacon node for the validators' statuses.
    #[arg(long)]
    pub no_beacon: bool,
    /// Chain and signer.
    #[command(flatten)]
    pub chain: ChainArgs,
}

/// The owner from the flag, else from the configured signer; says what to do when neither is set.
pub fn owner_or_signer(owner: Option<Address>, config: &Config) -> eyre::Result<Address> {
    if let Some(o) = owner {
        return Ok(o);
    }
    load_signer(&config.signer, |k| std::env::var(k).ok())
        .map(|s| s.address())
        .wrap_err("no --owner given and the configured signer cannot be loaded; pass --owner 0x… or configure [signer]")
}

impl StatusArgs {
    /// Runs the command.
    pub async fn run(self, global: &GlobalOpts) -> eyre::Result<()> {
        let config = global.load_config_with(&self.chain)?;
        let owner = owner_or_signer(self.owner, &config)?;
        let chain = connect(&config, Mode::Read, None).await?.chain;
        let sets = cluster_sets(&chain, owner, self.clusters, &config.watch.clusters).await?;
        let rows = status(&chain, owner, &sets, now_secs())
            .await
            .wrap_err_with(|| format!("reading the clusters of {owner}"))?;
        let beacon = (!self.no_beacon)
            .then(|| BeaconClient::new(&config.beacon.url, std::time::Duration::from_secs(10)))
            .transpose()?;
        let head = rows.first().map(|r| r.block).unwrap_or(chain.head().await?);
        let (validators, beacon_note) = validator_rows(&chain, beacon.as_ref(), owner, head)
            .await
            .wrap_err_with(|| format!("reading the validators of {owner}"))?;
        let flags = lifecycle_flags(&validators);
        if global.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "owner": owner,
                    "network": chain.profile().name,
                    "clusters": rows,
                    "validators": validators,
                    "flags": flags,
                    "beacon_note": beacon_note,
                }))?
            );
        } else if rows.is_empty() {
            println!(
                "owner {owner} has no clusters on {} (no cluster events since block {})",
                chain.profile().name,
                chain.profile().registry_sync_offset
            );
        } else {
            println!(
                "owner {owner} on {} at block {}",
                chain.profile().name,
                rows[0].block
            );
            print!("{}", render_table(&rows));
            for v in &validators {
                println!(
                    "  {} {:?} {}{}{}",
                    v.ssv.pubkey,
                    v.ssv.operator_ids,
                    v.beacon_status
                        .as_deref()
                        .unwrap_or("not on the beacon chain"),
                    if v.ssv.removed {
                        ", removed from SSV"
                    } else {
                        ""
                    },
                    if v.ssv.exit_requested {
                        ", exit requested"
                    } else {
                        ""
                    },
                );
            }
            if let Some(n) = beacon_note {
                println!("note: {n}");
            }
            for f in &flags {
                println!("! {f}");
            }
        }
        Ok(())
    }
}

/// The clusters to report: those named, else (when the config names extra ones) every cluster of
/// the owner from events plus the config's; empty means every cluster of the owner.
async fn cluster_sets(
    chain: &Chain,
    owner: Address,
    named: Vec<OperatorSet>,
    extra: &[Vec<u64>],
) -> eyre::Result<Vec<Vec<u64>>> {
    if !named.is_empty() {
        return Ok(named.into_iter().map(|s| s.0).collect());
    }
    if extra.is_empty() {
        return Ok(Vec::new());
    }
    let head = chain.head().await?;
    let mut all: BTreeSet<Vec<u64>> = discover_clusters(chain, owner, head)
        .await
        .wrap_err_with(|| format!("finding the clusters of {owner} from events"))?
        .into_iter()
        .map(|k| k.operator_ids)
        .collect();
    all.extend(extra.iter().map(|ids| {
        let mut ids = ids.clone();
        ids.sort_unstable();
        ids
    }));
    Ok(all.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_sets_parse_and_refuse() {
        assert_eq!(
            "4,3,2,1".parse::<OperatorSet>().unwrap(),
            OperatorSet(vec![1, 2, 3, 4])
        );
        let e = "1,2,3".parse::<OperatorSet>().unwrap_err();
        assert!(e.contains("3 distinct operators"), "{e}");
        let e = "1,2,x,4".parse::<OperatorSet>().unwrap_err();
        assert!(e.contains("`x`"), "{e}");
    }
}
