//! The SSZ containers of ssv-dkg v3.1.0 (`pkgs/wire/types.go`) and dkg-spec v1.2.0 (`types.go`)
//! used by the init ceremony. Field order and list limits follow those definitions; resign and
//! reshare add containers of the same style alongside (their transport types are reserved below).

use super::ssz::{
    Decoder, Encoder, SszError, byte_list, decode_var_list, encode_var_list, fixed_array,
};

pub trait Ssz: Sized {
    fn to_ssz(&self) -> Vec<u8>;
    fn from_ssz(b: &[u8]) -> Result<Self, SszError>;
}

/// `Transport.Type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportType {
    Init,
    Kyber,
    Exchange,
    Output,
    KyberDealBundle,
    KyberResponseBundle,
    KyberJustificationBundle,
    BlsSignRequest,
    Error,
    Ping,
    Pong,
    Result,
    SignedResign,
    SignedReshare,
    ReshareKyber,
    ReshareExchange,
    Unknown(u64),
}

impl TransportType {
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

pub const MAX_OPERATORS: usize = 13;
const MAX_KEY: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transport {
    pub kind: TransportType,
    pub identifier: [u8; 24],
    pub data: Vec<u8>,
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
        Ok(Transport {
            kind,
            identifier,
            data: byte_list(C, "Data", v[0], 8_388_608)?,
            version: byte_list(C, "Version", v[1], 128)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTransport {
    pub message: Transport,
    pub signer: Vec<u8>,
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
        Ok(SignedTransport {
            message: Transport::from_ssz(v[0])?,
            signer: byte_list(C, "Signer", v[1], MAX_KEY)?,
            signature: byte_list(C, "Signature", v[2], MAX_KEY)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultipleSignedTransports {
    pub identifier: [u8; 24],
    pub messages: Vec<SignedTransport>,
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
        Ok(MultipleSignedTransports {
            identifier,
            messages,
            signature: byte_list(C, "Signature", v[1], MAX_KEY)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrSsz {
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
        Ok(ErrSsz {
            error: byte_list("ErrSSZ", "Error", v[0], 512)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KyberMessage {
    pub kind: TransportType,
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
        Ok(KyberMessage {
            kind,
            data: byte_list("KyberMessage", "Data", v[0], 4096)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub pk: Vec<u8>,
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
        Ok(Exchange {
            pk: byte_list("Exchange", "PK", v[0], MAX_KEY)?,
            commits: byte_list("Exchange", "Commits", v[1], MAX_KEY)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    pub id: u64,
    pub pubkey: Vec<u8>,
    pub multisig: bool,
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
        Ok(Pong {
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
    pub id: u64,
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
        Ok(Operator {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Init {
    pub operators: Vec<Operator>,
    pub t: u64,
    pub withdrawal_credentials: Vec<u8>,
    pub fork: [u8; 4],
    pub owner: [u8; 20],
    pub nonce: u64,
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
        Ok(Init {
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub validator_pubkey: [u8; 48],
    pub encrypted_share: Vec<u8>,
    pub share_pubkey: [u8; 48],
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
        Ok(Proof {
            validator_pubkey,
            encrypted_share: byte_list(C, "EncryptedShare", v[0], 512)?,
            share_pubkey,
            owner,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedProof {
    pub proof: Proof,
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
        Ok(SignedProof {
            proof: Proof::from_ssz(v[0])?,
            signature,
        })
    }
}

/// dkg-spec `Result`: one operator's ceremony output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkgResult {
    pub operator_id: u64,
    pub request_id: [u8; 24],
    pub deposit_partial_signature: [u8; 96],
    pub owner_nonce_partial_signature: [u8; 96],
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
        Ok(DkgResult {
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
    pub operators: Vec<Operator>,
    pub identifier: [u8; 24],
    pub deposit_data: Vec<u8>,
    pub keyshares_data: Vec<u8>,
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
        Ok(ResultData {
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
