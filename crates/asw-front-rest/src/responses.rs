//! The first final response given under an idempotency key, kept so that a retry with the same
//! key and body gets it back byte for byte.

use asw_core::ports::StoreError;
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Where a request's first response is kept: beside its transaction (shard tag and journal id),
/// under its duplicate key.
#[derive(Clone, Copy, Debug)]
pub struct KeptAt<'a> {
    /// The transaction's journal shard tag.
    pub tag: &'a str,
    /// The transaction's journal id.
    pub journal_id: &'a str,
    /// The request's duplicate key (merchant and `Idempotency-Key`).
    pub dedup_key: &'a str,
}

/// Where first responses are kept (Redis, in the record of the request's transaction).
#[async_trait]
pub trait ResponseStore: Send + Sync + 'static {
    /// The response kept for the request, if any.
    async fn load(&self, at: KeptAt<'_>) -> Result<Option<String>, StoreError>;
    /// Keeps `response` unless one is kept already; returns the one that stands.
    async fn save_first(
        &self,
        at: KeptAt<'_>,
        response: &str,
        ttl_ms: u64,
    ) -> Result<String, StoreError>;
}

/// A saved response: the request's fingerprint, the status and the exact body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// SHA-256 of the request as parsed (a retry with another body is refused).
    pub fingerprint: String,
    /// HTTP status.
    pub status: u16,
    /// The body, as sent (JSON, as every answer of this API).
    pub body: String,
}

/// A kept text as read: the body either raw (this release) or a JSON string (earlier ones).
#[derive(Deserialize)]
struct Kept<'a> {
    fingerprint: String,
    status: u16,
    #[serde(borrow)]
    body: &'a RawValue,
}

impl StoredResponse {
    /// The text kept: `{"fingerprint":…,"status":…,"body":…}` with the body as it was sent when
    /// it is a JSON object — neither escaped when kept nor unescaped when replayed — and as a
    /// JSON string otherwise (the only form releases before this one wrote).
    pub fn to_text(&self) -> String {
        let raw = self.body.starts_with('{') && self.body.ends_with('}');
        let fingerprint = serde_json::to_string(&self.fingerprint).unwrap_or_default();
        let mut out = String::with_capacity(self.body.len() + fingerprint.len() + 40);
        out.push_str("{\"fingerprint\":");
        out.push_str(&fingerprint);
        out.push_str(",\"status\":");
        out.push_str(&self.status.to_string());
        out.push_str(",\"body\":");
        if raw {
            out.push_str(&self.body);
        } else {
            out.push_str(&serde_json::to_string(&self.body).unwrap_or_default());
        }
        out.push('}');
        out
    }

    /// Reads a kept text in either form; `None` when it is not one.
    pub fn from_text(text: &str) -> Option<Self> {
        let kept: Kept = serde_json::from_str(text).ok()?;
        let raw = kept.body.get();
        let body = if raw.starts_with('"') {
            serde_json::from_str::<String>(raw).ok()?
        } else {
            raw.to_string()
        };
        Some(Self {
            fingerprint: kept.fingerprint,
            status: kept.status,
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(body: &str) -> StoredResponse {
        StoredResponse {
            fingerprint: "ab12".into(),
            status: 201,
            body: body.into(),
        }
    }

    #[test]
    fn a_json_body_is_kept_as_it_was_sent_and_read_back_byte_for_byte() {
        let body = r#"{"id":"pay_P1","note":"a \"quoted\" word","amount":{"value":10}}"#;
        let text = stored(body).to_text();
        assert_eq!(
            text,
            format!(r#"{{"fingerprint":"ab12","status":201,"body":{body}}}"#),
            "the body is not escaped"
        );
        assert_eq!(StoredResponse::from_text(&text), Some(stored(body)));
    }

    #[test]
    fn what_an_earlier_release_kept_is_read_too() {
        // Earlier releases kept the body as a JSON string.
        let body = r#"{"id":"pay_P1","status":"succeeded"}"#;
        let old = serde_json::json!({"fingerprint": "ab12", "status": 201, "body": body});
        assert_eq!(
            StoredResponse::from_text(&old.to_string()),
            Some(stored(body))
        );
    }

    #[test]
    fn a_body_that_is_not_a_json_object_is_kept_as_a_string() {
        for body in ["plain text", " {\"a\":1}", "[1,2]", ""] {
            let text = stored(body).to_text();
            assert_eq!(
                StoredResponse::from_text(&text),
                Some(stored(body)),
                "{body}"
            );
        }
        assert_eq!(StoredResponse::from_text("not json"), None);
        assert_eq!(StoredResponse::from_text(r#"{"status":201}"#), None);
    }
}
