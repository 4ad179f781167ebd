//! Deploys the real contracts on anvil as mainnet/Hoodi were deployed: modules with normal create
//! transactions, the two UUPS proxies at the profile's addresses, `initialize`, `updateModule`,
//! DAO parameters; and the real v1.2.0 -> v2.0.0 upgrade (`upgradeToAndCall` into the staking
//! upgrade contract, new modules, ETH parameters, `upgradeTo` on the views proxy).
//!
//! Placing a proxy: the real `ERC1967Proxy` constructor only stores the implementation in the
//! EIP-1967 slot (and emits `Upgraded`) before delegating the init call. Here its runtime code is
//! written with `anvil_setCode`, the slot with `anvil_setStorageAt`, and `initialize` is then sent
//! through the real address. That is faithful for UUPS `onlyProxy`, which checks
//! `address(this) != __self` (the implementation's own create address, an immutable) and that
//! the slot holds `__self`: both hold exactly as behind a constructed proxy.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, U256, keccak256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
    sol_types::{SolCall, SolValue},
};

use super::{RealArtifacts, RealError, artifacts::ArchiveArtifacts};
use crate::{
    chain::contracts::SSVToken,
    devnet::{
        DAO_ACCOUNT, DevnetParams, SsvMode, dev_account,
        tx::{TxError, call_tx, rpc, transact},
    },
    network::NetworkProfile,
};

/// `bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1)`.
pub const EIP1967_IMPLEMENTATION_SLOT: B256 =
    alloy::primitives::b256!("360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc");

/// Operator-fee governance as the doubles start it (mainnet values): 10 % increase limit,
/// 7-day declare and execute periods.
const OPERATOR_MAX_FEE_INCREASE: u64 = 1_000;
const DECLARE_OPERATOR_FEE_PERIOD: u64 = 604_800;
const EXECUTE_OPERATOR_FEE_PERIOD: u64 = 604_800;
/// Oracle ids and quorum as ssv-sdk's contract-helpers.ts initialises them (6667 bp: 3 of 4).
pub(crate) const DEFAULT_ORACLE_IDS: [u32; 4] = [1, 2, 3, 4];
pub(crate) const QUORUM_BPS: u16 = 6_667;
/// Unstake cooldown the upgrade sets (the staking upgrade contract's doc example: 7 days).
const UNSTAKE_COOLDOWN: u64 = 604_800;

mod abi {
    #![allow(clippy::too_many_arguments, missing_docs)]
    use alloy::sol;

    sol! {
        /// v2.0.0 proxy-level functions used for deployment (SDK hardhat/contracts/SSVNetwork.sol).
        interface RealNetworkV2 {
            struct NetworkInitParams {
                uint64 minimumBlocksBeforeLiquidation;
                uint256 minimumLiquidationCollateral;
                uint32 validatorsPerOperatorLimit;
                uint64 declareOperatorFeePeriod;
                uint64 executeOperatorFeePeriod;
                uint64 operatorMaxFeeIncrease;
                uint32[4] defaultOracleIds;
                uint16 quorumBps;
            }
            function initialize(address token_, address ssvOperators_, address ssvClusters_, address ssvDAO_, address ssvViews_, NetworkInitParams params) external;
            function updateModule(uint8 moduleId, address moduleAddress) external;
            function upgradeToAndCall(address newImplementation, bytes data) external payable;
            function updateLiquidationThresholdPeriod(uint64 blocks) external;
            function updateLiquidationThresholdPeriodSSV(uint64 blocks) external;
            function updateMinimumLiquidationCollateral(uint256 amount) external;
            function updateMinimumLiquidationCollateralSSV(uint256 amount) external;
            function updateMaximumOperatorFee(uint256 maxFee) external;
            function updateMinimumOperatorEthFee(uint256 minFee) external;
            function stake(uint256 amount) external;
        }

        /// v1.2.0 proxy-level functions used for deployment.
        interface RealNetworkV1 {
            function initialize(address token_, address ssvOperators_, address ssvClusters_, address ssvDAO_, address ssvViews_, uint64 minimumBlocksBeforeLiquidation_, uint256 minimumLiquidationCollateral_, uint32 validatorsPerOperatorLimit_, uint64 declareOperatorFeePeriod_, uint64 executeOperatorFeePeriod_, uint64 operatorMaxFeeIncrease_) external;
            function updateModule(uint8 moduleId, address moduleAddress) external;
            function updateMaximumOperatorFee(uint64 maxFee) external;
        }

        /// The hoodi-stage upgrade contract's one-time initializer.
        interface StakingUpgrade {
            function initializeSSVStaking(uint64 cooldownDuration, uint32[4] defaultOracleIds, uint16 quorumBps) external;
        }

        /// SSVNetworkViews (both versions).
        interface RealViews {
            function initialize(address ssvNetwork_) external;
            function upgradeTo(address newImplementation) external;
        }
    }
}
use abi::{RealNetworkV1, RealNetworkV2, RealViews, StakingUpgrade};

