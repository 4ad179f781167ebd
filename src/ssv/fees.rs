//! Cluster money math (ssv-contracts.md §4): burn rate, liquidation collateral, the liquidation
//! predicate with the contract's own rounding, runway, and how much to deposit for a runway policy.
//!
//! Pure functions over numbers read from the chain, so status, register and watch all agree and the
//! formulas are unit-tested against hand-computed values. Blocks per day come from the network
//! profile (7 200 = 12 s slots, as ssv-sdk uses).

use alloy::primitives::U256;
use serde::Serialize;

/// v2 packs ETH amounts in units of 1e5 wei (`ETH_DEDUCTED_DIGITS`).
pub const ETH_PACK: u64 = 100_000;
/// v1 / legacy packs SSV amounts in units of 1e7 (`DEDUCTED_DIGITS`).
pub const SSV_PACK: u64 = 10_000_000;
/// vUnits of one 32 ETH validator.
pub const VUNITS_PER_32_ETH: u64 = 10_000;

/// Which asset a cluster pays its fees in (ETH on v2 clusters, SSV on v1 / legacy ones).
pub use crate::chain::reads::Billing;

/// The protocol and operator fees that apply to one cluster, in wei (ETH) or SSV wei per block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeParams {
    /// How the cluster is billed.
    pub billing: Billing,
    /// Sum of the cluster's operator fees per block (per 32 ETH for ETH, per validator for SSV).
    pub operator_fees: U256,
    /// Network fee per block (per 32 ETH / per validator).
    pub network_fee: U256,
    /// Liquidation threshold period in blocks.
    pub liquidation_threshold_period: u64,
    /// Minimum liquidation collateral.
    pub minimum_liquidation_collateral: U256,
}

/// How much stake a cluster's fees are computed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Load {
    /// Validators in the cluster.
    pub validator_count: u32,
    /// vUnits the v2 contract bills (10 000 per 32 ETH of effective balance; the implicit value is
    /// `validator_count · 10 000`). SSV-billed clusters ignore it.
    pub v_units: u64,
}

impl Load {
    /// `validator_count` validators at 32 ETH each.
    pub const fn validators(validator_count: u32) -> Self {
        Self {
            validator_count,
            v_units: validator_count as u64 * VUNITS_PER_32_ETH,
        }
    }

    /// Validators whose oracle-reported total effective balance is `eb_eth` whole ETH
    /// (`ebToVUnits`: `ceil(EB·10 000/32)`).
    pub fn with_effective_balance(validator_count: u32, eb_eth: u64) -> Self {
        Self {
            validator_count,
            v_units: (eb_eth * VUNITS_PER_32_ETH).div_ceil(32),
        }
    }

    /// The load whose ETH burn rate is `burn` at `unit_fee` per 32 ETH, as the contract's
    /// `getBurnRate` reports it (`floor(unit_fee·vUnits/10 000)`). The fee is a multiple of 1e5 wei,
    /// so each vUnit moves the burn by at least 10 wei and `ceil(burn·10 000/unit_fee)` is exact.
    /// With no fees the vUnits cannot be seen, and do not matter: the implicit value is kept.
    pub fn from_burn_rate(validator_count: u32, burn: U256, unit_fee: U256) -> Self {
        if unit_fee.is_zero() {
            return Self::validators(validator_count);
        }
        let scaled = burn * U256::from(VUNITS_PER_32_ETH);
        let v = scaled.div_ceil(unit_fee);
        Self {
            validator_count,
            v_units: u64::try_from(v).unwrap_or(u64::MAX),
        }
    }

    /// The same load with `extra` more validators (each adds 32 ETH of baseline).
    pub fn plus(self, extra: u32) -> Self {
        Self {
            validator_count: self.validator_count.saturating_add(extra),
            v_units: self.v_units + u64::from(extra) * VUNITS_PER_32_ETH,
        }
    }

    /// vUnits as the v2 contract counts them.
    pub fn v_units(&self) -> u64 {
        self.v_units
    }

    /// Whole ETH of effective balance the vUnits stand for (`vUnitsToEB`).
    pub fn effective_balance_eth(&self) -> u64 {
        self.v_units * 32 / VUNITS_PER_32_ETH
    }
}

