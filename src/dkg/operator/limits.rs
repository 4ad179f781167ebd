//! Every bound the operator server puts on what strangers can make it hold: bodies per route,
//! connections, bodies in flight, read timeouts, request rates per source address and per initiator
//! key, and ceremony instances. One typed struct so the numbers are chosen in one place, defaulted
//! from ssv-dkg v3.1.0 where it has a value, and overridable from `dkg operator` flags and YAML.

use std::time::Duration;

use serde::Deserialize;

/// Largest legitimate message per route, from the SSZ schema maxima of ssv-dkg v3.1.0's wire types
/// (`pkgs/wire/types.go`, dkg-spec `types.go`). A body above these cannot decode as the route's
/// message, so it is refused before it is read. Bulk runs (up to 100 validators) are 100 separate
/// ceremonies: no `/init`, `/dkg` or `/results` grows with them; only `/resign` and `/reshare` carry
/// up to 100 messages (one owner signature over all of them).
pub mod wire_max {
    /// `Signer`, `Signature`, `Operator.PubKey`, `Exchange.PK`/`Commits`: `list ≤ 2048`.
    pub const KEY: usize = 2048;
    /// `Transport.Version`: `list ≤ 128`.
    pub const VERSION: usize = 128;
    /// `KyberMessage.Data` / `ReshareKyberMessage.Data`: `list ≤ 4096`.
    pub const KYBER_DATA: usize = 4096;
    /// `list ≤ 13` everywhere operators are listed.
    pub const OPERATORS: usize = 13;
    /// Bulk resign/reshare: `list ≤ 100` messages.
    pub const MESSAGES: usize = 100;

    /// `Transport` (fixed 40: type, identifier, two offsets) carrying `data` bytes.
    pub const fn transport(data: usize) -> usize {
        40 + data + VERSION
    }
    /// `SignedTransport` (fixed 12: three offsets) around a transport carrying `data` bytes.
    pub const fn signed_transport(data: usize) -> usize {
        12 + transport(data) + KEY + KEY
    }
    /// One `spec.Operator` (ID, offset, key) inside a variable list (plus its 4-byte offset).
    pub const OPERATOR_IN_LIST: usize = 4 + 12 + KEY;
    /// `[]*spec.Operator` at its maximum.
    pub const OPERATOR_LIST: usize = OPERATORS * OPERATOR_IN_LIST;
    /// `spec.Init`: fixed 56 + operators + 32-byte credentials.
    pub const INIT: usize = 56 + OPERATOR_LIST + 32;
    /// `Exchange` (fixed 8) with key and commits at their maxima (reshare exchanges carry commits).
    pub const EXCHANGE: usize = 8 + KEY + KEY;
    /// `KyberMessage` (fixed 12) with a full deal/response/justification bundle.
    pub const KYBER_MESSAGE: usize = 12 + KYBER_DATA;
    /// What one operator's round message carries: an exchange or a kyber bundle.
    pub const ROUND_DATA: usize = if EXCHANGE > KYBER_MESSAGE {
        EXCHANGE
    } else {
        KYBER_MESSAGE
    };
    /// `MultipleSignedTransports`: fixed 32 + 13 signed round messages (each with its offset) + signature.
    pub const DKG_BUNDLE: usize = 32 + OPERATORS * (4 + signed_transport(ROUND_DATA)) + KEY;
    /// `ResultData`: fixed 40 + operators + deposit data ≤ 8192 + keyshares ≤ 32768 + proofs ≤ 32768.
    pub const RESULT_DATA: usize = 40 + OPERATOR_LIST + 8192 + 32768 + 32768;
    /// `spec.SignedProof` (fixed 260: offset + 256-byte signature) + `Proof` (120 + share ≤ 512).
    pub const SIGNED_PROOF: usize = 260 + 120 + 512;
    /// Proofs of one message: `list ≤ 13` of signed proofs, each with its offset.
    pub const PROOF_LIST: usize = OPERATORS * (4 + SIGNED_PROOF);
    /// `ResignMessage`: fixed 12 + operators + `spec.Resign` (92 + credentials 32) + proofs.
    pub const RESIGN_MESSAGE: usize = 12 + OPERATOR_LIST + 92 + 32 + PROOF_LIST;
    /// `SignedResign`: fixed 8 + 100 messages (each with its offset) + owner signature.
    pub const SIGNED_RESIGN: usize = 8 + MESSAGES * (4 + RESIGN_MESSAGE) + KEY;
    /// `ReshareMessage`: fixed 8 + `spec.Reshare` (116 + old and new operators + 32) + proofs.
    pub const RESHARE_MESSAGE: usize = 8 + 116 + 2 * OPERATOR_LIST + 32 + PROOF_LIST;
    /// `SignedReshare`: fixed 8 + 100 messages (each with its offset) + owner signature.
    pub const SIGNED_RESHARE: usize = 8 + MESSAGES * (4 + RESHARE_MESSAGE) + KEY;

