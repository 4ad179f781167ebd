//! The SSV API client against the devnet's SSV API double (`devnet::ssv_api_double`): a listing of
//! 600 operators at 100 a page is read completely and quickly, whatever page size the client asks
//! for; search and the web app's filters reach the API; and every bad answer (timeouts, 5xx, a
//! page that fails, a body that is not JSON, a missing field, a key that is not an RSA key, an
//! endless listing) gives a clear error or skips the operator with its reason, never a panic.

use std::time::{Duration, Instant};

use serde_json::Value;
use ssv_agent::{
    devnet::ssv_api_double::{ApiDouble, ApiFaults, ChainSide, METADATA, record},
    operators::{ApiClient, ApiError, ApiOptions, ListQuery},
};

/// Real operator keys (ssv-dkg's example operators), reused across synthetic operators: the
/// client parses each, uniqueness is the chain's business.
fn keys() -> Vec<String> {
    let path = "../shared/vectors/ssv-dkg/examples/initiator/operators_info.json";
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let v: Value = serde_json::from_str(&text).expect("operators info JSON");
    v.as_array()
        .expect("a list")
        .iter()
        .map(|o| o["public_key"].as_str().expect("public_key").to_string())
        .collect()
}

/// `n` operators in the API's shape, ids 1..=n.
fn records(n: u64) -> Vec<Value> {
    let keys = keys();
    (1..=n)
        .map(|id| {
            let c = ChainSide {
                id,
                owner: alloy::primitives::Address::repeat_byte(1),
                public_key: keys[(id as usize - 1) % keys.len()].clone(),
                eth_fee: alloy::primitives::U256::from(1_000_000_000u64 + id * 100_000),
                ssv_fee: alloy::primitives::U256::ZERO,
                validators: id % 50,
                is_private: false,
                whitelist: vec![],
            };
            let dkg = (id % 3 != 0).then(|| format!("https://op{id}.example:3030"));
            record(
                &c,
                &METADATA[(id as usize - 1) % 13],
                dkg.as_deref(),
                "hoodi",
            )
        })
        .collect()
}

fn client(url: &str, opts: ApiOptions) -> ApiClient {
    ApiClient::new(url, "hoodi", opts).expect("client")
}

