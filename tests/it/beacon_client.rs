//! The Beacon API client and the activation follower against a small scripted HTTP server on
//! 127.0.0.1, serving the JSON shapes Lodestar 1.5.1 returned in ../shared/notes/beacon-devnet.md
//! and the current beacon-APIs spec shapes (numbers as JSON numbers too, extra optional fields).

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ssv_agent::beacon::activation::{ActivationError, FollowOptions, follow};
use ssv_agent::beacon::client::BeaconClient;
use ssv_agent::beacon::types::ValidatorStatus;
use ssv_agent::network::NetworkProfile;

#[derive(Clone)]
enum Reply {
    Json(u16, String),
    /// Close the connection without answering (a node restarting).
    Drop,
}

type Routes = Arc<Mutex<HashMap<String, VecDeque<Reply>>>>;

/// Serves scripted replies per path (with query); the last reply of a path repeats.
struct Server {
    url: String,
    routes: Routes,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let routes: Routes = Arc::default();
        let hits: Arc<Mutex<Vec<String>>> = Arc::default();
        let (r, h) = (routes.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 || l == "\r\n" {
                        break;
                    }
                }
                h.lock().unwrap().push(path.clone());
                let reply = {
                    let mut routes = r.lock().unwrap();
                    match routes.get_mut(&path) {
                        Some(q) if q.len() > 1 => q.pop_front().unwrap(),
                        Some(q) => q.front().cloned().unwrap(),
                        None => Reply::Json(404, r#"{"code":404,"message":"no route"}"#.into()),
                    }
                };
                match reply {
                    Reply::Drop => drop(stream),
                    Reply::Json(status, body) => {
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                }
            }
        });
        Self { url, routes, hits }
    }

    fn set(&self, path: &str, replies: Vec<Reply>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), replies.into());
    }

    fn ok(&self, path: &str, body: &str) {
        self.set(path, vec![Reply::Json(200, body.to_string())]);
    }
}

const PK: &str = "0xa1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const FAR: &str = "18446744073709551615";

/// Lodestar 1.5.1 shapes (decimal strings, no optional newer fields), on hoodi's identity.
fn lodestar_node(s: &Server) {
    s.ok(
        "/eth/v1/beacon/genesis",
        r#"{"data":{"genesis_validators_root":"0x212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f","genesis_time":"1795679756","genesis_fork_version":"0x10000910"}}"#,
    );
    s.ok(
        "/eth/v1/config/deposit_contract",
        r#"{"data":{"chain_id":"560048","address":"0x00000000219ab540356cbb839cbe05303d7705fa"}}"#,
    );
    s.ok(
        "/eth/v1/node/syncing",
        r#"{"data":{"head_slot":"80","sync_distance":"0","is_syncing":false,"is_optimistic":false}}"#,
    );
    s.ok(
        "/eth/v1/config/spec",
        r#"{"data":{"SECONDS_PER_SLOT":"1","SLOTS_PER_EPOCH":"8","MAX_SEED_LOOKAHEAD":"4","MIN_PER_EPOCH_CHURN_LIMIT":"4","CHURN_LIMIT_QUOTIENT":"32","ETH1_FOLLOW_DISTANCE":"8","SECONDS_PER_ETH1_BLOCK":"1","EPOCHS_PER_ETH1_VOTING_PERIOD":"4","GENESIS_FORK_VERSION":"0x10000910"}}"#,
    );
    s.ok(
        "/eth/v1/beacon/states/head/finality_checkpoints",
        r#"{"data":{"previous_justified":{"epoch":"8","root":"0x00"},"current_justified":{"epoch":"9","root":"0x00"},"finalized":{"epoch":"8","root":"0x00"}},"execution_optimistic":false}"#,
    );
    s.ok(
        "/eth/v1/beacon/states/head/validators?status=pending_queued",
        r#"{"data":[],"execution_optimistic":false}"#,
    );
}

fn validator_json(status: &str, eligibility: &str, activation: &str, exit: &str) -> String {
    format!(
        r#"{{"data":{{"index":"8","balance":"32000000000","status":"{status}","validator":{{"pubkey":"{PK}","withdrawal_credentials":"0x0100000000000000000000000000000000000000000000000000000000c0ffee","effective_balance":"32000000000","slashed":false,"activation_eligibility_epoch":"{eligibility}","activation_epoch":"{activation}","exit_epoch":"{exit}","withdrawable_epoch":"{FAR}"}}}},"execution_optimistic":false}}"#
    )
}

fn fast() -> FollowOptions {
    FollowOptions {
        poll: Duration::from_millis(20),
        max_backoff: Duration::from_millis(80),
        outage_limit: Some(Duration::from_secs(5)),
        deadline: Some(Duration::from_secs(20)),
        max_sync_distance: 4,
    }
}

fn client(s: &Server) -> BeaconClient {
    BeaconClient::new(&s.url, Duration::from_secs(2)).unwrap()
}