/// `enum SSVModules` of the real code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Module {
    Operators = 0,
    Clusters = 1,
    Dao = 2,
    Views = 3,
    OperatorsWhitelist = 4,
    Staking = 5,
    Validators = 6,
}

/// What was deployed, for `upgrade_to_v2` and for people reading `devnet.json`.
#[derive(Debug, Clone)]
pub struct RealDeployment {
    artifacts: RealArtifacts,
    /// The SSVNetwork generation the proxies currently run.
    pub version: SsvMode,
    /// `(name, address)` of every implementation and module currently behind the proxies.
    pub contracts: Vec<(String, Address)>,
    /// The cSSV token (v2 only; the oracle weight is its total supply).
    pub cssv: Option<Address>,
}

/// A call from the DAO account (owner of everything).
async fn call(p: &DynProvider, what: &str, to: Address, data: Vec<u8>) -> Result<(), RealError> {
    let dao = dev_account(DAO_ACCOUNT).address();
    transact(p, what, call_tx(dao, to, data)).await?;
    Ok(())
}

async fn create(
    p: &DynProvider,
    a: &ArchiveArtifacts,
    name: &str,
    args: Vec<u8>,
) -> Result<Address, RealError> {
    let art = a.get(name)?;
    let mut code = art.bytecode.to_vec();
    code.extend_from_slice(&args);
    let tx = TransactionRequest::default()
        .with_from(dev_account(DAO_ACCOUNT).address())
        .with_deploy_code(Bytes::from(code));
    let what = format!("deploying {name}");
    let r = transact(p, &what, tx).await?;
    Ok(r.contract_address
        .ok_or(TxError::NoContractAddress { what })?)
}

/// Runtime code at `at` and the EIP-1967 implementation slot pointing at `implementation`.
async fn place_proxy(
    p: &DynProvider,
    a: &ArchiveArtifacts,
    at: Address,
    implementation: Address,
) -> Result<(), RealError> {
    let proxy = a.get("ERC1967Proxy")?;
    rpc(p, "anvil_setCode", (at, proxy.deployed_bytecode.clone())).await?;
    let value = B256::left_padding_from(implementation.as_slice());
    rpc(
        p,
        "anvil_setStorageAt",
        (
            at,
            U256::from_be_bytes(EIP1967_IMPLEMENTATION_SLOT.0),
            value,
        ),
    )
    .await?;
    Ok(())
}