    /// `POST /init` = 31 196 bytes.
    pub const INIT_BODY: usize = signed_transport(INIT);
    /// `POST /dkg` = 111 124 bytes (13 operators' exchanges or deal bundles, init or reshare).
    pub const DKG_BODY: usize = DKG_BUNDLE;
    /// `POST /results` = 104 876 bytes.
    pub const RESULTS_BODY: usize = signed_transport(RESULT_DATA);
    /// `POST /resign` = 3 868 332 bytes (100 messages of 13 operators).
    pub const RESIGN_BODY: usize = signed_transport(SIGNED_RESIGN);
    /// `POST /reshare` = 6 553 532 bytes (100 messages, 13 old and 13 new operators).
    pub const RESHARE_BODY: usize = signed_transport(SIGNED_RESHARE);
}

/// The smallest `/init` limit accepted: a real 13-operator `/init` (RSA-2048 keys) is 9 178 bytes.
pub const MIN_INIT_BODY: usize = 12 * 1024;
/// The smallest `/resign` and `/reshare` limit accepted: one message of 13 (old and new)
/// operators with RSA-2048 keys is about 26 KiB.
pub const MIN_CHANGE_BODY: usize = 40 * 1024;
/// The smallest `/dkg` limit accepted: a real 13-operator deal round is 53 432 bytes from this
/// initiator and 55 264 from ssv-dkg's (its deal bundles are indented JSON).
pub const MIN_DKG_BODY: usize = 72 * 1024;
/// The smallest `/results` limit accepted: a real 13-operator `/results` is 44 195 bytes.
pub const MIN_RESULTS_BODY: usize = 56 * 1024;

