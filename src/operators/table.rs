//! The terminal output of `ssv-agent operators`: the listing, the health check and the cost, as
//! plain aligned text (the `--json` forms serialise the same structures).

use alloy::primitives::{Address, U256};

use super::{
    candidates::Candidate,
    cost::{ClusterCost, RunCost},
    health::Health,
};
use crate::{
    ssv::fees::{Billing, fee_per_year},
    ui::fmt_eth,
};

/// Cuts `s` to `n` characters (with an ellipsis) for a column.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The listing: one row per operator, fees per year from the chain (marked `*` where the API
/// says otherwise, with a footnote giving both).
pub fn render_list(cands: &[Candidate], blocks_per_day: u64) -> String {
    let mut s = format!(
        "{:>5}  {:<22} {:<8} {:<4} {:>10} {:>10} {:>6} {:>5}  {:<20} {}\n",
        "id", "name", "verified", "dkg", "ETH/yr", "SSV/yr", "30d%", "vals", "access", "mev relays"
    );
    let mut notes = Vec::new();
    for c in cands {
        let diffs = c.fee_differences();
        let mark = if diffs.is_empty() { " " } else { "*" };
        let eth = c.chain.eth_fee.map_or("-".to_string(), |f| {
            fmt_eth(fee_per_year(f, blocks_per_day))
        });
        s.push_str(&format!(
            "{:>5}  {:<22} {:<8} {:<4} {:>10}{mark}{:>10} {:>6.2} {:>5}  {:<20} {}\n",
            c.id(),
            clip(&c.api.name, 22),
            yes(c.api.verified),
            yes(c.api.dkg_address.is_some()),
            eth,
            fmt_eth(fee_per_year(c.chain.ssv_fee, blocks_per_day)),
            c.api.performance_30d,
            c.chain.validators,
            c.access.label(),
            clip(&c.api.mev_relays.join(", "), 40),
        ));
        for d in diffs {
            notes.push(format!(
                "* operator {}: the SSV API says {} {} a year, the chain {} (the chain's is shown and used)",
                c.id(),
                fmt_eth(fee_per_year(d.api, blocks_per_day)),
                d.currency,
                fmt_eth(fee_per_year(d.chain, blocks_per_day)),
            ));
        }
    }
    for n in notes {
        s.push_str(&n);
        s.push('\n');
    }
    s
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".into(), ToString::to_string)
}

fn flag(v: Option<bool>, yes_word: &str, no_word: &str) -> String {
    match v {
        None => "-".into(),
        Some(true) => yes_word.into(),
        Some(false) => no_word.into(),
    }
}

/// The health check: one row per operator, then each problem and note in words.
pub fn render_health(rows: &[(Health, String)]) -> String {
    let mut s = format!(
        "{:>5}  {:<22} {:<30} {:<5} {:<6} {:<9} {:<6} {:<7} {:<6} {:<5} {:>7}  {}\n",
        "id",
        "name",
        "endpoint",
        "tcp",
        "signed",
        "version",
        "speaks",
        "answers",
        "key",
        "eth",
        "rtt",
        "verdict"
    );
    let mut lines = Vec::new();
    // One line per distinct note, naming every operator it applies to.
    let mut notes: Vec<(String, Vec<u64>)> = Vec::new();
    for (h, name) in rows {
        s.push_str(&format!(
            "{:>5}  {:<22} {:<30} {:<5} {:<6} {:<9} {:<6} {:<7} {:<6} {:<5} {:>7}  {}\n",
            h.id,
            clip(name, 22),
            clip(h.endpoint.as_deref().unwrap_or("-"), 30),
            flag(h.reachable, "ok", "FAIL"),
            if h.answered { "yes" } else { "-" },
            clip(&opt(&h.version), 9),
            flag(h.speaks_version, "yes", "NO"),
            h.claimed_id.map_or("-".into(), |c| if c == h.id {
                format!("{c}")
            } else {
                format!("{c}!")
            }),
            flag(h.key_matches_chain, "chain", "OTHER"),
            flag(h.eth_client_connected, "yes", "no"),
            h.rtt_ms.map_or("-".into(), |r| format!("{r} ms")),
            if h.healthy() { "healthy" } else { "UNHEALTHY" },
        ));
        for p in &h.problems {
            lines.push(format!("operator {} ({}) {}", h.id, name, p.explain()));
        }
        for n in &h.notes {
            match notes.iter_mut().find(|(t, _)| t == n) {
                Some((_, ids)) => ids.push(h.id),
                None => notes.push((n.clone(), vec![h.id])),
            }
        }
    }
    for l in lines {
        s.push_str(&l);
        s.push('\n');
    }
    for (n, ids) in notes {
        let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
        s.push_str(&format!("note: operator(s) {}: {n}\n", ids.join(", ")));
    }
    s
}