/// The real SSV token (solc 0.8.4) at the profile's token address: created normally by the DAO
/// account, then its runtime code and its constructor's storage (owner, total supply, name,
/// symbol, the DAO's 1000 SSV) copied to the real address.
pub(crate) async fn place_real_token(
    p: &DynProvider,
    artifacts: &RealArtifacts,
    profile: &NetworkProfile,
    params: &DevnetParams,
) -> Result<(), RealError> {
    let dao = dev_account(DAO_ACCOUNT).address();
    let tmp = create(p, &artifacts.v2, "SSVToken", Vec::new()).await?;
    let code = p.get_code_at(tmp).await.map_err(|source| TxError::Rpc {
        what: "reading the SSV token's runtime code".into(),
        source,
    })?;
    rpc(p, "anvil_setCode", (profile.ssv_token, code)).await?;
    // OpenZeppelin 4.9.6 layout of `SSVToken is Ownable, ERC20`: 0 _owner, 1 _balances,
    // 2 _allowances, 3 _totalSupply, 4 _name, 5 _symbol.
    let dao_balance = keccak256((U256::from_be_slice(dao.as_slice()), U256::from(1)).abi_encode());
    let mut slots: Vec<U256> = (0..6u64).map(U256::from).collect();
    slots.push(U256::from_be_bytes(dao_balance.0));
    for slot in slots {
        let v = p
            .get_storage_at(tmp, slot)
            .await
            .map_err(|source| TxError::Rpc {
                what: format!("reading SSV token slot {slot}"),
                source,
            })?;
        rpc(
            p,
            "anvil_setStorageAt",
            (profile.ssv_token, slot, B256::from(v)),
        )
        .await?;
    }
    for i in 0..10 {
        let mint = SSVToken::mintCall {
            to: dev_account(i).address(),
            amount: params.ssv_per_account,
        };
        call(p, "SSVToken.mint", profile.ssv_token, mint.abi_encode()).await?;
    }
    Ok(())
}

/// The v2.0.0 modules, created with their constructor arguments (`upgrade_timestamp`: before it,
/// declared operator fees are "legacy" and cannot be executed).
async fn deploy_v2_modules(
    p: &DynProvider,
    a: &ArchiveArtifacts,
    cssv: Address,
    upgrade_timestamp: u64,
) -> Result<Vec<(Module, &'static str, Address)>, RealError> {
    let cssv_arg = cssv.abi_encode();
    let mut out = Vec::new();
    for (m, name, args) in [
        (
            Module::Operators,
            "SSVOperators",
            U256::from(upgrade_timestamp).abi_encode(),
        ),
        (Module::Clusters, "SSVClusters", Vec::new()),
        (Module::Dao, "SSVDAO", cssv_arg.clone()),
        (Module::Views, "SSVViews", cssv_arg.clone()),
        (
            Module::OperatorsWhitelist,
            "SSVOperatorsWhitelist",
            Vec::new(),
        ),
        (Module::Staking, "SSVStaking", cssv_arg.clone()),
        (Module::Validators, "SSVValidators", Vec::new()),
    ] {
        out.push((m, name, create(p, a, name, args).await?));
    }
    Ok(out)
}

