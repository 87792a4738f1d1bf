//! Distributed Redis deployments for tests: a Redis Cluster (3 masters, 3 replicas) and a
//! Sentinel group (1 master, 2 replicas, 3 sentinels), each made of real `redis-server`
//! processes on free loopback ports in temp dirs, with the faults the store must survive:
//! `SIGKILL` of a node, a manual `CLUSTER FAILOVER`, a node rejoining, a Sentinel failover.
//! Control commands go through `redis-cli`, which Debian ships with `redis-server`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{RedisServer, TestkitError, free_port};

/// Runs `redis-cli -p <port> <args…>` and returns its standard output (trimmed).
pub fn redis_cli(port: u16, args: &[&str]) -> Result<String, TestkitError> {
    let output = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn wait_until(
    what: &str,
    port: u16,
    within: Duration,
    mut done: impl FnMut() -> bool,
) -> Result<(), TestkitError> {
    let started = Instant::now();
    while started.elapsed() < within {
        if done() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(TestkitError::NotReady {
        port,
        log_tail: format!("{what} not reached within {within:?}"),
    })
}

/// The value of `field` in an `INFO` text.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
}

/// A Redis Cluster of three masters with one replica each.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts six nodes, joins them with `redis-cli --cluster create … --cluster-replicas 1` and
    /// waits until every node reports `cluster_state:ok`. A start that fails (a bus port taken
    /// between its choice and its use, a `--cluster create` that gave up on a busy machine) is
    /// retried with fresh nodes, twice.
    pub fn start() -> Result<Self, TestkitError> {
        let mut last = None;
        for _ in 0..3 {
            match Self::start_once() {
                Ok(cluster) => return Ok(cluster),
                Err(error) => last = Some(error),
            }
        }
        Err(last.unwrap_or(TestkitError::NotReady {
            port: 0,
            log_tail: "no attempt".into(),
        }))
    }

    fn start_once() -> Result<Self, TestkitError> {
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let bus = free_port()?.to_string();
            nodes.push(RedisServer::start_with_args(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                &bus,
                // Fast failure detection keeps the failover tests short.
                "--cluster-node-timeout",
                "1500",
                // A replica may take over even after a long disconnection in tests.
                "--cluster-replica-validity-factor",
                "0",
            ])?);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port()))
            .collect();
        let mut create = Command::new("redis-cli");
        create
            .arg("--cluster")
            .arg("create")
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let status = create.status()?;
        let first = nodes.first().map(RedisServer::port).unwrap_or(0);
        if !status.success() {
            return Err(TestkitError::NotReady {
                port: first,
                log_tail: format!("redis-cli --cluster create exited with {status}"),
            });
        }
        let cluster = Self { nodes };
        cluster.wait_ok(Duration::from_secs(30))?;
        cluster.wait_replicated(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// Waits until every master has a replica online (its initial sync done), so a write can
    /// be confirmed by `WAIT 1`.
    pub fn wait_replicated(&self, within: Duration) -> Result<(), TestkitError> {
        let first = self.nodes.first().map(RedisServer::port).unwrap_or(0);
        wait_until("a replica online under every master", first, within, || {
            let masters = self.masters();
            masters.len() == 3
                && masters.iter().all(|i| {
                    self.nodes.get(*i).is_some_and(|n| {
                        let info =
                            redis_cli(n.port(), &["INFO", "replication"]).unwrap_or_default();
                        info.lines()
                            .any(|l| l.starts_with("slave") && l.contains("state=online"))
                    })
                })
        })
    }

    /// Waits until every running node says `cluster_state:ok` and sees three masters.
    pub fn wait_ok(&self, within: Duration) -> Result<(), TestkitError> {
        let first = self.nodes.first().map(RedisServer::port).unwrap_or(0);
        wait_until("cluster_state:ok on every node", first, within, || {
            self.nodes.iter().all(|n| {
                !n_is_up(n) || {
                    let info = redis_cli(n.port(), &["CLUSTER", "INFO"]).unwrap_or_default();
                    info_field(&info, "cluster_state").as_deref() == Some("ok")
                }
            })
        })
    }

    /// `redis://127.0.0.1:<port>` of every node (seed list for the client).
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port()))
            .collect()
    }

    /// The node at `index` (0..6).
    pub fn node(&mut self, index: usize) -> Option<&mut RedisServer> {
        self.nodes.get_mut(index)
    }

    /// Indices of the nodes that are masters now.
    pub fn masters(&self) -> Vec<usize> {
        self.with_role("master")
    }

    /// Indices of the nodes that are replicas now.
    pub fn replicas(&self) -> Vec<usize> {
        self.with_role("slave")
    }

    fn with_role(&self, role: &str) -> Vec<usize> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| {
                let info = redis_cli(n.port(), &["INFO", "replication"]).unwrap_or_default();
                info_field(&info, "role").as_deref() == Some(role)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Number of keys each master holds (`DBSIZE`), by node index.
    pub fn keys_per_master(&self) -> Vec<(usize, u64)> {
        self.masters()
            .into_iter()
            .filter_map(|i| {
                let n = self.nodes.get(i)?;
                let size = redis_cli(n.port(), &["DBSIZE"]).ok()?.parse().ok()?;
                Some((i, size))
            })
            .collect()
    }

    /// Kills node `index` with SIGKILL.
    pub fn kill(&mut self, index: usize) -> Result<(), TestkitError> {
        match self.nodes.get_mut(index) {
            Some(n) => n.kill(),
            None => Ok(()),
        }
    }

    /// Restarts node `index` (same port, dir and `nodes.conf`): it rejoins the cluster, as a
    /// replica when its slots were taken over.
    pub fn rejoin(&mut self, index: usize) -> Result<(), TestkitError> {
        match self.nodes.get_mut(index) {
            Some(n) => n.restart(),
            None => Ok(()),
        }
    }

    /// Waits until the replica of a killed master has taken over (three masters up again and the
    /// cluster ok).
    pub fn wait_failed_over(&self, within: Duration) -> Result<(), TestkitError> {
        let first = self.nodes.first().map(RedisServer::port).unwrap_or(0);
        wait_until("three reachable masters", first, within, || {
            self.masters().len() == 3
        })?;
        self.wait_ok(within)
    }

    /// A manual, graceful failover: the replica `replica` takes over from its master.
    pub fn manual_failover(&self, replica: usize) -> Result<(), TestkitError> {
        let Some(node) = self.nodes.get(replica) else {
            return Ok(());
        };
        let port = node.port();
        let answer = redis_cli(port, &["CLUSTER", "FAILOVER"])?;
        if answer != "OK" {
            return Err(TestkitError::NotReady {
                port,
                log_tail: format!("CLUSTER FAILOVER answered {answer:?}"),
            });
        }
        wait_until(
            "the replica promoted",
            port,
            Duration::from_secs(20),
            || {
                let info = redis_cli(port, &["INFO", "replication"]).unwrap_or_default();
                info_field(&info, "role").as_deref() == Some("master")
            },
        )?;
        self.wait_ok(Duration::from_secs(20))
    }
}