#[tokio::test]
async fn lodestar_shapes_parse() {
    let s = Server::start();
    lodestar_node(&s);
    let vpath = format!("/eth/v1/beacon/states/head/validators/{PK}");
    s.set(
        &vpath,
        vec![
            Reply::Json(404, r#"{"statusCode":404,"error":"Not Found","message":"Validator pubkey not found in state"}"#.into()),
            Reply::Json(200, validator_json("pending_initialized", FAR, FAR, FAR)),
        ],
    );
    let c = client(&s);
    let g = c.genesis().await.unwrap();
    assert_eq!(
        (g.genesis_time, g.genesis_fork_version),
        (1_795_679_756, [0x10, 0, 9, 0x10])
    );
    let dc = c.deposit_contract().await.unwrap();
    assert_eq!(dc.chain_id, 560_048);
    assert_eq!(dc.address, NetworkProfile::hoodi().deposit_contract);
    let sync = c.syncing().await.unwrap();
    assert_eq!(
        (sync.head_slot, sync.is_syncing, sync.el_offline),
        (80, false, None)
    );
    assert_eq!(c.spec().await.unwrap().u64("SLOTS_PER_EPOCH"), Some(8));
    assert_eq!(
        c.validator("head", PK).await.unwrap(),
        None,
        "404 means unknown, not an error"
    );
    let v = c.validator("head", PK).await.unwrap().unwrap();
    assert_eq!((v.index, v.validator.activation_epoch), (8, u64::MAX));
    assert_eq!(
        ValidatorStatus::parse(&v.status),
        Some(ValidatorStatus::PendingInitialized)
    );
}

#[tokio::test]
async fn current_spec_shapes_parse() {
    let s = Server::start();
    s.ok(
        "/eth/v1/node/syncing",
        r#"{"data":{"head_slot":"12345","sync_distance":"1","is_syncing":false,"is_optimistic":false,"el_offline":false}}"#,
    );
    // Some tooling emits JSON numbers; accepted as well.
    s.ok(
        "/eth/v1/beacon/genesis",
        r#"{"data":{"genesis_validators_root":"0x00","genesis_time":1742213400,"genesis_fork_version":"0x10000910"}}"#,
    );
    s.ok(
        "/eth/v1/beacon/states/head/pending_deposits",
        &format!(
            r#"{{"version":"electra","execution_optimistic":false,"finalized":false,"data":[{{"pubkey":"0xaa","withdrawal_credentials":"0x01","amount":"32000000000","signature":"0x00","slot":"100"}},{{"pubkey":"{PK}","withdrawal_credentials":"0x01","amount":"2048000000000","signature":"0x00","slot":"101"}}]}}"#
        ),
    );
    s.ok(
        "/eth/v1/config/spec",
        r#"{"data":{"SECONDS_PER_SLOT":"12","SLOTS_PER_EPOCH":"32","BLOB_SCHEDULE":[{"EPOCH":"1","MAX_BLOBS_PER_BLOCK":"9"}],"ELECTRA_FORK_EPOCH":"2048"}}"#,
    );
    s.set(
        "/eth/v1/beacon/states/finalized/validators/0xdead",
        vec![Reply::Json(
            404,
            r#"{"code":404,"message":"Validator not found"}"#.into(),
        )],
    );
    let c = client(&s);
    let sync = c.syncing().await.unwrap();
    assert_eq!(
        (sync.head_slot, sync.sync_distance, sync.el_offline),
        (12_345, 1, Some(false))
    );
    assert_eq!(c.genesis().await.unwrap().genesis_time, 1_742_213_400);
    let pending = c.pending_deposits("head").await.unwrap().unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(
        (pending[1].amount, pending[1].slot),
        (2_048_000_000_000, Some(101))
    );
    let spec = c.spec().await.unwrap();
    assert_eq!(
        (spec.u64("SECONDS_PER_SLOT"), spec.u64("ELECTRA_FORK_EPOCH")),
        (Some(12), Some(2048))
    );
    assert_eq!(c.validator("finalized", "0xdead").await.unwrap(), None);
    // A pre-Electra node without the endpoint: None, not an error.
    s.set(
        "/eth/v1/beacon/states/head/pending_deposits",
        vec![Reply::Json(
            400,
            r#"{"code":400,"message":"not available before Electra"}"#.into(),
        )],
    );
    assert_eq!(c.pending_deposits("head").await.unwrap(), None);
}

#[tokio::test]
async fn follows_to_active_through_restarts_and_timeouts() {
    let s = Server::start();
    lodestar_node(&s);
    let vpath = format!("/eth/v1/beacon/states/head/validators/{PK}");
    s.set(
        &vpath,
        vec![
            Reply::Json(404, r#"{"statusCode":404,"error":"Not Found","message":"Validator pubkey not found in state"}"#.into()),
            Reply::Json(200, validator_json("pending_initialized", FAR, FAR, FAR)),
            Reply::Drop,
            Reply::Json(503, r#"{"code":503,"message":"node is starting"}"#.into()),
            Reply::Json(200, validator_json("pending_queued", "10", FAR, FAR)),
            Reply::Json(200, validator_json("pending_queued", "10", "13", FAR)),
            Reply::Json(200, validator_json("active_ongoing", "10", "13", FAR)),
        ],
    );
    let mut seen = Vec::new();
    let mut retries = Vec::new();
    let mut etas = Vec::new();
    let done = follow(&client(&s), &NetworkProfile::hoodi(), PK, fast(), |p| {
        if let Some(r) = &p.retrying {
            retries.push(r.clone());
        } else {
            seen.push(p.status);
            etas.push(p.eta.clone());
        }
    })
    .await
    .unwrap();
    assert_eq!((done.index, done.activation_epoch), (8, 13));
    assert_eq!(
        seen,
        vec![
            None,
            Some(ValidatorStatus::PendingInitialized),
            Some(ValidatorStatus::PendingQueued),
            Some(ValidatorStatus::PendingQueued)
        ]
    );
    // The dropped connection is the follower's retry; the 503 the client's own (a passing 5xx
    // is asked again after 250 ms), so the follower never sees it.
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert!(!retries[0].contains("503"), "{retries:?}");
    // Head slot 80 / 8 = epoch 10; activation scheduled for 13: exact, 3 epochs of 8 s.
    let last = etas.last().unwrap().clone().unwrap();
    assert!(last.exact);
    assert_eq!((last.epochs, last.seconds), (3, 24));
    assert!(!etas[2].clone().unwrap().exact);
}

#[tokio::test]
async fn refuses_a_syncing_node_and_another_network() {
    let s = Server::start();
    lodestar_node(&s);
    s.ok(
        "/eth/v1/node/syncing",
        r#"{"data":{"head_slot":"80","sync_distance":"5000","is_syncing":true,"is_optimistic":false}}"#,
    );
    let err = follow(&client(&s), &NetworkProfile::hoodi(), PK, fast(), |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, ActivationError::Syncing { distance: 5000, .. }),
        "{err}"
    );

    let err = follow(&client(&s), &NetworkProfile::mainnet(), PK, fast(), |_| {})
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("genesis fork version")
            && text.contains("0x00000000")
            && text.contains("0x10000910"),
        "{text}"
    );

    let s2 = Server::start();
    lodestar_node(&s2);
    s2.ok(
        "/eth/v1/config/deposit_contract",
        r#"{"data":{"chain_id":"560048","address":"0x4242424242424242424242424242424242424242"}}"#,
    );
    let err = follow(&client(&s2), &NetworkProfile::hoodi(), PK, fast(), |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("deposit contract"), "{err}");
    assert!(
        !s2.hits
            .lock()
            .unwrap()
            .iter()
            .any(|p| p.contains("/validators/")),
        "no validator query before the checks"
    );
}

#[tokio::test]
async fn stops_on_exit_or_slashing() {
    for (status, exit, word) in [
        ("exited_slashed", "12", "slashed"),
        ("active_exiting", "20", "exit"),
        ("withdrawal_done", "12", "withdrawable"),
    ] {
        let s = Server::start();
        lodestar_node(&s);
        s.ok(
            &format!("/eth/v1/beacon/states/head/validators/{PK}"),
            &validator_json(status, "3", "5", exit),
        );
        let err = follow(&client(&s), &NetworkProfile::hoodi(), PK, fast(), |_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, ActivationError::Ended { .. }), "{err}");
        assert!(
            err.to_string().contains(status) && err.to_string().contains(word),
            "{err}"
        );
    }
}

