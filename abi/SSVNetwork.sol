// SPDX-License-Identifier: Apache-2.0
// The parts of SSVNetwork (v2.0.0 and legacy v1.2.0) and SSVNetworkViews that ssv-agent calls.
// Every selector here is checked against ../shared/abi-reference by tests/abi_selectors.rs.
pragma solidity ^0.8.24;

// Field order of the on-chain struct; its stored hash packs balance before active.
struct Cluster {
    uint32 validatorCount;
    uint64 networkFeeIndex;
    uint64 index;
    bool active;
    uint256 balance;
}

// What v2 views return for an operator (v1 returned the same six values unwrapped: same encoding).
struct OperatorData {
    address owner;
    uint256 fee;
    uint32 validatorCount;
    address whitelistedAddress;
    bool isPrivate;
    bool isActive;
}

// SSVNetwork v2.0.0 (ETH-billed clusters: payable, no `amount`).
interface SSVNetwork {
    function getVersion() external pure returns (string memory);
    function registerValidator(bytes calldata publicKey, uint64[] memory operatorIds, bytes calldata sharesData, Cluster memory cluster) external payable;
    function bulkRegisterValidator(bytes[] calldata publicKeys, uint64[] memory operatorIds, bytes[] calldata sharesData, Cluster memory cluster) external payable;
    function removeValidator(bytes calldata publicKey, uint64[] memory operatorIds, Cluster memory cluster) external;
    function bulkRemoveValidator(bytes[] calldata publicKeys, uint64[] memory operatorIds, Cluster memory cluster) external;
    function exitValidator(bytes calldata publicKey, uint64[] calldata operatorIds) external;
    function bulkExitValidator(bytes[] calldata publicKeys, uint64[] calldata operatorIds) external;
    function deposit(address clusterOwner, uint64[] memory operatorIds, Cluster memory cluster) external payable;
    function withdraw(uint64[] memory operatorIds, uint256 amount, Cluster memory cluster) external;
    function liquidate(address clusterOwner, uint64[] memory operatorIds, Cluster memory cluster) external;
    function liquidateSSV(address clusterOwner, uint64[] memory operatorIds, Cluster memory cluster) external;
    function reactivate(uint64[] memory operatorIds, Cluster memory cluster) external payable;
    function migrateClusterToETH(uint64[] calldata operatorIds, Cluster memory cluster) external payable;
    function registerOperator(bytes calldata publicKey, uint256 fee, bool setPrivate) external returns (uint64);
    function removeOperator(uint64 operatorId) external;
    function setOperatorsWhitelists(uint64[] calldata operatorIds, address[] calldata whitelistAddresses) external;
    function setOperatorsPrivateUnchecked(uint64[] calldata operatorIds) external;
    function setOperatorsPublicUnchecked(uint64[] calldata operatorIds) external;
    function updateNetworkFee(uint256 fee) external;
    function updateLiquidationThresholdPeriod(uint64 blocks) external;
    function updateMinimumLiquidationCollateral(uint256 amount) external;

    event ValidatorAdded(address indexed owner, uint64[] operatorIds, bytes publicKey, bytes shares, Cluster cluster);
    event ValidatorRemoved(address indexed owner, uint64[] operatorIds, bytes publicKey, Cluster cluster);
    event ValidatorExited(address indexed owner, uint64[] operatorIds, bytes publicKey);
    event ClusterLiquidated(address indexed owner, uint64[] operatorIds, Cluster cluster);
    event ClusterReactivated(address indexed owner, uint64[] operatorIds, Cluster cluster);
    event ClusterWithdrawn(address indexed owner, uint64[] operatorIds, uint256 value, Cluster cluster);
    event ClusterDeposited(address indexed owner, uint64[] operatorIds, uint256 value, Cluster cluster);
    event ClusterMigratedToETH(address indexed owner, uint64[] operatorIds, uint256 ethDeposited, uint256 ssvRefunded, uint32 effectiveBalance, Cluster cluster);
    event ClusterBalanceUpdated(address indexed owner, uint64[] operatorIds, uint64 indexed blockNum, uint32 effectiveBalance, Cluster cluster);
    event OperatorAdded(uint64 indexed operatorId, address indexed owner, bytes publicKey, uint256 fee);
    event OperatorRemoved(uint64 indexed operatorId);

