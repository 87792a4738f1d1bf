//! The Redis the chaos run's switches share, and the faults the run injects into it: one
//! server killed and restarted (AOF replay), a Redis Cluster master killed and its node
//! rejoining plus a manual failover, or a Sentinel group's master killed.

use std::time::Duration;

use asw_testkit::{RedisCluster, RedisServer, SentinelGroup, TestkitError};

/// Which Redis deployment the run uses (`--redis`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RedisKind {
    /// One server with AOF `always`.
    #[default]
    Single,
    /// Three masters with one replica each, `wait-replicas 1`.
    Cluster,
    /// One master, two replicas, three sentinels, `wait-replicas 2`.
    Sentinel,
}

impl std::str::FromStr for RedisKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "single" => Ok(Self::Single),
            "cluster" => Ok(Self::Cluster),
            "sentinel" => Ok(Self::Sentinel),
            other => Err(format!(
                "unknown redis deployment {other:?} (single, cluster, sentinel)"
            )),
        }
    }
}

/// A running deployment.
#[derive(Debug)]
pub enum Deployment {
    /// One server.
    Single(RedisServer),
    /// A Redis Cluster.
    Cluster(RedisCluster),
    /// A Sentinel group.
    Sentinel(SentinelGroup),
}

/// How long a failover may take before the run gives up on it.
const FAILOVER_WITHIN: Duration = Duration::from_secs(40);

impl Deployment {
    /// Starts the deployment (blocking: call from `block_in_place`).
    pub fn start(kind: RedisKind) -> Result<Self, TestkitError> {
        Ok(match kind {
            RedisKind::Single => Self::Single(RedisServer::start()?),
            RedisKind::Cluster => Self::Cluster(RedisCluster::start()?),
            RedisKind::Sentinel => Self::Sentinel(SentinelGroup::start()?),
        })
    }

    /// Which deployment this is.
    pub fn kind(&self) -> RedisKind {
        match self {
            Self::Single(_) => RedisKind::Single,
            Self::Cluster(_) => RedisKind::Cluster,
            Self::Sentinel(_) => RedisKind::Sentinel,
        }
    }

    /// One line for the timeline.
    pub fn describe(&self) -> String {
        match self {
            Self::Single(server) => format!("redis-server on {} (AOF always)", server.url()),
            Self::Cluster(cluster) => format!(
                "redis cluster of 3 masters + 3 replicas ({} seeds, wait-replicas 1)",
                cluster.urls().len()
            ),
            Self::Sentinel(group) => format!(
                "redis sentinel group {:?}: master on port {:?}, 2 replicas, 3 sentinels (wait-replicas 2)",
                group.master_name,
                group.master_port()
            ),
        }
    }

    /// The body of the switches' `[redis]` section.
    pub fn redis_toml(&self) -> String {
        let list = |urls: Vec<String>| {
            urls.iter()
                .map(|u| format!("{u:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        // Replicated deployments acknowledge a write once a replica has it, so a failover
        // cannot lose what a terminal was told.
        // replicas = every replica of a master: whichever one a failover promotes has every
        // acknowledged write (with fewer, the promoted one may be one that had not confirmed).
        let durable = |replicas: u32| {
            format!(
                "durability = {{ mode = \"wait-replicas\", replicas = {replicas} }}\n\
                 durability_timeout_ms = 1000"
            )
        };
        match self {
            Self::Single(server) => format!("url = {:?}", server.url()),
            Self::Cluster(cluster) => format!(
                "cluster_nodes = [{}]\nshards = 16\n{}",
                list(cluster.urls()),
                durable(1)
            ),
            Self::Sentinel(group) => format!(
                "sentinel = {{ master_name = {:?}, nodes = [{}] }}\nshards = 4\n{}",
                group.master_name,
                list(group.sentinel_urls()),
                durable(2)
            ),
        }
    }

    /// The first fault, half-way through the load; `note` gets each step as it happens.
    pub fn first_fault(&mut self, note: &mut dyn FnMut(String)) -> Result<(), TestkitError> {
        match self {
            Self::Single(server) => {
                note("kill -9 redis-server".into());
                server.restart()?;
                note("redis-server restarted (AOF replayed)".into());
            }
            Self::Cluster(cluster) => {
                let victim = cluster.masters().first().copied().unwrap_or(0);
                cluster.kill(victim)?;
                note(format!("kill -9 cluster master #{victim}"));
                cluster.wait_failed_over(FAILOVER_WITHIN)?;
                note("its replica took over".into());
                cluster.rejoin(victim)?;
                cluster.wait_ok(FAILOVER_WITHIN)?;
                cluster.wait_replicated(FAILOVER_WITHIN)?;
                note(format!("node #{victim} rejoined as a replica"));
            }
            Self::Sentinel(group) => {
                let old = group.master_port().unwrap_or(0);
                note(format!("kill -9 sentinel master on port {old}"));
                group.kill_master_and_wait_failover()?;
                note(format!("new master on port {:?}", group.master_port()));
                if let Some(server) = group.server_on(old) {
                    // It comes back as a master with stale data; the sentinels demote it.
                    server.restart()?;
                    note(format!("old master on port {old} restarted"));
                }
            }
        }
        Ok(())
    }

    /// Slow Redis: every master holds its clients' writes for `stall` (`CLIENT PAUSE … WRITE`;
    /// reads go on). Writes sent meanwhile time out at the switch and are applied when the
    /// pause ends — the "did it land?" case every write path must survive.
    pub fn stall_writes(
        &mut self,
        stall: Duration,
        note: &mut dyn FnMut(String),
    ) -> Result<(), TestkitError> {
        let ports: Vec<u16> = match self {
            Self::Single(server) => vec![server.port()],
            Self::Cluster(cluster) => cluster
                .masters()
                .into_iter()
                .filter_map(|i| cluster.node(i).map(|n| n.port()))
                .collect(),
            Self::Sentinel(group) => group.master_port().into_iter().collect(),
        };
        let ms = stall.as_millis().to_string();
        for port in &ports {
            asw_testkit::topologies::redis_cli(*port, &["CLIENT", "PAUSE", &ms, "WRITE"])?;
        }
        note(format!(
            "writes paused for {ms} ms on the master(s) {ports:?}"
        ));
        Ok(())
    }

    /// The second fault, at three quarters (a cluster's manual failover); nothing elsewhere.
    pub fn second_fault(&mut self, note: &mut dyn FnMut(String)) -> Result<(), TestkitError> {
        if let Self::Cluster(cluster) = self
            && let Some(replica) = cluster.replicas().first().copied()
        {
            note(format!("CLUSTER FAILOVER asked of replica #{replica}"));
            cluster.manual_failover(replica)?;
            cluster.wait_replicated(FAILOVER_WITHIN)?;
            note(format!("replica #{replica} took over"));
        }
        Ok(())
    }
}
