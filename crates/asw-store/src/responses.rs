//! The first response a front gave under an idempotency key, kept in the record hash of the
//! request's transaction (field `a`) so that a retry replays it byte for byte. Releases before
//! it kept the answer in a key of its own beside the record (`resp:<dedup key>`, same shard):
//! such an answer is still read, and never written over.

use asw_core::ports::StoreError;

use crate::scripts;
use crate::store::{Access, Call, RedisStore};
use crate::values::text;

impl RedisStore {
    /// The response kept for the request `dedup_key` whose transaction is `journal_id`, if any.
    pub async fn load_response(
        &self,
        tag: &str,
        journal_id: &str,
        dedup_key: &str,
    ) -> Result<Option<String>, StoreError> {
        let call = self.answer_call(&scripts::LOAD_ANSWER, tag, journal_id, dedup_key)?;
        let reply = self
            .eval("response_load", Access::Read, false, call)
            .await?;
        Ok(text(&reply))
    }

    /// Keeps `response` for the request unless a response is kept already, and returns the one
    /// that stands (the first writer wins, so every replay sends the same bytes). It lives as
    /// long as the transaction's record; a request whose record is gone (nothing to replay it
    /// beside) keeps it for `ttl_ms` in a key of its own.
    pub async fn save_first_response(
        &self,
        tag: &str,
        journal_id: &str,
        dedup_key: &str,
        response: &str,
        ttl_ms: u64,
    ) -> Result<String, StoreError> {
        let mut call = self.answer_call(&scripts::SAVE_ANSWER, tag, journal_id, dedup_key)?;
        call.args = vec![response.to_string(), ttl_ms.max(1).to_string()];
        let reply = self
            .eval("response_save", Access::Write, false, call)
            .await?;
        Ok(text(&reply).unwrap_or_else(|| response.to_string()))
    }

    fn answer_call<'a>(
        &self,
        script: &'a redis::Script,
        tag: &str,
        journal_id: &str,
        dedup_key: &str,
    ) -> Result<Call<'a>, StoreError> {
        let shard = self.layout().shard_of(tag)?;
        Ok(Call {
            script,
            keys: vec![
                self.layout().txn(shard, journal_id),
                self.layout().response(shard, dedup_key),
            ],
            args: Vec::new(),
        })
    }
}