/// The operator server's limits. [`Default`] is what `dkg operator` runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Largest `/init` body (bytes); larger is refused with 413 by `Content-Length` or while reading.
    pub init_body: usize,
    /// Largest `/dkg` body.
    pub dkg_body: usize,
    /// Largest `/results` body.
    pub results_body: usize,
    /// Largest `/resign` body (100 messages of 13 operators fit).
    pub resign_body: usize,
    /// Largest `/reshare` body (100 messages of 13 old and 13 new operators fit).
    pub reshare_body: usize,
    /// Largest request head (request line + headers). ssv-dkg allows 1 MiB; ssv-dkg's own
    /// initiator sends well under 1 KiB, and this is buffer memory per connection.
    pub max_header_bytes: usize,
    /// Time for the TLS handshake and then for each request head (also how long an idle
    /// keep-alive connection stays open). ssv-dkg: `ReadHeaderTimeout` 10 s.
    pub header_read_timeout: Duration,
    /// Time to receive a whole body once its head is in. ssv-dkg: `ReadTimeout` 90 s.
    pub body_read_timeout: Duration,
    /// After this a connection finishes its current request and is closed.
    pub connection_lifetime: Duration,
    /// Open connections at once (lowered to fit the open-file limit). Beyond it, new connections
    /// wait in the kernel's listen queue instead of failing `accept`.
    pub max_connections: usize,
    /// Open connections from one source address (an IPv6 /64 counts as one address).
    pub max_connections_per_ip: usize,
    /// Request bodies being received at once, so buffered bodies stay below
    /// `max_bodies_in_flight × the largest route limit`.
    pub max_bodies_in_flight: usize,
    /// Requests per minute per source address, all routes together. ssv-dkg: 5000.
    pub requests_per_ip_per_minute: u32,
    /// `/init` per minute per source address. ssv-dkg: 200.
    pub init_per_ip_per_minute: u32,
    /// `/dkg` per minute per source address. ssv-dkg: 500.
    pub dkg_per_ip_per_minute: u32,
    /// `/results` per minute per source address. ssv-dkg: 500.
    pub results_per_ip_per_minute: u32,
    /// `/health_check` per minute per source address. ssv-dkg: 500.
    pub health_check_per_ip_per_minute: u32,
    /// `/resign` per minute per source address. ssv-dkg: 200.
    pub resign_per_ip_per_minute: u32,
    /// `/reshare` per minute per source address. ssv-dkg: 200.
    pub reshare_per_ip_per_minute: u32,
    /// Longest wait for the execution RPC when checking a contract owner's signature (EIP-1271).
    pub owner_check_timeout: Duration,
    /// Accepted `/init` per minute per initiator key (a Rust bulk run of 100 uses one key).
    pub init_per_initiator_per_minute: u32,
    /// Ceremony instances held at once. ssv-dkg: `MaxInstances` 1024.
    pub max_instances: usize,
    /// Unfinished instances started from one source address. ssv-dkg and this initiator run at
    /// most 20 bulk ceremonies at once, so 64 leaves room for a few initiators behind one address.
    pub max_instances_per_ip: usize,
    /// Unfinished instances of one initiator key (ssv-dkg uses a key per ceremony; this
    /// initiator one per run, with 20 ceremonies at once).
    pub max_instances_per_initiator: usize,
    /// An instance's lifetime. ssv-dkg: `MaxInstanceTime` 1 min.
    pub instance_ttl: Duration,
    /// An instance that got no exchange round within this is dropped. ssv-dkg's initiator sends
    /// that round as soon as every `/init` answered, and gives up on a request after 30 s.
    pub exchange_ttl: Duration,
    /// When the instance table is full, instances waiting this long for their exchange round are
    /// dropped (oldest first) to make room for a new one.
    pub exchange_grace_when_full: Duration,
    /// Log lines of one kind (e.g. "request failed") per minute; the rest are counted and
    /// reported as one line, so a flood of bad requests cannot fill the disk.
    pub log_lines_per_minute: u32,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            init_body: wire_max::INIT_BODY,
            dkg_body: wire_max::DKG_BODY,
            results_body: wire_max::RESULTS_BODY,
            resign_body: wire_max::RESIGN_BODY,
            reshare_body: wire_max::RESHARE_BODY,
            max_header_bytes: 64 * 1024,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(90),
            connection_lifetime: Duration::from_secs(600),
            max_connections: 512,
            max_connections_per_ip: 64,
            max_bodies_in_flight: 128,
            requests_per_ip_per_minute: 5000,
            init_per_ip_per_minute: 200,
            dkg_per_ip_per_minute: 500,
            results_per_ip_per_minute: 500,
            health_check_per_ip_per_minute: 500,
            resign_per_ip_per_minute: 200,
            reshare_per_ip_per_minute: 200,
            owner_check_timeout: Duration::from_secs(10),
            init_per_initiator_per_minute: 200,
            max_instances: 1024,
            max_instances_per_ip: 64,
            max_instances_per_initiator: 32,
            instance_ttl: Duration::from_secs(60),
            exchange_ttl: Duration::from_secs(30),
            exchange_grace_when_full: Duration::from_secs(5),
            log_lines_per_minute: 10,
        }
    }
}

/// A limit that makes the server unusable.
#[derive(Debug, thiserror::Error)]
#[error("server limit {name} = {value}: {reason}")]
pub struct LimitError {
    /// The flag / YAML key.
    pub name: &'static str,
    /// The value given.
    pub value: String,
    /// Why it cannot work.
    pub reason: &'static str,
}

