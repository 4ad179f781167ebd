// SPDX-License-Identifier: Apache-2.0
// The beacon chain deposit contract (consensus-specs).
pragma solidity ^0.8.24;

interface DepositContract {
    function deposit(bytes calldata pubkey, bytes calldata withdrawal_credentials, bytes calldata signature, bytes32 deposit_data_root) external payable;
    function get_deposit_root() external view returns (bytes32);
    function get_deposit_count() external view returns (bytes memory);
    event DepositEvent(bytes pubkey, bytes withdrawal_credentials, bytes amount, bytes signature, bytes index);
}
