//! Store configuration (serde, with defaults).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How a write that queues work (a SAF entry, a tombstone, a new transaction) is made durable
/// before it is acknowledged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Durability {
    /// Rely on the server's `appendfsync always` (checked at start-up): the reply to the write
    /// comes after the fsync.
    AofAlways,
    /// Issue `WAITAOF 1 0 <timeout>` after the write (Redis ≥ 7.2).
    Waitaof,
    /// Issue `WAIT <replicas> <timeout>` after the write: durable once replicated.
    WaitReplicas {
        /// How many replicas must confirm.
        replicas: u32,
    },
}

/// Everything the Redis adapter needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `redis://[user:password@]host:port/db`; never logged (it may hold a password).
    pub url: String,
    /// First segment of every key, so several deployments can share one Redis.
    pub key_prefix: String,
    /// Number of hash-tag shards (Redis Cluster slots) the keys are spread over.
    pub shards: u32,
    /// How long records, duplicate keys and tombstones are kept (≥ 48 h; STANs repeat daily).
    pub retention_ms: u64,
    /// Upper bound of one Redis command, after which it counts as failed.
    pub command_timeout_ms: u64,
    /// Durability of writes that queue work.
    pub durability: Durability,
    /// Upper bound of the `WAIT`/`WAITAOF` after such a write.
    pub durability_timeout_ms: u64,
    /// Approximate cap of each shard's audit stream.
    pub audit_max_len: u64,
    /// Consumer group of the SAF streams.
    pub consumer_group: String,
    /// How long a deadline-index entry handed to a sweeper is hidden from other sweepers; if
    /// that sweeper dies, the entry comes back after this lease.
    pub sweep_lease_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379/".to_string(),
            key_prefix: "asw".to_string(),
            shards: 1,
            retention_ms: 7 * 24 * 3600 * 1000,
            command_timeout_ms: 1_000,
            durability: Durability::AofAlways,
            durability_timeout_ms: 1_000,
            audit_max_len: 100_000,
            consumer_group: "reversal".to_string(),
            sweep_lease_ms: 30_000,
        }
    }
}

/// Minimum retention: two days, because STANs repeat daily and a late reversal must still find
/// its original.
pub const MIN_RETENTION_MS: u64 = 48 * 3600 * 1000;

impl StoreConfig {
    /// Checks the values that would make the store unsafe; returns every problem found.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.shards == 0 {
            problems.push("store.shards must be at least 1".to_string());
        }
        if self.retention_ms < MIN_RETENTION_MS {
            problems.push(format!(
                "store.retention_ms must be at least {MIN_RETENTION_MS} (48 h)"
            ));
        }
        if self.command_timeout_ms == 0 {
            problems.push("store.command_timeout_ms must be positive".to_string());
        }
        if self.key_prefix.is_empty() || self.key_prefix.contains(['{', '}', ':']) {
            problems.push("store.key_prefix must be non-empty without '{', '}' or ':'".to_string());
        }
        if self.consumer_group.is_empty() {
            problems.push("store.consumer_group must not be empty".to_string());
        }
        if let Durability::WaitReplicas { replicas: 0 } = self.durability {
            problems.push("store.durability.replicas must be at least 1".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// [`StoreConfig::command_timeout_ms`] as a duration.
    pub fn command_timeout(&self) -> Duration {
        Duration::from_millis(self.command_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_modes_parse() {
        assert_eq!(StoreConfig::default().validate(), Ok(()));
        let json = r#"{"mode":"wait-replicas","replicas":2}"#;
        let parsed: Durability = serde_json::from_str(json).unwrap();
        assert_eq!(parsed, Durability::WaitReplicas { replicas: 2 });
        let parsed: Durability = serde_json::from_str(r#"{"mode":"aof-always"}"#).unwrap();
        assert_eq!(parsed, Durability::AofAlways);
    }

    #[test]
    fn rejects_short_retention_and_zero_shards() {
        let config = StoreConfig {
            shards: 0,
            retention_ms: 1000,
            ..StoreConfig::default()
        };
        assert_eq!(config.validate().unwrap_err().len(), 2);
    }
}
