//! Places the compiled doubles of `anvil/artifacts` at a profile's real addresses with
//! `anvil_setCode` and initialises them. The artifacts are compiled into the binary, so the
//! devnet needs no Solidity compiler.

use alloy::{
    contract::{CallBuilder, CallDecoder},
    network::Ethereum,
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider},
};

use super::{DAO_ACCOUNT, DevnetError, dev_account};
use crate::{chain::contracts::SSVToken, network::NetworkProfile};

/// Bindings to the double-only functions; the initializer mirrors the real one's many parameters.
mod abi {
    #![allow(clippy::too_many_arguments, missing_docs)]
    use alloy::sol;

    sol! {
        /// The double-only functions of anvil/contracts/SSVNetwork.sol (see anvil/README.md).
        #[sol(rpc)]
        interface DevnetSSVNetwork {
            function devnetInitialize(address owner_, address token_, uint8 version_, uint32 validatorsPerOperatorLimit_, uint256 networkFee_, uint64 liquidationThresholdPeriod_, uint256 minimumLiquidationCollateral_, uint256 networkFeeSSV_, uint64 liquidationThresholdPeriodSSV_, uint256 minimumLiquidationCollateralSSV_, uint256 maximumOperatorFee_, uint64 maximumOperatorFeeSSV_, uint256 minimumOperatorEthFee_) external;
            function devnetSetVersion(uint8 version_) external;
            function devnetSetValidatorsPerOperatorLimit(uint32 limit) external;
            function devnetSetLiquidationThresholdPeriods(uint64 ethBlocks, uint64 ssvBlocks) external;
        }

        #[sol(rpc)]
        interface DevnetInitializers {
            function initialize(address ssvNetwork_) external;
            function initialize() external;
        }
    }
}
pub(crate) use abi::DevnetInitializers;
pub use abi::DevnetSSVNetwork;

const SSV_NETWORK: &str = include_str!("../../anvil/artifacts/SSVNetwork.json");
const SSV_VIEWS: &str = include_str!("../../anvil/artifacts/SSVNetworkViews.json");
const SSV_TOKEN: &str = include_str!("../../anvil/artifacts/SSVToken.json");
const DEPOSIT: &str = include_str!("../../anvil/artifacts/DepositContract.json");
const MULTICALL3: &str = include_str!("../../anvil/artifacts/Multicall3.json");

/// Which SSVNetwork the double behaves as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsvMode {
    /// v1.2.0: SSV billing.
    V1 = 1,
    /// v2.0.0: ETH billing, legacy SSV clusters.
    V2 = 2,
}

/// Protocol parameters of the devnet SSVNetwork (defaults: the notes' mainnet v2 values, §4.5).
#[derive(Debug, Clone)]
pub struct DevnetParams {
    /// Validators per operator.
    pub validators_per_operator_limit: u32,
    /// ETH network fee, wei per block per 32 ETH.
    pub network_fee: U256,
    /// ETH liquidation threshold period, blocks.
    pub liquidation_threshold_period: u64,
    /// ETH minimum liquidation collateral, wei.
    pub minimum_liquidation_collateral: U256,
    /// SSV network fee, SSV wei per block per validator.
    pub network_fee_ssv: U256,
    /// SSV liquidation threshold period, blocks.
    pub liquidation_threshold_period_ssv: u64,
    /// SSV minimum liquidation collateral, SSV wei.
    pub minimum_liquidation_collateral_ssv: U256,
    /// Maximum ETH operator fee, wei per block.
    pub maximum_operator_fee: U256,
    /// Maximum SSV operator fee, SSV wei per block.
    pub maximum_operator_fee_ssv: u64,
    /// Minimum ETH operator fee, wei per block.
    pub minimum_operator_eth_fee: U256,
    /// SSV minted to each dev account (for v1 and legacy paths).
    pub ssv_per_account: U256,
}

impl Default for DevnetParams {
    fn default() -> Self {
        Self {
            validators_per_operator_limit: 500,
            network_fee: U256::from(3_550_900_000u64),
            liquidation_threshold_period: 50_190,
            minimum_liquidation_collateral: U256::from(940_000_000_000_000u64),
            network_fee_ssv: U256::from(382_640_000_000u64),
            liquidation_threshold_period_ssv: 214_800,
            minimum_liquidation_collateral_ssv: U256::from(10u64).pow(U256::from(18)),
            maximum_operator_fee: U256::from(13_900_000_000u64),
            maximum_operator_fee_ssv: 100_000_000_000_000,
            minimum_operator_eth_fee: U256::from(1_065_200_000u64),
            ssv_per_account: U256::from(10_000u64) * U256::from(10u64).pow(U256::from(18)),
        }
    }
}

