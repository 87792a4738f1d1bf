//! Test support for antom-switch's integration tests and benches.
//!
//! Owns: starting and stopping real `redis-server` processes (a temp dir, a free loopback port,
//! AOF with `appendfsync always`), so tests exercise the real store and can kill it with
//! SIGKILL and bring it back with its AOF replayed; throwaway certificates for TLS tests
//! ([`TestPki`]); in-memory fakes of every port of the core ([`fakes`]) for flow tests in
//! virtual time; and the store contract ([`contract`]), one suite run against both the
//! in-memory store and the Redis store so the fake stays honest. See `README.md` for what each
//! fake guarantees. It knows nothing about the switch's Redis key layout. Never use it in
//! production code.

pub mod contract;
pub mod fakes;
pub mod fixtures;
mod pki;
pub mod topologies;

pub use pki::{PkiError, Subject, TestPki};
pub use topologies::{RedisCluster, SentinelGroup};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a test Redis could not be started or controlled.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// `redis-server` is not on the `PATH`.
    #[error("redis-server is not installed or not on PATH; run scripts/ensure-deps.sh")]
    RedisNotInstalled,
    /// Spawning or talking to the process failed.
    #[error("redis-server i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The server did not answer PING in time; the log tail says why.
    #[error("redis-server did not become ready on port {port}: {log_tail}")]
    NotReady {
        /// The port it was asked to listen on.
        port: u16,
        /// The end of its log file.
        log_tail: String,
    },
}

/// Asks the OS for a free loopback TCP port. The port is released before returning, so a
/// concurrent process could take it; good enough for tests.
pub fn free_port() -> Result<u16, TestkitError> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// A `redis-server` child process in its own temp dir, stopped on drop.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra_args: Vec<String>,
}

impl RedisServer {
    /// Starts a server with AOF on and `appendfsync always` (the production durability setting).
    pub fn start() -> Result<Self, TestkitError> {
        Self::start_with_args(&[])
    }

    /// Starts a server with extra `--name value` arguments appended after the defaults (later
    /// arguments win), e.g. `&["--appendonly", "no"]` for a deliberately unsafe server.
    pub fn start_with_args(extra_args: &[&str]) -> Result<Self, TestkitError> {
        let dir = tempfile::Builder::new().prefix("asw-redis-").tempdir()?;
        let mut server = Self {
            child: None,
            port: free_port()?,
            dir,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        // The port is free when picked and bound by redis-server a moment later: a socket of
        // another test (an outgoing connection's local port, say) can take it in between. Then
        // redis-server exits at once, and the server starts again on another free port.
        let mut attempts = 0;
        loop {
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(TestkitError::NotReady { .. }) if attempts < 5 && !server.is_running() => {
                    attempts += 1;
                    server.port = free_port()?;
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn spawn(&mut self) -> Result<(), TestkitError> {
        let dir = self.dir.path();
        let mut command = Command::new("redis-server");
        command
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--protected-mode", "no"])
            .arg("--dir")
            .arg(dir)
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .args(["--save", ""])
            .args(["--maxmemory-policy", "noeviction"])
            .arg("--logfile")
            .arg(self.log_path())
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = match command.spawn() {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(TestkitError::RedisNotInstalled);
            }
            Err(e) => return Err(e.into()),
        };
        self.child = Some(child);
        self.wait_ready(Duration::from_secs(10))
    }

    fn wait_ready(&mut self, within: Duration) -> Result<(), TestkitError> {
        let started = Instant::now();
        while started.elapsed() < within {
            let addr = self.addr();
            let Some(child) = self.child.as_mut() else {
                break;
            };
            if child.try_wait()?.is_some() {
                break;
            }
            // Ours, not another test's server that holds the port ours could not bind.
            if served_by(addr, child.id()).unwrap_or(false) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(TestkitError::NotReady {
            port: self.port,
            log_tail: self.log_tail(),
        })
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(self.log_path()) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" / ")
    }

    /// The server's loopback address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The port it listens on (kept across [`RedisServer::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's working directory (AOF files live here).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills the server with SIGKILL, like a crash: no shutdown save, the AOF is what survives.
    pub fn kill(&mut self) -> Result<(), TestkitError> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// Starts the server again on the same port and dir (killing it first if it runs), so it
    /// replays its AOF. Returns once it answers PING.
    pub fn restart(&mut self) -> Result<(), TestkitError> {
        self.kill()?;
        self.spawn()
    }

    /// True while the child process runs.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// Sends a raw RESP `PING`; true on `+PONG` (false while loading the AOF or refusing).
/// Whether the Redis answering at `addr` is the process `pid` (`INFO server`'s `process_id`).
fn served_by(addr: SocketAddr, pid: u32) -> std::io::Result<bool> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    stream.write_all(b"INFO server\r\n")?;
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    reader.read_line(&mut header)?;
    let Some(len) = header
        .trim_end()
        .strip_prefix('$')
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return Ok(false);
    };
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    let wanted = format!("process_id:{pid}\r\n");
    Ok(String::from_utf8_lossy(&body).contains(&wanted))
}

fn ping(addr: SocketAddr) -> std::io::Result<bool> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    stream.write_all(b"PING\r\n")?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    Ok(line.starts_with("+PONG"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_taken_before_redis_binds_it_is_replaced() {
        // Another test's server on the port ours picked: ours must not take it for its own.
        let other = RedisServer::start().unwrap();
        let mut server = RedisServer {
            child: None,
            port: other.port(),
            dir: tempfile::tempdir().unwrap(),
            extra_args: Vec::new(),
        };
        assert!(matches!(server.spawn(), Err(TestkitError::NotReady { .. })));
        let moved = RedisServer::start().unwrap();
        assert_ne!(moved.port(), other.port());
        assert!(served_by(moved.addr(), moved.child.as_ref().unwrap().id()).unwrap());
        assert!(!served_by(other.addr(), moved.child.as_ref().unwrap().id()).unwrap());
    }

    #[test]
    fn starts_kills_and_restarts_on_the_same_port() {
        let mut server = RedisServer::start().unwrap();
        let port = server.port();
        assert!(ping(server.addr()).unwrap());
        server.kill().unwrap();
        assert!(!server.is_running());
        assert!(ping(server.addr()).is_err());
        server.restart().unwrap();
        assert_eq!(server.port(), port);
        assert!(ping(server.addr()).unwrap());
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port().unwrap();
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }
}
