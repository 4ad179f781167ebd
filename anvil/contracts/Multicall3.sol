// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Multicall3 (devnet double)
/// @notice The `aggregate3` entry point of Multicall3, the batching contract deployed at
///         0xcA11bde05977b3631167028862bE2a173976CA11 on mainnet, Holesky, Sepolia and Hoodi,
///         written here from its public interface: each call is made in order with `call`, its
///         success flag and return (or revert) data are returned, and a failed call whose
///         `allowFailure` is false reverts the whole batch with "Multicall3: call failed".
/// @dev    Made for `anvil_setCode` at the canonical address: no constructor, no storage. The
///         agent only calls `aggregate3` through `eth_call`; the other Multicall3 functions are
///         not part of the double.
contract Multicall3 {
    struct Call3 {
        address target;
        bool allowFailure;
        bytes callData;
    }

    struct Result {
        bool success;
        bytes returnData;
    }

    function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory returnData) {
        uint256 length = calls.length;
        returnData = new Result[](length);
        for (uint256 i = 0; i < length; i++) {
            Call3 calldata c = calls[i];
            (bool ok, bytes memory ret) = c.target.call(c.callData);
            require(ok || c.allowFailure, "Multicall3: call failed");
            returnData[i] = Result(ok, ret);
        }
    }
}
