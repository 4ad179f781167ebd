//! The SSZ containers of ssv-dkg v3.1.0 (`pkgs/wire/types.go`) and dkg-spec v1.2.0 (`types.go`)
//! used by the init ceremony. Field order and list limits follow those definitions; resign and
//! reshare add containers of the same style alongside (their transport types are reserved below).

use super::ssz::{
    Decoder, Encoder, SszError, byte_list, decode_var_list, encode_var_list, fixed_array,
};

/// A container with ssv-dkg's SSZ encoding.
pub trait Ssz: Sized {
    /// The SSZ bytes (fixed part, offsets, then the variable parts).
    fn to_ssz(&self) -> Vec<u8>;
    /// Decodes and checks every offset and list limit; never panics on hostile input.
    fn from_ssz(b: &[u8]) -> Result<Self, SszError>;
}

/// `Transport.Type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportType {
    /// 0: the initiator's `/init`, carrying an [`Init`].
    Init,
    /// 1: a kyber DKG message ([`KyberMessage`]) in the `/dkg` rounds.
    Kyber,
    /// 2: an operator's answer to `/init`: its ephemeral [`Exchange`] key.
    Exchange,
    /// 3: an operator's ceremony output, a [`DkgResult`].
    Output,
    /// 4: kyber deal bundle (inside a [`KyberMessage`]).
    KyberDealBundle,
    /// 5: kyber response bundle: a complaint about a deal.
    KyberResponseBundle,
    /// 6: kyber justification bundle, answering complaints.
    KyberJustificationBundle,
    /// 7: a request for a BLS signature (ssv-dkg's resign flow; unused by init).
    BlsSignRequest,
    /// 8: an error reply; its data is the UTF-8 text.
    Error,
    /// 9: a health-check request.
    Ping,
    /// 10: a health-check answer, a [`Pong`].
    Pong,
    /// 11: the initiator's final [`ResultData`] posted to `/results`.
    Result,
    /// 12: a signed resign request (reserved).
    SignedResign,
    /// 13: a signed reshare request (reserved).
    SignedReshare,
    /// 14: a kyber message of a reshare (reserved).
    ReshareKyber,
    /// 15: an exchange of a reshare (reserved).
    ReshareExchange,
    /// Any other code, kept so it can be named in an error.
    Unknown(u64),
}

impl TransportType {
    /// The `uint64` ssv-dkg puts on the wire.
    pub fn code(self) -> u64 {
        use TransportType::*;
        match self {
            Init => 0,
            Kyber => 1,
            Exchange => 2,
            Output => 3,
            KyberDealBundle => 4,
            KyberResponseBundle => 5,
            KyberJustificationBundle => 6,
            BlsSignRequest => 7,
            Error => 8,
            Ping => 9,
            Pong => 10,
            Result => 11,
            SignedResign => 12,
            SignedReshare => 13,
            ReshareKyber => 14,
            ReshareExchange => 15,
            Unknown(v) => v,
        }
    }
    /// The type of a wire code ([`Self::Unknown`] for codes ssv-dkg does not define).
    pub fn from_code(v: u64) -> Self {
        use TransportType::*;
        match v {
            0 => Init,
            1 => Kyber,
            2 => Exchange,
            3 => Output,
            4 => KyberDealBundle,
            5 => KyberResponseBundle,
            6 => KyberJustificationBundle,
            7 => BlsSignRequest,
            8 => Error,
            9 => Ping,
            10 => Pong,
            11 => Result,
            12 => SignedResign,
            13 => SignedReshare,
            14 => ReshareKyber,
            15 => ReshareExchange,
            other => Unknown(other),
        }
    }
}

/// The SSZ list limit on operators in one message (the largest SSV cluster).
pub const MAX_OPERATORS: usize = 13;
/// The SSZ limit on a key or signature field, in bytes.
const MAX_KEY: usize = 2048;

/// ssv-dkg `Transport`: one typed message of a ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    /// What `data` holds.
    pub kind: TransportType,
    /// The request id (initiator to operator) or the instance id (replies).
    pub identifier: [u8; 24],
    /// The SSZ of the message of type `kind` (at most 8 MiB).
    pub data: Vec<u8>,
    /// The sender's ssv-dkg version string; peers require an exact match.
    pub version: Vec<u8>,
}

