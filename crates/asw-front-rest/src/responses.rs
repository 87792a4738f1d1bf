//! The first final response given under an idempotency key, kept so that a retry with the same
//! key and body gets it back byte for byte.

use asw_core::ports::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Where first responses are kept (Redis, beside the journal record of the same key).
#[async_trait]
pub trait ResponseStore: Send + Sync + 'static {
    /// The response saved under the request's duplicate key, if any.
    async fn load(&self, tag: &str, dedup_key: &str) -> Result<Option<String>, StoreError>;
    /// Saves `response` unless one is saved already; returns the one that stands.
    async fn save_first(
        &self,
        tag: &str,
        dedup_key: &str,
        response: &str,
        ttl_ms: u64,
    ) -> Result<String, StoreError>;
}

/// A saved response: the request's fingerprint, the status and the exact body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// SHA-256 of the request as parsed (a retry with another body is refused).
    pub fingerprint: String,
    /// HTTP status.
    pub status: u16,
    /// The body, as sent.
    pub body: String,
}
