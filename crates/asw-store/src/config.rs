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

/// Where the master of a Sentinel group is found.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentinelConfig {
    /// The name the sentinels monitor the master under (`sentinel monitor <name> …`).
    pub master_name: String,
    /// The sentinels, as `redis://host:port` (their own port, 26379 by default).
    pub nodes: Vec<String>,
    /// User on the data nodes (ACL), if any.
    #[serde(default)]
    pub username: Option<String>,
    /// Password on the data nodes, if any; never logged.
    #[serde(default)]
    pub password: Option<String>,
    /// Database number on the data nodes.
    #[serde(default)]
    pub db: i64,
}

impl std::fmt::Debug for SentinelConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelConfig")
            .field("master_name", &self.master_name)
            .field("nodes", &self.nodes.len())
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("db", &self.db)
            .finish()
    }
}

/// The deployment the store connects to, decided from [`StoreConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topology {
    /// One server (`url`).
    Single(String),
    /// A Redis Cluster reached through these seed nodes.
    Cluster(Vec<String>),
    /// The master of a Sentinel group.
    Sentinel(SentinelConfig),
}

/// The server used when none is configured.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379/";

/// Everything the Redis adapter needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// One server: `redis://[user:password@]host:port/db`; never logged (it may hold a
    /// password). Empty means [`DEFAULT_URL`] unless `cluster_nodes` or `sentinel` is given.
    pub url: String,
    /// Seed nodes of a Redis Cluster (`redis://host:port` each); exclusive with `url` and
    /// `sentinel`.
    pub cluster_nodes: Vec<String>,
    /// A Sentinel group whose master the store follows across failovers; exclusive with `url`
    /// and `cluster_nodes`.
    pub sentinel: Option<SentinelConfig>,
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
    /// How long start-up keeps trying a Redis that does not answer (a failover or a write stall
    /// in progress) before giving up; 0: one try. An invalid URL or configuration fails at once.
    pub startup_wait_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            cluster_nodes: Vec::new(),
            sentinel: None,
            key_prefix: "asw".to_string(),
            shards: 1,
            retention_ms: 7 * 24 * 3600 * 1000,
            command_timeout_ms: 1_000,
            durability: Durability::AofAlways,
            durability_timeout_ms: 1_000,
            audit_max_len: 100_000,
            consumer_group: "reversal".to_string(),
            sweep_lease_ms: 30_000,
            startup_wait_ms: 30_000,
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
        let given = [
            !self.url.is_empty(),
            !self.cluster_nodes.is_empty(),
            self.sentinel.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            problems.push(
                "redis takes exactly one of url, cluster_nodes and sentinel, not a mix".to_string(),
            );
        }
        if let Some(sentinel) = &self.sentinel {
            if sentinel.master_name.trim().is_empty() {
                problems.push("redis.sentinel.master_name must not be empty".to_string());
            }
            if sentinel.nodes.is_empty() {
                problems.push("redis.sentinel.nodes must list at least one sentinel".to_string());
            }
        }
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

    /// The deployment to connect to.
    pub fn topology(&self) -> Topology {
        if let Some(sentinel) = &self.sentinel {
            Topology::Sentinel(sentinel.clone())
        } else if !self.cluster_nodes.is_empty() {
            Topology::Cluster(self.cluster_nodes.clone())
        } else if self.url.is_empty() {
            Topology::Single(DEFAULT_URL.to_string())
        } else {
            Topology::Single(self.url.clone())
        }
    }

    /// Advice that does not make the configuration unsafe but likely wrong (for `check-config`).
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if !self.cluster_nodes.is_empty() && self.shards == 1 {
            warnings.push(
                "redis.shards is 1 on a Redis Cluster: every key lands on one master; use at \
                 least 4 shards per master"
                    .to_string(),
            );
        }
        warnings
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

    #[test]
    fn one_deployment_only() {
        let default = StoreConfig::default();
        assert_eq!(
            default.topology(),
            Topology::Single(DEFAULT_URL.to_string())
        );
        let cluster = StoreConfig {
            cluster_nodes: vec!["redis://10.0.0.1:6379".to_string()],
            ..StoreConfig::default()
        };
        assert!(matches!(cluster.topology(), Topology::Cluster(_)));
        assert_eq!(cluster.warnings().len(), 1);
        let mixed = StoreConfig {
            url: "redis://10.0.0.9:6379".to_string(),
            ..cluster.clone()
        };
        let problems = mixed.validate().unwrap_err();
        assert!(problems[0].contains("exactly one"), "{problems:?}");
        let sentinel = SentinelConfig {
            master_name: "asw".to_string(),
            nodes: vec!["redis://10.0.0.2:26379".to_string()],
            username: None,
            password: Some("hunter2".to_string()),
            db: 0,
        };
        assert!(!format!("{sentinel:?}").contains("hunter2"));
        let both = StoreConfig {
            sentinel: Some(sentinel),
            ..cluster
        };
        assert!(both.validate().is_err());
    }
}
