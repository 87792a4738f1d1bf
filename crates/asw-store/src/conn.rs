//! One connection type over the three deployments the store runs on: a single Redis, a Redis
//! Cluster and a Sentinel-managed master. Every command of the store goes through [`Conn`], so
//! the scripts, the SAF queue and the outbox do not care which one is underneath.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, RedisResult, Value};

use crate::config::{SentinelConfig, Topology};

/// How long a connection may take to open, and how long a reply may take.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    /// `None` for the dedicated connections of blocking stream reads (bounded by the caller).
    pub(crate) response: Option<Duration>,
}

/// A handle on the store's Redis, whichever deployment it is. Cheap to clone: clones share the
/// underlying multiplexed connection(s).
#[derive(Clone)]
pub(crate) enum Conn {
    /// One server; reconnects by itself.
    Single(ConnectionManager),
    /// A Redis Cluster: follows `MOVED`/`ASK`, waits out `TRYAGAIN`/`CLUSTERDOWN`, refreshes its
    /// slot map when a replica was promoted, and is rebuilt when it stops answering.
    Cluster(ClusterConn),
    /// The master of a Sentinel group, re-resolved when it stops behaving as the master.
    Sentinel(SentinelConn),
}

/// TCP settings of every connection: without `TCP_NODELAY` a command written while an earlier
/// one on the multiplexed connection is unacknowledged waits for Redis's ACK (Nagle), and Redis
/// answers only after its fsync, so each queued journal write would pay for both.
fn tcp() -> redis::io::tcp::TcpSettings {
    redis::io::tcp::TcpSettings::default().set_nodelay(true)
}

fn manager_config(timeouts: Timeouts) -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeouts.connect))
        .set_response_timeout(timeouts.response)
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(500))
}

/// Opens a connection to the configured deployment. Errors carry no URL (it may hold a
/// password).
pub(crate) async fn open(topology: &Topology, timeouts: Timeouts) -> RedisResult<Conn> {
    match topology {
        Topology::Single(url) => {
            let info = redis::IntoConnectionInfo::into_connection_info(url.as_str())?
                .set_tcp_settings(tcp());
            let client = redis::Client::open(info)?;
            let manager =
                ConnectionManager::new_with_config(client, manager_config(timeouts)).await?;
            Ok(Conn::Single(manager))
        }
        Topology::Cluster(nodes) => {
            let mut builder = ClusterClient::builder(nodes.iter().map(String::as_str))
                .connection_timeout(timeouts.connect)
                .tcp_settings(tcp())
                // Redirections and a cluster electing a new master are retried inside the
                // client. Turned off once (the client may re-send a script after the store gave
                // up waiting on it), that left MOVED replies unfollowed for many seconds after a
                // failover and REST merchants without an answer, without removing the defect it
                // was suspected of; a few attempts cover a failover's seconds.
                .retries(6)
                .min_retry_wait(50)
                .max_retry_wait(1_000);
            if let Some(response) = timeouts.response {
                builder = builder.response_timeout(response);
            }
            let client = builder.build()?;
            let connection = client.get_async_connection().await?;
            Ok(Conn::Cluster(ClusterConn {
                shared: Arc::new(ClusterShared {
                    client,
                    connect: timeouts.connect,
                    current: Mutex::new(connection),
                    rebuilding: AtomicBool::new(false),
                }),
            }))
        }
        Topology::Sentinel(config) => {
            Ok(Conn::Sentinel(SentinelConn::open(config, timeouts).await?))
        }
    }
}

impl Conn {
    /// Whether the client may send one command more than once (the cluster client's own
    /// retries): then a failed write may still have run.
    pub(crate) fn resends_commands(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }

    /// Told by the store that a command failed in a way that may mean the connection no longer
    /// reaches the right node (a timeout, a dropped or refused connection, a redirection, a
    /// cluster or master that is changing): the connection re-discovers where to go, in the
    /// background, at most one such task at a time.
    pub(crate) fn suspect(&self) {
        match self {
            Conn::Single(_) => {}
            Conn::Cluster(c) => c.rebuild(),
            Conn::Sentinel(c) => c.follow_master(),
        }
    }