impl FeeParams {
    /// Fee per block per unit (32 ETH or one validator): operators + network.
    pub fn unit_fee(&self) -> U256 {
        self.operator_fees + self.network_fee
    }

    /// Cluster burn rate per block (= `getBurnRate` / v1 `getBurnRate`).
    pub fn burn_rate(&self, load: Load) -> U256 {
        match self.billing {
            Billing::Eth => {
                self.unit_fee() * U256::from(load.v_units()) / U256::from(VUNITS_PER_32_ETH)
            }
            Billing::Ssv => self.unit_fee() * U256::from(load.validator_count),
        }
    }

    /// The balance under which the cluster is liquidatable, with the contract's packed rounding:
    /// `max(MLC, floor(LTP·packed_fee·vUnits/10 000)·1e5)` (ETH) or `max(MLC, LTP·packed_fee·count·1e7)` (SSV).
    pub fn liquidation_collateral(&self, load: Load) -> U256 {
        let ltp = U256::from(self.liquidation_threshold_period);
        let threshold = match self.billing {
            Billing::Eth => {
                let packed = self.unit_fee() / U256::from(ETH_PACK);
                ltp * packed * U256::from(load.v_units()) / U256::from(VUNITS_PER_32_ETH)
                    * U256::from(ETH_PACK)
            }
            Billing::Ssv => {
                let packed = self.unit_fee() / U256::from(SSV_PACK);
                ltp * packed * U256::from(load.validator_count) * U256::from(SSV_PACK)
            }
        };
        threshold.max(self.minimum_liquidation_collateral)
    }

    /// `isLiquidatable` for a settled balance: never with 0 validators.
    pub fn is_liquidatable(&self, balance: U256, load: Load) -> bool {
        load.validator_count != 0 && balance < self.liquidation_collateral(load)
    }

    /// Blocks until the cluster becomes liquidatable: `None` when it never will (no validators
    /// or no fees), `Some(0)` when it already is. Liquidatable at the first block where
    /// `balance − burn·Δ < collateral`.
    pub fn blocks_until_liquidatable(&self, balance: U256, load: Load) -> Option<u64> {
        let burn = self.burn_rate(load);
        if load.validator_count == 0 || burn.is_zero() {
            return None;
        }
        let collateral = self.liquidation_collateral(load);
        if balance < collateral {
            return Some(0);
        }
        let spare_blocks = (balance - collateral) / burn;
        Some(
            u64::try_from(spare_blocks)
                .unwrap_or(u64::MAX - 1)
                .saturating_add(1),
        )
    }

    /// Runway in blocks: spendable balance above the collateral over the burn rate (`None` = infinite).
    pub fn runway_blocks(&self, balance: U256, load: Load) -> Option<u64> {
        let burn = self.burn_rate(load);
        if load.validator_count == 0 || burn.is_zero() {
            return None;
        }
        let spare = balance.saturating_sub(self.liquidation_collateral(load));
        Some(u64::try_from(spare / burn).unwrap_or(u64::MAX))
    }

    /// Runway in (fractional) days.
    pub fn runway_days(&self, balance: U256, load: Load, blocks_per_day: u64) -> Option<f64> {
        self.runway_blocks(balance, load)
            .map(|b| b as f64 / blocks_per_day.max(1) as f64)
    }

    /// A lower bound of the settled balance `blocks` after a reading of `balance` at these fees
    /// and this load. Between a cluster's own events and fee changes its balance falls linearly:
    /// `updateBalance*` charges index deltas that grow by the fee each block. SSV billing
    /// multiplies whole validator counts, so the figure is exact there; ETH billing floors
    /// `index·vUnits/10 000` for the operator and network parts each time, so the linear figure
    /// less two packed units and one wei per block is never above what the contract reports.
    pub fn balance_after(&self, balance: U256, load: Load, blocks: u64) -> U256 {
        let spent = self.burn_rate(load) * U256::from(blocks);
        let margin = match self.billing {
            Billing::Eth => U256::from(2 * ETH_PACK + blocks),
            Billing::Ssv => U256::ZERO,
        };
        balance.saturating_sub(spent + margin)
    }