impl ServerLimits {
    /// Refuses limits that would break ssv-dkg ceremonies or the server itself.
    pub fn validate(&self) -> Result<(), LimitError> {
        let below = |name, value: usize, min: usize, reason| {
            if value < min {
                Err(LimitError {
                    name,
                    value: value.to_string(),
                    reason,
                })
            } else {
                Ok(())
            }
        };
        // Refuse route limits that could not carry a real 13-operator ceremony.
        below(
            "initBody",
            self.init_body,
            MIN_INIT_BODY,
            "below a 13-operator /init (12 KiB needed)",
        )?;
        below(
            "dkgBody",
            self.dkg_body,
            MIN_DKG_BODY,
            "below a 13-operator /dkg (72 KiB needed)",
        )?;
        below(
            "resultsBody",
            self.results_body,
            MIN_RESULTS_BODY,
            "below a 13-operator /results (56 KiB needed)",
        )?;
        below(
            "resignBody",
            self.resign_body,
            MIN_CHANGE_BODY,
            "below one 13-operator /resign message (40 KiB needed)",
        )?;
        below(
            "reshareBody",
            self.reshare_body,
            MIN_CHANGE_BODY,
            "below one 13-operator /reshare message (40 KiB needed)",
        )?;
        below(
            "maxHeaderBytes",
            self.max_header_bytes,
            8192,
            "the HTTP parser needs at least 8 KiB",
        )?;
        for (name, v) in [
            ("maxConnections", self.max_connections),
            ("maxConnectionsPerIp", self.max_connections_per_ip),
            ("maxBodiesInFlight", self.max_bodies_in_flight),
            ("maxInstances", self.max_instances),
            ("maxInstancesPerIp", self.max_instances_per_ip),
            ("maxInstancesPerInitiator", self.max_instances_per_initiator),
        ] {
            below(name, v, 1, "must be at least 1")?;
        }
        for (name, d) in [
            ("headerReadTimeoutSecs", self.header_read_timeout),
            ("bodyReadTimeoutSecs", self.body_read_timeout),
            ("connectionLifetimeSecs", self.connection_lifetime),
            ("instanceTtlSecs", self.instance_ttl),
            ("exchangeTtlSecs", self.exchange_ttl),
            ("ownerCheckTimeoutSecs", self.owner_check_timeout),
        ] {
            if d.is_zero() {
                return Err(LimitError {
                    name,
                    value: "0".into(),
                    reason: "must be at least 1 s",
                });
            }
        }
        Ok(())
    }
}

/// Overrides of [`ServerLimits`], from `dkg operator` flags or the `limits:` section of its YAML
/// config (camelCase keys). Durations are whole seconds; unset fields keep their value.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServerLimitOverrides {
    /// Largest /init body, bytes [default: 31196].
    #[arg(long)]
    pub init_body: Option<usize>,
    /// Largest /dkg body, bytes [default: 111124].
    #[arg(long)]
    pub dkg_body: Option<usize>,
    /// Largest /results body, bytes [default: 104876].
    #[arg(long)]
    pub results_body: Option<usize>,
    /// Largest /resign body, bytes [default: 3868332].
    #[arg(long)]
    pub resign_body: Option<usize>,
    /// Largest /reshare body, bytes [default: 6553532].
    #[arg(long)]
    pub reshare_body: Option<usize>,
    /// Largest request head, bytes [default: 65536].
    #[arg(long)]
    pub max_header_bytes: Option<usize>,
    /// Seconds for the TLS handshake and each request head [default: 10].
    #[arg(long)]
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds to receive a body [default: 90].
    #[arg(long)]
    pub body_read_timeout_secs: Option<u64>,
    /// Seconds a connection is kept before it is closed after its current request [default: 600].
    #[arg(long)]
    pub connection_lifetime_secs: Option<u64>,
    /// Open connections at once [default: 512, lowered to fit the open-file limit].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Open connections per source address [default: 64].
    #[arg(long)]
    pub max_connections_per_ip: Option<usize>,
    /// Request bodies being received at once [default: 128].
    #[arg(long)]
    pub max_bodies_in_flight: Option<usize>,
    /// Requests per minute per source address, all routes [default: 5000].
    #[arg(long)]
    pub requests_per_ip_per_minute: Option<u32>,
    /// /init per minute per source address [default: 200].
    #[arg(long)]
    pub init_per_ip_per_minute: Option<u32>,
    /// /dkg per minute per source address [default: 500].
    #[arg(long)]
    pub dkg_per_ip_per_minute: Option<u32>,
    /// /results per minute per source address [default: 500].
    #[arg(long)]
    pub results_per_ip_per_minute: Option<u32>,
    /// /health_check per minute per source address [default: 500].
    #[arg(long)]
    pub health_check_per_ip_per_minute: Option<u32>,
    /// /resign per minute per source address [default: 200].
    #[arg(long)]
    pub resign_per_ip_per_minute: Option<u32>,
    /// /reshare per minute per source address [default: 200].
    #[arg(long)]
    pub reshare_per_ip_per_minute: Option<u32>,
    /// Seconds to wait for the execution RPC in an EIP-1271 owner check [default: 10].
    #[arg(long)]
    pub owner_check_timeout_secs: Option<u64>,
    /// Accepted /init per minute per initiator key [default: 200].
    #[arg(long)]
    pub init_per_initiator_per_minute: Option<u32>,
    /// Ceremony instances held at once [default: 1024].
    #[arg(long)]
    pub max_instances: Option<usize>,
    /// Unfinished instances per source address [default: 64].
    #[arg(long)]
    pub max_instances_per_ip: Option<usize>,
    /// Unfinished instances per initiator key [default: 32].
    #[arg(long)]
    pub max_instances_per_initiator: Option<usize>,
    /// Seconds an instance lives [default: 60].
    #[arg(long)]
    pub instance_ttl_secs: Option<u64>,
    /// Seconds an instance may wait for its exchange round [default: 30].
    #[arg(long)]
    pub exchange_ttl_secs: Option<u64>,
    /// Seconds after which a waiting instance may be dropped when the table is full [default: 5].
    #[arg(long)]
    pub exchange_grace_when_full_secs: Option<u64>,
    /// Log lines of one kind per minute before they are only counted [default: 10].
    #[arg(long)]
    pub log_lines_per_minute: Option<u32>,
}

