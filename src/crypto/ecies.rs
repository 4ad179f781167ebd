//! ECIES (kyber encrypt/ecies on BLS12-381 G1) — under construction.