fn quick() -> ApiOptions {
    ApiOptions {
        request_timeout: Duration::from_secs(2),
        total_timeout: Duration::from_secs(20),
        retries: 2,
        retry_pause: Duration::from_millis(50),
        ..ApiOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_hundred_operators_at_a_hundred_a_page_are_read_completely_and_quickly() {
    let api = ApiDouble::start("hoodi", records(600))
        .await
        .expect("double");
    for asked in [100, 1_000, 7] {
        let before = api.requests();
        let started = Instant::now();
        let listing = client(
            &api.url(),
            ApiOptions {
                per_page: asked,
                ..quick()
            },
        )
        .list_all(&ListQuery::default())
        .await
        .unwrap_or_else(|e| panic!("perPage={asked}: {e}"));
        let took = started.elapsed();
        println!(
            "perPage={asked}: {} operators in {} pages, {took:?}",
            listing.operators.len(),
            listing.pages
        );
        let ids: Vec<u64> = listing.operators.iter().map(|o| o.id).collect();
        assert_eq!(ids, (1..=600).collect::<Vec<_>>(), "perPage={asked}");
        assert!(listing.skipped.is_empty(), "{:?}", listing.skipped);
        assert_eq!(listing.total, 600);
        // The double serves at most 100 a page: asking for 1 000 still takes 6 pages.
        let pages = 600u64.div_ceil(u64::from(asked.min(100)));
        assert_eq!(listing.pages, pages, "perPage={asked}");
        assert_eq!(api.requests() - before, pages, "one request per page");
        assert!(
            took < Duration::from_secs(10),
            "{pages} pages took {took:?} (perPage={asked})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_and_the_web_apps_filters_reach_the_api() {
    let api = ApiDouble::start("hoodi", records(40))
        .await
        .expect("double");
    let c = client(&api.url(), quick());
    let dkg = c
        .list_all(&ListQuery {
            dkg_only: true,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert!(dkg.operators.iter().all(|o| o.id % 3 != 0));
    assert_eq!(dkg.operators.len(), 27);
    let verified = c
        .list_all(&ListQuery {
            verified_only: true,
            search: Some("aurora".into()),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    // Metadata cycles every 13 ids: "Aurora Staking" (verified) is ids 1, 14, 27, 40.
    assert_eq!(
        verified.operators.iter().map(|o| o.id).collect::<Vec<_>>(),
        vec![1, 14, 27, 40]
    );
    assert!(verified.operators.iter().all(|o| o.verified));
    let one = c.operator(14).await.unwrap();
    assert_eq!(one.name, "Aurora Staking");
    assert_eq!(
        one.dkg_address.as_deref(),
        Some("https://op14.example:3030")
    );
    let e = c.operator(41).await.unwrap_err().to_string();
    assert!(e.contains("HTTP 404") && e.contains("operators/41"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_entries_are_skipped_with_their_reason() {
    let api = ApiDouble::start("hoodi", records(250))
        .await
        .expect("double");
    api.update(|r| {
        r[4].as_object_mut().unwrap().remove("public_key"); // id 5
        r[119]["public_key"] = "bm90IGEga2V5".into(); // id 120: base64 of "not a key"
        r[200]["eth_fee"] = "a lot".into(); // id 201
        r[230].as_object_mut().unwrap().remove("id"); // no id at all
    });
    let listing = client(&api.url(), quick())
        .list_all(&ListQuery::default())
        .await
        .expect("a listing with bad entries still reads");
    assert_eq!(listing.operators.len(), 246);
    let reasons: Vec<(Option<u64>, String)> = listing
        .skipped
        .iter()
        .map(|s| (s.id, s.reason.to_string()))
        .collect();
    let has =
        |id: Option<u64>, text: &str| reasons.iter().any(|(i, r)| *i == id && r.contains(text));
    assert!(has(Some(5), "`public_key` field is missing"), "{reasons:?}");
    assert!(has(Some(120), "not a valid RSA"), "{reasons:?}");
    assert!(has(Some(201), "`eth_fee`"), "{reasons:?}");
    assert!(has(None, "`id` field is missing"), "{reasons:?}");
    // The same bad operator asked for by id is an error naming it.
    let e = client(&api.url(), quick()).operator(120).await.unwrap_err();
    assert!(matches!(e, ApiError::Operator { id: 120, .. }), "{e}");
    assert!(e.to_string().contains("operator 120"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_5xx_and_garbage_are_clear_errors() {
    let api = ApiDouble::start("hoodi", records(250))
        .await
        .expect("double");
    let c = client(
        &api.url(),
        ApiOptions {
            request_timeout: Duration::from_millis(300),
            retries: 1,
            ..quick()
        },
    );
    let all = ListQuery::default();

    // Slower than the client waits: a timeout after the retry, naming the URL and what to do.
    api.set_faults(ApiFaults {
        delay: Duration::from_millis(800),
        ..ApiFaults::default()
    });
    let started = Instant::now();
    let e = c.list_all(&all).await.unwrap_err();
    assert!(matches!(e, ApiError::Timeout { attempts: 2, .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("did not answer") && text.contains("ssv_api_url"),
        "{text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );

    // Persistent 503: the status after the retries.
    api.set_faults(ApiFaults {
        fail_next: 100,
        ..ApiFaults::default()
    });
    let e = c.list_all(&all).await.unwrap_err();
    assert!(matches!(e, ApiError::Status { status: 503, .. }), "{e}");
    assert!(e.to_string().contains("HTTP 503"), "{e}");

    // One 502: retried, and the listing completes.
    api.set_faults(ApiFaults {
        fail_next: 1,
        fail_status: 502,
        ..ApiFaults::default()
    });
    assert_eq!(c.list_all(&all).await.unwrap().operators.len(), 250);

    // Page 3 always fails: the whole listing fails, naming that page.
    api.set_faults(ApiFaults {
        fail_page: Some(3),
        fail_status: 500,
        ..ApiFaults::default()
    });
    let e = c.list_all(&all).await.unwrap_err().to_string();
    assert!(e.contains("page=3") && e.contains("HTTP 500"), "{e}");

    // A maintenance page instead of JSON.
    api.set_faults(ApiFaults {
        garbage: true,
        ..ApiFaults::default()
    });
    let e = c.list_all(&all).await.unwrap_err();
    assert!(matches!(e, ApiError::Shape { what: "JSON", .. }), "{e}");

    // A 4xx is not retried.
    api.set_faults(ApiFaults {
        fail_next: 1,
        fail_status: 400,
        ..ApiFaults::default()
    });
    let before = api.requests();
    let e = c.list_all(&all).await.unwrap_err();
    assert!(matches!(e, ApiError::Status { status: 400, .. }), "{e}");
    assert_eq!(api.requests() - before, 1);

    // The whole listing has a deadline: slow pages (each within the request timeout) add up,
    // three pages one at a time at 0.5 s each against 1.2 s.
    api.set_faults(ApiFaults {
        delay: Duration::from_millis(500),
        ..ApiFaults::default()
    });
    let slow = client(
        &api.url(),
        ApiOptions {
            total_timeout: Duration::from_millis(1_200),
            concurrency: 1,
            ..quick()
        },
    );
    let started = Instant::now();
    let e = slow.list_all(&all).await.unwrap_err();
    assert!(
        matches!(e, ApiError::Deadline { secs: 1, read, .. } if read < 3),
        "{e}"
    );
    assert!(e.to_string().contains("did not complete within 1 s"), "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // Nothing listening at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let e = client(&url, quick()).list_all(&all).await.unwrap_err();
    assert!(matches!(e, ApiError::Request { attempts: 3, .. }), "{e}");
}
