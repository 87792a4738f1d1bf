//! The Redis connection, command execution (timeouts, error classification, metrics) and
//! durability of writes.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use asw_core::ports::StoreError;
use redis::{Cmd, ErrorKind, RedisError, Script, ServerErrorKind, Value};

use crate::config::{Durability, StoreConfig, Topology};
use crate::conn::{self, Conn, Timeouts};
use crate::health::{self, Finding};
use crate::keys::KeyLayout;
use crate::scripts;

/// How much longer than the retention a transaction's keys may live: a commit renews their TTL
/// only when less than the retention is left, which within this hour of the last renewal it is
/// not (three `PEXPIRE`s fewer per commit, in the AOF and in every replica).
pub(crate) const RENEWAL_SLACK_MS: u64 = 3_600_000;

/// [`crate::metrics::COMMAND_DURATION_SECONDS`]'s handles by operation: two per purchase.
static COMMAND_DURATIONS: asw_metrics::HandleCache<metrics::Histogram> =
    asw_metrics::HandleCache::new();

/// How long a consumer trusts its last empty scan of its own pending entries.
pub(crate) const PENDING_RESCAN: Duration = Duration::from_secs(5);

/// Why the store could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The configuration is unusable (every problem listed).
    #[error("invalid store configuration: {}", .0.join("; "))]
    InvalidConfig(Vec<String>),
    /// The Redis URL does not parse (the URL itself is not repeated: it may hold a password).
    #[error("invalid redis url: {0}")]
    InvalidUrl(String),
    /// Redis did not answer; retrying later is safe.
    #[error("redis unreachable at start-up: {0}")]
    Unreachable(String),
    /// The configured durability mode needs a feature the server lacks.
    #[error("durability mode {mode} needs Redis {needs} or newer; the server runs {found}")]
    UnsupportedDurability {
        /// The configured mode.
        mode: &'static str,
        /// Minimum server version.
        needs: &'static str,
        /// Version the server reported.
        found: String,
    },
}

/// Whether a command may have changed data (decides `Unavailable` vs `Indeterminate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

pub(crate) struct Inner {
    pub(crate) config: StoreConfig,
    pub(crate) layout: KeyLayout,
    topology: Topology,
    conn: Conn,
    /// One dedicated connection per consumer for blocking stream reads: a `BLOCK` on the shared
    /// multiplexed connection would stall every other command behind it.
    blocking: tokio::sync::Mutex<HashMap<String, Conn>>,
    /// Consumers whose last scan of their own pending entries found none and that were handed
    /// nothing since, with when that scan was: their fetches read new entries only, until the
    /// scan is [`PENDING_RESCAN`] old (an acknowledgement a failover lost makes an entry
    /// pending again behind the consumer's back).
    pub(crate) pending_clean: std::sync::Mutex<HashMap<String, Instant>>,
    pub(crate) findings: Vec<Finding>,
    /// The merchants whose events are written to the outbox (those with an endpoint); unset,
    /// every merchant's. See [`RedisStore::write_events_only_for`].
    pub(crate) event_merchants: std::sync::OnceLock<std::collections::HashSet<String>>,
}

/// The Redis adapter: implements [`asw_core::ports::Journal`] and
/// [`asw_core::saf::SafQueue`], plus operator functions. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("key_prefix", &self.inner.config.key_prefix)
            .field("shards", &self.inner.config.shards)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// From now on, writes merchants' events to the outbox only for `merchants` — those with an
    /// endpoint to deliver them to. An event for another merchant would only be read and
    /// acknowledged by the delivery worker: two more Redis round trips per REST payment for
    /// nothing. Without this call every event is written. Set once, at start-up; a second call
    /// changes nothing and returns false.
    pub fn write_events_only_for(&self, merchants: std::collections::HashSet<String>) -> bool {
        self.inner.event_merchants.set(merchants).is_ok()
    }

    /// Whether an event of `merchant_id` is written to the outbox.
    pub(crate) fn takes_events(&self, merchant_id: &str) -> bool {
        self.inner
            .event_merchants
            .get()
            .is_none_or(|merchants| merchants.contains(merchant_id))
    }
}

