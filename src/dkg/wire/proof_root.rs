//! SSZ hash-tree-root of dkg-spec `Proof`, the message each operator RSA-signs in its proof.

use sha2::{Digest, Sha256};

use super::types::Proof;

fn h(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut s = Sha256::new();
    s.update(a);
    s.update(b);
    s.finalize().into()
}

fn chunks(bytes: &[u8]) -> Vec<[u8; 32]> {
    bytes
        .chunks(32)
        .map(|c| {
            let mut out = [0u8; 32];
            out[..c.len()].copy_from_slice(c);
            out
        })
        .collect()
}

/// Merkleizes `leaves` padded with zero chunks up to `limit` (a power of two).
fn merkleize(mut leaves: Vec<[u8; 32]>, limit: usize) -> [u8; 32] {
    let width = limit.max(1).next_power_of_two();
    leaves.resize(width, [0u8; 32]);
    while leaves.len() > 1 {
        leaves = leaves.chunks(2).map(|p| h(&p[0], &p[1])).collect();
    }
    leaves[0]
}

fn vector_root(bytes: &[u8]) -> [u8; 32] {
    let c = chunks(bytes);
    let n = c.len();
    merkleize(c, n)
}

fn byte_list_root(bytes: &[u8], max_len: usize) -> [u8; 32] {
    let root = merkleize(chunks(bytes), max_len.div_ceil(32));
    let mut len = [0u8; 32];
    len[..8].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
    h(&root, &len)
}

/// The root of `Proof{ValidatorPubKey [48], EncryptedShare list<=512, SharePubKey [48],
/// Owner [20]}`.
pub fn proof_root(p: &Proof) -> [u8; 32] {
    proof_root_of(
        &p.validator_pubkey,
        &p.encrypted_share,
        &p.share_pubkey,
        &p.owner,
    )
}

/// [`proof_root`] over the four fields as byte slices, for proofs read from `proofs.json`. A fixed
/// field of another size hashes as a vector of its own size, a root no operator signed.
pub fn proof_root_of(
    validator: &[u8],
    encrypted_share: &[u8],
    share_pubkey: &[u8],
    owner: &[u8],
) -> [u8; 32] {
    let fields = vec![
        vector_root(validator),
        byte_list_root(encrypted_share, 512),
        vector_root(share_pubkey),
        vector_root(owner),
    ];
    merkleize(fields, 4)
}