fn n_is_up(node: &RedisServer) -> bool {
    crate::ping(node.addr()).unwrap_or(false)
}

/// One `redis-server --sentinel` process with its own config file (sentinels rewrite it).
#[derive(Debug)]
struct SentinelProcess {
    child: Option<Child>,
    port: u16,
}

impl Drop for SentinelProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A master with two replicas watched by three sentinels (quorum 2).
#[derive(Debug)]
pub struct SentinelGroup {
    servers: Vec<RedisServer>,
    sentinels: Vec<SentinelProcess>,
    dir: tempfile::TempDir,
    /// The name the group is monitored under.
    pub master_name: String,
}

impl SentinelGroup {
    /// Starts the data nodes, the replication, and the sentinels; returns once every sentinel
    /// knows the master and both replicas are in sync.
    pub fn start() -> Result<Self, TestkitError> {
        let master = RedisServer::start()?;
        let master_port = master.port().to_string();
        let mut servers = vec![master];
        for _ in 0..2 {
            servers.push(RedisServer::start_with_args(&[
                "--replicaof",
                "127.0.0.1",
                &master_port,
            ])?);
        }
        let dir = tempfile::Builder::new().prefix("asw-sentinel-").tempdir()?;
        let master_name = "asw".to_string();
        let mut group = Self {
            servers,
            sentinels: Vec::new(),
            dir,
            master_name,
        };
        group.wait_replicas_online(2, Duration::from_secs(20))?;
        for i in 0..3 {
            let port = free_port()?;
            let conf: PathBuf = group.dir.path().join(format!("sentinel-{i}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {dir}\n\
                     sentinel monitor {name} 127.0.0.1 {master_port} 2\n\
                     sentinel down-after-milliseconds {name} 1000\n\
                     sentinel failover-timeout {name} 10000\n\
                     sentinel parallel-syncs {name} 1\n",
                    dir = group.dir.path().display(),
                    name = group.master_name,
                ),
            )?;
            let child = Command::new("redis-server")
                .arg(&conf)
                .arg("--sentinel")
                .arg("--logfile")
                .arg(group.dir.path().join(format!("sentinel-{i}.log")))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?;
            group.sentinels.push(SentinelProcess {
                child: Some(child),
                port,
            });
        }
        let sentinel_ports: Vec<u16> = group.sentinels.iter().map(|s| s.port).collect();
        let name = group.master_name.clone();
        wait_until(
            "every sentinel sees the master, two replicas and the other sentinels",
            sentinel_ports.first().copied().unwrap_or(0),
            Duration::from_secs(30),
            || {
                sentinel_ports.iter().all(|p| {
                    let info = redis_cli(*p, &["SENTINEL", "MASTER", &name]).unwrap_or_default();
                    let lines: Vec<&str> = info.lines().collect();
                    let field = |key: &str| {
                        lines
                            .iter()
                            .position(|l| *l == key)
                            .and_then(|i| lines.get(i + 1))
                            .map(|v| v.to_string())
                    };
                    field("num-slaves").as_deref() == Some("2")
                        && field("num-other-sentinels").as_deref() == Some("2")
                })
            },
        )?;
        Ok(group)
    }