/// A script call: keys and arguments already formatted.
pub(crate) struct Call<'a> {
    pub(crate) script: &'a Script,
    pub(crate) keys: Vec<String>,
    pub(crate) args: Vec<String>,
}

impl Call<'_> {
    fn evalsha(&self) -> Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.script.get_hash())
            .arg(self.keys.len())
            .arg(&self.keys)
            .arg(&self.args);
        cmd
    }
}

impl RedisStore {
    /// Connects, checks the server's durability settings (WARN for each finding), loads the
    /// scripts and creates the SAF consumer groups.
    pub async fn connect(config: StoreConfig) -> Result<Self, ConnectError> {
        // A switch restarted during a failover or a write stall must not exit for it (its
        // supervisor would only restart it into the same wait): retry what "unreachable" covers
        // for up to `startup_wait_ms`, with a doubling pause.
        let patience = Duration::from_millis(config.startup_wait_ms);
        let started = Instant::now();
        let mut pause = Duration::from_millis(200);
        loop {
            match Self::connect_once(config.clone()).await {
                Err(ConnectError::Unreachable(why)) if started.elapsed() + pause < patience => {
                    tracing::warn!(%why, retry_in_ms = pause.as_millis() as u64,
                        "redis not answering at start-up: retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                other => return other,
            }
        }
    }

    async fn connect_once(config: StoreConfig) -> Result<Self, ConnectError> {
        config.validate().map_err(ConnectError::InvalidConfig)?;
        let topology = config.topology();
        if let Topology::Single(url) = &topology {
            // Checked apart so the error names a bad URL rather than an unreachable server.
            redis::IntoConnectionInfo::into_connection_info(url.as_str())
                .map_err(|e| ConnectError::InvalidUrl(e.category().to_string()))?;
        }
        let timeout = config.command_timeout();
        let timeouts = Timeouts {
            connect: timeout,
            response: Some(timeout + durability_wait(&config)),
        };
        let conn = tokio::time::timeout(timeout * 3, conn::open(&topology, timeouts))
            .await
            .map_err(|_| ConnectError::Unreachable("connect timed out".to_string()))?
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidClientConfig => {
                    ConnectError::InvalidUrl(e.category().to_string())
                }
                _ => ConnectError::Unreachable(e.to_string()),
            })?;
        let layout = KeyLayout::new(&config.key_prefix, config.shards);
        let mut store = Self {
            inner: Arc::new(Inner {
                config,
                layout,
                topology,
                conn,
                blocking: tokio::sync::Mutex::new(HashMap::new()),
                pending_clean: std::sync::Mutex::new(HashMap::new()),
                findings: Vec::new(),
                event_merchants: std::sync::OnceLock::new(),
            }),
        };
        let report = health::inspect(&store)
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        health::require_durability_support(&store.inner.config.durability, &report)?;
        for finding in &report.findings {
            tracing::warn!(
                setting = finding.setting,
                found = %finding.found,
                expected = finding.expected,
                "redis is not configured for durable payments: {}",
                finding.why
            );
        }
        load_scripts(&store)
            .await
            .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        for shard in 0..store.inner.layout.shards() {
            store
                .ensure_group(shard)
                .await
                .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
            // The merchants' events queue too, so its first read finds its group.
            store
                .create_group(
                    store.inner.layout.outbox(shard),
                    crate::OUTBOX_GROUP.to_string(),
                )
                .await
                .map_err(|e| ConnectError::Unreachable(e.to_string()))?;
        }
        if let Some(inner) = Arc::get_mut(&mut store.inner) {
            inner.findings = report.findings;
        }
        Ok(store)
    }

    /// What the start-up check found wrong with the server's configuration (empty when fine).
    pub fn findings(&self) -> &[Finding] {
        &self.inner.findings
    }

    /// The key layout in use.
    pub fn layout(&self) -> &KeyLayout {
        &self.inner.layout
    }