/// The cost of a cluster and what the wallet must hold for the run.
pub fn render_cost(
    c: &ClusterCost,
    run: &RunCost,
    owner: Address,
    wallet: Option<U256>,
    blocks_per_day: u64,
) -> String {
    let unit = match c.billing {
        Billing::Eth => "ETH",
        Billing::Ssv => "SSV",
    };
    let ids = c
        .operator_ids
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let fees = c
        .operator_fees
        .iter()
        .map(|(id, f)| format!("{id}: {}", fmt_eth(fee_per_year(*f, blocks_per_day))))
        .collect::<Vec<_>>()
        .join(", ");
    let f = &c.funding;
    let runway_part = f.target_balance.saturating_sub(f.collateral_after);
    let mut s = format!(
        "cluster {ids} of {owner}: {}, billed in {unit} ({blocks_per_day} blocks a day)\n",
        if c.exists {
            format!("exists, balance {} {unit}", fmt_eth(c.balance))
        } else {
            "new".into()
        }
    );
    let mut line = |k: &str, v: String| s.push_str(&format!("  {k:<44} {v}\n"));
    line(
        "operator fees, per validator and year",
        format!("{fees} {unit}"),
    );
    line(
        "network fee, per validator and year",
        format!(
            "{} {unit}",
            fmt_eth(fee_per_year(c.network_fee, blocks_per_day))
        ),
    );
    line(
        "all fees, per validator and year",
        format!("{} {unit}", fmt_eth(c.yearly_per_validator)),
    );
    line(
        &format!(
            "the cluster with {} validator(s), per year",
            f.load_after.validator_count
        ),
        format!("{} {unit}", fmt_eth(c.yearly_cluster)),
    );
    line(
        &format!("funding for {} days of runway", c.runway_days),
        format!(
            "{} + liquidation collateral {} = {} {unit}",
            fmt_eth(runway_part),
            fmt_eth(f.collateral_after),
            fmt_eth(f.target_balance)
        ),
    );
    line(
        "to send at registration",
        format!("{} {unit}", fmt_eth(f.deposit)),
    );
    line(
        &format!("deposits ({} validator(s))", run.deposits_left),
        format!("{} ETH", fmt_eth(run.deposits)),
    );
    line(
        &format!(
            "gas ({} tx x {} gas at {} gwei)",
            run.transactions,
            super::cost::GAS_PER_TX,
            run.gas_price / 1_000_000_000
        ),
        format!("{} ETH", fmt_eth(run.gas)),
    );
    let mut hold = format!("{} ETH", fmt_eth(run.total_eth));
    if !run.funding_ssv.is_zero() {
        hold.push_str(&format!(" and {} SSV", fmt_eth(run.funding_ssv)));
    }
    if let Some(w) = wallet {
        hold.push_str(&format!(
            "; it holds {} ETH{}",
            fmt_eth(w),
            if w >= run.total_eth {
                ""
            } else {
                " (NOT ENOUGH)"
            }
        ));
    }
    line("the wallet must hold for the whole run", hold);
    s
}