    /// Whether a balance read under `earlier` falls at the same rate under `self` (same
    /// currency, operator and network fees: the rest only moves the liquidation threshold).
    pub fn same_burn(&self, earlier: &Self) -> bool {
        self.billing == earlier.billing
            && self.operator_fees == earlier.operator_fees
            && self.network_fee == earlier.network_fee
    }

    /// The balance that gives `days` of runway: `burn·blocks_per_day·days + collateral`.
    pub fn balance_for_runway(&self, load: Load, days: u64, blocks_per_day: u64) -> U256 {
        self.burn_rate(load) * U256::from(blocks_per_day) * U256::from(days)
            + self.liquidation_collateral(load)
    }

    /// What to add to `current` to reach `days` of runway (0 if already there).
    pub fn top_up_for_runway(
        &self,
        current: U256,
        load: Load,
        days: u64,
        blocks_per_day: u64,
    ) -> U256 {
        self.balance_for_runway(load, days, blocks_per_day)
            .saturating_sub(current)
    }
}

/// Days in the year a yearly fee is quoted for (the SSV web app and ssv-sdk use 365).
pub const DAYS_PER_YEAR: u64 = 365;

/// A per-block fee over a year: `fee · blocks_per_day · 365` (ssv-web `getYearlyFee`, with the
/// profile's blocks per day instead of the web app's fixed 7 160).
pub fn fee_per_year(fee_per_block: U256, blocks_per_day: u64) -> U256 {
    fee_per_block * U256::from(blocks_per_day) * U256::from(DAYS_PER_YEAR)
}

/// The per-block fee whose year is at most `per_year` (the inverse of [`fee_per_year`], rounded
/// down, for "at most this much a year" filters).
pub fn fee_per_block_for_year(per_year: U256, blocks_per_day: u64) -> U256 {
    per_year / U256::from(blocks_per_day.max(1) * DAYS_PER_YEAR)
}

/// The funding a registration needs, with the reasoning kept for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FundingPlan {
    /// Load after the registration.
    pub load_after: Load,
    /// Burn rate after the registration, per block.
    pub burn_rate_after: U256,
    /// Liquidation collateral after the registration.
    pub collateral_after: U256,
    /// Balance the policy asks for.
    pub target_balance: U256,
    /// Amount to send (target − current, never negative).
    pub deposit: U256,
    /// Runway in blocks after sending `deposit` (`None` = infinite).
    pub runway_blocks_after: Option<u64>,
}

/// A funding policy that cannot be met or makes no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FundingError {
    /// The target runway is below the floor the same policy enforces.
    #[error(
        "runway policy of {runway_days} days is below the minimum runway of {min_days} days; raise funding.runway_days"
    )]
    PolicyBelowMinimum {
        /// Target days.
        runway_days: u64,
        /// Minimum days.
        min_days: u64,
    },
    /// The amount would exceed a cap set by the user.
    #[error(
        "funding needs {needed} wei but the cap is {cap} wei; raise the cap or fund the cluster separately"
    )]
    OverCap {
        /// Needed.
        needed: U256,
        /// Cap.
        cap: U256,
    },
    /// After sending, the cluster would still be liquidatable or under the minimum runway.
    #[error(
        "after registration the cluster would have {runway_days:.1} days of runway (balance {balance} wei, collateral {collateral} wei); the minimum is {min_days} days"
    )]
    UnderMinimum {
        /// Runway that would result.
        runway_days: f64,
        /// Balance that would result.
        balance: U256,
        /// Collateral after registration.
        collateral: U256,
        /// Minimum days.
        min_days: u64,
    },
}

/// Computes the deposit that brings a cluster holding `current_balance` (settled) and `load`
/// to `runway_days` after adding `new_validators`, and checks the result against `min_days`.
pub fn plan_funding(
    params: &FeeParams,
    current_balance: U256,
    load: Load,
    new_validators: u32,
    runway_days: u64,
    min_days: u64,
    blocks_per_day: u64,
) -> Result<FundingPlan, FundingError> {
    if runway_days < min_days {
        return Err(FundingError::PolicyBelowMinimum {
            runway_days,
            min_days,
        });
    }
    let load_after = load.plus(new_validators);
    let target_balance = params.balance_for_runway(load_after, runway_days, blocks_per_day);
    let deposit = target_balance.saturating_sub(current_balance);
    let plan = FundingPlan {
        load_after,
        burn_rate_after: params.burn_rate(load_after),
        collateral_after: params.liquidation_collateral(load_after),
        target_balance,
        deposit,
        runway_blocks_after: params.runway_blocks(current_balance + deposit, load_after),
    };
    check_minimum(
        params,
        current_balance + deposit,
        load_after,
        min_days,
        blocks_per_day,
    )?;
    Ok(plan)
}