    /// The configuration in use.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// Readiness probe: one `PING` within the command timeout.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.inner.conn.clone();
        let reply: String = self
            .timed("ping", Access::Read, async move {
                redis::cmd("PING").query_async(&mut conn).await
            })
            .await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(StoreError::Corrupt(format!("ping answered {reply:?}")))
        }
    }

    pub(crate) async fn ensure_group(&self, shard: u32) -> Result<(), StoreError> {
        let key = self.inner.layout.saf(shard);
        let group = self.inner.config.consumer_group.clone();
        self.create_group(key, group).await
    }

    /// Creates a consumer group reading a stream from its start (and the stream), unless it
    /// exists.
    pub(crate) async fn create_group(&self, key: String, group: String) -> Result<(), StoreError> {
        let mut conn = self.inner.conn.clone();
        self.timed("group_create", Access::Write, async move {
            let created: Result<Value, RedisError> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&key)
                .arg(&group)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut conn)
                .await;
            match created {
                Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
                other => other.map(|_| ()),
            }
        })
        .await
    }

    /// Runs one command under the command timeout, with metrics and error classification.
    pub(crate) async fn timed<T, F>(
        &self,
        op: &'static str,
        access: Access,
        fut: F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, RedisError>>,
    {
        self.timed_within(op, access, self.inner.config.command_timeout(), fut)
            .await
    }

    pub(crate) async fn timed_within<T, F>(
        &self,
        op: &'static str,
        access: Access,
        limit: Duration,
        fut: F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = Result<T, RedisError>>,
    {
        let started = Instant::now();
        let outcome = tokio::time::timeout(limit, fut).await;
        COMMAND_DURATIONS.with(
            &[op],
            || metrics::histogram!(crate::metrics::COMMAND_DURATION_SECONDS, "op" => op),
            |h| h.record(started.elapsed().as_secs_f64()),
        );
        let error = match outcome {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => {
                if conn::suggests_moved(&e) {
                    self.inner.conn.suspect();
                }
                classify(op, &e, access, self.inner.conn.resends_commands())
            }
            Err(_) => {
                self.inner.conn.suspect();
                match access {
                    Access::Read => StoreError::Unavailable(format!("{op}: timed out")),
                    Access::Write => StoreError::Indeterminate(format!("{op}: timed out")),
                }
            }
        };
        let kind = match &error {
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Indeterminate(_) => "indeterminate",
            StoreError::Corrupt(_) => "corrupt",
        };
        metrics::counter!(crate::metrics::ERRORS_TOTAL, "op" => op, "kind" => kind).increment(1);
        Err(error)
    }

    /// Runs a script by SHA, loading it when the server does not know it (after a restart).
    /// With `durable`, the configured `WAIT`/`WAITAOF` rides in the same pipeline, on the same
    /// connection, right behind the write.
    pub(crate) async fn eval(
        &self,
        op: &'static str,
        access: Access,
        durable: bool,
        call: Call<'_>,
    ) -> Result<Value, StoreError> {
        let durability = if durable && access == Access::Write {
            durability_cmd(&self.inner.config)
        } else {
            None
        };
        let limit = self.inner.config.command_timeout() + durability_wait(&self.inner.config);
        let mut conn = self.inner.conn.clone();
        let evalsha = call.evalsha();
        let script = call.script;
        let (value, wait_reply) = self
            .timed_within(op, access, limit, async move {
                match run_eval(&mut conn, &evalsha, durability.as_ref()).await {
                    Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                        // The server lost its script cache (restart): nothing ran; load, retry.
                        script.prepare_invoke().load_async(&mut conn).await?;
                        run_eval(&mut conn, &evalsha, durability.as_ref()).await
                    }
                    other => other,
                }
            })
            .await?;
        if let Some(reply) = wait_reply {
            self.check_durable(op, &reply)?;
        }
        Ok(value)
    }

    fn check_durable(&self, op: &str, reply: &Value) -> Result<(), StoreError> {
        match &self.inner.config.durability {
            Durability::AofAlways => Ok(()),
            Durability::Waitaof => {
                let local = crate::values::list(reply)
                    .first()
                    .and_then(crate::values::int)
                    .unwrap_or(0);
                if local >= 1 {
                    Ok(())
                } else {
                    Err(StoreError::Indeterminate(format!(
                        "{op}: written but not fsynced within the WAITAOF timeout"
                    )))
                }
            }
            Durability::WaitReplicas { replicas } => {
                let acked = crate::values::int(reply).unwrap_or(0);
                if acked >= i64::from(*replicas) {
                    Ok(())
                } else {
                    Err(StoreError::Indeterminate(format!(
                        "{op}: written but only {acked} of {replicas} replicas confirmed"
                    )))
                }
            }
        }
    }

    /// A plain command on the shared connection.
    pub(crate) async fn query(
        &self,
        op: &'static str,
        access: Access,
        cmd: Cmd,
    ) -> Result<Value, StoreError> {
        let mut conn = self.inner.conn.clone();
        self.timed(op, access, async move { cmd.query_async(&mut conn).await })
            .await
    }

    /// A command run on every master of the deployment (start-up checks): each node's reply.
    pub(crate) async fn query_every_master(
        &self,
        op: &'static str,
        cmd: Cmd,
    ) -> Result<Vec<(String, Value)>, StoreError> {
        let mut conn = self.inner.conn.clone();
        self.timed(
            op,
            Access::Read,
            async move { conn.on_every_master(cmd).await },
        )
        .await
    }

    /// A blocking stream read on the consumer's dedicated connection.
    pub(crate) async fn query_blocking(
        &self,
        consumer: &str,
        block: Duration,
        cmd: Cmd,
    ) -> Result<Value, StoreError> {
        let conn = self.blocking_conn(consumer).await?;
        let limit = self.inner.config.command_timeout() + block;
        let mut reader = conn.clone();
        let result = self
            .timed_within("saf_read", Access::Read, limit, async move {
                cmd.query_async(&mut reader).await
            })
            .await;
        if result.is_err() {
            conn.suspect();
        }
        result
    }

    async fn blocking_conn(&self, consumer: &str) -> Result<Conn, StoreError> {
        let mut pool = self.inner.blocking.lock().await;
        if let Some(conn) = pool.get(consumer) {
            return Ok(conn.clone());
        }
        let timeout = self.inner.config.command_timeout();
        let timeouts = Timeouts {
            connect: timeout,
            // The read blocks on purpose; the caller bounds it.
            response: None,
        };
        let conn = tokio::time::timeout(timeout, conn::open(&self.inner.topology, timeouts))
            .await
            .map_err(|_| StoreError::Unavailable("saf_read: connect timed out".to_string()))?
            .map_err(|e| classify("saf_read", &e, Access::Read, false))?;
        pool.insert(consumer.to_string(), conn.clone());
        Ok(conn)
    }

    /// A handle on the shared multiplexed connection.
    pub(crate) fn inner_conn(&self) -> Conn {
        self.inner.conn.clone()
    }

    /// Milliseconds of retention, as a script argument.
    pub(crate) fn ttl_arg(&self) -> String {
        self.inner.config.retention_ms.to_string()
    }

    /// The TTL a transaction's keys get when written or renewed: the retention plus
    /// [`RENEWAL_SLACK_MS`], so that its next commits need not renew them (see
    /// `scripts::COMMIT`).
    pub(crate) fn renewed_ttl_arg(&self) -> String {
        self.inner
            .config
            .retention_ms
            .saturating_add(RENEWAL_SLACK_MS)
            .to_string()
    }
}

