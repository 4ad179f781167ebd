//! Endpoint URLs that may carry secrets. Hosted RPCs put the API key in the path, the query or the
//! user info, and HTTP clients copy the whole URL into their error text, so every message and log
//! line uses the redacted form and every transport error is scrubbed before it is shown.

use std::fmt;

/// A URL whose secret parts never reach a message: `Display` and `Debug` show the redacted form.
#[derive(Clone, PartialEq, Eq)]
pub struct SensitiveUrl {
    full: String,
    redacted: String,
    /// Substrings of the full URL that must not appear in any text we show.
    secrets: Vec<String>,
}

impl SensitiveUrl {
    /// Wraps `url`; an unparsable URL is shown as `<invalid url>`.
    pub fn new(url: &str) -> Self {
        Self {
            full: url.to_string(),
            redacted: redact_url(url),
            secrets: secret_parts(url),
        }
    }

    /// The URL to connect to. Never put it in a message.
    pub fn expose(&self) -> &str {
        &self.full
    }

    /// The form safe for messages and logs.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// `text` with every secret part of this URL replaced by `...`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.full, &self.redacted);
        for s in &self.secrets {
            out = out.replace(s.as_str(), "...");
        }
        out
    }
}

impl fmt::Display for SensitiveUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted)
    }
}

impl fmt::Debug for SensitiveUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SensitiveUrl({})", self.redacted)
    }
}

/// Removes user info, query and path (hosted RPCs often keep the API key there) from a URL.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            if u.path().len() > 1 {
                u.set_path("/...");
            }
            u.to_string()
        }
        Err(_) => "<invalid url>".into(),
    }
}

/// The parts of `url` that may be secret: user, password, each path segment and query value of
/// four characters or more (shorter ones are too common to be keys and would mangle messages).
fn secret_parts(url: &str) -> Vec<String> {
    let Ok(u) = url::Url::parse(url) else {
        return vec![url.to_string()];
    };
    let mut parts: Vec<String> = Vec::new();
    if !u.username().is_empty() {
        parts.push(u.username().to_string());
    }
    if let Some(p) = u.password() {
        parts.push(p.to_string());
    }
    if let Some(segs) = u.path_segments() {
        parts.extend(segs.map(str::to_string));
    }
    if let Some(q) = u.query() {
        parts.push(q.to_string());
        parts.extend(u.query_pairs().map(|(_, v)| v.into_owned()));
    }
    parts.retain(|p| p.len() >= 4);
    // Longest first, so a value is not half-replaced by one of its own substrings.
    parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
    parts.dedup();
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_keys() {
        assert_eq!(
            redact_url("https://u:p@eth.example/v3/SECRET?key=x"),
            "https://eth.example/..."
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8545"),
            "http://127.0.0.1:8545/"
        );
    }

    #[test]
    fn scrub_removes_every_secret_part_from_error_text() {
        let url =
            SensitiveUrl::new("https://user:hunter22@rpc.example/v2/abcdef123456?apikey=zzz999");
        // What reqwest prints, with the URL re-serialised (so not byte-equal to the input).
        let err = "error sending request for url (https://user:hunter22@rpc.example/v2/abcdef123456?apikey=zzz999): connection refused";
        let shown = url.scrub(err);
        for secret in ["hunter22", "abcdef123456", "zzz999"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("connection refused"), "{shown}");
        assert_eq!(format!("{url}"), "https://rpc.example/...");
        assert!(!format!("{url:?}").contains("abcdef"));
        // A differently encoded copy of a path key is still caught.
        assert!(
            !url.scrub("GET /v2/abcdef123456 failed")
                .contains("abcdef123456")
        );
    }
}