/// Lodestar 1.5.1 answers state queries with this 500 until its next head once a posted voluntary
/// exit touched the head state (a CI run saw it outlast two quick retries): one call rides it out.
#[tokio::test]
async fn a_state_query_rides_out_lodestars_uncommitted_head_500() {
    let s = Server::start();
    let uncommitted = r#"{"statusCode":500,"error":"Internal Server Error","message":"Must commit changes before reading all nodes"}"#;
    s.set(
        "/eth/v1/beacon/states/head/validators?status=active_exiting&status=active_slashed",
        vec![
            Reply::Json(500, uncommitted.into()),
            Reply::Json(500, uncommitted.into()),
            Reply::Json(500, uncommitted.into()),
            Reply::Json(500, uncommitted.into()),
            Reply::Json(200, r#"{"data":[]}"#.into()),
        ],
    );
    let exiting = client(&s)
        .validators_by_status("head", &["active_exiting", "active_slashed"])
        .await
        .unwrap();
    assert!(exiting.is_empty());
    assert_eq!(s.hits.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn gives_up_after_a_long_outage_with_the_last_error() {
    let s = Server::start();
    lodestar_node(&s);
    s.set(
        &format!("/eth/v1/beacon/states/head/validators/{PK}"),
        vec![Reply::Json(500, "{}".into())],
    );
    let mut opts = fast();
    opts.outage_limit = Some(Duration::from_millis(300));
    let err = follow(&client(&s), &NetworkProfile::hoodi(), PK, opts, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ActivationError::Outage { .. }), "{err}");
    assert!(err.to_string().contains("500"), "{err}");
}