    /// `redis://127.0.0.1:<port>` of each sentinel.
    pub fn sentinel_urls(&self) -> Vec<String> {
        self.sentinels
            .iter()
            .map(|s| format!("redis://127.0.0.1:{}", s.port))
            .collect()
    }

    /// The port the sentinels currently name as the master's.
    pub fn master_port(&self) -> Option<u16> {
        let port = self.sentinels.first()?.port;
        let answer = redis_cli(
            port,
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &self.master_name],
        )
        .ok()?;
        answer.lines().nth(1)?.trim().parse().ok()
    }

    /// The data node listening on `port`.
    pub fn server_on(&mut self, port: u16) -> Option<&mut RedisServer> {
        self.servers.iter_mut().find(|s| s.port() == port)
    }

    fn wait_replicas_online(&self, count: usize, within: Duration) -> Result<(), TestkitError> {
        let Some(master) = self.servers.first() else {
            return Ok(());
        };
        let port = master.port();
        wait_until("replicas online", port, within, || {
            let info = redis_cli(port, &["INFO", "replication"]).unwrap_or_default();
            info.lines()
                .filter(|l| l.starts_with("slave") && l.contains("state=online"))
                .count()
                >= count
        })
    }

    /// Kills the current master with SIGKILL and waits until the sentinels name another node
    /// that answers as master. Returns the old master's port.
    pub fn kill_master_and_wait_failover(&mut self) -> Result<u16, TestkitError> {
        let old = self.master_port().unwrap_or(0);
        if let Some(server) = self.server_on(old) {
            server.kill()?;
        }
        wait_until("a new master", old, Duration::from_secs(30), || {
            self.master_port().is_some_and(|p| {
                p != old && {
                    let info = redis_cli(p, &["INFO", "replication"]).unwrap_or_default();
                    info_field(&info, "role").as_deref() == Some("master")
                }
            })
        })?;
        Ok(old)
    }
}