impl Ssz for Transport {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(40);
        e.u64(self.kind.code())
            .fixed(&self.identifier)
            .var(&self.data)
            .var(&self.version);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "Transport";
        let mut d = Decoder::new(C, b, 40)?;
        let kind = TransportType::from_code(d.u64());
        let identifier = d.fixed::<24>();
        d.offset();
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            kind,
            identifier,
            data: byte_list(C, "Data", v[0], 8_388_608)?,
            version: byte_list(C, "Version", v[1], 128)?,
        })
    }
}

/// ssv-dkg `SignedTransport`: a transport with its sender's RSA-PSS signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransport {
    /// The message.
    pub message: Transport,
    /// The signer's public key, base64-PEM text as bytes (checked against the key we trust).
    pub signer: Vec<u8>,
    /// RSA-PSS-SHA256 signature over the SSZ of `message`.
    pub signature: Vec<u8>,
}

impl Ssz for SignedTransport {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(12);
        e.var(&self.message.to_ssz())
            .var(&self.signer)
            .var(&self.signature);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "SignedTransport";
        let mut d = Decoder::new(C, b, 12)?;
        d.offset();
        d.offset();
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            message: Transport::from_ssz(v[0])?,
            signer: byte_list(C, "Signer", v[1], MAX_KEY)?,
            signature: byte_list(C, "Signature", v[2], MAX_KEY)?,
        })
    }
}

/// ssv-dkg `MultipleSignedTransports`: every operator's reply of a round, bundled and signed by
/// the initiator for the next round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipleSignedTransports {
    /// The ceremony's instance id.
    pub identifier: [u8; 24],
    /// One signed reply per operator (at most [`MAX_OPERATORS`]).
    pub messages: Vec<SignedTransport>,
    /// The initiator's RSA-PSS signature over [`Self::signed_payload`].
    pub signature: Vec<u8>,
}

impl MultipleSignedTransports {
    /// What the initiator signs: the concatenated SSZ of the messages in list order.
    pub fn signed_payload(messages: &[SignedTransport]) -> Vec<u8> {
        messages.iter().flat_map(|m| m.to_ssz()).collect()
    }
}

impl Ssz for MultipleSignedTransports {
    fn to_ssz(&self) -> Vec<u8> {
        let items: Vec<Vec<u8>> = self.messages.iter().map(Ssz::to_ssz).collect();
        let mut e = Encoder::new(32);
        e.fixed(&self.identifier)
            .var(&encode_var_list(&items))
            .var(&self.signature);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "MultipleSignedTransports";
        let mut d = Decoder::new(C, b, 32)?;
        let identifier = d.fixed::<24>();
        d.offset();
        d.offset();
        let v = d.finish()?;
        let messages = decode_var_list(C, "Messages", v[0], MAX_OPERATORS)?
            .into_iter()
            .map(SignedTransport::from_ssz)
            .collect::<Result<_, _>>()?;
        Ok(Self {
            identifier,
            messages,
            signature: byte_list(C, "Signature", v[1], MAX_KEY)?,
        })
    }
}

/// ssv-dkg `ErrSSZ`: the body of a non-200 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrSsz {
    /// The error text, UTF-8, at most 512 bytes.
    pub error: Vec<u8>,
}

impl Ssz for ErrSsz {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(4);
        e.var(&self.error);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        let mut d = Decoder::new("ErrSSZ", b, 4)?;
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            error: byte_list("ErrSSZ", "Error", v[0], 512)?,
        })
    }
}

/// ssv-dkg `KyberMessage`: a kyber bundle inside a [`TransportType::Kyber`] transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KyberMessage {
    /// Which bundle (`KyberDealBundle`, `KyberResponseBundle`, `KyberJustificationBundle`).
    pub kind: TransportType,
    /// The bundle's JSON (at most 4096 bytes).
    pub data: Vec<u8>,
}

impl Ssz for KyberMessage {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(12);
        e.u64(self.kind.code()).var(&self.data);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        let mut d = Decoder::new("KyberMessage", b, 12)?;
        let kind = TransportType::from_code(d.u64());
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            kind,
            data: byte_list("KyberMessage", "Data", v[0], 4096)?,
        })
    }
}

/// ssv-dkg `Exchange`: an operator's ephemeral DKG key for one ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// Compressed G1 public key the deals for this operator are encrypted to (48 bytes).
    pub pk: Vec<u8>,
    /// Unused by init ceremonies (empty).
    pub commits: Vec<u8>,
}