fn durability_wait(config: &StoreConfig) -> Duration {
    match config.durability {
        Durability::AofAlways => Duration::ZERO,
        _ => Duration::from_millis(config.durability_timeout_ms),
    }
}

fn durability_cmd(config: &StoreConfig) -> Option<Cmd> {
    match config.durability {
        Durability::AofAlways => None,
        Durability::Waitaof => {
            let mut cmd = redis::cmd("WAITAOF");
            cmd.arg(1).arg(0).arg(config.durability_timeout_ms);
            Some(cmd)
        }
        Durability::WaitReplicas { replicas } => {
            let mut cmd = redis::cmd("WAIT");
            cmd.arg(replicas).arg(config.durability_timeout_ms);
            Some(cmd)
        }
    }
}

/// Maps a client error to the port's error: a refused connection or a read that failed wrote
/// nothing (`Unavailable`); a write whose connection broke after sending may have happened
/// (`Indeterminate`). With `resends` (the Redis Cluster client, which sends a command again
/// after a dropped connection, a redirection or a cluster electing a master), the error is the
/// last attempt's: an earlier one may have run, so no write error proves nothing was written.
pub(crate) fn classify(op: &str, err: &RedisError, access: Access, resends: bool) -> StoreError {
    let message = format!("{op}: {err}");
    // NOGROUP is the exception: a group the answering node lacks is one no earlier attempt
    // could have used either (its creation would have reached that node too).
    if resends && access == Access::Write && err.code() != Some("NOGROUP") {
        return StoreError::Indeterminate(message);
    }
    if err.is_connection_refusal() {
        return StoreError::Unavailable(message);
    }
    if let Some(code) = err.code()
        && matches!(
            code,
            "LOADING"
                // A redirection: the node did not run the command.
                | "MOVED"
                | "ASK"
                | "BUSY"
                | "OOM"
                | "READONLY"
                | "TRYAGAIN"
                | "MASTERDOWN"
                | "CLUSTERDOWN"
                | "NOSCRIPT"
                | "NOGROUP"
                | "BUSYGROUP"
                | "NOPERM"
        )
    {
        return StoreError::Unavailable(message);
    }
    match access {
        Access::Read => StoreError::Unavailable(message),
        Access::Write => StoreError::Indeterminate(message),
    }
}