    /// Runs a command on every master (one server on a single node or Sentinel) and returns each
    /// node's reply, named by its address (empty when there is one node).
    pub(crate) async fn on_every_master(&mut self, cmd: Cmd) -> RedisResult<Vec<(String, Value)>> {
        match self {
            Conn::Cluster(cluster) => {
                let mut c = cluster.connection();
                let routing = redis::cluster_routing::RoutingInfo::MultiNode((
                    redis::cluster_routing::MultipleNodeRoutingInfo::AllMasters,
                    None,
                ));
                let reply = c.route_command(cmd, routing).await?;
                Ok(match reply {
                    Value::Map(pairs) => pairs
                        .into_iter()
                        .map(|(node, value)| {
                            (crate::values::text(&node).unwrap_or_default(), value)
                        })
                        .collect(),
                    other => vec![(String::new(), other)],
                })
            }
            _ => {
                let reply: Value = cmd.query_async(self).await?;
                Ok(vec![(String::new(), reply)])
            }
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Sentinel(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Sentinel(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Sentinel(c) => c.get_db(),
        }
    }
}

/// A Redis Cluster connection that can be replaced. The client's own recovery (slot refresh on
/// `MOVED`, reconnects) covers most failovers, but under load it was seen to stay wedged after a
/// master was killed and its node came back — every command timing out for as long as the
/// process lived. A fresh connection re-reads the topology from the seed nodes; the store asks
/// for one whenever a command times out or meets a connection or topology error.
#[derive(Clone)]
pub(crate) struct ClusterConn {
    shared: Arc<ClusterShared>,
}

struct ClusterShared {
    client: ClusterClient,
    connect: Duration,
    current: Mutex<ClusterConnection>,
    rebuilding: AtomicBool,
}

/// The least time between two rebuilds: a failover produces bursts of errors.
const REBUILD_EVERY: Duration = Duration::from_secs(1);

impl ClusterConn {
    fn connection(&self) -> ClusterConnection {
        match self.shared.current.lock() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn rebuild(&self) {
        if self.shared.rebuilding.swap(true, Ordering::AcqRel) {
            return;
        }
        let conn = self.clone();
        tokio::spawn(async move {
            let fresh = tokio::time::timeout(
                conn.shared.connect * 3,
                conn.shared.client.get_async_connection(),
            )
            .await;
            match fresh {
                Ok(Ok(connection)) => {
                    match conn.shared.current.lock() {
                        Ok(mut current) => *current = connection,
                        Err(poisoned) => *poisoned.into_inner() = connection,
                    }
                    metrics::counter!(crate::metrics::RECONNECTS_TOTAL).increment(1);
                    tracing::info!("redis cluster: connection rebuilt from the seed nodes");
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "redis cluster: rebuild failed"),
                Err(_) => tracing::warn!("redis cluster: rebuild timed out"),
            }
            // Held through the pause, so a burst of failures costs one rebuild per second.
            tokio::time::sleep(REBUILD_EVERY).await;
            conn.shared.rebuilding.store(false, Ordering::Release);
        });
    }
}

impl ConnectionLike for ClusterConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move { self.connection().req_packed_command(cmd).await })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            self.connection()
                .req_packed_commands(pipeline, offset, count)
                .await
        })
    }

    fn get_db(&self) -> i64 {
        0
    }
}

/// The current master of a Sentinel group. Requests go to the master last resolved; an error
/// that says the node is gone or is no longer the master (a refused or dropped connection,
/// `READONLY`, `MASTERDOWN`, a timeout) makes a background task ask the sentinels again and,
/// when they name another node, switch every clone over to it. The failing request itself is
/// answered with its error: the store's caller decides what a failed write means.
#[derive(Clone)]
pub(crate) struct SentinelConn {
    shared: Arc<SentinelShared>,
}

struct SentinelShared {
    sentinel: tokio::sync::Mutex<SentinelClient>,
    timeouts: Timeouts,
    current: Mutex<Current>,
    refreshing: AtomicBool,
}

#[derive(Clone)]
struct Current {
    /// `host:port` of the master this connection talks to.
    address: String,
    manager: ConnectionManager,
}

/// How long the background task keeps asking the sentinels before it rests (a failover takes
/// the sentinels' `down-after-milliseconds` plus an election).
const RESOLVE_FOR: Duration = Duration::from_secs(60);
const RESOLVE_EVERY: Duration = Duration::from_millis(250);