impl Ssz for Exchange {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(8);
        e.var(&self.pk).var(&self.commits);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        let mut d = Decoder::new("Exchange", b, 8)?;
        d.offset();
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            pk: byte_list("Exchange", "PK", v[0], MAX_KEY)?,
            commits: byte_list("Exchange", "Commits", v[1], MAX_KEY)?,
        })
    }
}

/// ssv-dkg `Pong`: an operator's health-check answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// The operator's id.
    pub id: u64,
    /// Its RSA public key, base64-PEM text as bytes.
    pub pubkey: Vec<u8>,
    /// Whether it accepts multisig owners.
    pub multisig: bool,
    /// Whether its execution-layer client is connected.
    pub eth_client_connected: bool,
}

impl Ssz for Pong {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(14);
        e.u64(self.id)
            .var(&self.pubkey)
            .bool(self.multisig)
            .bool(self.eth_client_connected);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        let mut d = Decoder::new("Pong", b, 14)?;
        let id = d.u64();
        d.offset();
        let multisig = d.bool()?;
        let eth_client_connected = d.bool()?;
        let v = d.finish()?;
        Ok(Self {
            id,
            pubkey: byte_list("Pong", "PubKey", v[0], MAX_KEY)?,
            multisig,
            eth_client_connected,
        })
    }
}

/// dkg-spec `Operator`: id and the ASCII bytes of the base64-PEM RSA public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// The operator's registry id.
    pub id: u64,
    /// Its RSA public key, base64-PEM text as bytes.
    pub pubkey: Vec<u8>,
}

impl Ssz for Operator {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(12);
        e.u64(self.id).var(&self.pubkey);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        let mut d = Decoder::new("Operator", b, 12)?;
        let id = d.u64();
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            id,
            pubkey: byte_list("Operator", "PubKey", v[0], MAX_KEY)?,
        })
    }
}

fn encode_operators(ops: &[Operator]) -> Vec<u8> {
    encode_var_list(&ops.iter().map(Ssz::to_ssz).collect::<Vec<_>>())
}

fn decode_operators(c: &'static str, b: &[u8]) -> Result<Vec<Operator>, SszError> {
    decode_var_list(c, "Operators", b, MAX_OPERATORS)?
        .into_iter()
        .map(Operator::from_ssz)
        .collect()
}

/// dkg-spec `Init`: what the initiator asks the operators to make a validator for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    /// The cluster's operators, ascending id.
    pub operators: Vec<Operator>,
    /// The threshold: 3 of 4, 5 of 7, 7 of 10, 9 of 13.
    pub t: u64,
    /// The deposit's 32-byte 0x01/0x02 withdrawal credentials.
    pub withdrawal_credentials: Vec<u8>,
    /// The genesis fork version the deposit is signed under.
    pub fork: [u8; 4],
    /// The cluster owner address.
    pub owner: [u8; 20],
    /// The owner nonce the shares are signed for.
    pub nonce: u64,
    /// The deposit amount in gwei.
    pub amount: u64,
}

impl Ssz for Init {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(56);
        e.var(&encode_operators(&self.operators))
            .u64(self.t)
            .var(&self.withdrawal_credentials)
            .fixed(&self.fork)
            .fixed(&self.owner)
            .u64(self.nonce)
            .u64(self.amount);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "Init";
        let mut d = Decoder::new(C, b, 56)?;
        d.offset();
        let t = d.u64();
        d.offset();
        let fork = d.fixed::<4>();
        let owner = d.fixed::<20>();
        let nonce = d.u64();
        let amount = d.u64();
        let v = d.finish()?;
        Ok(Self {
            operators: decode_operators(C, v[0])?,
            t,
            withdrawal_credentials: byte_list(C, "WithdrawalCredentials", v[1], 32)?,
            fork,
            owner,
            nonce,
            amount,
        })
    }
}

/// dkg-spec `Proof`: what an operator attests about its share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The validator public key.
    pub validator_pubkey: [u8; 48],
    /// The share encrypted to the operator's RSA key (PKCS#1 v1.5, 256 bytes for RSA-2048).
    pub encrypted_share: Vec<u8>,
    /// The share's public key.
    pub share_pubkey: [u8; 48],
    /// The cluster owner.
    pub owner: [u8; 20],
}