impl ServerLimitOverrides {
    /// `self`'s values where set, else `other`'s (flags over the config file).
    pub fn or(self, other: Self) -> Self {
        macro_rules! pick {
            ($($f:ident),*) => { ServerLimitOverrides { $($f: self.$f.or(other.$f)),* } };
        }
        pick!(
            init_body,
            dkg_body,
            results_body,
            resign_body,
            reshare_body,
            max_header_bytes,
            header_read_timeout_secs,
            body_read_timeout_secs,
            connection_lifetime_secs,
            max_connections,
            max_connections_per_ip,
            max_bodies_in_flight,
            requests_per_ip_per_minute,
            init_per_ip_per_minute,
            dkg_per_ip_per_minute,
            results_per_ip_per_minute,
            health_check_per_ip_per_minute,
            resign_per_ip_per_minute,
            reshare_per_ip_per_minute,
            init_per_initiator_per_minute,
            max_instances,
            max_instances_per_ip,
            max_instances_per_initiator,
            instance_ttl_secs,
            exchange_ttl_secs,
            exchange_grace_when_full_secs,
            owner_check_timeout_secs,
            log_lines_per_minute
        )
    }

    /// The defaults with these overrides applied, validated.
    pub fn resolve(&self) -> Result<ServerLimits, LimitError> {
        let mut l = ServerLimits::default();
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { l.$f = v; })* };
        }
        macro_rules! secs {
            ($($f:ident => $t:ident),*) => { $(if let Some(v) = self.$f { l.$t = Duration::from_secs(v); })* };
        }
        set!(
            init_body,
            dkg_body,
            results_body,
            resign_body,
            reshare_body,
            max_header_bytes,
            max_connections,
            max_connections_per_ip,
            max_bodies_in_flight,
            requests_per_ip_per_minute,
            init_per_ip_per_minute,
            dkg_per_ip_per_minute,
            results_per_ip_per_minute,
            health_check_per_ip_per_minute,
            resign_per_ip_per_minute,
            reshare_per_ip_per_minute,
            init_per_initiator_per_minute,
            max_instances,
            max_instances_per_ip,
            max_instances_per_initiator,
            log_lines_per_minute
        );
        secs!(
            header_read_timeout_secs => header_read_timeout,
            body_read_timeout_secs => body_read_timeout,
            connection_lifetime_secs => connection_lifetime,
            instance_ttl_secs => instance_ttl,
            exchange_ttl_secs => exchange_ttl,
            exchange_grace_when_full_secs => exchange_grace_when_full,
            owner_check_timeout_secs => owner_check_timeout
        );
        l.validate()?;
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::wire_max::*;
    use super::*;
    use crate::dkg::wire::{
        Exchange, Init, KyberMessage, MultipleSignedTransports, Operator, ResultData,
        SignedTransport, Ssz, Transport, TransportType,
    };

    #[test]
    fn route_limits_are_the_numbers_the_comments_say() {
        assert_eq!(INIT_BODY, 31_196);
        assert_eq!(DKG_BODY, 111_124);
        assert_eq!(RESULTS_BODY, 104_876);
        assert_eq!(RESIGN_BODY, 3_868_332);
        assert_eq!(RESHARE_BODY, 6_553_532);
        // Resign/reshare bodies still fit Transport.Data (2^23) and Go's 105 MiB cap.
        const { assert!(SIGNED_RESHARE <= 8_388_608) };
    }

    fn maxed_operators() -> Vec<Operator> {
        (1..=13)
            .map(|id| Operator {
                id,
                pubkey: vec![b'k'; KEY],
            })
            .collect()
    }

    fn signed(data: Vec<u8>) -> SignedTransport {
        SignedTransport {
            message: Transport {
                kind: TransportType::Init,
                identifier: [7; 24],
                data,
                version: vec![b'v'; VERSION],
            },
            signer: vec![1; KEY],
            signature: vec![2; KEY],
        }
    }

    /// Messages with every list at its schema maximum encode to exactly the route limit, and the
    /// decoder accepts them: the limits are tight and still admit every decodable message.
    #[test]
    fn maximal_messages_encode_to_exactly_the_limits() {
        let init = Init {
            operators: maxed_operators(),
            t: 9,
            withdrawal_credentials: vec![1; 32],
            fork: [0; 4],
            owner: [3; 20],
            nonce: 1,
            amount: 32_000_000_000,
        };
        let body = signed(init.to_ssz()).to_ssz();
        assert_eq!(body.len(), INIT_BODY);
        SignedTransport::from_ssz(&body).expect("decodes");

        let exchange = Exchange {
            pk: vec![4; KEY],
            commits: vec![5; KEY],
        };
        let kyber = KyberMessage {
            kind: TransportType::KyberDealBundle,
            data: vec![b'{'; KYBER_DATA],
        };
        for data in [exchange.to_ssz(), kyber.to_ssz()] {
            let bundle = MultipleSignedTransports {
                identifier: [8; 24],
                messages: (0..13).map(|_| signed(data.clone())).collect(),
                signature: vec![9; KEY],
            };
            let body = bundle.to_ssz();
            assert!(body.len() <= DKG_BODY);
            MultipleSignedTransports::from_ssz(&body).expect("decodes");
        }
        assert_eq!(
            MultipleSignedTransports {
                identifier: [8; 24],
                messages: (0..13).map(|_| signed(kyber.to_ssz())).collect(),
                signature: vec![9; KEY],
            }
            .to_ssz()
            .len(),
            DKG_BODY
        );

        let rd = ResultData {
            operators: maxed_operators(),
            identifier: [1; 24],
            deposit_data: vec![b'd'; 8192],
            keyshares_data: vec![b'k'; 32768],
            proofs: vec![b'p'; 32768],
        };
        let body = signed(rd.to_ssz()).to_ssz();
        assert_eq!(body.len(), RESULTS_BODY);
        ResultData::from_ssz(&SignedTransport::from_ssz(&body).expect("st").message.data)
            .expect("decodes");
    }

    #[test]
    fn overrides_apply_over_defaults_and_bad_values_are_refused() {
        let flags = ServerLimitOverrides {
            max_connections: Some(10),
            body_read_timeout_secs: Some(2),
            ..Default::default()
        };
        let file = ServerLimitOverrides {
            max_connections: Some(99),
            dkg_body: Some(200_000),
            ..Default::default()
        };
        let l = flags.or(file).resolve().expect("valid");
        assert_eq!(l.max_connections, 10, "flag wins over file");
        assert_eq!(l.dkg_body, 200_000, "file over default");
        assert_eq!(l.body_read_timeout, Duration::from_secs(2));
        assert_eq!(l.init_body, INIT_BODY, "default kept");

        let e = ServerLimitOverrides {
            max_connections: Some(0),
            ..Default::default()
        }
        .resolve()
        .expect_err("zero connections");
        assert_eq!(e.name, "maxConnections");
        let e = ServerLimitOverrides {
            dkg_body: Some(100),
            ..Default::default()
        }
        .resolve()
        .expect_err("tiny body");
        assert_eq!(e.name, "dkgBody");
    }
}