    error CallerNotOwner();
    error CallerNotWhitelisted();
    error CallerNotWhitelistedWithData(uint64 operatorId);
    error ClusterAlreadyEnabled();
    error ClusterDoesNotExist();
    error ClusterIsLiquidated();
    error ClusterNotLiquidatable();
    error ETHTransferFailed();
    error EmptyPublicKeysList();
    error ExceedValidatorLimit(uint64 operatorId);
    error ExceedValidatorLimitWithData(uint64 operatorId);
    error IncorrectClusterState();
    error IncorrectClusterVersion();
    error IncorrectValidatorState();
    error IncorrectValidatorStateWithData(bytes publicKey);
    error InsufficientBalance();
    error InvalidOperatorIdsLength();
    error InvalidPublicKeyLength();
    error MaxPrecisionExceeded();
    error OperatorAlreadyExists();
    error OperatorDoesNotExist();
    error OperatorsListNotUnique();
    error PublicKeysSharesLengthMismatch();
    error TokenTransferFailed();
    error UnsortedOperatorsList();
    error ValidatorAlreadyExists();
    error ValidatorAlreadyExistsWithData(bytes publicKey);
    error ValidatorDoesNotExist();
    error ZeroAmount();
}

// SSVNetwork v1.2.0 selectors that differ from v2 (SSV-billed: `amount` pulled with transferFrom).
interface SSVNetworkV1 {
    function registerValidator(bytes calldata publicKey, uint64[] memory operatorIds, bytes calldata sharesData, uint256 amount, Cluster memory cluster) external;
    function bulkRegisterValidator(bytes[] calldata publicKeys, uint64[] memory operatorIds, bytes[] calldata sharesData, uint256 amount, Cluster memory cluster) external;
    function deposit(address clusterOwner, uint64[] memory operatorIds, uint256 amount, Cluster memory cluster) external;
    function reactivate(uint64[] memory operatorIds, uint256 amount, Cluster memory cluster) external;

    // v1 spells it with an "s".
    error ClusterDoesNotExists();
}

// SSVNetworkViews (v2.0.0; the v1.2.0 views the agent uses have the same selectors).
interface SSVNetworkViews {
    function getVersion() external view returns (string memory);
    function getOperatorById(uint64 operatorId) external view returns (OperatorData memory);
    function getOperatorFee(uint64 operatorId) external view returns (uint256);
    function getOperatorByIdSSV(uint64 operatorId) external view returns (OperatorData memory);
    function getOperatorFeeSSV(uint64 operatorId) external view returns (uint256);
    function getWhitelistedOperators(uint64[] calldata operatorIds, address whitelistedAddress) external view returns (uint64[] memory);
    function getNetworkFee() external view returns (uint256);
    function getNetworkFeeSSV() external view returns (uint256);
    function getLiquidationThresholdPeriod() external view returns (uint64);
    function getLiquidationThresholdPeriodSSV() external view returns (uint64);
    function getMinimumLiquidationCollateral() external view returns (uint256);
    function getMinimumLiquidationCollateralSSV() external view returns (uint256);
    function getValidatorsPerOperatorLimit() external view returns (uint32);
    function getValidator(address clusterOwner, bytes calldata publicKey) external view returns (bool);
    function getClusterAssetType(address owner, uint64[] calldata operatorIds) external view returns (uint8);
    function getBalance(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint256);
    function getBalanceSSV(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint256);
    function getBurnRate(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint256);
    function getBurnRateSSV(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint256);
    function isLiquidatable(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (bool);
    function isLiquidatableSSV(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (bool);
    function isLiquidated(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (bool);
    function getEffectiveBalance(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint32);
}
