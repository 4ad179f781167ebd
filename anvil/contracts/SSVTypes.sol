// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice Types shared by the SSVNetwork and SSVNetworkViews doubles. The struct layouts and the
///         interface names match the real contracts' ABI (internalType "struct ISSVNetworkCore.Cluster",
///         "struct ISSVViewsTypes.OperatorData", ...).
interface ISSVNetworkCore {
    /// @notice A cluster snapshot. The chain stores only
    ///         keccak256(abi.encodePacked(validatorCount, networkFeeIndex, index, balance, active))
    ///         (balance before active), so callers must pass the latest snapshot back.
    struct Cluster {
        uint32 validatorCount;
        uint64 networkFeeIndex;
        uint64 index;
        bool active;
        uint256 balance;
    }
}

interface ISSVViewsTypes {
    struct OperatorData {
        address owner;
        uint256 fee;
        uint32 validatorCount;
        address whitelistedAddress;
        bool isPrivate;
        bool isActive;
    }

    struct OperatorDeclaredFeeData {
        bool isFeeDeclared;
        uint256 fee;
        uint64 approvalBeginTime;
        uint64 approvalEndTime;
    }

    struct OperatorFeePeriodsData {
        uint64 declarePeriod;
        uint64 executePeriod;
    }
}

/// @notice The external whitelisting-contract interface operators may point to
///         (ERC-165 interface id = selector of isWhitelisted(address,uint256)).
interface ISSVWhitelistingContract {
    function isWhitelisted(address account, uint256 operatorId) external view returns (bool);
}

/// @notice The part of the SSV token the network uses.
interface ISSVTokenLike {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}