impl SentinelConn {
    async fn open(config: &SentinelConfig, timeouts: Timeouts) -> RedisResult<Self> {
        let mut node_info = SentinelNodeConnectionInfo::default().set_tcp_settings(tcp());
        if config.username.is_some() || config.password.is_some() || config.db != 0 {
            let mut redis_info = redis::RedisConnectionInfo::default().set_db(config.db);
            if let Some(user) = &config.username {
                redis_info = redis_info.set_username(user);
            }
            if let Some(password) = &config.password {
                redis_info = redis_info.set_password(password);
            }
            node_info = node_info.set_redis_connection_info(redis_info);
        }
        let mut sentinel = SentinelClient::build(
            config.nodes.iter().map(String::as_str).collect(),
            config.master_name.clone(),
            Some(node_info),
            SentinelServerType::Master,
        )?;
        let current = resolve(&mut sentinel, timeouts).await?;
        Ok(Self {
            shared: Arc::new(SentinelShared {
                sentinel: tokio::sync::Mutex::new(sentinel),
                timeouts,
                current: Mutex::new(current),
                refreshing: AtomicBool::new(false),
            }),
        })
    }

    fn manager(&self) -> ConnectionManager {
        match self.shared.current.lock() {
            Ok(current) => current.manager.clone(),
            Err(poisoned) => poisoned.into_inner().manager.clone(),
        }
    }

    fn address(&self) -> String {
        match self.shared.current.lock() {
            Ok(current) => current.address.clone(),
            Err(poisoned) => poisoned.into_inner().address.clone(),
        }
    }

    /// Starts (once at a time) the task that asks the sentinels where the master is now.
    fn follow_master(&self) {
        if self.shared.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let conn = self.clone();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let before = conn.address();
            while started.elapsed() < RESOLVE_FOR {
                let resolved = {
                    let mut sentinel = conn.shared.sentinel.lock().await;
                    resolve(&mut sentinel, conn.shared.timeouts).await
                };
                match resolved {
                    Ok(next) if next.address != before => {
                        tracing::warn!(
                            from = %before,
                            to = %next.address,
                            "redis sentinel: the master moved; following it"
                        );
                        metrics::counter!(crate::metrics::MASTER_CHANGES_TOTAL).increment(1);
                        match conn.shared.current.lock() {
                            Ok(mut current) => *current = next,
                            Err(poisoned) => *poisoned.into_inner() = next,
                        }
                        break;
                    }
                    // Same node and it answers as master: the connection manager reconnects
                    // to it by itself.
                    Ok(_) => break,
                    Err(e) => {
                        tracing::debug!(error = %e, "redis sentinel: no master yet");
                    }
                }
                tokio::time::sleep(RESOLVE_EVERY).await;
            }
            conn.shared.refreshing.store(false, Ordering::Release);
        });
    }

    fn observe<T>(&self, result: RedisResult<T>, replies: impl Fn(&T) -> bool) -> RedisResult<T> {
        let moved = match &result {
            Err(e) => suggests_new_master(e),
            Ok(value) => replies(value),
        };
        if moved {
            self.follow_master();
        }
        result
    }
}

/// Asks the sentinels for the master (the client checks the node's `ROLE`) and connects to it.
async fn resolve(sentinel: &mut SentinelClient, timeouts: Timeouts) -> RedisResult<Current> {
    let client = tokio::time::timeout(timeouts.connect * 2, sentinel.async_get_client())
        .await
        .map_err(|_| RedisError::from((ErrorKind::Io, "sentinel: no answer in time")))??;
    let address = client.get_connection_info().addr().to_string();
    let manager = ConnectionManager::new_with_config(client, manager_config(timeouts)).await?;
    Ok(Current { address, manager })
}

/// Errors after which the master may have changed.
fn suggests_new_master(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || matches!(e.code(), Some("READONLY" | "MASTERDOWN" | "LOADING"))
}

/// Errors after which the connection may no longer reach the right node: those above, and a
/// cluster's redirections or topology changes that surfaced instead of being followed (a
/// pipeline's `MOVED`, for one).
pub(crate) fn suggests_moved(e: &RedisError) -> bool {
    suggests_new_master(e) || matches!(e.code(), Some("MOVED" | "ASK" | "CLUSTERDOWN" | "TRYAGAIN"))
}

/// A reply that is the server saying it is no longer (or not yet) the master.
fn demoted(value: &Value) -> bool {
    matches!(value, Value::ServerError(e) if matches!(e.code(), "READONLY" | "MASTERDOWN" | "LOADING"))
}

impl ConnectionLike for SentinelConn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let mut manager = self.manager();
            let result = manager.req_packed_command(cmd).await;
            self.observe(result, demoted)
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let mut manager = self.manager();
            let result = manager.req_packed_commands(pipeline, offset, count).await;
            self.observe(result, |values| values.iter().any(demoted))
        })
    }

    fn get_db(&self) -> i64 {
        self.manager().get_db()
    }
}