impl Ssz for Proof {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(120);
        e.fixed(&self.validator_pubkey)
            .var(&self.encrypted_share)
            .fixed(&self.share_pubkey)
            .fixed(&self.owner);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "Proof";
        let mut d = Decoder::new(C, b, 120)?;
        let validator_pubkey = d.fixed::<48>();
        d.offset();
        let share_pubkey = d.fixed::<48>();
        let owner = d.fixed::<20>();
        let v = d.finish()?;
        Ok(Self {
            validator_pubkey,
            encrypted_share: byte_list(C, "EncryptedShare", v[0], 512)?,
            share_pubkey,
            owner,
        })
    }
}

/// dkg-spec `SignedProof`: a proof and the operator's RSA-PSS signature over its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedProof {
    /// The proof.
    pub proof: Proof,
    /// RSA-PSS-SHA256 over the proof's hash-tree-root ([`super::proof_root::proof_root`]).
    pub signature: [u8; 256],
}

impl Ssz for SignedProof {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(260);
        e.var(&self.proof.to_ssz()).fixed(&self.signature);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        let mut d = Decoder::new("SignedProof", b, 260)?;
        d.offset();
        let signature = d.fixed::<256>();
        let v = d.finish()?;
        Ok(Self {
            proof: Proof::from_ssz(v[0])?,
            signature,
        })
    }
}

/// dkg-spec `Result`: one operator's ceremony output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkgResult {
    /// The operator.
    pub operator_id: u64,
    /// The ceremony's instance id.
    pub request_id: [u8; 24],
    /// Its share's signature over the deposit signing root.
    pub deposit_partial_signature: [u8; 96],
    /// Its share's signature over the owner-nonce digest.
    pub owner_nonce_partial_signature: [u8; 96],
    /// Its signed proof.
    pub signed_proof: SignedProof,
}

impl Ssz for DkgResult {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(228);
        e.u64(self.operator_id)
            .fixed(&self.request_id)
            .fixed(&self.deposit_partial_signature)
            .fixed(&self.owner_nonce_partial_signature)
            .var(&self.signed_proof.to_ssz());
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        let mut d = Decoder::new("Result", b, 228)?;
        let operator_id = d.u64();
        let request_id = d.fixed::<24>();
        let deposit_partial_signature = d.fixed::<96>();
        let owner_nonce_partial_signature = d.fixed::<96>();
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            operator_id,
            request_id,
            deposit_partial_signature,
            owner_nonce_partial_signature,
            signed_proof: SignedProof::from_ssz(v[0])?,
        })
    }
}

/// ssv-dkg `ResultData`, posted to every operator's `/results` at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultData {
    /// The ceremony's operators (must equal the `Init`'s).
    pub operators: Vec<Operator>,
    /// The instance id.
    pub identifier: [u8; 24],
    /// The deposit data JSON (one object), at most 8 KiB.
    pub deposit_data: Vec<u8>,
    /// The `keyshares.json` text, at most 32 KiB.
    pub keyshares_data: Vec<u8>,
    /// The `proofs.json` text, at most 32 KiB.
    pub proofs: Vec<u8>,
}

impl Ssz for ResultData {
    fn to_ssz(&self) -> Vec<u8> {
        let mut e = Encoder::new(40);
        e.var(&encode_operators(&self.operators))
            .fixed(&self.identifier)
            .var(&self.deposit_data)
            .var(&self.keyshares_data)
            .var(&self.proofs);
        e.finish()
    }
    fn from_ssz(b: &[u8]) -> Result<Self, SszError> {
        const C: &str = "ResultData";
        let mut d = Decoder::new(C, b, 40)?;
        d.offset();
        let identifier = d.fixed::<24>();
        d.offset();
        d.offset();
        d.offset();
        let v = d.finish()?;
        Ok(Self {
            operators: decode_operators(C, v[0])?,
            identifier,
            deposit_data: byte_list(C, "DepositData", v[1], 8192)?,
            keyshares_data: byte_list(C, "KeysharesData", v[2], 32768)?,
            proofs: byte_list(C, "Proofs", v[3], 32768)?,
        })
    }
}

/// 48-byte array helper for callers holding slices.
pub fn arr48(c: &'static str, f: &'static str, b: &[u8]) -> Result<[u8; 48], SszError> {
    fixed_array::<48>(c, f, b)
}