fn runtime_code(artifact: &str, name: &str) -> Result<Bytes, DevnetError> {
    let v: serde_json::Value = serde_json::from_str(artifact)
        .map_err(|e| DevnetError::Setup(format!("artifact {name}: {e}")))?;
    let hex = v["deployedBytecode"]
        .as_str()
        .ok_or_else(|| DevnetError::Setup(format!("artifact {name} has no deployedBytecode")))?;
    hex.parse()
        .map_err(|e| DevnetError::Setup(format!("artifact {name}: {e}")))
}

async fn set_code(p: &DynProvider, at: Address, code: Bytes) -> Result<(), DevnetError> {
    p.raw_request::<_, serde_json::Value>("anvil_setCode".into(), (at, code))
        .await
        .map(|_| ())
        .map_err(|e| DevnetError::Setup(format!("anvil_setCode {at}: {e}")))
}

/// Sends a call from an unlocked dev account and requires a successful receipt.
pub(super) async fn send<P: Provider, D: CallDecoder>(
    call: CallBuilder<P, D, Ethereum>,
    what: &str,
) -> Result<(), DevnetError> {
    let receipt = call
        .send()
        .await
        .map_err(|e| DevnetError::Setup(format!("{what}: {e}")))?
        .get_receipt()
        .await
        .map_err(|e| DevnetError::Setup(format!("{what}: {e}")))?;
    if receipt.status() {
        Ok(())
    } else {
        Err(DevnetError::Setup(format!("{what}: reverted")))
    }
}

/// Places the deposit contract double (needs no initialiser).
pub(super) async fn place_deposit_contract(
    p: &DynProvider,
    profile: &NetworkProfile,
) -> Result<(), DevnetError> {
    set_code(
        p,
        profile.deposit_contract,
        runtime_code(DEPOSIT, "DepositContract")?,
    )
    .await
}

/// Places the Multicall3 double at the canonical address, where mainnet, Holesky, Sepolia and
/// Hoodi have the real one (large read batches go through it: `chain::multicall`).
pub(super) async fn place_multicall3(p: &DynProvider) -> Result<(), DevnetError> {
    set_code(
        p,
        crate::chain::multicall::MULTICALL3,
        runtime_code(MULTICALL3, "Multicall3")?,
    )
    .await
}

/// Places the four contracts at the profile's addresses and initialises them.
pub(super) async fn place_and_initialise(
    p: &DynProvider,
    profile: &NetworkProfile,
    mode: SsvMode,
    params: &DevnetParams,
) -> Result<(), DevnetError> {
    set_code(
        p,
        profile.ssv_network,
        runtime_code(SSV_NETWORK, "SSVNetwork")?,
    )
    .await?;
    set_code(
        p,
        profile.ssv_views,
        runtime_code(SSV_VIEWS, "SSVNetworkViews")?,
    )
    .await?;
    set_code(p, profile.ssv_token, runtime_code(SSV_TOKEN, "SSVToken")?).await?;
    place_deposit_contract(p, profile).await?;
    let dao = dev_account(DAO_ACCOUNT).address();
    let net = DevnetSSVNetwork::new(profile.ssv_network, p);
    send(
        net.devnetInitialize(
            dao,
            profile.ssv_token,
            mode as u8,
            params.validators_per_operator_limit,
            // Network fees start at 0 and are set at the aligned block (see `Devnet::set_network_fees`).
            U256::ZERO,
            params.liquidation_threshold_period,
            params.minimum_liquidation_collateral,
            U256::ZERO,
            params.liquidation_threshold_period_ssv,
            params.minimum_liquidation_collateral_ssv,
            params.maximum_operator_fee,
            params.maximum_operator_fee_ssv,
            params.minimum_operator_eth_fee,
        )
        .from(dao),
        "SSVNetwork.devnetInitialize",
    )
    .await?;
    let views = DevnetInitializers::new(profile.ssv_views, p);
    send(
        views.initialize_0(profile.ssv_network).from(dao),
        "SSVNetworkViews.initialize",
    )
    .await?;
    let token_init = DevnetInitializers::new(profile.ssv_token, p);
    send(token_init.initialize_1().from(dao), "SSVToken.initialize").await?;
    let token = SSVToken::new(profile.ssv_token, p);
    for i in 0..10 {
        send(
            token
                .mint(dev_account(i).address(), params.ssv_per_account)
                .from(dao),
            "SSVToken.mint",
        )
        .await?;
    }
    Ok(())
}
