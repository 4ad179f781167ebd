// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ISSVNetworkCore, ISSVViewsTypes, ISSVWhitelistingContract, ISSVTokenLike} from "./SSVTypes.sol";

/// @notice v1.2.0 event whose name is overloaded in v2.0.0 (uint64 vs uint256 argument: two topics).
interface ISSVNetworkV1Events {
    event OperatorMaximumFeeUpdated(uint64 maxFee);
}

/// @title SSVNetwork (devnet test double)
/// @notice One contract that behaves like the SSV Network proxy + modules, in two modes:
///         * version 1 = SSV Network v1.2.0 (SSV-token billed clusters, `amount`-taking selectors,
///           `ClusterDoesNotExists()` spelling, views answer SSV numbers);
///         * version 2 = SSV Network v2.0.0 (ETH billed clusters through payable selectors; clusters
///           created in version 1 are "legacy SSV clusters" that can only be removed, exited,
///           liquidated with `liquidateSSV` or moved with `migrateClusterToETH`).
///         Selectors, events and custom errors are exactly the real ones (checked by check-abi.js);
///         the only extra entry points are the `devnet*` functions below. The views that the real
///         proxy answers through its fallback are implemented directly on this contract.
///
///         Effective balance (EB): oracles set with `replaceOracle` vote Merkle roots with
///         `commitRoot` (quorum 6667 bp of a notional 1e18 cSSV supply, as the real code weighs
///         votes), and `updateClusterBalance` proves a cluster's EB against a committed root; the
///         stored vUnits then drive settlement, burn rate, liquidation, operator and DAO earnings
///         exactly as in the real SSVClusters/ClusterLib (deviation-only model). A cluster without
///         an oracle update uses the implicit 32 ETH per validator (vUnits = validatorCount * 10_000).
///
///         Omitted on purpose: SSV staking (`stake`, cSSV, ...), UUPS/module plumbing
///         (`initialize`, `updateModule`, `upgradeTo*`), `minBlocksBetweenUpdates` (always 0).
///
/// @dev    Built for `anvil_setCode(address, deployedBytecode)`: no constructor, no immutables.
///         Call once, right after placing the code:
///
///         devnetInitialize(
///             address owner_,                           // DAO owner: onlyOwner + devnet* functions
///             address token_,                           // SSV token (SSVToken double)
///             uint8   version_,                         // 1 = behave as v1.2.0, 2 = behave as v2.0.0
///             uint32  validatorsPerOperatorLimit_,      // max validators per operator
///             uint256 networkFee_,                      // ETH wei/block per 32 ETH, multiple of 1e5
///             uint64  liquidationThresholdPeriod_,      // ETH clusters, blocks (no minimum enforced here)
///             uint256 minimumLiquidationCollateral_,    // ETH clusters, wei, multiple of 1e5
///             uint256 networkFeeSSV_,                   // SSV wei/block per validator, multiple of 1e7
///             uint64  liquidationThresholdPeriodSSV_,   // SSV clusters, blocks (no minimum enforced here)
///             uint256 minimumLiquidationCollateralSSV_, // SSV clusters, SSV wei, multiple of 1e7
///             uint256 maximumOperatorFee_,              // ETH wei/block, multiple of 1e5
///             uint64  maximumOperatorFeeSSV_,           // SSV wei/block (stored raw, as v1.2.0 does)
///             uint256 minimumOperatorEthFee_            // ETH wei/block, multiple of 1e5
///         )
///
///         Operator-fee governance starts at the mainnet values (increase limit 1000 bp, declare and
///         execute periods 604800 s each); change them with the real owner-only DAO functions.
contract SSVNetwork is ISSVNetworkCore, ISSVViewsTypes {
    // ---------------------------------------------------------------------------------------------
    // Constants
    // ---------------------------------------------------------------------------------------------

    uint8 private constant V1 = 1;
    uint8 private constant V2 = 2;

    uint8 private constant VERSION_SSV = 0; // getClusterAssetType
    uint8 private constant VERSION_ETH = 1;

    uint256 private constant SSV_DIGITS = 10_000_000; // PackedSSV divisor
    uint256 private constant ETH_DIGITS = 100_000; // PackedETH divisor
    uint256 private constant VUNITS = 10_000; // vUnits per 32 ETH

    uint64 private constant MIN_OPERATORS_LENGTH = 4;
    uint64 private constant MAX_OPERATORS_LENGTH = 13;
    uint64 private constant MODULO_OPERATORS_LENGTH = 3;
    uint256 private constant PUBLIC_KEY_LENGTH = 48;

    uint256 private constant V1_MINIMAL_OPERATOR_FEE = 1_000_000_000; // SSV wei/block
    uint64 private constant V1_MINIMAL_LIQUIDATION_THRESHOLD = 100_800;
    uint64 private constant V2_MINIMAL_LIQUIDATION_THRESHOLD = 21_480;
    uint256 private constant DEFAULT_OPERATOR_ETH_FEE = 1_770_000_000; // wei/block, legacy operators
    uint64 private constant PRECISION_FACTOR = 10_000;

    // Effective balance (real SSVStorageEB / SSVDAO constants)
    uint256 private constant MAX_EB_PER_VALIDATOR = 2048; // whole ETH
    uint256 private constant DEFAULT_EB_PER_VALIDATOR = 32; // whole ETH
    uint256 private constant ORACLE_SLOTS = 4; // MAX_DELEGATION_SLOTS
    uint256 private constant ORACLE_NOTIONAL_STAKE = 1e18; // stands in for cSSV.totalSupply()
    uint16 private constant QUORUM_BPS = 6_667;
    uint256 private constant BPS_DENOMINATOR = 10_000;

    bytes4 private constant ERC165_ID = 0x01ffc9a7;
    bytes4 private constant WHITELISTING_ID = ISSVWhitelistingContract.isWhitelisted.selector;

    // ---------------------------------------------------------------------------------------------
    // Storage
    // ---------------------------------------------------------------------------------------------

    /// Operator fee snapshot, in packed units (SSV: /1e7, ETH: /1e5).
    struct Snapshot {
        uint32 block;
        uint64 index;
        uint64 balance;
    }

    struct Operator {
        address owner;
        bool whitelisted; // "private"
        // SSV (legacy) side
        uint32 validatorCount;
        uint64 fee;
        Snapshot snapshot;
        // ETH side
        uint32 ethValidatorCount;
        uint64 ethFee;
        Snapshot ethSnapshot;
    }

    struct FeeRequest {
        uint64 fee; // packed in the unit of the mode it was declared in
        uint64 approvalBeginTime;
        uint64 approvalEndTime;
        bool legacy; // declared while in version 1 (SSV fee)
    }

    struct Protocol {
        uint32 validatorsPerOperatorLimit;
        uint64 declareOperatorFeePeriod;
        uint64 executeOperatorFeePeriod;
        uint64 operatorMaxFeeIncrease;
        // SSV (legacy) economics, packed /1e7
        uint64 networkFee;
        uint64 networkFeeIndex;
        uint32 networkFeeIndexBlockNumber;
        uint64 daoBalance;
        uint32 daoIndexBlockNumber;
        uint32 daoValidatorCount;
        uint64 liquidationThresholdPeriod;
        uint64 minimumLiquidationCollateral;
        uint64 operatorMaxFee; // raw SSV wei (v1.2.0 stores it unpacked)
        // ETH economics, packed /1e5
        uint64 ethNetworkFee;
        uint64 ethNetworkFeeIndex;
        uint32 ethNetworkFeeIndexBlockNumber;
        uint64 ethDaoBalance;
        uint32 ethDaoIndexBlockNumber;
        uint32 ethDaoValidatorCount;
        uint64 daoTotalEthVUnits;
        uint64 ethLiquidationThresholdPeriod;
        uint64 ethMinimumLiquidationCollateral;
        uint64 ethOperatorMaxFee;
        uint64 minimumOperatorEthFee;
    }

    address private _owner;
    address private _pendingOwner;
    bool private _initialized;
    uint8 private _version;
    uint8 private _locked;
    address private _token;
    uint64 private _lastOperatorId;

    Protocol private _sp;

    mapping(bytes32 => bytes32) private _validatorPKs; // keccak(pubkey ‖ owner) => keccak(ids) | 1
    mapping(bytes32 => bytes32) private _clusters; // SSV (legacy) clusters
    mapping(bytes32 => bytes32) private _ethClusters; // ETH clusters, same key
    mapping(bytes32 => uint64) private _operatorsPKs; // keccak(publicKey) => id
    mapping(uint64 => Operator) private _operators;
    mapping(uint64 => address) private _operatorsWhitelist; // legacy address or whitelisting contract
    mapping(uint64 => FeeRequest) private _feeRequests;
    mapping(address => mapping(uint256 => uint256)) private _addressWhitelistedForOperators; // bitmaps

    /// Oracle-set effective balance of a cluster (real ClusterEBSnapshot); vUnits 0 = implicit.
    struct ClusterEB {
        uint64 vUnits;
        uint64 lastRootBlockNum;
        uint64 lastUpdateBlock;
    }

    mapping(bytes32 => ClusterEB) private _clusterEB;
    mapping(uint64 => uint64) private _operatorEthVUnits; // vUnits above 32 ETH per validator
    mapping(uint64 => bytes32) private _ebRoots; // block => committed root
    uint64 private _latestCommittedBlock;
    mapping(uint32 => address) private _oracles;
    mapping(address => uint32) private _oracleIdOf;
    mapping(bytes32 => uint256) private _rootCommitments; // keccak(blockNum ‖ root) => weight
    mapping(bytes32 => mapping(uint32 => bool)) private _hasVoted;

    // ---------------------------------------------------------------------------------------------
    // Events (exact signatures of the reference ABIs)
    // ---------------------------------------------------------------------------------------------

    event ValidatorAdded(address indexed owner, uint64[] operatorIds, bytes publicKey, bytes shares, Cluster cluster);
    event ValidatorRemoved(address indexed owner, uint64[] operatorIds, bytes publicKey, Cluster cluster);
    event ValidatorExited(address indexed owner, uint64[] operatorIds, bytes publicKey);
    event ClusterLiquidated(address indexed owner, uint64[] operatorIds, Cluster cluster);
    event ClusterReactivated(address indexed owner, uint64[] operatorIds, Cluster cluster);
    event ClusterWithdrawn(address indexed owner, uint64[] operatorIds, uint256 value, Cluster cluster);
    event ClusterDeposited(address indexed owner, uint64[] operatorIds, uint256 value, Cluster cluster);
    event ClusterMigratedToETH(
        address indexed owner,
        uint64[] operatorIds,
        uint256 ethDeposited,
        uint256 ssvRefunded,
        uint32 effectiveBalance,
        Cluster cluster
    );
    event ClusterBalanceUpdated(
        address indexed owner,
        uint64[] operatorIds,
        uint64 indexed blockNum,
        uint32 effectiveBalance,
        Cluster cluster
    );
    event FeeRecipientAddressUpdated(address indexed owner, address recipientAddress);
    event RootCommitted(bytes32 indexed merkleRoot, uint64 indexed blockNum);
    event WeightedRootProposed(
        bytes32 indexed merkleRoot,
        uint64 indexed blockNum,
        uint256 accumulatedWeight,
        uint256 threshold,
        uint32 oracleId,
        address oracle
    );
    event OracleReplaced(uint32 indexed oracleId, address indexed oldOracle, address indexed newOracle);

    event OperatorAdded(uint64 indexed operatorId, address indexed owner, bytes publicKey, uint256 fee);
    event OperatorRemoved(uint64 indexed operatorId);
    event OperatorFeeDeclared(address indexed owner, uint64 indexed operatorId, uint256 blockNumber, uint256 fee);
    event OperatorFeeDeclarationCancelled(address indexed owner, uint64 indexed operatorId);
    event OperatorFeeExecuted(address indexed owner, uint64 indexed operatorId, uint256 blockNumber, uint256 fee);
    event OperatorWithdrawn(address indexed owner, uint64 indexed operatorId, uint256 value);
    event OperatorPrivacyStatusUpdated(uint64[] operatorIds, bool toPrivate);
    event OperatorMultipleWhitelistUpdated(uint64[] operatorIds, address[] whitelistAddresses);
    event OperatorMultipleWhitelistRemoved(uint64[] operatorIds, address[] whitelistAddresses);
    event OperatorWhitelistingContractUpdated(uint64[] operatorIds, address whitelistingContract);

    event NetworkFeeUpdated(uint256 oldFee, uint256 newFee);
    event NetworkFeeUpdatedSSV(uint256 oldFee, uint256 newFee);
    event NetworkEarningsWithdrawn(uint256 value, address recipient);
    event OperatorFeeIncreaseLimitUpdated(uint64 value);
    event DeclareOperatorFeePeriodUpdated(uint64 value);
    event ExecuteOperatorFeePeriodUpdated(uint64 value);
    event LiquidationThresholdPeriodUpdated(uint64 value);
    event LiquidationThresholdPeriodSSVUpdated(uint64 value);
    event MinimumLiquidationCollateralUpdated(uint256 value);
    event MinimumLiquidationCollateralSSVUpdated(uint256 value);
    event OperatorMaximumFeeUpdated(uint256 maxFee); // v2.0.0; the v1.2.0 uint64 twin is in ISSVNetworkV1Events
    event MinimumOperatorEthFeeUpdated(uint256 minFee);
    event SSVNetworkUpgradeBlock(string version, uint256 blockNumber);

    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    // ---------------------------------------------------------------------------------------------
    // Custom errors (exact signatures of the reference ABIs)
    // ---------------------------------------------------------------------------------------------

    error AddressIsWhitelistingContract(address contractAddress);
    error AlreadyVoted();
    error EBBelowMinimum();
    error EBExceedsMaximum();
    error FutureBlockNumber();
    error InvalidProof();
    error NotOracle();
    error OracleAlreadyAssigned();
    error RootNotFound();
    error StaleBlockNumber();
    error StaleUpdate();
    error ZeroAddress();
    error ZeroAmount();
    error ApprovalNotWithinTimeframe();
    error CallerNotOwnerWithData(address caller, address owner);
    error CallerNotWhitelistedWithData(uint64 operatorId);
    error ClusterAlreadyEnabled();
    error ClusterDoesNotExist(); // v2.0.0 spelling
    error ClusterDoesNotExists(); // v1.2.0 spelling
    error ClusterIsLiquidated();
    error ClusterNotLiquidatable();
    error ETHTransferFailed();
    error EmptyPublicKeysList();
    error ExceedValidatorLimitWithData(uint64 operatorId);
    error FeeExceedsIncreaseLimit();
    error FeeIncreaseNotAllowed();
    error FeeTooHigh();
    error FeeTooLow();
    error IncorrectClusterState();
    error IncorrectClusterVersion();
    error IncorrectValidatorStateWithData(bytes publicKey);
    error InsufficientBalance();
    error InvalidOperatorIdsLength();
    error InvalidPublicKeyLength();
    error InvalidWhitelistAddressesLength();
    error InvalidWhitelistingContract(address contractAddress);
    error LegacyOperatorFeeDeclarationInvalid();
    error MaxPrecisionExceeded();
    error MaxValueExceeded();
    error NewBlockPeriodIsBelowMinimum();
    error NoFeeDeclared();
    error OperatorAlreadyExists();
    error OperatorDoesNotExist();
    error OperatorsListNotUnique();
    error PublicKeysSharesLengthMismatch();
    error SameFeeChangeNotAllowed();
    error TokenTransferFailed();
    error UnsortedOperatorsList();
    error ValidatorAlreadyExistsWithData(bytes publicKey);
    error ValidatorDoesNotExist();
    error ZeroAddressNotAllowed();

    // ---------------------------------------------------------------------------------------------
    // Modifiers
    // ---------------------------------------------------------------------------------------------

    /// A selector that does not exist in the current version reverts without data, like the real
    /// proxy whose fallback forwards unknown selectors to the views module.
    modifier onlyV1() {
        if (_version != V1) _unknownSelector();
        _;
    }

    modifier onlyV2() {
        if (_version != V2) _unknownSelector();
        _;
    }

    modifier initialized() {
        if (!_initialized) _unknownSelector();
        _;
    }

    modifier onlyOwner() {
        require(_initialized && msg.sender == _owner, "Ownable: caller is not the owner");
        _;
    }

    modifier nonReentrant() {
        require(_locked == 0, "ReentrancyGuard: reentrant call");
        _locked = 1;
        _;
        _locked = 0;
    }

    function _unknownSelector() private pure {
        assembly {
            revert(0, 0)
        }
    }

    // =============================================================================================
    // Devnet administration (not in the reference ABI)
    // =============================================================================================

    /// @notice One-time initializer replacing the real proxy's constructor/initialize. See the
    ///         contract header for the parameter meanings. Anyone may call it once.
    function devnetInitialize(
        address owner_,
        address token_,
        uint8 version_,
        uint32 validatorsPerOperatorLimit_,
        uint256 networkFee_,
        uint64 liquidationThresholdPeriod_,
        uint256 minimumLiquidationCollateral_,
        uint256 networkFeeSSV_,
        uint64 liquidationThresholdPeriodSSV_,
        uint256 minimumLiquidationCollateralSSV_,
        uint256 maximumOperatorFee_,
        uint64 maximumOperatorFeeSSV_,
        uint256 minimumOperatorEthFee_
    ) external {
        require(!_initialized, "Initializable: contract is already initialized");
        require(owner_ != address(0), "devnet: zero owner");
        require(version_ == V1 || version_ == V2, "devnet: version must be 1 or 2");

        _initialized = true;
        _version = version_;
        _token = token_;
        _owner = owner_;
        emit OwnershipTransferred(address(0), owner_);

        uint32 blockNum = uint32(block.number);
        Protocol storage sp = _sp;
        sp.validatorsPerOperatorLimit = validatorsPerOperatorLimit_;
        sp.declareOperatorFeePeriod = 604_800;
        sp.executeOperatorFeePeriod = 604_800;
        sp.operatorMaxFeeIncrease = 1_000;

        sp.networkFee = _packSSV(networkFeeSSV_);
        sp.networkFeeIndexBlockNumber = blockNum;
        sp.daoIndexBlockNumber = blockNum;
        sp.liquidationThresholdPeriod = liquidationThresholdPeriodSSV_;
        sp.minimumLiquidationCollateral = _packSSV(minimumLiquidationCollateralSSV_);
        sp.operatorMaxFee = maximumOperatorFeeSSV_;

        sp.ethNetworkFee = _packETH(networkFee_);
        sp.ethNetworkFeeIndexBlockNumber = blockNum;
        sp.ethDaoIndexBlockNumber = blockNum;
        sp.ethLiquidationThresholdPeriod = liquidationThresholdPeriod_;
        sp.ethMinimumLiquidationCollateral = _packETH(minimumLiquidationCollateral_);
        sp.ethOperatorMaxFee = _packETH(maximumOperatorFee_);
        sp.minimumOperatorEthFee = _packETH(minimumOperatorEthFee_);
    }

    /// @notice Switch the behaviour between v1.2.0 (1) and v2.0.0 (2). Meant to be used once, 1 -> 2,
    ///         to replay the real history: clusters created in version 1 become legacy SSV clusters.
    ///         Emits SSVNetworkUpgradeBlock(version string, block number).
    function devnetSetVersion(uint8 version_) external onlyOwner {
        require(version_ == V1 || version_ == V2, "devnet: version must be 1 or 2");
        _version = version_;
        emit SSVNetworkUpgradeBlock(_versionString(), block.number);
    }

    /// @notice Owner-only: change the per-operator validator limit (the real contract has no setter).
    function devnetSetValidatorsPerOperatorLimit(uint32 limit) external onlyOwner {
        _sp.validatorsPerOperatorLimit = limit;
    }

    /// @notice Owner-only: set both liquidation threshold periods without the DAO minimums
    ///         (21 480 / 100 800 blocks) that updateLiquidationThresholdPeriod* enforce.
    function devnetSetLiquidationThresholdPeriods(uint64 ethBlocks, uint64 ssvBlocks) external onlyOwner {
        _sp.ethLiquidationThresholdPeriod = ethBlocks;
        _sp.liquidationThresholdPeriod = ssvBlocks;
    }

    /// @notice The SSV token address given to devnetInitialize.
    function devnetToken() external view returns (address) {
        return _token;
    }

    // =============================================================================================
    // Ownership (Ownable2Step)
    // =============================================================================================

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

    function getVersion() external view returns (string memory version) {
        return _versionString();
    }

    function _versionString() private view returns (string memory) {
        if (_version == V1) return "v1.2.0";
        if (_version == V2) return "v2.0.0";
        return "";
    }

    function setFeeRecipientAddress(address recipientAddress) external initialized {
        emit FeeRecipientAddressUpdated(msg.sender, recipientAddress);
    }

    // =============================================================================================
    // Validators / clusters: v2.0.0 (ETH)
    // =============================================================================================

    function registerValidator(
        bytes calldata publicKey,
        uint64[] memory operatorIds,
        bytes calldata sharesData,
        Cluster memory cluster
    ) external payable onlyV2 nonReentrant {
        _registerEth(_one(publicKey), operatorIds, _one(sharesData), cluster);
    }

    function bulkRegisterValidator(
        bytes[] memory publicKeys,
        uint64[] memory operatorIds,
        bytes[] memory sharesData,
        Cluster memory cluster
    ) external payable onlyV2 nonReentrant {
        _registerEth(publicKeys, operatorIds, sharesData, cluster);
    }

    function deposit(
        address clusterOwner,
        uint64[] memory operatorIds,
        Cluster memory cluster
    ) external payable onlyV2 nonReentrant {
        (bytes32 key, bool isEth) = _validateHashedCluster(cluster, clusterOwner, operatorIds);
        if (!isEth) revert IncorrectClusterVersion();

        cluster.balance += msg.value;
        _ethClusters[key] = _hashCluster(cluster);

        emit ClusterDeposited(clusterOwner, operatorIds, msg.value, cluster);
    }

    function reactivate(uint64[] memory operatorIds, Cluster memory cluster) external payable onlyV2 nonReentrant {
        (bytes32 key, bool isEth) = _validateHashedCluster(cluster, msg.sender, operatorIds);
        if (!isEth) revert IncorrectClusterVersion();
        if (cluster.active) revert ClusterAlreadyEnabled();

        // A liquidated cluster keeps its oracle vUnits; their deviation comes back with it.
        uint64 stored = _clusterEB[key].vUnits;
        uint64 baseline = uint64(cluster.validatorCount) * uint64(VUNITS);
        uint64 effective = stored > 0 ? stored : baseline;
        uint64 deviation = stored > baseline ? stored - baseline : 0;

        (uint64 clusterIndex, uint64 burnRate) = _updateOperatorsEth(operatorIds, true, cluster.validatorCount);
        if (deviation != 0) _addOperatorDeviation(operatorIds, deviation, true);

        cluster.balance += msg.value;
        cluster.active = true;
        cluster.index = clusterIndex;
        cluster.networkFeeIndex = _currentNetworkFeeIndexEth();

        if (_isLiquidatableEthUnits(cluster, effective, burnRate)) revert InsufficientBalance();

        _updateDaoEth(true, cluster.validatorCount);
        if (deviation != 0) _sp.daoTotalEthVUnits += deviation;
        _ethClusters[key] = _hashCluster(cluster);

        emit ClusterReactivated(msg.sender, operatorIds, cluster);
    }

    function migrateClusterToETH(uint64[] memory operatorIds, Cluster memory cluster) external payable onlyV2 nonReentrant {
        (bytes32 key, bool isEth) = _validateHashedCluster(cluster, msg.sender, operatorIds);
        if (isEth) revert IncorrectClusterVersion();
        bool wasLiquidated = !cluster.active;

        (uint64 indexSSV, uint64 indexETH, uint64 burnRateETH) = _updateOperatorsMigration(
            operatorIds,
            cluster.validatorCount,
            wasLiquidated
        );

        _updateBalanceSSV(cluster, indexSSV, _currentNetworkFeeIndexSSV());
        uint256 ssvRefund = cluster.balance;

        cluster.balance = msg.value;
        cluster.active = true;
        cluster.index = indexETH;
        cluster.networkFeeIndex = _currentNetworkFeeIndexEth();

        if (!wasLiquidated) _updateDaoSSV(false, cluster.validatorCount);
        _updateDaoEth(true, cluster.validatorCount);

        if (_isLiquidatableEth(cluster, key, burnRateETH)) revert InsufficientBalance();

        _ethClusters[key] = _hashCluster(cluster);
        delete _clusters[key];

        // An EB proven while the cluster was legacy takes effect now (deviation above baseline).
        uint64 stored = _clusterEB[key].vUnits;
        uint64 baseline = uint64(cluster.validatorCount) * uint64(VUNITS);
        if (stored > baseline) {
            _sp.daoTotalEthVUnits += stored - baseline;
            _addOperatorDeviation(operatorIds, stored - baseline, true);
        }
        uint32 effectiveBalance = _vUnitsToEB(stored > 0 ? stored : baseline);
        if (ssvRefund != 0) _pushToken(msg.sender, ssvRefund);

        emit ClusterMigratedToETH(msg.sender, operatorIds, msg.value, ssvRefund, effectiveBalance, cluster);
        if (wasLiquidated) emit ClusterReactivated(msg.sender, operatorIds, cluster);
    }

    function liquidateSSV(
        address clusterOwner,
        uint64[] memory operatorIds,
        Cluster memory cluster
    ) external onlyV2 nonReentrant {
        _liquidateSSV(clusterOwner, operatorIds, cluster);
    }

    // =============================================================================================
    // Effective balance: oracle roots and proofs (v2.0.0 SSVDAO.commitRoot, SSVClusters.updateClusterBalance)
    // =============================================================================================

    function replaceOracle(uint32 oracleId, address newOracle) external onlyV2 onlyOwner {
        if (oracleId == 0) revert ZeroAmount(); // the real code reuses this error for an invalid id
        if (newOracle == address(0)) revert ZeroAddress();
        address oldOracle = _oracles[oracleId];
        if (oldOracle == newOracle) {
            emit OracleReplaced(oracleId, oldOracle, newOracle);
            return;
        }
        if (oldOracle != address(0)) _oracleIdOf[oldOracle] = 0;
        uint32 existing = _oracleIdOf[newOracle];
        if (existing != 0 && existing != oracleId) revert OracleAlreadyAssigned();
        _oracles[oracleId] = newOracle;
        _oracleIdOf[newOracle] = oracleId;
        emit OracleReplaced(oracleId, oldOracle, newOracle);
    }

    /// Each oracle vote weighs a quarter of the (notional) stake; the root is committed once the
    /// votes reach QUORUM_BPS of it (3 of 4 oracles), as in the real SSVDAO.
    function commitRoot(bytes32 merkleRoot, uint64 blockNum) external onlyV2 nonReentrant {
        uint32 oracleId = _oracleIdOf[msg.sender];
        if (oracleId == 0) revert NotOracle();
        if (blockNum <= _latestCommittedBlock) revert StaleBlockNumber();
        if (blockNum > block.number) revert FutureBlockNumber();

        bytes32 commitmentKey = keccak256(abi.encodePacked(blockNum, merkleRoot));
        if (_hasVoted[commitmentKey][oracleId]) revert AlreadyVoted();
        _hasVoted[commitmentKey][oracleId] = true;

        uint256 accumulated = _rootCommitments[commitmentKey] + ORACLE_NOTIONAL_STAKE / ORACLE_SLOTS;
        _rootCommitments[commitmentKey] = accumulated;
        uint256 threshold = (ORACLE_NOTIONAL_STAKE * QUORUM_BPS) / BPS_DENOMINATOR;
        if (accumulated >= threshold) {
            _ebRoots[blockNum] = merkleRoot;
            _latestCommittedBlock = blockNum;
            delete _rootCommitments[commitmentKey];
            emit RootCommitted(merkleRoot, blockNum);
            return;
        }
        emit WeightedRootProposed(merkleRoot, blockNum, accumulated, threshold, oracleId, msg.sender);
    }

    /// Permissionless: proves `effectiveBalance` (whole ETH) of the cluster against the root of
    /// `blockNum`. ETH clusters settle at the old vUnits, switch to the new ones (operators and
    /// DAO follow the deviation) and are liquidated at once if that makes them liquidatable
    /// (bounty to the caller); a liquidated cluster or a legacy one only records the new vUnits.
    function updateClusterBalance(
        uint64 blockNum,
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster,
        uint32 effectiveBalance,
        bytes32[] calldata merkleProof
    ) external onlyV2 nonReentrant {
        (bytes32 key, bool isEth) = _validateHashedCluster(cluster, clusterOwner, operatorIds);
        _verifyEB(key, blockNum, effectiveBalance, merkleProof, cluster.validatorCount);

        uint64 newVUnits = _ebToVUnits(effectiveBalance);
        if (isEth) {
            uint64 oldVUnits = _vUnits(key, cluster.validatorCount);
            uint64 burnRate;
            if (cluster.active) {
                uint64 clusterIndex;
                (clusterIndex, burnRate) = _updateOperatorsEth(operatorIds, false, 0);
                _settleEthUnits(cluster, oldVUnits, clusterIndex, _currentNetworkFeeIndexEth());
                if (newVUnits != oldVUnits) {
                    bool up = newVUnits > oldVUnits;
                    uint64 delta = up ? newVUnits - oldVUnits : oldVUnits - newVUnits;
                    _addOperatorDeviation(operatorIds, delta, up);
                    _sp.ethDaoBalance = _networkEarningsEth();
                    _sp.ethDaoIndexBlockNumber = uint32(block.number);
                    if (up) _sp.daoTotalEthVUnits += delta;
                    else _sp.daoTotalEthVUnits -= delta;
                }
            }
            _recordEB(key, blockNum, newVUnits);
            if (cluster.active && cluster.validatorCount != 0 && _isLiquidatableEth(cluster, key, burnRate)) {
                for (uint256 i; i < operatorIds.length; ++i) {
                    Operator storage op = _operators[operatorIds[i]];
                    if (op.ethSnapshot.block != 0) op.ethValidatorCount -= cluster.validatorCount;
                }
                _executeLiquidationEth(clusterOwner, key, operatorIds, cluster);
            } else if (cluster.active) {
                _ethClusters[key] = _hashCluster(cluster);
            }
        } else {
            _recordEB(key, blockNum, newVUnits);
        }
        emit ClusterBalanceUpdated(clusterOwner, operatorIds, blockNum, effectiveBalance, cluster);
    }

    /// Root exists, not older than the cluster's last one, OpenZeppelin-style proof of the leaf
    /// keccak256(keccak256(abi.encode(clusterId, effectiveBalance))), 32..2048 ETH per validator.
    function _verifyEB(
        bytes32 key,
        uint64 blockNum,
        uint32 effectiveBalance,
        bytes32[] calldata proof,
        uint32 validatorCount
    ) private view {
        bytes32 root = _ebRoots[blockNum];
        if (root == bytes32(0)) revert RootNotFound();
        uint64 lastRoot = _clusterEB[key].lastRootBlockNum;
        if (lastRoot != 0 && blockNum <= lastRoot) revert StaleUpdate();
        bytes32 computed = keccak256(abi.encodePacked(keccak256(abi.encode(key, effectiveBalance))));
        for (uint256 i; i < proof.length; ++i) {
            bytes32 p = proof[i];
            computed = computed < p
                ? keccak256(abi.encodePacked(computed, p))
                : keccak256(abi.encodePacked(p, computed));
        }
        if (computed != root) revert InvalidProof();
        if (effectiveBalance > uint256(validatorCount) * MAX_EB_PER_VALIDATOR) revert EBExceedsMaximum();
        if (effectiveBalance < uint256(validatorCount) * DEFAULT_EB_PER_VALIDATOR) revert EBBelowMinimum();
    }

    function _recordEB(bytes32 key, uint64 blockNum, uint64 vUnits) private {
        ClusterEB storage eb = _clusterEB[key];
        eb.vUnits = vUnits;
        eb.lastRootBlockNum = blockNum;
        eb.lastUpdateBlock = uint64(block.number);
    }

    // =============================================================================================
    // Validators / clusters: v1.2.0 (SSV token, `amount` argument)
    // =============================================================================================

    function registerValidator(
        bytes calldata publicKey,
        uint64[] memory operatorIds,
        bytes calldata sharesData,
        uint256 amount,
        Cluster memory cluster
    ) external onlyV1 nonReentrant {
        _registerSSV(_one(publicKey), operatorIds, _one(sharesData), amount, cluster);
    }

    function bulkRegisterValidator(
        bytes[] memory publicKeys,
        uint64[] memory operatorIds,
        bytes[] memory sharesData,
        uint256 amount,
        Cluster memory cluster
    ) external onlyV1 nonReentrant {
        _registerSSV(publicKeys, operatorIds, sharesData, amount, cluster);
    }

    function deposit(
        address clusterOwner,
        uint64[] memory operatorIds,
        uint256 amount,
        Cluster memory cluster
    ) external onlyV1 nonReentrant {
        (bytes32 key, ) = _validateHashedCluster(cluster, clusterOwner, operatorIds);

        cluster.balance += amount;
        _clusters[key] = _hashCluster(cluster);

        _pullToken(amount);

        emit ClusterDeposited(clusterOwner, operatorIds, amount, cluster);
    }

    function reactivate(uint64[] memory operatorIds, uint256 amount, Cluster memory cluster) external onlyV1 nonReentrant {
        (bytes32 key, ) = _validateHashedCluster(cluster, msg.sender, operatorIds);
        if (cluster.active) revert ClusterAlreadyEnabled();

        (uint64 clusterIndex, uint64 burnRate) = _updateOperatorsSSV(operatorIds, true, cluster.validatorCount);

        cluster.balance += amount;
        cluster.active = true;
        cluster.index = clusterIndex;
        cluster.networkFeeIndex = _currentNetworkFeeIndexSSV();

        _updateDaoSSV(true, cluster.validatorCount);

        if (_isLiquidatableSSV(cluster, burnRate)) revert InsufficientBalance();

        _clusters[key] = _hashCluster(cluster);

        if (amount > 0) _pullToken(amount);

        emit ClusterReactivated(msg.sender, operatorIds, cluster);
    }

    // =============================================================================================
    // Validators / clusters: selectors shared by both versions
    // =============================================================================================

    function removeValidator(
        bytes calldata publicKey,
        uint64[] memory operatorIds,
        Cluster memory cluster
    ) external initialized nonReentrant {
        if (_version == V1) {
            // v1.2.0 distinguishes "no record" from "record for another operator set".
            (bytes32 key, ) = _validateHashedCluster(cluster, msg.sender, operatorIds);
            if (_validatorPKs[keccak256(abi.encodePacked(publicKey, msg.sender))] == bytes32(0)) {
                revert ValidatorDoesNotExist();
            }
            _removeValidators(key, false, _one(publicKey), operatorIds, cluster);
        } else {
            _bulkRemove(_one(publicKey), operatorIds, cluster);
        }
    }

    function bulkRemoveValidator(
        bytes[] memory publicKeys,
        uint64[] memory operatorIds,
        Cluster memory cluster
    ) external initialized nonReentrant {
        _bulkRemove(publicKeys, operatorIds, cluster);
    }

    function exitValidator(bytes calldata publicKey, uint64[] memory operatorIds) external initialized {
        if (!_validatorMatches(publicKey, msg.sender, _hashOperatorIds(operatorIds))) {
            revert IncorrectValidatorStateWithData(publicKey);
        }
        emit ValidatorExited(msg.sender, operatorIds, publicKey);
    }

    function bulkExitValidator(bytes[] calldata publicKeys, uint64[] memory operatorIds) external initialized {
        if (publicKeys.length == 0) revert ValidatorDoesNotExist();
        bytes32 hashedIds = _hashOperatorIds(operatorIds);
        for (uint256 i; i < publicKeys.length; ++i) {
            if (!_validatorMatches(publicKeys[i], msg.sender, hashedIds)) {
                revert IncorrectValidatorStateWithData(publicKeys[i]);
            }
            emit ValidatorExited(msg.sender, operatorIds, publicKeys[i]);
        }
    }

    /// v1: SSV cluster liquidation with SSV bounty; v2: ETH clusters only, ETH bounty.
    function liquidate(
        address clusterOwner,
        uint64[] memory operatorIds,
        Cluster memory cluster
    ) external initialized nonReentrant {
        if (_version == V1) {
            _liquidateSSV(clusterOwner, operatorIds, cluster);
            return;
        }
        (bytes32 key, bool isEth) = _validateHashedCluster(cluster, clusterOwner, operatorIds);
        if (!isEth) revert IncorrectClusterVersion();
        if (!cluster.active) revert ClusterIsLiquidated();

        (uint64 clusterIndex, uint64 burnRate) = _updateOperatorsEth(operatorIds, false, cluster.validatorCount);
        _settleEth(cluster, key, clusterIndex, _currentNetworkFeeIndexEth());

        if (clusterOwner != msg.sender && !_isLiquidatableEth(cluster, key, burnRate)) revert ClusterNotLiquidatable();

        _executeLiquidationEth(clusterOwner, key, operatorIds, cluster);
    }

    /// DAO count down, the EB deviation out of the DAO and operator vUnits (the cluster keeps its
    /// stored vUnits), balance to the caller, cluster {count, 0, 0, false, 0}.
    function _executeLiquidationEth(
        address clusterOwner,
        bytes32 key,
        uint64[] memory operatorIds,
        Cluster memory cluster
    ) private {
        _updateDaoEth(false, cluster.validatorCount);

        uint64 stored = _clusterEB[key].vUnits;
        uint64 baseline = uint64(cluster.validatorCount) * uint64(VUNITS);
        if (stored > 0 && stored != baseline) {
            bool above = stored > baseline;
            uint64 deviation = above ? stored - baseline : baseline - stored;
            if (above) _sp.daoTotalEthVUnits -= deviation;
            else _sp.daoTotalEthVUnits += deviation;
            _addOperatorDeviation(operatorIds, deviation, !above);
        }

        uint256 bounty = cluster.balance;
        cluster.balance = 0;
        cluster.active = false;
        cluster.index = 0;
        cluster.networkFeeIndex = 0;
        _ethClusters[key] = _hashCluster(cluster);

        if (bounty > 0) _pushEth(msg.sender, bounty);

        emit ClusterLiquidated(clusterOwner, operatorIds, cluster);
    }

    function _addOperatorDeviation(uint64[] memory operatorIds, uint64 deviation, bool add) private {
        for (uint256 i; i < operatorIds.length; ++i) {
            if (add) _operatorEthVUnits[operatorIds[i]] += deviation;
            else _operatorEthVUnits[operatorIds[i]] -= deviation;
        }
    }

    /// v1: SSV cluster (reverts ClusterIsLiquidated when inactive), token payout;
    /// v2: ETH cluster (also from a liquidated one), ETH payout.
    function withdraw(uint64[] memory operatorIds, uint256 amount, Cluster memory cluster) external initialized nonReentrant {
        (bytes32 key, bool isEth) = _validateHashedCluster(cluster, msg.sender, operatorIds);
        bool v1 = _version == V1;
        if (v1) {
            if (!cluster.active) revert ClusterIsLiquidated();
        } else if (!isEth) {
            revert IncorrectClusterVersion();
        }

        uint64 burnRate;
        if (cluster.active) {
            uint64 clusterIndex;
            if (v1) {
                (clusterIndex, burnRate) = _clusterIndexSSV(operatorIds);
                _settleSSV(cluster, clusterIndex, _currentNetworkFeeIndexSSV());
            } else {
                (clusterIndex, burnRate) = _clusterIndexEth(operatorIds);
                _settleEth(cluster, key, clusterIndex, _currentNetworkFeeIndexEth());
            }
        }
        if (cluster.balance < amount) revert InsufficientBalance();
        cluster.balance -= amount;

        if (cluster.active && cluster.validatorCount != 0) {
            bool liquidatable = v1 ? _isLiquidatableSSV(cluster, burnRate) : _isLiquidatableEth(cluster, key, burnRate);
            if (liquidatable) revert InsufficientBalance();
        }

        if (v1) {
            _clusters[key] = _hashCluster(cluster);
            _pushToken(msg.sender, amount);
        } else {
            _ethClusters[key] = _hashCluster(cluster);
            _pushEth(msg.sender, amount);
        }

        emit ClusterWithdrawn(msg.sender, operatorIds, amount, cluster);
    }

    // ---------------------------------------------------------------------------------------------
    // Cluster internals
    // ---------------------------------------------------------------------------------------------

    function _registerEth(
        bytes[] memory publicKeys,
        uint64[] memory operatorIds,
        bytes[] memory sharesData,
        Cluster memory cluster
    ) private {
        uint32 count = _checkRegistrationInputs(publicKeys, operatorIds, sharesData);

        bytes32 key = _clusterKey(msg.sender, operatorIds);
        bytes32 stored = _ethClusters[key];
        if (stored == bytes32(0) && _clusters[key] != bytes32(0)) revert IncorrectClusterVersion();
        _checkRegistrationSnapshot(stored, cluster);

        cluster.balance += msg.value;

        (uint64 clusterIndex, uint64 burnRate) = _operatorsOnRegistrationEth(operatorIds, count);
        _settleEth(cluster, key, clusterIndex, _currentNetworkFeeIndexEth());
        _updateDaoEth(true, count);
        cluster.validatorCount += count;

        // As the real code: the check sees the stored vUnits before the new validators' baseline.
        if (_isLiquidatableEth(cluster, key, burnRate)) revert InsufficientBalance();

        _ethClusters[key] = _hashCluster(cluster);
        if (_clusterEB[key].vUnits > 0) _clusterEB[key].vUnits += uint64(count) * uint64(VUNITS);

        for (uint256 i; i < count; ++i) {
            emit ValidatorAdded(msg.sender, operatorIds, publicKeys[i], sharesData[i], cluster);
        }
    }

    function _registerSSV(
        bytes[] memory publicKeys,
        uint64[] memory operatorIds,
        bytes[] memory sharesData,
        uint256 amount,
        Cluster memory cluster
    ) private {
        uint32 count = _checkRegistrationInputs(publicKeys, operatorIds, sharesData);

        bytes32 key = _clusterKey(msg.sender, operatorIds);
        _checkRegistrationSnapshot(_clusters[key], cluster);

        cluster.balance += amount;

        (uint64 clusterIndex, uint64 burnRate) = _operatorsOnRegistrationSSV(operatorIds, count);
        _settleSSV(cluster, clusterIndex, _currentNetworkFeeIndexSSV());
        _updateDaoSSV(true, count);
        cluster.validatorCount += count;

        if (_isLiquidatableSSV(cluster, burnRate)) revert InsufficientBalance();

        _clusters[key] = _hashCluster(cluster);

        if (amount != 0) _pullToken(amount);

        for (uint256 i; i < count; ++i) {
            emit ValidatorAdded(msg.sender, operatorIds, publicKeys[i], sharesData[i], cluster);
        }
    }

    /// List checks, operator-count rule and validator records, in the real contract's order.
    function _checkRegistrationInputs(
        bytes[] memory publicKeys,
        uint64[] memory operatorIds,
        bytes[] memory sharesData
    ) private returns (uint32 count) {
        uint256 n = publicKeys.length;
        if (n == 0) revert EmptyPublicKeysList();
        if (n != sharesData.length) revert PublicKeysSharesLengthMismatch();

        uint256 len = operatorIds.length;
        if (len < MIN_OPERATORS_LENGTH || len > MAX_OPERATORS_LENGTH || len % MODULO_OPERATORS_LENGTH != 1) {
            revert InvalidOperatorIdsLength();
        }

        bytes32 value = bytes32(uint256(keccak256(abi.encodePacked(operatorIds))) | 1);
        for (uint256 i; i < n; ++i) {
            bytes memory pk = publicKeys[i];
            if (pk.length != PUBLIC_KEY_LENGTH) revert InvalidPublicKeyLength();
            bytes32 hashedPk = keccak256(abi.encodePacked(pk, msg.sender));
            if (_validatorPKs[hashedPk] != bytes32(0)) revert ValidatorAlreadyExistsWithData(pk);
            _validatorPKs[hashedPk] = value;
        }
        count = uint32(n);
    }

    /// New cluster: the snapshot must be exactly {0,0,0,true,0}; existing: hash match and active.
    function _checkRegistrationSnapshot(bytes32 stored, Cluster memory cluster) private pure {
        if (stored == bytes32(0)) {
            if (
                cluster.validatorCount != 0 ||
                cluster.networkFeeIndex != 0 ||
                cluster.index != 0 ||
                cluster.balance != 0 ||
                !cluster.active
            ) revert IncorrectClusterState();
        } else if (stored != _hashCluster(cluster)) {
            revert IncorrectClusterState();
        } else if (!cluster.active) {
            revert ClusterIsLiquidated();
        }
    }

    function _bulkRemove(bytes[] memory publicKeys, uint64[] memory operatorIds, Cluster memory cluster) private {
        if (publicKeys.length == 0) revert ValidatorDoesNotExist();
        (bytes32 key, bool isEth) = _validateHashedCluster(cluster, msg.sender, operatorIds);
        _removeValidators(key, isEth, publicKeys, operatorIds, cluster);
    }

    /// Deletes the validator records, settles an active cluster (ETH or SSV side) and stores it.
    function _removeValidators(
        bytes32 key,
        bool isEth,
        bytes[] memory publicKeys,
        uint64[] memory operatorIds,
        Cluster memory cluster
    ) private {
        bytes32 hashedIds = _hashOperatorIds(operatorIds);
        uint256 n = publicKeys.length;
        for (uint256 i; i < n; ++i) {
            bytes32 hashedPk = keccak256(abi.encodePacked(publicKeys[i], msg.sender));
            if ((_validatorPKs[hashedPk] & ~bytes32(uint256(1))) != hashedIds) {
                revert IncorrectValidatorStateWithData(publicKeys[i]);
            }
            delete _validatorPKs[hashedPk];
        }
        uint32 removed = uint32(n);

        if (isEth) {
            if (cluster.active) {
                (uint64 clusterIndex, ) = _updateOperatorsEth(operatorIds, false, removed);
                _settleEth(cluster, key, clusterIndex, _currentNetworkFeeIndexEth());
                _updateDaoEth(false, removed);
            }
            cluster.validatorCount -= removed;
            _removeEBBaseline(key, operatorIds, removed, cluster);
            _ethClusters[key] = _hashCluster(cluster);
        } else {
            if (cluster.active) {
                (uint64 clusterIndex, ) = _updateOperatorsSSV(operatorIds, false, removed);
                _settleSSV(cluster, clusterIndex, _currentNetworkFeeIndexSSV());
                _updateDaoSSV(false, removed);
            }
            cluster.validatorCount -= removed;
            _clusters[key] = _hashCluster(cluster);
        }

        for (uint256 i; i < n; ++i) {
            emit ValidatorRemoved(msg.sender, operatorIds, publicKeys[i], cluster);
        }
    }

    /// v1 `liquidate` and v2 `liquidateSSV`.
    function _liquidateSSV(address clusterOwner, uint64[] memory operatorIds, Cluster memory cluster) private {
        (bytes32 key, bool isEth) = _validateHashedCluster(cluster, clusterOwner, operatorIds);
        if (isEth) revert IncorrectClusterVersion();
        if (!cluster.active) revert ClusterIsLiquidated();

        (uint64 clusterIndex, uint64 burnRate) = _updateOperatorsSSV(operatorIds, false, cluster.validatorCount);
        _updateBalanceSSV(cluster, clusterIndex, _currentNetworkFeeIndexSSV());

        if (clusterOwner != msg.sender && !_isLiquidatableSSV(cluster, burnRate)) revert ClusterNotLiquidatable();

        _updateDaoSSV(false, cluster.validatorCount);

        uint256 bounty = cluster.balance;
        cluster.balance = 0;
        cluster.index = 0;
        cluster.networkFeeIndex = 0;
        cluster.active = false;
        _clusters[key] = _hashCluster(cluster);

        if (bounty != 0) _pushToken(msg.sender, bounty);

        emit ClusterLiquidated(clusterOwner, operatorIds, cluster);
    }

    /// Hash check against the stored cluster. v1 looks only at SSV clusters; v2 looks at the ETH
    /// mapping first, then the legacy SSV one. Returns the key and whether it is an ETH cluster.
    function _validateHashedCluster(
        Cluster memory cluster,
        address clusterOwner,
        uint64[] memory operatorIds
    ) private view returns (bytes32 key, bool isEth) {
        key = _clusterKey(clusterOwner, operatorIds);
        bytes32 stored;
        if (_version == V1) {
            stored = _clusters[key];
            if (stored == bytes32(0)) revert ClusterDoesNotExists();
        } else {
            stored = _ethClusters[key];
            if (stored != bytes32(0)) {
                isEth = true;
            } else {
                stored = _clusters[key];
                if (stored == bytes32(0)) revert ClusterDoesNotExist();
            }
        }
        if (stored != _hashCluster(cluster)) revert IncorrectClusterState();
    }

    function _clusterKey(address clusterOwner, uint64[] memory operatorIds) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(clusterOwner, operatorIds));
    }

    function _hashCluster(Cluster memory c) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(c.validatorCount, c.networkFeeIndex, c.index, c.balance, c.active));
    }

    function _hashOperatorIds(uint64[] memory operatorIds) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(operatorIds)) & ~bytes32(uint256(1));
    }

    function _validatorMatches(bytes memory publicKey, address clusterOwner, bytes32 hashedIds) private view returns (bool) {
        return (_validatorPKs[keccak256(abi.encodePacked(publicKey, clusterOwner))] & ~bytes32(uint256(1))) == hashedIds;
    }

    function _one(bytes calldata item) private pure returns (bytes[] memory list) {
        list = new bytes[](1);
        list[0] = item;
    }

    // ---------------------------------------------------------------------------------------------
    // Money math (ssv-contracts notes §4)
    // ---------------------------------------------------------------------------------------------

    /// An oracle-set cluster loses the baseline of removed validators; once empty, its remaining
    /// deviation leaves the operators and the DAO (skipped when liquidated: already done there).
    function _removeEBBaseline(bytes32 key, uint64[] memory operatorIds, uint32 removed, Cluster memory cluster) private {
        ClusterEB storage eb = _clusterEB[key];
        if (eb.vUnits == 0) return;
        eb.vUnits -= uint64(removed) * uint64(VUNITS);
        if (cluster.validatorCount != 0) return;
        uint64 remaining = eb.vUnits;
        if (remaining > 0 && cluster.active) {
            _addOperatorDeviation(operatorIds, remaining, false);
            _sp.ethDaoBalance = _networkEarningsEth();
            _sp.ethDaoIndexBlockNumber = uint32(block.number);
            _sp.daoTotalEthVUnits -= remaining;
        }
        eb.vUnits = 0;
    }

    /// The cluster's vUnits: oracle-set, else the implicit validatorCount * 10_000.
    function _vUnits(bytes32 key, uint32 validatorCount) private view returns (uint64) {
        uint64 stored = _clusterEB[key].vUnits;
        return stored > 0 ? stored : uint64(validatorCount) * uint64(VUNITS);
    }

    /// ceil(EB * 10_000 / 32), EB in whole ETH.
    function _ebToVUnits(uint32 effectiveBalance) private pure returns (uint64) {
        uint256 v = uint256(effectiveBalance) * VUNITS;
        return uint64(v == 0 ? 0 : (v - 1) / DEFAULT_EB_PER_VALIDATOR + 1);
    }

    /// floor(vUnits * 32 / 10_000).
    function _vUnitsToEB(uint64 vUnits) private pure returns (uint32) {
        return uint32((uint256(vUnits) * DEFAULT_EB_PER_VALIDATOR) / VUNITS);
    }

    /// ETH cluster settlement with the cluster's vUnits (oracle-set or implicit).
    function _settleEth(Cluster memory c, bytes32 key, uint64 newIndex, uint64 networkFeeIndex) private view {
        _settleEthUnits(c, _vUnits(key, c.validatorCount), newIndex, networkFeeIndex);
    }

    function _settleEthUnits(Cluster memory c, uint64 vUnits_, uint64 newIndex, uint64 networkFeeIndex) private pure {
        uint256 vUnits = vUnits_;
        uint256 networkUnits = (uint256(networkFeeIndex - c.networkFeeIndex) * vUnits) / VUNITS;
        uint256 operatorUnits = (uint256(newIndex - c.index) * vUnits) / VUNITS;
        uint256 usage = (networkUnits + operatorUnits) * ETH_DIGITS;
        c.balance = usage > c.balance ? 0 : c.balance - usage;
        c.index = newIndex;
        c.networkFeeIndex = networkFeeIndex;
    }

    function _updateBalanceSSV(Cluster memory c, uint64 newIndex, uint64 networkFeeIndex) private pure {
        uint256 usage = (uint256(newIndex - c.index) * c.validatorCount +
            uint256(networkFeeIndex - c.networkFeeIndex) * c.validatorCount) * SSV_DIGITS;
        c.balance = usage > c.balance ? 0 : c.balance - usage;
    }

    function _settleSSV(Cluster memory c, uint64 newIndex, uint64 networkFeeIndex) private pure {
        _updateBalanceSSV(c, newIndex, networkFeeIndex);
        c.index = newIndex;
        c.networkFeeIndex = networkFeeIndex;
    }

    /// balance < MLC, or balance < LTP * (Σ operator fee + network fee) * vUnits / 10_000 (packed ETH).
    function _isLiquidatableEth(Cluster memory c, bytes32 key, uint64 burnRate) private view returns (bool) {
        return _isLiquidatableEthUnits(c, _vUnits(key, c.validatorCount), burnRate);
    }

    function _isLiquidatableEthUnits(Cluster memory c, uint64 vUnits_, uint64 burnRate) private view returns (bool) {
        if (c.validatorCount == 0) return false;
        if (c.balance < uint256(_sp.ethMinimumLiquidationCollateral) * ETH_DIGITS) return true;
        uint256 vUnits = vUnits_;
        uint256 thresholdUnits = (uint256(_sp.ethLiquidationThresholdPeriod) *
            (uint256(burnRate) + _sp.ethNetworkFee) *
            vUnits) / VUNITS;
        return c.balance < thresholdUnits * ETH_DIGITS;
    }

    function _isLiquidatableSSV(Cluster memory c, uint64 burnRate) private view returns (bool) {
        if (c.validatorCount == 0) return false;
        if (c.balance < uint256(_sp.minimumLiquidationCollateral) * SSV_DIGITS) return true;
        uint256 threshold = uint256(_sp.liquidationThresholdPeriod) *
            (uint256(burnRate) + _sp.networkFee) *
            c.validatorCount;
        return c.balance < threshold * SSV_DIGITS;
    }

    function _currentNetworkFeeIndexEth() private view returns (uint64) {
        return _sp.ethNetworkFeeIndex + uint64(block.number - _sp.ethNetworkFeeIndexBlockNumber) * _sp.ethNetworkFee;
    }

    function _currentNetworkFeeIndexSSV() private view returns (uint64) {
        return _sp.networkFeeIndex + uint64(block.number - _sp.networkFeeIndexBlockNumber) * _sp.networkFee;
    }

    function _networkEarningsEth() private view returns (uint64) {
        uint256 blocks = block.number - _sp.ethDaoIndexBlockNumber;
        return _sp.ethDaoBalance + uint64((blocks * _sp.ethNetworkFee * _sp.daoTotalEthVUnits) / VUNITS);
    }

    function _networkEarningsSSV() private view returns (uint64) {
        return _sp.daoBalance + uint64(block.number - _sp.daoIndexBlockNumber) * _sp.networkFee * _sp.daoValidatorCount;
    }

    function _updateDaoEth(bool increase, uint32 delta) private {
        _sp.ethDaoBalance = _networkEarningsEth();
        _sp.ethDaoIndexBlockNumber = uint32(block.number);
        uint64 vUnitsDelta = uint64(delta) * uint64(VUNITS);
        if (increase) {
            _sp.ethDaoValidatorCount += delta;
            _sp.daoTotalEthVUnits += vUnitsDelta;
        } else {
            _sp.ethDaoValidatorCount -= delta;
            _sp.daoTotalEthVUnits -= vUnitsDelta;
        }
    }

    function _updateDaoSSV(bool increase, uint32 delta) private {
        _sp.daoBalance = _networkEarningsSSV();
        _sp.daoIndexBlockNumber = uint32(block.number);
        if (increase) {
            _sp.daoValidatorCount += delta;
        } else {
            _sp.daoValidatorCount -= delta;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Operator snapshots and per-cluster operator walks
    // ---------------------------------------------------------------------------------------------

    /// Effective vUnits = ethValidatorCount * 10_000 + the EB deviation of its clusters.
    function _updateSnapshotEth(Operator storage op, uint64 operatorId) private {
        uint64 blockDiffFee = uint64(uint32(block.number) - op.ethSnapshot.block) * op.ethFee;
        op.ethSnapshot.index += blockDiffFee;
        op.ethSnapshot.balance += _ethEarned(op, operatorId, blockDiffFee);
        op.ethSnapshot.block = uint32(block.number);
    }

    function _ethEarned(Operator storage op, uint64 operatorId, uint64 blockDiffFee) private view returns (uint64) {
        uint256 vUnits = uint256(_operatorEthVUnits[operatorId]) + uint256(op.ethValidatorCount) * VUNITS;
        return uint64((uint256(blockDiffFee) * vUnits) / VUNITS);
    }

    function _updateSnapshotSSV(Operator storage op) private {
        uint64 blockDiffFee = uint64(uint32(block.number) - op.snapshot.block) * op.fee;
        op.snapshot.index += blockDiffFee;
        op.snapshot.balance += blockDiffFee * op.validatorCount;
        op.snapshot.block = uint32(block.number);
    }

    /// A legacy (v1) operator is given its ETH side the first time it is used by an ETH action:
    /// snapshot starts now and, if it charged an SSV fee, its ETH fee becomes the default 1.77 gwei.
    /// No event, as in the real OperatorLib.ensureETHDefaults.
    function _ensureEthDefaults(Operator storage op) private {
        if (op.ethSnapshot.block == 0) {
            op.ethSnapshot.block = uint32(block.number);
            op.ethSnapshot.balance = 0;
            if (op.ethFee == 0 && op.fee != 0) {
                op.ethFee = uint64(DEFAULT_OPERATOR_ETH_FEE / ETH_DIGITS);
            }
        }
    }

    function _checkSortedUnique(uint64[] memory operatorIds, uint256 i) private pure {
        if (i + 1 < operatorIds.length) {
            if (operatorIds[i] > operatorIds[i + 1]) revert UnsortedOperatorsList();
            if (operatorIds[i] == operatorIds[i + 1]) revert OperatorsListNotUnique();
        }
    }

    function _operatorsOnRegistrationEth(
        uint64[] memory operatorIds,
        uint32 delta
    ) private returns (uint64 clusterIndex, uint64 burnRate) {
        uint256 len = operatorIds.length;
        for (uint256 i; i < len; ++i) {
            uint64 id = operatorIds[i];
            _checkSortedUnique(operatorIds, i);
            Operator storage op = _operators[id];
            if (op.owner == address(0) || (op.snapshot.block == 0 && op.ethSnapshot.block == 0)) {
                revert OperatorDoesNotExist();
            }
            _ensureEthDefaults(op);
            if (op.whitelisted) _checkWhitelisted(id, msg.sender);
            _updateSnapshotEth(op, id);
            op.ethValidatorCount += delta;
            if (op.ethValidatorCount > _sp.validatorsPerOperatorLimit) revert ExceedValidatorLimitWithData(id);
            burnRate += op.ethFee;
            clusterIndex += op.ethSnapshot.index;
        }
    }

    function _operatorsOnRegistrationSSV(
        uint64[] memory operatorIds,
        uint32 delta
    ) private returns (uint64 clusterIndex, uint64 burnRate) {
        uint256 len = operatorIds.length;
        for (uint256 i; i < len; ++i) {
            uint64 id = operatorIds[i];
            _checkSortedUnique(operatorIds, i);
            Operator storage op = _operators[id];
            if (op.snapshot.block == 0) revert OperatorDoesNotExist();
            if (op.whitelisted) _checkWhitelisted(id, msg.sender);
            _updateSnapshotSSV(op);
            op.validatorCount += delta;
            if (op.validatorCount > _sp.validatorsPerOperatorLimit) revert ExceedValidatorLimitWithData(id);
            burnRate += op.fee;
            clusterIndex += op.snapshot.index;
        }
    }

    /// Settles every live operator of an ETH cluster and moves its validator count; removed
    /// operators (snapshot block 0) only contribute their frozen index.
    function _updateOperatorsEth(
        uint64[] memory operatorIds,
        bool increase,
        uint32 delta
    ) private returns (uint64 clusterIndex, uint64 burnRate) {
        uint256 len = operatorIds.length;
        for (uint256 i; i < len; ++i) {
            uint64 id = operatorIds[i];
            Operator storage op = _operators[id];
            if (op.ethSnapshot.block != 0) {
                _updateSnapshotEth(op, id);
                if (increase) {
                    op.ethValidatorCount += delta;
                    if (op.ethValidatorCount > _sp.validatorsPerOperatorLimit) revert ExceedValidatorLimitWithData(id);
                } else {
                    op.ethValidatorCount -= delta;
                }
                burnRate += op.ethFee;
            }
            clusterIndex += op.ethSnapshot.index;
        }
    }

    function _updateOperatorsSSV(
        uint64[] memory operatorIds,
        bool increase,
        uint32 delta
    ) private returns (uint64 clusterIndex, uint64 burnRate) {
        uint256 len = operatorIds.length;
        for (uint256 i; i < len; ++i) {
            uint64 id = operatorIds[i];
            Operator storage op = _operators[id];
            if (op.snapshot.block != 0) {
                _updateSnapshotSSV(op);
                if (increase) {
                    op.validatorCount += delta;
                    if (op.validatorCount > _sp.validatorsPerOperatorLimit) revert ExceedValidatorLimitWithData(id);
                } else {
                    op.validatorCount -= delta;
                }
                burnRate += op.fee;
            }
            clusterIndex += op.snapshot.index;
        }
    }

    /// migrateClusterToETH: settle the SSV side (and drop the SSV counts unless already liquidated),
    /// bring every operator's ETH side up and add the validators to the ETH counts.
    function _updateOperatorsMigration(
        uint64[] memory operatorIds,
        uint32 validatorCount,
        bool wasLiquidated
    ) private returns (uint64 indexSSV, uint64 indexETH, uint64 burnRateETH) {
        uint256 len = operatorIds.length;
        for (uint256 i; i < len; ++i) {
            uint64 id = operatorIds[i];
            Operator storage op = _operators[id];
            if (op.snapshot.block == 0 && op.ethSnapshot.block == 0) {
                // removed operator: its frozen indices still belong to the clusters' index sums
                indexSSV += op.snapshot.index;
                indexETH += op.ethSnapshot.index;
                continue;
            }
            _updateSnapshotSSV(op);
            indexSSV += op.snapshot.index;
            if (!wasLiquidated) op.validatorCount -= validatorCount;

            if (op.ethSnapshot.block == 0) {
                _ensureEthDefaults(op); // fresh ETH side: index 0
            } else {
                _updateSnapshotEth(op, id);
            }
            indexETH += op.ethSnapshot.index;

            op.ethValidatorCount += validatorCount;
            if (op.ethValidatorCount > _sp.validatorsPerOperatorLimit) revert ExceedValidatorLimitWithData(id);
            burnRateETH += op.ethFee;
        }
    }

    /// Σ operator index "now" and Σ fee, without writing (withdraw and the views).
    function _clusterIndexEth(uint64[] memory operatorIds) private view returns (uint64 clusterIndex, uint64 burnRate) {
        for (uint256 i; i < operatorIds.length; ++i) {
            Operator storage op = _operators[operatorIds[i]];
            clusterIndex += op.ethSnapshot.index + uint64(uint32(block.number) - op.ethSnapshot.block) * op.ethFee;
            burnRate += op.ethFee;
        }
    }

    function _clusterIndexSSV(uint64[] memory operatorIds) private view returns (uint64 clusterIndex, uint64 burnRate) {
        for (uint256 i; i < operatorIds.length; ++i) {
            Operator storage op = _operators[operatorIds[i]];
            clusterIndex += op.snapshot.index + uint64(uint32(block.number) - op.snapshot.block) * op.fee;
            burnRate += op.fee;
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Whitelisting
    // ---------------------------------------------------------------------------------------------

    function _checkWhitelisted(uint64 operatorId, address account) private view {
        if (_addressWhitelistedForOperators[account][operatorId >> 8] & (1 << (operatorId & 0xFF)) != 0) return;
        address whitelisted = _operatorsWhitelist[operatorId];
        if (whitelisted == address(0)) revert CallerNotWhitelistedWithData(operatorId);
        if (whitelisted != account) {
            if (
                !_isWhitelistingContract(whitelisted) ||
                !ISSVWhitelistingContract(whitelisted).isWhitelisted(account, operatorId)
            ) revert CallerNotWhitelistedWithData(operatorId);
        }
    }

    /// ERC-165 detection as OpenZeppelin's ERC165Checker.supportsInterface does it.
    function _isWhitelistingContract(address account) private view returns (bool) {
        return
            _supportsInterfaceId(account, ERC165_ID) &&
            !_supportsInterfaceId(account, 0xffffffff) &&
            _supportsInterfaceId(account, WHITELISTING_ID);
    }

    function _supportsInterfaceId(address account, bytes4 interfaceId) private view returns (bool) {
        if (account.code.length == 0) return false;
        (bool ok, bytes memory ret) = account.staticcall{gas: 30_000}(abi.encodeWithSelector(ERC165_ID, interfaceId));
        return ok && ret.length >= 32 && abi.decode(ret, (uint256)) != 0;
    }

    // ---------------------------------------------------------------------------------------------
    // Value transfers and packing
    // ---------------------------------------------------------------------------------------------

    function _pullToken(uint256 amount) private {
        if (!ISSVTokenLike(_token).transferFrom(msg.sender, address(this), amount)) revert TokenTransferFailed();
    }

    function _pushToken(address to, uint256 amount) private {
        if (!ISSVTokenLike(_token).transfer(to, amount)) revert TokenTransferFailed();
    }

    function _pushEth(address to, uint256 amount) private {
        (bool ok, ) = payable(to).call{value: amount}("");
        if (!ok) revert ETHTransferFailed();
    }

    function _packETH(uint256 value) private pure returns (uint64) {
        return _pack(value, ETH_DIGITS);
    }

    function _packSSV(uint256 value) private pure returns (uint64) {
        return _pack(value, SSV_DIGITS);
    }

    function _pack(uint256 value, uint256 scale) private pure returns (uint64) {
        if (value > uint256(type(uint64).max) * scale) revert MaxValueExceeded();
        if (value % scale != 0) revert MaxPrecisionExceeded();
        return uint64(value / scale);
    }

    /// v1.2.0 Types256.shrink: require strings instead of custom errors.
    function _shrinkV1(uint256 value) private pure returns (uint64) {
        require(value < (2 ** 64 * SSV_DIGITS), "Max value exceeded");
        require(value % SSV_DIGITS == 0, "Max precision exceeded");
        return uint64(value / SSV_DIGITS);
    }

    // =============================================================================================
    // Operators
    // =============================================================================================

    function registerOperator(bytes calldata publicKey, uint256 fee, bool setPrivate) external initialized returns (uint64 id) {
        bool v1 = _version == V1;
        if (v1) {
            if (fee != 0 && fee < V1_MINIMAL_OPERATOR_FEE) revert FeeTooLow();
            if (fee > _sp.operatorMaxFee) revert FeeTooHigh();
        } else {
            if (fee != 0 && fee < uint256(_sp.minimumOperatorEthFee) * ETH_DIGITS) revert FeeTooLow();
            if (fee > uint256(_sp.ethOperatorMaxFee) * ETH_DIGITS) revert FeeTooHigh();
        }

        bytes32 hashedPk = keccak256(publicKey);
        if (_operatorsPKs[hashedPk] != 0) revert OperatorAlreadyExists();

        id = ++_lastOperatorId;
        Operator storage op = _operators[id];
        op.owner = msg.sender;
        op.whitelisted = setPrivate;
        if (v1) {
            op.fee = _shrinkV1(fee);
            op.snapshot.block = uint32(block.number);
        } else {
            op.ethFee = _packETH(fee);
            op.ethSnapshot.block = uint32(block.number);
        }
        _operatorsPKs[hashedPk] = id;

        emit OperatorAdded(id, msg.sender, publicKey, fee);
        emit OperatorPrivacyStatusUpdated(_oneId(id), setPrivate);
    }

    function removeOperator(uint64 operatorId) external initialized nonReentrant {
        Operator storage op = _operators[operatorId];
        _checkOperatorOwner(op);

        uint256 ethEarnings;
        uint256 ssvEarnings;
        if (_version == V1) {
            _updateSnapshotSSV(op);
        } else {
            _updateSnapshotEth(op, operatorId);
            _updateSnapshotSSV(op);
            ethEarnings = uint256(op.ethSnapshot.balance) * ETH_DIGITS;
        }
        ssvEarnings = uint256(op.snapshot.balance) * SSV_DIGITS;

        op.snapshot.block = 0;
        op.snapshot.balance = 0;
        op.fee = 0;
        op.validatorCount = 0;
        op.ethSnapshot.block = 0;
        op.ethSnapshot.balance = 0;
        op.ethFee = 0;
        op.ethValidatorCount = 0;
        delete _operatorsWhitelist[operatorId];

        if (ethEarnings > 0) {
            _pushEth(msg.sender, ethEarnings);
            emit OperatorWithdrawn(msg.sender, operatorId, ethEarnings);
        }
        if (ssvEarnings > 0) {
            _pushToken(msg.sender, ssvEarnings);
            emit OperatorWithdrawn(msg.sender, operatorId, ssvEarnings);
        }
        emit OperatorRemoved(operatorId);
    }

    function declareOperatorFee(uint64 operatorId, uint256 fee) external initialized {
        Operator storage op = _operators[operatorId];
        _checkOperatorOwner(op);

        uint64 current;
        uint64 packed;
        uint64 maxAllowed;
        bool v1 = _version == V1;
        if (v1) {
            if (fee != 0 && fee < V1_MINIMAL_OPERATOR_FEE) revert FeeTooLow();
            if (fee > _sp.operatorMaxFee) revert FeeTooHigh();
            current = op.fee;
            packed = _shrinkV1(fee);
            if (packed == current) revert SameFeeChangeNotAllowed();
            if (packed != 0 && current == 0) revert FeeIncreaseNotAllowed();
            maxAllowed = (current * (PRECISION_FACTOR + _sp.operatorMaxFeeIncrease)) / PRECISION_FACTOR;
        } else {
            if (fee != 0 && fee < uint256(_sp.minimumOperatorEthFee) * ETH_DIGITS) revert FeeTooLow();
            if (fee > uint256(_sp.ethOperatorMaxFee) * ETH_DIGITS) revert FeeTooHigh();
            _ensureEthDefaults(op);
            current = op.ethFee;
            packed = _packETH(fee);
            if (packed == current) revert SameFeeChangeNotAllowed();
            if (packed != 0 && current == 0 && op.fee == 0) revert FeeIncreaseNotAllowed();
            maxAllowed = (current * (PRECISION_FACTOR + _sp.operatorMaxFeeIncrease) + PRECISION_FACTOR - 1) / PRECISION_FACTOR;
        }
        if (packed > maxAllowed) revert FeeExceedsIncreaseLimit();

        uint64 begin = uint64(block.timestamp) + _sp.declareOperatorFeePeriod;
        _feeRequests[operatorId] = FeeRequest(packed, begin, begin + _sp.executeOperatorFeePeriod, v1);

        emit OperatorFeeDeclared(msg.sender, operatorId, block.number, fee);
    }

    function executeOperatorFee(uint64 operatorId) external initialized {
        Operator storage op = _operators[operatorId];
        _checkOperatorOwner(op);

        FeeRequest memory request = _feeRequests[operatorId];
        if (request.approvalBeginTime == 0) revert NoFeeDeclared();
        bool v1 = _version == V1;
        if (!v1 && request.legacy) revert LegacyOperatorFeeDeclarationInvalid();
        if (block.timestamp < request.approvalBeginTime || block.timestamp > request.approvalEndTime) {
            revert ApprovalNotWithinTimeframe();
        }

        uint256 feeWei;
        if (v1) {
            feeWei = uint256(request.fee) * SSV_DIGITS;
            if (feeWei > _sp.operatorMaxFee) revert FeeTooHigh();
            _updateSnapshotSSV(op);
            op.fee = request.fee;
        } else {
            if (request.fee > _sp.ethOperatorMaxFee) revert FeeTooHigh();
            feeWei = uint256(request.fee) * ETH_DIGITS;
            _updateSnapshotEth(op, operatorId);
            op.ethFee = request.fee;
        }
        delete _feeRequests[operatorId];

        emit OperatorFeeExecuted(msg.sender, operatorId, block.number, feeWei);
    }

    function cancelDeclaredOperatorFee(uint64 operatorId) external initialized {
        _checkOperatorOwner(_operators[operatorId]);
        if (_feeRequests[operatorId].approvalBeginTime == 0) revert NoFeeDeclared();
        delete _feeRequests[operatorId];
        emit OperatorFeeDeclarationCancelled(msg.sender, operatorId);
    }

    function reduceOperatorFee(uint64 operatorId, uint256 fee) external initialized {
        Operator storage op = _operators[operatorId];
        _checkOperatorOwner(op);

        if (_version == V1) {
            if (fee != 0 && fee < V1_MINIMAL_OPERATOR_FEE) revert FeeTooLow();
            uint64 packed = _shrinkV1(fee);
            if (packed >= op.fee) revert FeeIncreaseNotAllowed();
            _updateSnapshotSSV(op);
            op.fee = packed;
        } else {
            if (fee != 0 && fee < uint256(_sp.minimumOperatorEthFee) * ETH_DIGITS) revert FeeTooLow();
            uint64 packed = _packETH(fee);
            if (packed >= op.ethFee) revert FeeIncreaseNotAllowed();
            _updateSnapshotEth(op, operatorId);
            op.ethFee = packed;
        }
        delete _feeRequests[operatorId];

        emit OperatorFeeExecuted(msg.sender, operatorId, block.number, fee);
    }

    /// v1: SSV earnings (token); v2: ETH earnings.
    function withdrawOperatorEarnings(uint64 operatorId, uint256 amount) external initialized nonReentrant {
        if (_version == V1) _withdrawOperatorSSV(operatorId, amount, true);
        else _withdrawOperatorEth(operatorId, amount);
    }

    function withdrawAllOperatorEarnings(uint64 operatorId) external initialized nonReentrant {
        if (_version == V1) _withdrawOperatorSSV(operatorId, 0, true);
        else _withdrawOperatorEth(operatorId, 0);
    }

    function withdrawOperatorEarningsSSV(uint64 operatorId, uint256 amount) external onlyV2 nonReentrant {
        _withdrawOperatorSSV(operatorId, amount, false);
    }

    function withdrawAllOperatorEarningsSSV(uint64 operatorId) external onlyV2 nonReentrant {
        _withdrawOperatorSSV(operatorId, 0, false);
    }

    function withdrawAllVersionOperatorEarnings(uint64 operatorId) external onlyV2 nonReentrant {
        Operator storage op = _operators[operatorId];
        _checkOperatorOwner(op);
        // Deviation: the real code also rolls an uninitialised ETH side forward here, which marks a
        // legacy operator "ETH active" with a 0 ETH fee; the double leaves that side untouched.
        if (op.ethSnapshot.block != 0) _updateSnapshotEth(op, operatorId);
        _updateSnapshotSSV(op);
        uint256 ethEarnings = uint256(op.ethSnapshot.balance) * ETH_DIGITS;
        uint256 ssvEarnings = uint256(op.snapshot.balance) * SSV_DIGITS;
        op.ethSnapshot.balance = 0;
        op.snapshot.balance = 0;
        if (ethEarnings > 0) {
            _pushEth(msg.sender, ethEarnings);
            emit OperatorWithdrawn(msg.sender, operatorId, ethEarnings);
        }
        if (ssvEarnings > 0) {
            _pushToken(msg.sender, ssvEarnings);
            emit OperatorWithdrawn(msg.sender, operatorId, ssvEarnings);
        }
    }

    function _withdrawOperatorEth(uint64 operatorId, uint256 amount) private {
        Operator storage op = _operators[operatorId];
        _checkOperatorOwner(op);
        uint64 packedAmount = _packETH(amount);
        _updateSnapshotEth(op, operatorId);
        uint64 balance = op.ethSnapshot.balance;
        uint64 withdrawn;
        if (amount == 0) {
            if (balance == 0) revert InsufficientBalance();
            withdrawn = balance;
        } else {
            if (balance < packedAmount) revert InsufficientBalance();
            withdrawn = packedAmount;
        }
        op.ethSnapshot.balance = balance - withdrawn;
        uint256 value = uint256(withdrawn) * ETH_DIGITS;
        _pushEth(msg.sender, value);
        emit OperatorWithdrawn(msg.sender, operatorId, value);
    }

    function _withdrawOperatorSSV(uint64 operatorId, uint256 amount, bool v1Rules) private {
        Operator storage op = _operators[operatorId];
        _checkOperatorOwner(op);
        uint64 packedAmount = v1Rules ? _shrinkV1(amount) : _packSSV(amount);
        _updateSnapshotSSV(op);
        uint64 balance = op.snapshot.balance;
        uint64 withdrawn;
        if (amount == 0) {
            if (balance == 0) revert InsufficientBalance();
            withdrawn = balance;
        } else {
            if (balance < packedAmount) revert InsufficientBalance();
            withdrawn = packedAmount;
        }
        op.snapshot.balance = balance - withdrawn;
        uint256 value = uint256(withdrawn) * SSV_DIGITS;
        _pushToken(msg.sender, value);
        emit OperatorWithdrawn(msg.sender, operatorId, value);
    }

    /// v1: an operator exists while its SSV snapshot is set; v2: while either side is set.
    function _checkOperatorOwner(Operator storage op) private view {
        bool exists = _version == V1 ? op.snapshot.block != 0 : (op.snapshot.block != 0 || op.ethSnapshot.block != 0);
        if (!exists) revert OperatorDoesNotExist();
        if (op.owner != msg.sender) revert CallerNotOwnerWithData(msg.sender, op.owner);
    }

    function _oneId(uint64 id) private pure returns (uint64[] memory ids) {
        ids = new uint64[](1);
        ids[0] = id;
    }

    // ---------------------------------------------------------------------------------------------
    // Operator privacy and whitelists
    // ---------------------------------------------------------------------------------------------

    function setOperatorsPrivateUnchecked(uint64[] calldata operatorIds) external initialized {
        _setPrivacy(operatorIds, true);
    }

    function setOperatorsPublicUnchecked(uint64[] calldata operatorIds) external initialized {
        _setPrivacy(operatorIds, false);
    }

    function _setPrivacy(uint64[] calldata operatorIds, bool toPrivate) private {
        if (operatorIds.length == 0) revert InvalidOperatorIdsLength();
        for (uint256 i; i < operatorIds.length; ++i) {
            Operator storage op = _operators[operatorIds[i]];
            _checkOperatorOwner(op);
            op.whitelisted = toPrivate;
        }
        emit OperatorPrivacyStatusUpdated(operatorIds, toPrivate);
    }

    function setOperatorsWhitelists(uint64[] calldata operatorIds, address[] calldata whitelistAddresses) external initialized {
        _updateWhitelists(operatorIds, whitelistAddresses, true);
        emit OperatorMultipleWhitelistUpdated(operatorIds, whitelistAddresses);
    }

    function removeOperatorsWhitelists(uint64[] calldata operatorIds, address[] calldata whitelistAddresses) external initialized {
        _updateWhitelists(operatorIds, whitelistAddresses, false);
        emit OperatorMultipleWhitelistRemoved(operatorIds, whitelistAddresses);
    }

    function _updateWhitelists(uint64[] calldata operatorIds, address[] calldata addresses, bool add) private {
        if (addresses.length == 0) revert InvalidWhitelistAddressesLength();
        if (operatorIds.length == 0) revert InvalidOperatorIdsLength();
        for (uint256 i; i < operatorIds.length; ++i) {
            _checkOperatorOwner(_operators[operatorIds[i]]);
            if (i > 0 && operatorIds[i] <= operatorIds[i - 1]) {
                if (operatorIds[i] == operatorIds[i - 1]) revert OperatorsListNotUnique();
                revert UnsortedOperatorsList();
            }
        }
        for (uint256 a; a < addresses.length; ++a) {
            address account = addresses[a];
            if (account == address(0)) revert ZeroAddressNotAllowed();
            if (add && _isWhitelistingContract(account)) revert AddressIsWhitelistingContract(account);
            for (uint256 i; i < operatorIds.length; ++i) {
                uint64 id = operatorIds[i];
                uint256 bit = 1 << (id & 0xFF);
                if (add) _addressWhitelistedForOperators[account][id >> 8] |= bit;
                else _addressWhitelistedForOperators[account][id >> 8] &= ~bit;
            }
        }
    }

    function setOperatorsWhitelistingContract(uint64[] calldata operatorIds, address whitelistingContract) external initialized {
        if (!_isWhitelistingContract(whitelistingContract)) revert InvalidWhitelistingContract(whitelistingContract);
        if (operatorIds.length == 0) revert InvalidOperatorIdsLength();
        for (uint256 i; i < operatorIds.length; ++i) {
            uint64 id = operatorIds[i];
            _checkOperatorOwner(_operators[id]);
            address current = _operatorsWhitelist[id];
            // a legacy single whitelisted address is moved into the bitmap
            if (current != address(0) && !_isWhitelistingContract(current)) {
                _addressWhitelistedForOperators[current][id >> 8] |= 1 << (id & 0xFF);
            }
            _operatorsWhitelist[id] = whitelistingContract;
        }
        emit OperatorWhitelistingContractUpdated(operatorIds, whitelistingContract);
    }

    function removeOperatorsWhitelistingContract(uint64[] calldata operatorIds) external initialized {
        if (operatorIds.length == 0) revert InvalidOperatorIdsLength();
        for (uint256 i; i < operatorIds.length; ++i) {
            _checkOperatorOwner(_operators[operatorIds[i]]);
            _operatorsWhitelist[operatorIds[i]] = address(0);
        }
        emit OperatorWhitelistingContractUpdated(operatorIds, address(0));
    }

    // =============================================================================================
    // DAO (owner only)
    // =============================================================================================

    /// v1: SSV network fee (wei/block per validator, multiple of 1e7); v2: ETH network fee
    /// (wei/block per 32 ETH, multiple of 1e5).
    function updateNetworkFee(uint256 fee) external onlyOwner {
        if (_version == V1) {
            uint256 previous = uint256(_sp.networkFee) * SSV_DIGITS;
            _setNetworkFeeSSV(_shrinkV1(fee));
            emit NetworkFeeUpdated(previous, fee);
        } else {
            uint256 previous = uint256(_sp.ethNetworkFee) * ETH_DIGITS;
            uint64 packed = _packETH(fee);
            _sp.ethDaoBalance = _networkEarningsEth();
            _sp.ethDaoIndexBlockNumber = uint32(block.number);
            _sp.ethNetworkFeeIndex = _currentNetworkFeeIndexEth();
            _sp.ethNetworkFeeIndexBlockNumber = uint32(block.number);
            _sp.ethNetworkFee = packed;
            emit NetworkFeeUpdated(previous, fee);
        }
    }

    function updateNetworkFeeSSV(uint256 fee) external onlyV2 onlyOwner {
        uint256 previous = uint256(_sp.networkFee) * SSV_DIGITS;
        _setNetworkFeeSSV(_packSSV(fee));
        emit NetworkFeeUpdatedSSV(previous, fee);
    }

    function _setNetworkFeeSSV(uint64 packed) private {
        _sp.daoBalance = _networkEarningsSSV();
        _sp.daoIndexBlockNumber = uint32(block.number);
        _sp.networkFeeIndex = _currentNetworkFeeIndexSSV();
        _sp.networkFeeIndexBlockNumber = uint32(block.number);
        _sp.networkFee = packed;
    }

    function updateLiquidationThresholdPeriod(uint64 blocks) external onlyOwner {
        if (_version == V1) {
            if (blocks < V1_MINIMAL_LIQUIDATION_THRESHOLD) revert NewBlockPeriodIsBelowMinimum();
            _sp.liquidationThresholdPeriod = blocks;
        } else {
            if (blocks < V2_MINIMAL_LIQUIDATION_THRESHOLD) revert NewBlockPeriodIsBelowMinimum();
            _sp.ethLiquidationThresholdPeriod = blocks;
        }
        emit LiquidationThresholdPeriodUpdated(blocks);
    }

    function updateLiquidationThresholdPeriodSSV(uint64 blocks) external onlyV2 onlyOwner {
        if (blocks < V2_MINIMAL_LIQUIDATION_THRESHOLD) revert NewBlockPeriodIsBelowMinimum();
        _sp.liquidationThresholdPeriod = blocks;
        emit LiquidationThresholdPeriodSSVUpdated(blocks);
    }

    function updateMinimumLiquidationCollateral(uint256 amount) external onlyOwner {
        if (_version == V1) _sp.minimumLiquidationCollateral = _shrinkV1(amount);
        else _sp.ethMinimumLiquidationCollateral = _packETH(amount);
        emit MinimumLiquidationCollateralUpdated(amount);
    }

    function updateMinimumLiquidationCollateralSSV(uint256 amount) external onlyV2 onlyOwner {
        _sp.minimumLiquidationCollateral = _packSSV(amount);
        emit MinimumLiquidationCollateralSSVUpdated(amount);
    }

    /// v2.0.0 selector (uint256, ETH wei/block).
    function updateMaximumOperatorFee(uint256 maxFee) external onlyV2 onlyOwner {
        _sp.ethOperatorMaxFee = _packETH(maxFee);
        emit OperatorMaximumFeeUpdated(maxFee);
    }

    /// v1.2.0 selector (uint64, SSV wei/block, stored as given).
    function updateMaximumOperatorFee(uint64 maxFee) external onlyV1 onlyOwner {
        _sp.operatorMaxFee = maxFee;
        emit ISSVNetworkV1Events.OperatorMaximumFeeUpdated(maxFee);
    }

    function updateMinimumOperatorEthFee(uint256 minFee) external onlyV2 onlyOwner {
        _sp.minimumOperatorEthFee = _packETH(minFee);
        emit MinimumOperatorEthFeeUpdated(minFee);
    }

    function updateOperatorFeeIncreaseLimit(uint64 percentage) external onlyOwner {
        _sp.operatorMaxFeeIncrease = percentage;
        emit OperatorFeeIncreaseLimitUpdated(percentage);
    }

    function updateDeclareOperatorFeePeriod(uint64 timeInSeconds) external onlyOwner {
        _sp.declareOperatorFeePeriod = timeInSeconds;
        emit DeclareOperatorFeePeriodUpdated(timeInSeconds);
    }

    function updateExecuteOperatorFeePeriod(uint64 timeInSeconds) external onlyOwner {
        _sp.executeOperatorFeePeriod = timeInSeconds;
        emit ExecuteOperatorFeePeriodUpdated(timeInSeconds);
    }

    /// v1.2.0: DAO withdraws accrued SSV network fees.
    function withdrawNetworkEarnings(uint256 amount) external onlyV1 onlyOwner nonReentrant {
        _withdrawNetworkSSV(_shrinkV1(amount), amount);
    }

    /// v2.0.0: DAO withdraws accrued legacy SSV network fees.
    function withdrawNetworkSSVEarnings(uint256 amount) external onlyV2 onlyOwner nonReentrant {
        _withdrawNetworkSSV(_packSSV(amount), amount);
    }

    function _withdrawNetworkSSV(uint64 packedAmount, uint256 amount) private {
        uint64 balance = _networkEarningsSSV();
        if (packedAmount > balance) revert InsufficientBalance();
        _sp.daoBalance = balance - packedAmount;
        _sp.daoIndexBlockNumber = uint32(block.number);
        _pushToken(msg.sender, amount);
        emit NetworkEarningsWithdrawn(amount, msg.sender);
    }

    // =============================================================================================
    // Views (the real proxy answers these through its fallback)
    // =============================================================================================

    function getValidator(address clusterOwner, bytes calldata publicKey) external view initialized returns (bool) {
        bytes32 data = _validatorPKs[keccak256(abi.encodePacked(publicKey, clusterOwner))];
        return data & bytes32(uint256(1)) == bytes32(uint256(1));
    }

    /// v1: SSV fee; v2: ETH fee (the 1.77 gwei default for a legacy operator not yet ETH-initialized).
    function getOperatorFee(uint64 operatorId) external view initialized returns (uint256) {
        Operator storage op = _operators[operatorId];
        if (_version == V1) return uint256(op.fee) * SSV_DIGITS;
        return _ethFeeView(op);
    }

    function getOperatorFeeSSV(uint64 operatorId) external view onlyV2 returns (uint256) {
        return uint256(_operators[operatorId].fee) * SSV_DIGITS;
    }

    function getOperatorDeclaredFee(uint64 operatorId) external view initialized returns (OperatorDeclaredFeeData memory) {
        FeeRequest memory request = _feeRequests[operatorId];
        bool ethUnits = _version == V2 && _operators[operatorId].ethSnapshot.block != 0;
        return
            OperatorDeclaredFeeData(
                request.approvalBeginTime != 0,
                uint256(request.fee) * (ethUnits ? ETH_DIGITS : SSV_DIGITS),
                request.approvalBeginTime,
                request.approvalEndTime
            );
    }

    /// v1: (owner, SSV fee, SSV validator count, whitelisted, private, SSV active);
    /// v2: (owner, ETH fee, ETH validator count, whitelisted, private, ETH side initialised).
    function getOperatorById(uint64 operatorId) external view initialized returns (OperatorData memory) {
        if (_version == V1) return _operatorDataSSV(operatorId);
        Operator storage op = _operators[operatorId];
        return
            OperatorData(
                op.owner,
                _ethFeeView(op),
                op.ethValidatorCount,
                _operatorsWhitelist[operatorId],
                op.whitelisted,
                op.ethSnapshot.block != 0
            );
    }

    function getOperatorByIdSSV(uint64 operatorId) external view onlyV2 returns (OperatorData memory) {
        return _operatorDataSSV(operatorId);
    }

    function _operatorDataSSV(uint64 operatorId) private view returns (OperatorData memory) {
        Operator storage op = _operators[operatorId];
        return
            OperatorData(
                op.owner,
                uint256(op.fee) * SSV_DIGITS,
                op.validatorCount,
                _operatorsWhitelist[operatorId],
                op.whitelisted,
                op.snapshot.block != 0
            );
    }

    function _ethFeeView(Operator storage op) private view returns (uint256) {
        if (op.ethSnapshot.block != 0) return uint256(op.ethFee) * ETH_DIGITS;
        if (op.fee != 0) return DEFAULT_OPERATOR_ETH_FEE;
        return 0;
    }

    function getWhitelistedOperators(
        uint64[] calldata operatorIds,
        address whitelistedAddress
    ) external view initialized returns (uint64[] memory whitelistedOperatorIds) {
        uint256 len = operatorIds.length;
        if (len == 0 || whitelistedAddress == address(0)) return whitelistedOperatorIds;
        for (uint256 i = 1; i < len; ++i) {
            if (operatorIds[i] <= operatorIds[i - 1]) {
                if (operatorIds[i] == operatorIds[i - 1]) revert OperatorsListNotUnique();
                revert UnsortedOperatorsList();
            }
        }
        whitelistedOperatorIds = new uint64[](len);
        uint256 count;
        for (uint256 i; i < len; ++i) {
            uint64 id = operatorIds[i];
            bool listed = _addressWhitelistedForOperators[whitelistedAddress][id >> 8] & (1 << (id & 0xFF)) != 0;
            if (!listed) {
                address current = _operatorsWhitelist[id];
                listed =
                    current == whitelistedAddress ||
                    (_isWhitelistingContract(current) &&
                        ISSVWhitelistingContract(current).isWhitelisted(whitelistedAddress, id));
            }
            if (listed) whitelistedOperatorIds[count++] = id;
        }
        assembly {
            mstore(whitelistedOperatorIds, count)
        }
    }

    function isWhitelistingContract(address contractAddress) external view initialized returns (bool) {
        return _isWhitelistingContract(contractAddress);
    }

    function isAddressWhitelistedInWhitelistingContract(
        address addressToCheck,
        uint256 operatorId,
        address whitelistingContract
    ) external view initialized returns (bool isWhitelisted) {
        if (!_isWhitelistingContract(whitelistingContract) || addressToCheck == address(0)) return false;
        return ISSVWhitelistingContract(whitelistingContract).isWhitelisted(addressToCheck, operatorId);
    }

    /// v1: SSV rule on an SSV cluster; v2: ETH clusters only (IncorrectClusterVersion otherwise).
    /// False for a liquidated cluster. Settles to the current block first.
    function isLiquidatable(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view initialized returns (bool) {
        (, bool isEth) = _validateHashedCluster(cluster, clusterOwner, operatorIds);
        if (_version == V1) return _isLiquidatableSSVNow(operatorIds, cluster);
        if (!isEth) revert IncorrectClusterVersion();
        if (!cluster.active) return false;
        (uint64 clusterIndex, uint64 burnRate) = _clusterIndexEth(operatorIds);
        bytes32 key = _clusterKey(clusterOwner, operatorIds);
        _settleEth(cluster, key, clusterIndex, _currentNetworkFeeIndexEth());
        return _isLiquidatableEth(cluster, key, burnRate);
    }

    function isLiquidatableSSV(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view onlyV2 returns (bool) {
        (, bool isEth) = _validateHashedCluster(cluster, clusterOwner, operatorIds);
        if (isEth) revert IncorrectClusterVersion();
        return _isLiquidatableSSVNow(operatorIds, cluster);
    }

    function _isLiquidatableSSVNow(uint64[] calldata operatorIds, Cluster memory cluster) private view returns (bool) {
        if (!cluster.active) return false;
        (uint64 clusterIndex, uint64 burnRate) = _clusterIndexSSV(operatorIds);
        _updateBalanceSSV(cluster, clusterIndex, _currentNetworkFeeIndexSSV());
        return _isLiquidatableSSV(cluster, burnRate);
    }

    function isLiquidated(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view initialized returns (bool) {
        _validateHashedCluster(cluster, clusterOwner, operatorIds);
        return !cluster.active;
    }

    /// v1: (Σ SSV fee + SSV network fee) * validatorCount;
    /// v2: (Σ ETH fee + ETH network fee) * vUnits / 10_000 (any cluster type, like the real view).
    function getBurnRate(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view initialized returns (uint256) {
        _validateHashedCluster(cluster, clusterOwner, operatorIds);
        if (_version == V1) return _burnRateSSV(operatorIds, cluster);
        uint256 fees = _sp.ethNetworkFee;
        for (uint256 i; i < operatorIds.length; ++i) {
            Operator storage op = _operators[operatorIds[i]];
            if (op.owner != address(0)) fees += op.ethFee;
        }
        uint256 vUnits = _vUnits(_clusterKey(clusterOwner, operatorIds), cluster.validatorCount);
        return (fees * ETH_DIGITS * vUnits) / VUNITS;
    }

    function getBurnRateSSV(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view onlyV2 returns (uint256) {
        (, bool isEth) = _validateHashedCluster(cluster, clusterOwner, operatorIds);
        if (isEth) return 0;
        return _burnRateSSV(operatorIds, cluster);
    }

    function _burnRateSSV(uint64[] calldata operatorIds, Cluster memory cluster) private view returns (uint256) {
        uint256 fees = _sp.networkFee;
        for (uint256 i; i < operatorIds.length; ++i) {
            Operator storage op = _operators[operatorIds[i]];
            if (op.owner != address(0)) fees += op.fee;
        }
        return fees * cluster.validatorCount * SSV_DIGITS;
    }

    /// v1: SSV earnings; v2: ETH earnings (settled to the current block).
    function getOperatorEarnings(uint64 id) external view initialized returns (uint256) {
        Operator storage op = _operators[id];
        if (_version == V1) return _operatorEarningsSSV(op);
        uint64 blockDiffFee = uint64(uint32(block.number) - op.ethSnapshot.block) * op.ethFee;
        return (uint256(op.ethSnapshot.balance) + _ethEarned(op, id, blockDiffFee)) * ETH_DIGITS;
    }

    function getOperatorEarningsSSV(uint64 id) external view onlyV2 returns (uint256) {
        return _operatorEarningsSSV(_operators[id]);
    }

    function _operatorEarningsSSV(Operator storage op) private view returns (uint256) {
        uint256 blockDiffFee = uint256(uint32(block.number) - op.snapshot.block) * op.fee;
        return (uint256(op.snapshot.balance) + blockDiffFee * op.validatorCount) * SSV_DIGITS;
    }

    /// v1: SSV balance of an SSV cluster; v2: ETH balance (0 for a legacy SSV cluster).
    /// Reverts ClusterIsLiquidated for an inactive cluster.
    function getBalance(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view initialized returns (uint256 balance) {
        (, bool isEth) = _validateHashedCluster(cluster, clusterOwner, operatorIds);
        if (_version == V1) return _balanceSSVNow(operatorIds, cluster);
        if (!isEth) return 0;
        if (!cluster.active) revert ClusterIsLiquidated();
        (uint64 clusterIndex, ) = _clusterIndexEth(operatorIds);
        _settleEth(cluster, _clusterKey(clusterOwner, operatorIds), clusterIndex, _currentNetworkFeeIndexEth());
        return cluster.balance;
    }

    function getBalanceSSV(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view onlyV2 returns (uint256 balance) {
        (, bool isEth) = _validateHashedCluster(cluster, clusterOwner, operatorIds);
        if (isEth) return 0;
        return _balanceSSVNow(operatorIds, cluster);
    }

    function _balanceSSVNow(uint64[] calldata operatorIds, Cluster memory cluster) private view returns (uint256) {
        if (!cluster.active) revert ClusterIsLiquidated();
        (uint64 clusterIndex, ) = _clusterIndexSSV(operatorIds);
        _updateBalanceSSV(cluster, clusterIndex, _currentNetworkFeeIndexSSV());
        return cluster.balance;
    }

    /// Whole ETH: floor(vUnits * 32 / 10_000), oracle-set or implicit 32 per validator.
    function getEffectiveBalance(
        address clusterOwner,
        uint64[] calldata operatorIds,
        Cluster memory cluster
    ) external view onlyV2 returns (uint32 effectiveBalance) {
        (bytes32 key, ) = _validateHashedCluster(cluster, clusterOwner, operatorIds);
        if (!cluster.active) revert ClusterIsLiquidated();
        return _vUnitsToEB(_vUnits(key, cluster.validatorCount));
    }

    function getCommittedRoot(uint64 blockNum) external view onlyV2 returns (bytes32) {
        return _ebRoots[blockNum];
    }

    function getOracle(uint32 oracleId) external view onlyV2 returns (address) {
        return _oracles[oracleId];
    }

    function getQuorumBps() external view onlyV2 returns (uint16) {
        return QUORUM_BPS;
    }

    /// 1 = ETH cluster, 0 = legacy SSV cluster; ClusterDoesNotExist if neither.
    function getClusterAssetType(address clusterOwner, uint64[] calldata operatorIds) external view onlyV2 returns (uint8) {
        bytes32 key = keccak256(abi.encodePacked(clusterOwner, operatorIds));
        if (_ethClusters[key] != bytes32(0)) return VERSION_ETH;
        if (_clusters[key] != bytes32(0)) return VERSION_SSV;
        revert ClusterDoesNotExist();
    }

    function getNetworkFee() external view initialized returns (uint256) {
        if (_version == V1) return uint256(_sp.networkFee) * SSV_DIGITS;
        return uint256(_sp.ethNetworkFee) * ETH_DIGITS;
    }

    function getNetworkFeeSSV() external view onlyV2 returns (uint256) {
        return uint256(_sp.networkFee) * SSV_DIGITS;
    }

    function getNetworkEarnings() external view initialized returns (uint256) {
        if (_version == V1) return uint256(_networkEarningsSSV()) * SSV_DIGITS;
        return uint256(_networkEarningsEth()) * ETH_DIGITS;
    }

    function getNetworkEarningsSSV() external view onlyV2 returns (uint256) {
        return uint256(_networkEarningsSSV()) * SSV_DIGITS;
    }

    function getOperatorFeeIncreaseLimit() external view initialized returns (uint64) {
        return _sp.operatorMaxFeeIncrease;
    }

    /// v1: SSV maximum (wei/block); v2: ETH maximum (wei/block). Same 32-byte encoding as v1's uint64.
    function getMaximumOperatorFee() external view initialized returns (uint256) {
        if (_version == V1) return _sp.operatorMaxFee;
        return uint256(_sp.ethOperatorMaxFee) * ETH_DIGITS;
    }

    function getMaximumOperatorFeeSSV() external view onlyV2 returns (uint256) {
        return _sp.operatorMaxFee;
    }

    function getMinimumOperatorEthFee() external view onlyV2 returns (uint256) {
        return uint256(_sp.minimumOperatorEthFee) * ETH_DIGITS;
    }

    function getOperatorFeePeriods() external view initialized returns (OperatorFeePeriodsData memory) {
        return OperatorFeePeriodsData(_sp.declareOperatorFeePeriod, _sp.executeOperatorFeePeriod);
    }

    function getLiquidationThresholdPeriod() external view initialized returns (uint64) {
        return _version == V1 ? _sp.liquidationThresholdPeriod : _sp.ethLiquidationThresholdPeriod;
    }

    function getLiquidationThresholdPeriodSSV() external view onlyV2 returns (uint64) {
        return _sp.liquidationThresholdPeriod;
    }

    function getMinimumLiquidationCollateral() external view initialized returns (uint256) {
        if (_version == V1) return uint256(_sp.minimumLiquidationCollateral) * SSV_DIGITS;
        return uint256(_sp.ethMinimumLiquidationCollateral) * ETH_DIGITS;
    }

    function getMinimumLiquidationCollateralSSV() external view onlyV2 returns (uint256) {
        return uint256(_sp.minimumLiquidationCollateral) * SSV_DIGITS;
    }

    function getValidatorsPerOperatorLimit() external view initialized returns (uint32) {
        return _sp.validatorsPerOperatorLimit;
    }

    /// v1: validators in SSV clusters; v2: validators in ETH clusters (the real views' numbers).
    function getNetworkValidatorsCount() external view initialized returns (uint32) {
        return _version == V1 ? _sp.daoValidatorCount : _sp.ethDaoValidatorCount;
    }
}