fn module(mods: &[(Module, &'static str, Address)], m: Module) -> Address {
    mods.iter()
        .find(|(x, ..)| *x == m)
        .map(|(.., a)| *a)
        .expect("every module is deployed")
}

/// The least liquidation threshold period the v2.0.0 DAO setter accepts (`MINIMAL_LIQUIDATION_THRESHOLD`).
pub(super) const MINIMAL_LIQUIDATION_THRESHOLD: u64 = 21_480;

/// The DAO's ETH parameters but the network fee, which is set at the aligned block
/// (`Devnet::set_network_fees`). `liquidation`: also LTP and MLC — after the upgrade, where the
/// DAO setters apply (LTP at least 21 480 blocks); a fresh v2 `initialize` already set them.
async fn set_eth_params(
    p: &DynProvider,
    net: Address,
    params: &DevnetParams,
    liquidation: bool,
) -> Result<(), RealError> {
    use RealNetworkV2 as N;
    // The DAO setter refuses less than MINIMAL_LIQUIDATION_THRESHOLD; a devnet asking for a
    // shorter period (fast tests) gets the least the real contract allows.
    let ltp = params
        .liquidation_threshold_period
        .max(MINIMAL_LIQUIDATION_THRESHOLD);
    if ltp != params.liquidation_threshold_period {
        tracing::info!(
            asked = params.liquidation_threshold_period,
            ltp,
            "the upgraded network's ETH liquidation threshold is the contract's minimum"
        );
    }
    let calls: [(&str, Vec<u8>); 4] = [
        (
            "updateLiquidationThresholdPeriod",
            N::updateLiquidationThresholdPeriodCall { blocks: ltp }.abi_encode(),
        ),
        (
            "updateMinimumLiquidationCollateral",
            N::updateMinimumLiquidationCollateralCall {
                amount: params.minimum_liquidation_collateral,
            }
            .abi_encode(),
        ),
        (
            "updateMaximumOperatorFee",
            N::updateMaximumOperatorFeeCall {
                maxFee: params.maximum_operator_fee,
            }
            .abi_encode(),
        ),
        (
            "updateMinimumOperatorEthFee",
            N::updateMinimumOperatorEthFeeCall {
                minFee: params.minimum_operator_eth_fee,
            }
            .abi_encode(),
        ),
    ];
    let skip = if liquidation { 0 } else { 2 };
    for (what, data) in calls.into_iter().skip(skip) {
        call(p, &format!("SSVNetwork.{what}"), net, data).await?;
    }
    Ok(())
}

fn named(mods: &[(Module, &'static str, Address)]) -> Vec<(String, Address)> {
    mods.iter().map(|(_, n, a)| (n.to_string(), *a)).collect()
}

impl RealDeployment {
    /// Deploys SSVNetwork + SSVNetworkViews of `mode` at the profile's proxy addresses. The SSV
    /// token must already be at `profile.ssv_token`.
    pub(crate) async fn deploy(
        p: &DynProvider,
        artifacts: RealArtifacts,
        profile: &NetworkProfile,
        mode: SsvMode,
        params: &DevnetParams,
    ) -> Result<Self, RealError> {
        match mode {
            SsvMode::V1 => Self::deploy_v1(p, artifacts, profile, params).await,
            SsvMode::V2 => Self::deploy_v2(p, artifacts, profile, params).await,
        }
    }

    async fn deploy_v2(
        p: &DynProvider,
        artifacts: RealArtifacts,
        profile: &NetworkProfile,
        params: &DevnetParams,
    ) -> Result<Self, RealError> {
        let a = &artifacts.v2;
        // cSSV is minted/burned only by the staking module running inside the SSVNetwork proxy.
        let cssv = create(p, a, "CSSVToken", profile.ssv_network.abi_encode()).await?;
        let mods = deploy_v2_modules(p, a, cssv, 0).await?;
        let net_impl = create(p, a, "SSVNetwork", Vec::new()).await?;
        let views_impl = create(p, a, "SSVNetworkViews", Vec::new()).await?;
        place_proxy(p, a, profile.ssv_network, net_impl).await?;
        place_proxy(p, a, profile.ssv_views, views_impl).await?;

        let init = RealNetworkV2::initializeCall {
            token_: profile.ssv_token,
            ssvOperators_: module(&mods, Module::Operators),
            ssvClusters_: module(&mods, Module::Clusters),
            ssvDAO_: module(&mods, Module::Dao),
            ssvViews_: module(&mods, Module::Views),
            params: RealNetworkV2::NetworkInitParams {
                minimumBlocksBeforeLiquidation: params.liquidation_threshold_period,
                minimumLiquidationCollateral: params.minimum_liquidation_collateral,
                validatorsPerOperatorLimit: params.validators_per_operator_limit,
                declareOperatorFeePeriod: DECLARE_OPERATOR_FEE_PERIOD,
                executeOperatorFeePeriod: EXECUTE_OPERATOR_FEE_PERIOD,
                operatorMaxFeeIncrease: OPERATOR_MAX_FEE_INCREASE,
                defaultOracleIds: DEFAULT_ORACLE_IDS,
                quorumBps: QUORUM_BPS,
            },
        };
        call(
            p,
            "SSVNetwork.initialize",
            profile.ssv_network,
            init.abi_encode(),
        )
        .await?;
        // initialize() sets modules 0..=3; contract-helpers.ts adds the v2 ones with updateModule.
        for m in [
            Module::OperatorsWhitelist,
            Module::Staking,
            Module::Validators,
        ] {
            let data = RealNetworkV2::updateModuleCall {
                moduleId: m as u8,
                moduleAddress: module(&mods, m),
            }
            .abi_encode();
            call(p, "SSVNetwork.updateModule", profile.ssv_network, data).await?;
        }
        let views_init = RealViews::initializeCall {
            ssvNetwork_: profile.ssv_network,
        };
        call(
            p,
            "SSVNetworkViews.initialize",
            profile.ssv_views,
            views_init.abi_encode(),
        )
        .await?;

        set_eth_params(p, profile.ssv_network, params, false).await?;
        // Legacy (SSV) parameters, so the *SSV views answer as on the upgraded networks (the SSV
        // network fee is set at the aligned block).
        use RealNetworkV2 as N;
        for (what, data) in [
            (
                "updateLiquidationThresholdPeriodSSV",
                N::updateLiquidationThresholdPeriodSSVCall {
                    blocks: params.liquidation_threshold_period_ssv,
                }
                .abi_encode(),
            ),
            (
                "updateMinimumLiquidationCollateralSSV",
                N::updateMinimumLiquidationCollateralSSVCall {
                    amount: params.minimum_liquidation_collateral_ssv,
                }
                .abi_encode(),
            ),
        ] {
            call(p, &format!("SSVNetwork.{what}"), profile.ssv_network, data).await?;
        }

        let mut contracts = named(&mods);
        contracts.push(("SSVNetwork".into(), net_impl));
        contracts.push(("SSVNetworkViews".into(), views_impl));
        Ok(Self {
            artifacts,
            version: SsvMode::V2,
            contracts,
            cssv: Some(cssv),
        })
    }

    async fn deploy_v1(
        p: &DynProvider,
        artifacts: RealArtifacts,
        profile: &NetworkProfile,
        params: &DevnetParams,
    ) -> Result<Self, RealError> {
        let a = &artifacts.v1;
        let mut mods = Vec::new();
        for (m, name) in [
            (Module::Operators, "SSVOperators"),
            (Module::Clusters, "SSVClusters"),
            (Module::Dao, "SSVDAO"),
            (Module::Views, "SSVViews"),
            (Module::OperatorsWhitelist, "SSVOperatorsWhitelist"),
        ] {
            mods.push((m, name, create(p, a, name, Vec::new()).await?));
        }
        let net_impl = create(p, a, "SSVNetwork", Vec::new()).await?;
        let views_impl = create(p, a, "SSVNetworkViews", Vec::new()).await?;
        place_proxy(p, a, profile.ssv_network, net_impl).await?;
        place_proxy(p, a, profile.ssv_views, views_impl).await?;

        let init = RealNetworkV1::initializeCall {
            token_: profile.ssv_token,
            ssvOperators_: module(&mods, Module::Operators),
            ssvClusters_: module(&mods, Module::Clusters),
            ssvDAO_: module(&mods, Module::Dao),
            ssvViews_: module(&mods, Module::Views),
            minimumBlocksBeforeLiquidation_: params.liquidation_threshold_period_ssv,
            minimumLiquidationCollateral_: params.minimum_liquidation_collateral_ssv,
            validatorsPerOperatorLimit_: params.validators_per_operator_limit,
            declareOperatorFeePeriod_: DECLARE_OPERATOR_FEE_PERIOD,
            executeOperatorFeePeriod_: EXECUTE_OPERATOR_FEE_PERIOD,
            operatorMaxFeeIncrease_: OPERATOR_MAX_FEE_INCREASE,
        };
        call(
            p,
            "SSVNetwork.initialize",
            profile.ssv_network,
            init.abi_encode(),
        )
        .await?;
        let wl = RealNetworkV1::updateModuleCall {
            moduleId: Module::OperatorsWhitelist as u8,
            moduleAddress: module(&mods, Module::OperatorsWhitelist),
        };
        call(
            p,
            "SSVNetwork.updateModule",
            profile.ssv_network,
            wl.abi_encode(),
        )
        .await?;
        let views_init = RealViews::initializeCall {
            ssvNetwork_: profile.ssv_network,
        };
        call(
            p,
            "SSVNetworkViews.initialize",
            profile.ssv_views,
            views_init.abi_encode(),
        )
        .await?;
        let max = RealNetworkV1::updateMaximumOperatorFeeCall {
            maxFee: params.maximum_operator_fee_ssv,
        };
        call(
            p,
            "SSVNetwork.updateMaximumOperatorFee",
            profile.ssv_network,
            max.abi_encode(),
        )
        .await?;

        let mut contracts = named(&mods);
        contracts.push(("SSVNetwork".into(), net_impl));
        contracts.push(("SSVNetworkViews".into(), views_impl));
        Ok(Self {
            artifacts,
            version: SsvMode::V1,
            contracts,
            cssv: None,
        })
    }

    /// The real v1.2.0 -> v2.0.0 upgrade, as ssv-network's upgrade playbook runs it.
    pub(crate) async fn upgrade_to_v2(
        &mut self,
        p: &DynProvider,
        profile: &NetworkProfile,
        params: &DevnetParams,
    ) -> Result<(), RealError> {
        if self.version == SsvMode::V2 {
            return Err(RealError::AlreadyV2);
        }
        let a = &self.artifacts.v2;
        let head = p
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|source| TxError::Rpc {
                what: "reading the head block".into(),
                source,
            })?
            .map(|b| b.header.timestamp)
            .unwrap_or_default();
        let cssv = create(p, a, "CSSVToken", profile.ssv_network.abi_encode()).await?;
        let mods = deploy_v2_modules(p, a, cssv, head).await?;
        let upgrade_impl = create(p, a, "SSVNetworkSSVStakingUpgrade", Vec::new()).await?;
        let views_impl = create(p, a, "SSVNetworkViews", Vec::new()).await?;

        let init = StakingUpgrade::initializeSSVStakingCall {
            cooldownDuration: UNSTAKE_COOLDOWN,
            defaultOracleIds: DEFAULT_ORACLE_IDS,
            quorumBps: QUORUM_BPS,
        };
        let up = RealNetworkV2::upgradeToAndCallCall {
            newImplementation: upgrade_impl,
            data: init.abi_encode().into(),
        };
        call(
            p,
            "SSVNetwork.upgradeToAndCall",
            profile.ssv_network,
            up.abi_encode(),
        )
        .await?;
        for (m, _, addr) in &mods {
            let data = RealNetworkV2::updateModuleCall {
                moduleId: *m as u8,
                moduleAddress: *addr,
            }
            .abi_encode();
            call(p, "SSVNetwork.updateModule", profile.ssv_network, data).await?;
        }
        set_eth_params(p, profile.ssv_network, params, true).await?;
        let views_up = RealViews::upgradeToCall {
            newImplementation: views_impl,
        };
        call(
            p,
            "SSVNetworkViews.upgradeTo",
            profile.ssv_views,
            views_up.abi_encode(),
        )
        .await?;

        let mut contracts = named(&mods);
        contracts.push(("SSVNetworkSSVStakingUpgrade".into(), upgrade_impl));
        contracts.push(("SSVNetworkViews".into(), views_impl));
        self.contracts = contracts;
        self.cssv = Some(cssv);
        self.version = SsvMode::V2;
        Ok(())
    }
}

/// The DAO stakes `amount` SSV so cSSV has a supply: `commitRoot` weighs oracle votes by it and
/// refuses to count any while it is zero.
pub(crate) async fn stake_for_oracle_weight(
    p: &DynProvider,
    profile: &NetworkProfile,
    amount: U256,
) -> Result<(), RealError> {
    let approve = SSVToken::approveCall {
        spender: profile.ssv_network,
        amount,
    };
    call(
        p,
        "SSVToken.approve",
        profile.ssv_token,
        approve.abi_encode(),
    )
    .await?;
    let stake = RealNetworkV2::stakeCall { amount };
    call(
        p,
        "SSVNetwork.stake",
        profile.ssv_network,
        stake.abi_encode(),
    )
    .await
}
