// SPDX-License-Identifier: CC0-1.0
pragma solidity 0.8.37;

/// @title DepositContract (devnet double)
/// @notice The phase0 beacon-chain deposit contract behaviour, written from the consensus-specs
///         description: an incremental Merkle tree of depth 32 over DepositData roots, the
///         DepositEvent log, and the deposit_data_root self-check.
/// @dev    Made for `anvil_setCode`: there is no constructor and no immutable. The zero-subtree
///         hashes that the spec contract stores at construction time are recomputed on the fly
///         in `get_deposit_root()`, so the contract works with completely empty storage.
///         Storage: slot 0..31 = branch[32], slot 32 = deposit_count.
contract DepositContract {
    uint256 private constant TREE_DEPTH = 32;
    uint256 private constant MAX_DEPOSIT_COUNT = 2 ** TREE_DEPTH - 1;

    bytes32[TREE_DEPTH] private branch;
    uint256 private deposit_count;

    /// @notice Emitted once per accepted deposit. All fields are raw bytes; amount and index are
    ///         little-endian uint64 (amount in gwei).
    event DepositEvent(bytes pubkey, bytes withdrawal_credentials, bytes amount, bytes signature, bytes index);

    /// @notice hash_tree_root of List[DepositData, 2**32]: the Merkle root of the tree mixed in with
    ///         the little-endian deposit count.
    function get_deposit_root() external view returns (bytes32) {
        bytes32 node;
        bytes32 zero; // zero-subtree hash at the current height (height 0: 32 zero bytes)
        uint256 size = deposit_count;
        for (uint256 height = 0; height < TREE_DEPTH; height++) {
            if ((size & 1) == 1) {
                node = sha256(abi.encodePacked(branch[height], node));
            } else {
                node = sha256(abi.encodePacked(node, zero));
            }
            zero = sha256(abi.encodePacked(zero, zero));
            size /= 2;
        }
        return sha256(abi.encodePacked(node, to_little_endian_64(uint64(deposit_count)), bytes24(0)));
    }

    /// @notice Number of deposits so far, as 8 little-endian bytes.
    function get_deposit_count() external view returns (bytes memory) {
        return to_little_endian_64(uint64(deposit_count));
    }

    /// @notice Submit a Phase 0 DepositData object.
    /// @param pubkey A BLS12-381 public key (48 bytes).
    /// @param withdrawal_credentials Commitment to a public key for withdrawals (32 bytes).
    /// @param signature A BLS12-381 signature (96 bytes).
    /// @param deposit_data_root SHA-256 hash_tree_root of the DepositData, checked against the inputs.
    function deposit(
        bytes calldata pubkey,
        bytes calldata withdrawal_credentials,
        bytes calldata signature,
        bytes32 deposit_data_root
    ) external payable {
        require(pubkey.length == 48, "DepositContract: invalid pubkey length");
        require(withdrawal_credentials.length == 32, "DepositContract: invalid withdrawal_credentials length");
        require(signature.length == 96, "DepositContract: invalid signature length");

        require(msg.value >= 1 ether, "DepositContract: deposit value too low");
        require(msg.value % 1 gwei == 0, "DepositContract: deposit value not multiple of gwei");
        uint256 deposit_amount = msg.value / 1 gwei;
        require(deposit_amount <= type(uint64).max, "DepositContract: deposit value too high");

        bytes memory amount = to_little_endian_64(uint64(deposit_amount));
        emit DepositEvent(pubkey, withdrawal_credentials, amount, signature, to_little_endian_64(uint64(deposit_count)));

        // DepositData = {pubkey: Bytes48, withdrawal_credentials: Bytes32, amount: uint64, signature: Bytes96}
        bytes32 pubkey_root = sha256(abi.encodePacked(pubkey, bytes16(0)));
        bytes32 signature_root = sha256(
            abi.encodePacked(
                sha256(abi.encodePacked(signature[:64])),
                sha256(abi.encodePacked(signature[64:], bytes32(0)))
            )
        );
        bytes32 node = sha256(
            abi.encodePacked(
                sha256(abi.encodePacked(pubkey_root, withdrawal_credentials)),
                sha256(abi.encodePacked(amount, bytes24(0), signature_root))
            )
        );
        require(
            node == deposit_data_root,
            "DepositContract: reconstructed DepositData does not match supplied deposit_data_root"
        );

        require(deposit_count < MAX_DEPOSIT_COUNT, "DepositContract: merkle tree full");

        // Insert the new leaf: walk up while the subtree at this height is complete.
        deposit_count += 1;
        uint256 size = deposit_count;
        for (uint256 height = 0; height < TREE_DEPTH; height++) {
            if ((size & 1) == 1) {
                branch[height] = node;
                return;
            }
            node = sha256(abi.encodePacked(branch[height], node));
            size /= 2;
        }
        // Unreachable: the tree is never full because of the MAX_DEPOSIT_COUNT check above.
        assert(false);
    }

    /// @notice ERC-165: the contract reports ERC-165 itself and the deposit interface
    ///         (deposit ^ get_deposit_root ^ get_deposit_count).
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        bytes4 depositInterface = this.deposit.selector ^ this.get_deposit_root.selector ^
            this.get_deposit_count.selector;
        return interfaceId == 0x01ffc9a7 || interfaceId == depositInterface;
    }

    function to_little_endian_64(uint64 value) internal pure returns (bytes memory ret) {
        ret = new bytes(8);
        for (uint256 i = 0; i < 8; i++) {
            ret[i] = bytes1(uint8(value >> (8 * i)));
        }
    }
}
