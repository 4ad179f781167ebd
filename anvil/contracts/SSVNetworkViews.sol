// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ISSVNetworkCore, ISSVViewsTypes} from "./SSVTypes.sol";

/// @notice The view surface of the SSVNetwork double that this contract forwards to.
interface ISSVNetworkViewsSource is ISSVNetworkCore, ISSVViewsTypes {
    function getValidator(address clusterOwner, bytes calldata publicKey) external view returns (bool);
    function getOperatorFee(uint64 operatorId) external view returns (uint256);
    function getOperatorFeeSSV(uint64 operatorId) external view returns (uint256);
    function getOperatorDeclaredFee(uint64 operatorId) external view returns (OperatorDeclaredFeeData memory);
    function getOperatorById(uint64 operatorId) external view returns (OperatorData memory);
    function getOperatorByIdSSV(uint64 operatorId) external view returns (OperatorData memory);
    function getWhitelistedOperators(uint64[] calldata operatorIds, address whitelistedAddress) external view returns (uint64[] memory);
    function isWhitelistingContract(address contractAddress) external view returns (bool);
    function isAddressWhitelistedInWhitelistingContract(address addressToCheck, uint256 operatorId, address whitelistingContract) external view returns (bool);
    function isLiquidatable(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (bool);
    function isLiquidatableSSV(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (bool);
    function isLiquidated(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (bool);
    function getBurnRate(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint256);
    function getBurnRateSSV(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint256);
    function getOperatorEarnings(uint64 operatorId) external view returns (uint256);
    function getOperatorEarningsSSV(uint64 operatorId) external view returns (uint256);
    function getBalance(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint256);
    function getBalanceSSV(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint256);
    function getEffectiveBalance(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint32);
    function getCommittedRoot(uint64 blockNum) external view returns (bytes32);
    function getOracle(uint32 oracleId) external view returns (address);
    function getQuorumBps() external view returns (uint16);
    function getClusterAssetType(address clusterOwner, uint64[] calldata operatorIds) external view returns (uint8);
    function getNetworkFee() external view returns (uint256);
    function getNetworkFeeSSV() external view returns (uint256);
    function getNetworkEarnings() external view returns (uint256);
    function getNetworkEarningsSSV() external view returns (uint256);
    function getOperatorFeeIncreaseLimit() external view returns (uint64);
    function getMaximumOperatorFee() external view returns (uint256);
    function getMaximumOperatorFeeSSV() external view returns (uint256);
    function getMinimumOperatorEthFee() external view returns (uint256);
    function getOperatorFeePeriods() external view returns (OperatorFeePeriodsData memory);
    function getLiquidationThresholdPeriod() external view returns (uint64);
    function getLiquidationThresholdPeriodSSV() external view returns (uint64);
    function getMinimumLiquidationCollateral() external view returns (uint256);
    function getMinimumLiquidationCollateralSSV() external view returns (uint256);
    function getValidatorsPerOperatorLimit() external view returns (uint32);
    function getNetworkValidatorsCount() external view returns (uint32);
    function getVersion() external view returns (string memory);
}

/// @title SSVNetworkViews (devnet test double)
/// @notice The thin "getter" contract: every view is forwarded unchanged to the SSVNetwork double
///         (reverts, including custom errors, bubble up unchanged). Selectors are those of the
///         v2.0.0 SSVNetworkViews ABI; the v1.2.0 views have the same selectors and wire encodings,
///         and which numbers they answer (SSV or ETH) follows the network's version mode. The staking
///         and oracle views of v2.0.0 are not provided (the network double has no staking/oracle).
/// @dev    Built for `anvil_setCode`: no constructor, no immutables. After placing the code call the
///         reference initializer once:  initialize(address ssvNetwork_)  — msg.sender becomes owner.
contract SSVNetworkViews is ISSVNetworkCore, ISSVViewsTypes {
    ISSVNetworkViewsSource private _network;
    address private _owner;
    address private _pendingOwner;

    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    modifier onlyOwner() {
        require(_owner != address(0) && msg.sender == _owner, "Ownable: caller is not the owner");
        _;
    }

    /// @notice One-time initializer (same signature as the real views proxy): points the views at the
    ///         SSVNetwork address and makes msg.sender the owner.
    function initialize(address ssvNetwork_) external {
        require(address(_network) == address(0), "Initializable: contract is already initialized");
        require(ssvNetwork_ != address(0), "devnet: zero network address");
        _network = ISSVNetworkViewsSource(ssvNetwork_);
        _owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    function ssvNetwork() external view returns (address) {
        return address(_network);
    }

    function owner() external view returns (address) {
        return _owner;
    }

    function pendingOwner() external view returns (address) {
        return _pendingOwner;
    }

    function transferOwnership(address newOwner) external onlyOwner {
        _pendingOwner = newOwner;
        emit OwnershipTransferStarted(_owner, newOwner);
    }

    function acceptOwnership() external {
        require(msg.sender == _pendingOwner, "Ownable2Step: caller is not the new owner");
        _setOwner(msg.sender);
    }

    function renounceOwnership() external onlyOwner {
        _setOwner(address(0));
    }

    function _setOwner(address newOwner) private {
        address previous = _owner;
        _owner = newOwner;
        delete _pendingOwner;
        emit OwnershipTransferred(previous, newOwner);
    }

    // ---------------------------------------------------------------------------------------------
    // Forwarded views
    // ---------------------------------------------------------------------------------------------

    function getValidator(address clusterOwner, bytes calldata publicKey) external view returns (bool) {
        return _network.getValidator(clusterOwner, publicKey);
    }

    function getOperatorFee(uint64 operatorId) external view returns (uint256) {
        return _network.getOperatorFee(operatorId);
    }

    function getOperatorFeeSSV(uint64 operatorId) external view returns (uint256) {
        return _network.getOperatorFeeSSV(operatorId);
    }

    function getOperatorDeclaredFee(uint64 operatorId) external view returns (OperatorDeclaredFeeData memory) {
        return _network.getOperatorDeclaredFee(operatorId);
    }

    function getOperatorById(uint64 operatorId) external view returns (OperatorData memory) {
        return _network.getOperatorById(operatorId);
    }

    function getOperatorByIdSSV(uint64 operatorId) external view returns (OperatorData memory) {
        return _network.getOperatorByIdSSV(operatorId);
    }

    function getWhitelistedOperators(
        uint64[] calldata operatorIds,
        address whitelistedAddress
    ) external view returns (uint64[] memory whitelistedOperatorIds) {
        return _network.getWhitelistedOperators(operatorIds, whitelistedAddress);
    }

    function isWhitelistingContract(address contractAddress) external view returns (bool) {
        return _network.isWhitelistingContract(contractAddress);
    }

    function isAddressWhitelistedInWhitelistingContract(
        address addressToCheck,
        uint256 operatorId,
        address whitelistingContract
    ) external view returns (bool isWhitelisted) {
        return _network.isAddressWhitelistedInWhitelistingContract(addressToCheck, operatorId, whitelistingContract);
    }

    function isLiquidatable(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (bool) {
        return _network.isLiquidatable(clusterOwner, operatorIds, cluster);
    }

    function isLiquidatableSSV(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (bool) {
        return _network.isLiquidatableSSV(clusterOwner, operatorIds, cluster);
    }

    function isLiquidated(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (bool) {
        return _network.isLiquidated(clusterOwner, operatorIds, cluster);
    }

    function getBurnRate(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint256) {
        return _network.getBurnRate(clusterOwner, operatorIds, cluster);
    }

    function getBurnRateSSV(address clusterOwner, uint64[] calldata operatorIds, Cluster memory cluster) external view returns (uint256) {
        return _network.getBurnRateSSV(clusterOwner, operatorIds, cluster);
    }

    function getOperatorEarnings(uint64 id) external view returns (uint256) {
        return _network.getOperatorEarnings(id);
    }

    function getOperatorEarningsSSV(uint64 id) external view returns (uint256) {
        return _network.getOperatorEarningsSSV(id);
    }

    function getBalance(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view returns (uint256 balance) {
        return _network.getBalance(clusterOwner, operatorIds, cluster);
    }

    function getBalanceSSV(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view returns (uint256 balance) {
        return _network.getBalanceSSV(clusterOwner, operatorIds, cluster);
    }

    function getEffectiveBalance(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view returns (uint32 effectiveBalance) {
        return _network.getEffectiveBalance(clusterOwner, operatorIds, cluster);
    }

    function getClusterAssetType(address clusterOwner, uint64[] calldata operatorIds) external view returns (uint8) {
        return _network.getClusterAssetType(clusterOwner, operatorIds);
    }

    function getCommittedRoot(uint64 blockNum) external view returns (bytes32) {
        return _network.getCommittedRoot(blockNum);
    }

    function getOracle(uint32 oracleId) external view returns (address) {
        return _network.getOracle(oracleId);
    }

    function getQuorumBps() external view returns (uint16) {
        return _network.getQuorumBps();
    }

    function getNetworkFee() external view returns (uint256) {
        return _network.getNetworkFee();
    }

    function getNetworkFeeSSV() external view returns (uint256) {
        return _network.getNetworkFeeSSV();
    }

    function getNetworkEarnings() external view returns (uint256) {
        return _network.getNetworkEarnings();
    }

    function getNetworkEarningsSSV() external view returns (uint256) {
        return _network.getNetworkEarningsSSV();
    }

    function getOperatorFeeIncreaseLimit() external view returns (uint64) {
        return _network.getOperatorFeeIncreaseLimit();
    }

    function getMaximumOperatorFee() external view returns (uint256) {
        return _network.getMaximumOperatorFee();
    }

    function getMaximumOperatorFeeSSV() external view returns (uint256) {
        return _network.getMaximumOperatorFeeSSV();
    }

    function getMinimumOperatorEthFee() external view returns (uint256) {
        return _network.getMinimumOperatorEthFee();
    }

    function getOperatorFeePeriods() external view returns (OperatorFeePeriodsData memory) {
        return _network.getOperatorFeePeriods();
    }

    function getLiquidationThresholdPeriod() external view returns (uint64) {
        return _network.getLiquidationThresholdPeriod();
    }

    function getLiquidationThresholdPeriodSSV() external view returns (uint64) {
        return _network.getLiquidationThresholdPeriodSSV();
    }

    function getMinimumLiquidationCollateral() external view returns (uint256) {
        return _network.getMinimumLiquidationCollateral();
    }

    function getMinimumLiquidationCollateralSSV() external view returns (uint256) {
        return _network.getMinimumLiquidationCollateralSSV();
    }

    function getValidatorsPerOperatorLimit() external view returns (uint32) {
        return _network.getValidatorsPerOperatorLimit();
    }

    function getNetworkValidatorsCount() external view returns (uint32) {
        return _network.getNetworkValidatorsCount();
    }

    function getVersion() external view returns (string memory) {
        return _network.getVersion();
    }
}
