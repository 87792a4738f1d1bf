//! The first response a front gave under an idempotency key, kept beside the journal record
//! of the same key (same shard hash tag) so that a retry replays it byte for byte.

use asw_core::ports::StoreError;

use crate::store::{Access, RedisStore};
use crate::values::text;

impl RedisStore {
    /// The response saved under `dedup_key`, if any.
    pub async fn load_response(
        &self,
        tag: &str,
        dedup_key: &str,
    ) -> Result<Option<String>, StoreError> {
        let shard = self.layout().shard_of(tag)?;
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.layout().response(shard, dedup_key));
        let reply = self.query("response_load", Access::Read, cmd).await?;
        Ok(text(&reply))
    }

    /// Saves `response` under `dedup_key` for `ttl_ms` unless a response is saved there
    /// already, and returns the one that stands (the first writer wins, so every replay sends
    /// the same bytes).
    pub async fn save_first_response(
        &self,
        tag: &str,
        dedup_key: &str,
        response: &str,
        ttl_ms: u64,
    ) -> Result<String, StoreError> {
        let shard = self.layout().shard_of(tag)?;
        let mut cmd = redis::cmd("SET");
        // NX GET (Redis 7): one round trip that writes only when absent and returns what was
        // there before.
        cmd.arg(self.layout().response(shard, dedup_key))
            .arg(response)
            .arg("NX")
            .arg("GET")
            .arg("PX")
            .arg(ttl_ms.max(1));
        let reply = self.query("response_save", Access::Write, cmd).await?;
        Ok(text(&reply).unwrap_or_else(|| response.to_string()))
    }
}
