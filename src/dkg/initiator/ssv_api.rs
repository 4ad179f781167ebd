//! Operators by id from the SSV API, for `dkg init` without operators info: `GET
//! <base>/api/v4/<network>/operators/<id>` gives `public_key` and `dkg_address` (what the SSV web app
//! turns into ssv-dkg's operators info). The request, its bounds and the parsing of the operator
//! object are `operators::api`'s; here the answer becomes an [`OperatorInfo`] or says why not.

use super::OperatorInfo;
use crate::operators::api::{ApiClient, ApiError, ApiOptions};

/// The public SSV API; override for tests, mirrors and devnets.
pub const DEFAULT_SSV_API: &str = crate::operators::api::DEFAULT_SSV_API;

/// An operator that cannot be used for a ceremony.
#[derive(Debug, thiserror::Error)]
pub enum SsvApiError {
    /// The API did not give a usable operator.
    #[error("operator {id}: {source}")]
    Api {
        /// The id asked for.
        id: u64,
        /// What failed.
        #[source]
        source: ApiError,
    },
    /// It has no DKG endpoint, or one ssv-dkg would refuse.
    #[error("SSV API: operator {id}: {reason}")]
    Endpoint {
        /// The id.
        id: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Fetches each id (concurrently) and returns them in the order given.
pub async fn fetch_operators(
    base_url: &str,
    network: &str,
    ids: &[u64],
) -> Result<Vec<OperatorInfo>, SsvApiError> {
    let api = ApiClient::new(base_url, network, ApiOptions::default()).map_err(|source| {
        SsvApiError::Api {
            id: ids.first().copied().unwrap_or(0),
            source,
        }
    })?;
    let futs = ids.iter().map(|id| fetch_one(&api, *id));
    let mut out = Vec::with_capacity(ids.len());
    for r in super::futures_join_all(futs).await {
        out.push(r?);
    }
    Ok(out)
}

async fn fetch_one(api: &ApiClient, id: u64) -> Result<OperatorInfo, SsvApiError> {
    let op = api
        .operator(id)
        .await
        .map_err(|source| SsvApiError::Api { id, source })?;
    let err = |reason: String| SsvApiError::Endpoint { id, reason };
    let address = op.dkg_address.ok_or_else(|| {
        err("has no DKG endpoint (dkg_address) registered; pass --operators-info instead".into())
    })?;
    if !address.starts_with("https://") {
        return Err(err(format!(
            "dkg_address {address:?} is not https:// (ssv-dkg accepts HTTPS only)"
        )));
    }
    Ok(OperatorInfo {
        id,
        key: op.public_key,
        url: address,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback HTTP/1.1 server answering `GET /api/v4/<network>/operators/<id>` from `routes`
    /// (path -> (status, body)); anything else is a 404.
    async fn serve(routes: Vec<(String, u16, String)>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let routes = routes.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    let req = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
                    let (status, body) = routes
                        .iter()
                        .find(|(p, _, _)| *p == path)
                        .map(|(_, s, b)| (*s, b.clone()))
                        .unwrap_or((404, "{\"error\":\"not found\"}".into()));
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        format!("http://{addr}")
    }

    fn example_keys() -> Vec<(u64, String)> {
        let text = std::fs::read_to_string(
            "../shared/vectors/ssv-dkg/examples/initiator/operators_info.json",
        )
        .expect("../shared/vectors/ssv-dkg/examples/initiator/operators_info.json");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        v.as_array()
            .expect("array")
            .iter()
            .map(|o| {
                (
                    o["id"].as_u64().expect("id"),
                    o["public_key"].as_str().expect("key").to_string(),
                )
            })
            .collect()
    }

    fn api_body(id: u64, key: &str, dkg: &str) -> String {
        // Shaped like the real API: many more fields, which must be ignored.
        serde_json::json!({
            "id": id, "id_str": id.to_string(), "declared_fee": "0", "fee": "382640000000",
            "public_key": key, "owner_address": "0x0000000000000000000000000000000000000001",
            "name": format!("op{id}"), "dkg_address": dkg, "is_active": 1, "validators_count": 3
        })
        .to_string()
    }

    #[tokio::test]
    async fn fetches_keys_and_dkg_addresses_by_id() {
        let keys = example_keys();
        let routes = keys[..4]
            .iter()
            .map(|(id, k)| {
                (
                    format!("/api/v4/hoodi/operators/{id}"),
                    200,
                    api_body(*id, k, &format!("https://op{id}.example:3030/")),
                )
            })
            .collect();
        let base = serve(routes).await;
        let ids: Vec<u64> = keys[..4].iter().rev().map(|(id, _)| *id).collect();
        let ops = fetch_operators(&format!("{base}/"), "hoodi", &ids)
            .await
            .expect("fetch");
        assert_eq!(ops.iter().map(|o| o.id).collect::<Vec<_>>(), ids);
        for o in &ops {
            let (_, k) = keys.iter().find(|(id, _)| *id == o.id).expect("known");
            assert_eq!(o.key.to_base64_pem(), k);
            assert_eq!(o.url, format!("https://op{}.example:3030", o.id));
        }
    }

    #[tokio::test]
    async fn each_failure_names_the_operator() {
        let keys = example_keys();
        let (id, key) = keys[0].clone();
        let cases: Vec<(u16, String, &str)> = vec![
            (404, "{\"error\":\"Operator not found\"}".into(), "HTTP 404"),
            (200, api_body(id, key.as_str(), ""), "no DKG endpoint"),
            (
                200,
                api_body(id, key.as_str(), "http://plain:3030"),
                "not https",
            ),
            (
                200,
                api_body(id, "bm90IGEga2V5", "https://x:1"),
                "public_key",
            ),
            (
                200,
                api_body(id + 1, key.as_str(), "https://x:1"),
                "answered with operator",
            ),
            (200, "[]".into(), "not an operator object"),
        ];
        for (status, body, expect) in cases {
            let base = serve(vec![(
                format!("/api/v4/mainnet/operators/{id}"),
                status,
                body,
            )])
            .await;
            let err = fetch_operators(&base, "mainnet", &[id])
                .await
                .expect_err(expect);
            let text = err.to_string();
            assert!(text.contains(&format!("operator {id}")), "{text}");
            assert!(text.contains(expect), "{expect}: {text}");
        }
        // Nothing listening: a connection error, still naming the operator.
        let err = fetch_operators("http://127.0.0.1:9", "mainnet", &[id])
            .await
            .expect_err("refused");
        assert!(err.to_string().contains(&format!("operator {id}")), "{err}");
    }
}