async fn run_eval(
    conn: &mut Conn,
    evalsha: &Cmd,
    wait: Option<&Cmd>,
) -> Result<(Value, Option<Value>), RedisError> {
    match wait {
        None => evalsha.query_async::<Value>(conn).await.map(|v| (v, None)),
        Some(wait) => {
            let mut pipe = redis::pipe();
            pipe.add_command(evalsha.clone()).add_command(wait.clone());
            let (v, w): (Value, Value) = pipe.query_async(conn).await?;
            Ok((v, Some(w)))
        }
    }
}

/// Loads every script once so the hot path is a plain `EVALSHA`.
pub(crate) async fn load_scripts(store: &RedisStore) -> Result<(), StoreError> {
    for script in [
        &*scripts::BEGIN,
        &*scripts::COMMIT,
        &*scripts::REVERSE_UNSEEN,
        &*scripts::DUE_FOR_SWEEP,
        &*scripts::ACK,
        &*scripts::RETRY_AT,
        &*scripts::PROMOTE_DUE,
        &*scripts::DEAD_LETTER,
        &*scripts::REPLAY_DEAD,
        &*scripts::LOAD_CONFIRMED,
        &*scripts::LOAD_ANSWER,
        &*scripts::SAVE_ANSWER,
    ] {
        let mut conn = store.inner.conn.clone();
        store
            .timed("script_load", Access::Read, async move {
                script.prepare_invoke().load_async(&mut conn).await
            })
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused() -> RedisError {
        RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    }

    fn server(code: &str) -> RedisError {
        RedisError::from((
            ErrorKind::Server(ServerErrorKind::ClusterDown),
            "down",
            code.to_string(),
        ))
    }

    #[test]
    fn a_refused_write_on_one_connection_wrote_nothing() {
        let error = classify("commit", &refused(), Access::Write, false);
        assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    }

    /// The chaos run on a Redis Cluster: a void's commit ran on a master killed before it
    /// answered; the client re-sent it until the node refused connections, and that last
    /// error read as "nothing written" — the terminal was told 96 and the payment cancelled.
    #[test]
    fn a_write_the_cluster_client_may_have_re_sent_is_indeterminate_whatever_its_last_error() {
        for error in [
            refused(),
            server("CLUSTERDOWN"),
            server("MOVED 12 127.0.0.1:7000"),
        ] {
            let classified = classify("commit", &error, Access::Write, true);
            assert!(
                matches!(classified, StoreError::Indeterminate(_)),
                "{error}: {classified:?}"
            );
        }
    }

    #[test]
    fn a_failed_read_is_unavailable_either_way() {
        for resends in [false, true] {
            let error = classify("load", &refused(), Access::Read, resends);
            assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
        }
    }
}