/// Refuses a balance that leaves the cluster liquidatable or under `min_days` of runway.
pub fn check_minimum(
    params: &FeeParams,
    balance: U256,
    load: Load,
    min_days: u64,
    blocks_per_day: u64,
) -> Result<(), FundingError> {
    let days = params.runway_days(balance, load, blocks_per_day);
    let liquidatable = params.is_liquidatable(balance, load);
    match days {
        Some(d) if liquidatable || d < min_days as f64 => Err(FundingError::UnderMinimum {
            runway_days: d,
            balance,
            collateral: params.liquidation_collateral(load),
            min_days,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ssv-contracts.md §4.6 worked example: 4 operators at 1.77 gwei/block, network fee
    /// 3.5509 gwei/block, LTP 50 190, MLC 0.00094 ETH.
    fn mainnet_like() -> FeeParams {
        FeeParams {
            billing: Billing::Eth,
            operator_fees: U256::from(4 * 1_770_000_000u64),
            network_fee: U256::from(3_550_900_000u64),
            liquidation_threshold_period: 50_190,
            minimum_liquidation_collateral: U256::from(940_000_000_000_000u64),
        }
    }

    #[test]
    fn yearly_fees_and_their_inverse() {
        // 1.77 gwei a block at 7 200 blocks a day: 0.00465156 ETH a year.
        let y = fee_per_year(U256::from(1_770_000_000u64), 7_200);
        assert_eq!(y, U256::from(4_651_560_000_000_000u64));
        assert_eq!(
            fee_per_block_for_year(y, 7_200),
            U256::from(1_770_000_000u64)
        );
        assert_eq!(
            fee_per_block_for_year(y - U256::from(1), 7_200),
            U256::from(1_769_999_999u64)
        );
    }

    #[test]
    fn burn_rate_and_collateral_match_the_worked_example() {
        let p = mainnet_like();
        let one = Load::validators(1);
        // 4·1.77 + 3.5509 = 10.6309 gwei.
        assert_eq!(p.burn_rate(one), U256::from(10_630_900_000u64));
        // burn·LTP = 533 564 871 000 000 < MLC, so the collateral is the MLC.
        assert_eq!(
            p.liquidation_collateral(one),
            U256::from(940_000_000_000_000u64)
        );
        // 30 days at 7 200 blocks/day: 10.6309e9·216 000 + 0.94e15 = 3 236 274 400 000 000 (0.003236 ETH, SDK).
        assert_eq!(
            p.balance_for_runway(one, 30, 7_200),
            U256::from(3_236_274_400_000_000u64)
        );
    }

    /// `updateBalanceWithEB` of SSVNetwork v2.0.0, in packed units: the balance after operator
    /// index delta `op` and network index delta `net` for `v_units`.
    fn contract_eth_balance(start: u128, op: u128, net: u128, v_units: u128) -> u128 {
        let usage = (op * v_units / 10_000 + net * v_units / 10_000) * u128::from(ETH_PACK);
        start.saturating_sub(usage)
    }

    #[test]
    fn carried_balances_never_exceed_the_contracts() {
        let mut p = mainnet_like();
        for (op_fee, net_fee, v_units, start_op, start_net) in [
            (17_700u128, 35_509u128, 10_313u64, 123_457u128, 98_765u128),
            (17_700, 35_509, 10_000, 5, 7),
            (1, 3, 20_001, 9_999, 1),
            (44_250, 0, 313_131, 0, 0),
        ] {
            p.operator_fees = U256::from(op_fee * u128::from(ETH_PACK));
            p.network_fee = U256::from(net_fee * u128::from(ETH_PACK));
            let load = Load {
                validator_count: 3,
                v_units,
            };
            let start = 10u128.pow(19);
            let v = u128::from(v_units);
            let read = contract_eth_balance(start, start_op, start_net, v);
            for blocks in [0u64, 1, 7, 600, 7_200] {
                let d = u128::from(blocks);
                let exact =
                    contract_eth_balance(start, start_op + d * op_fee, start_net + d * net_fee, v);
                let carried = p.balance_after(U256::from(read), load, blocks);
                assert!(
                    carried <= U256::from(exact),
                    "{blocks}: {carried} > {exact}"
                );
                let gap = U256::from(exact) - carried;
                assert!(
                    gap <= U256::from(4 * ETH_PACK + 2 * blocks),
                    "{blocks}: gap {gap}"
                );
            }
        }
        // SSV billing is linear in whole counts: exact.
        let mut s = mainnet_like();
        s.billing = Billing::Ssv;
        let load = Load::validators(4);
        let burn = s.burn_rate(load);
        let start = U256::from(10u64.pow(18));
        assert_eq!(
            s.balance_after(start, load, 600),
            start - burn * U256::from(600)
        );
    }

    #[test]
    fn effective_balance_scales_fees() {
        let p = mainnet_like();
        // 64 ETH in one validator = 20 000 vUnits = twice the burn of 32 ETH.
        let eb64 = Load::with_effective_balance(1, 64);
        assert_eq!(eb64.v_units(), 20_000);
        assert_eq!(p.burn_rate(eb64), U256::from(21_261_800_000u64));
        // 33 ETH: ceil(330 000/32) = 10 313 vUnits.
        assert_eq!(Load::with_effective_balance(1, 33).v_units(), 10_313);
        assert_eq!(
            Load::with_effective_balance(1, 33).effective_balance_eth(),
            33
        );
        assert_eq!(Load::validators(3).plus(2).v_units(), 50_000);
    }

    #[test]
    fn vunits_come_back_exactly_from_the_contracts_burn_rate() {
        let p = mainnet_like();
        for eb in [32u64, 33, 64, 100, 2047, 2048, 4000] {
            let load = Load::with_effective_balance(2, eb);
            let burn = p.burn_rate(load);
            assert_eq!(Load::from_burn_rate(2, burn, p.unit_fee()), load, "EB {eb}");
        }
        assert_eq!(
            Load::from_burn_rate(3, U256::ZERO, U256::ZERO),
            Load::validators(3)
        );
    }

    #[test]
    fn threshold_uses_packed_rounding_when_above_mlc() {
        let mut p = mainnet_like();
        p.minimum_liquidation_collateral = U256::ZERO;
        // packed fee = 106 309 (1e5 units); 50 190·106 309·30 000/10 000 = 16 006 946 130 → ·1e5.
        let three = Load::validators(3);
        assert_eq!(
            p.liquidation_collateral(three),
            U256::from(1_600_694_613_000_000u64)
        );
        // A fee that is not a multiple of 1e5 is floored before multiplying, as the contract does.
        p.network_fee += U256::from(99_999u64);
        assert_eq!(
            p.liquidation_collateral(three),
            U256::from(1_600_694_613_000_000u64)
        );
    }

    #[test]
    fn liquidation_boundary_is_exact() {
        let p = mainnet_like();
        let one = Load::validators(1);
        let mlc = U256::from(940_000_000_000_000u64);
        assert!(!p.is_liquidatable(mlc, one));
        assert!(p.is_liquidatable(mlc - U256::from(1), one));
        assert!(
            !p.is_liquidatable(U256::ZERO, Load::validators(0)),
            "empty clusters never liquidate"
        );
        // Balance = collateral + 10 blocks of burn exactly: fine for 10 blocks, liquidatable at the 11th.
        let burn = p.burn_rate(one);
        let bal = mlc + burn * U256::from(10);
        assert_eq!(p.blocks_until_liquidatable(bal, one), Some(11));
        assert!(!p.is_liquidatable(bal - burn * U256::from(10), one));
        assert!(p.is_liquidatable(bal - burn * U256::from(11), one));
        assert_eq!(
            p.blocks_until_liquidatable(mlc - U256::from(1), one),
            Some(0)
        );
        assert_eq!(p.blocks_until_liquidatable(bal, Load::validators(0)), None);
    }

    #[test]
    fn runway_days_and_top_up() {
        let p = mainnet_like();
        let one = Load::validators(1);
        let bal = p.balance_for_runway(one, 30, 7_200);
        assert_eq!(p.runway_blocks(bal, one), Some(216_000));
        assert_eq!(p.runway_days(bal, one, 7_200), Some(30.0));
        // Half-way through: top-up to 90 days = 60 days + 15 days of burn.
        let half = p.balance_for_runway(one, 15, 7_200);
        let top = p.top_up_for_runway(half, one, 90, 7_200);
        assert_eq!(top, U256::from(10_630_900_000u64 * 7_200 * 75));
        assert_eq!(p.top_up_for_runway(bal, one, 10, 7_200), U256::ZERO);
    }

    #[test]
    fn legacy_ssv_formulas() {
        // v1: fees per validator, packed by 1e7; LTP 214 800, MLC 0.1 SSV (below the threshold).
        let p = FeeParams {
            billing: Billing::Ssv,
            operator_fees: U256::from(4 * 100_000_000_000u64),
            network_fee: U256::from(382_640_000_000u64),
            liquidation_threshold_period: 214_800,
            minimum_liquidation_collateral: U256::from(100_000_000_000_000_000u64),
        };
        let two = Load::validators(2);
        // (4·1e11 + 3.8264e11)·2 = 1.56528e12 per block.
        assert_eq!(p.burn_rate(two), U256::from(1_565_280_000_000u64));
        // 214 800 · 78 264 (packed) · 2 · 1e7 = 336 222 144 000 000 000.
        assert_eq!(
            p.liquidation_collateral(two),
            U256::from(336_222_144_000_000_000u64)
        );
        // EB is ignored for SSV clusters.
        let eb = Load::with_effective_balance(2, 4096);
        assert_eq!(p.burn_rate(eb), p.burn_rate(two));
    }

    #[test]
    fn plan_funding_for_new_and_existing_clusters() {
        let p = mainnet_like();
        // New cluster, one validator, 182 days.
        let plan = plan_funding(&p, U256::ZERO, Load::validators(0), 1, 182, 30, 7_200).unwrap();
        let want = U256::from(10_630_900_000u64) * U256::from(7_200u64 * 182)
            + U256::from(940_000_000_000_000u64);
        assert_eq!(plan.deposit, want);
        assert_eq!(plan.runway_blocks_after, Some(7_200 * 182));
        // Existing cluster with 1 validator and 100 days left gets a second one: deposit covers both.
        let bal = p.balance_for_runway(Load::validators(1), 100, 7_200);
        let plan = plan_funding(&p, bal, Load::validators(1), 1, 182, 30, 7_200).unwrap();
        assert_eq!(
            plan.target_balance,
            p.balance_for_runway(Load::validators(2), 182, 7_200)
        );
        assert_eq!(plan.deposit, plan.target_balance - bal);
        // Policy below its own floor.
        assert_eq!(
            plan_funding(&p, U256::ZERO, Load::validators(0), 1, 10, 30, 7_200),
            Err(FundingError::PolicyBelowMinimum {
                runway_days: 10,
                min_days: 30
            })
        );
        // Over-funded cluster: no deposit needed.
        let rich = p.balance_for_runway(Load::validators(2), 400, 7_200);
        assert_eq!(
            plan_funding(&p, rich, Load::validators(1), 1, 182, 30, 7_200)
                .unwrap()
                .deposit,
            U256::ZERO
        );
    }

    #[test]
    fn minimum_runway_refusal() {
        let p = mainnet_like();
        let one = Load::validators(1);
        let bal = p.balance_for_runway(one, 29, 7_200);
        assert!(matches!(
            check_minimum(&p, bal, one, 30, 7_200),
            Err(FundingError::UnderMinimum { min_days: 30, .. })
        ));
        assert!(check_minimum(&p, bal, one, 29, 7_200).is_ok());
        // Liquidatable is refused even with a zero minimum.
        assert!(check_minimum(&p, U256::from(1), one, 0, 7_200).is_err());
    }
}
