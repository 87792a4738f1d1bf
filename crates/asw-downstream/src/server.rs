//! The listener: accept loop behind the connection limits, and shutdown.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use asw_iso8583::{Dialect, DialectError};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::config::{ConfigError, ServerConfig};
use crate::connection;
use crate::handler::{ConnectionId, RequestHandler};
use crate::identity::IdentityPolicy;
use crate::limits::IpLimiter;
use crate::metrics::{self, ConnectionResult};
use crate::peer_certificate::CertificateNames;
use crate::seats::Seats;

/// Why the server could not start. Nothing was bound when this is returned; retrying
/// with the same configuration gives the same result except for `Bind`.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The TLS certificate, key or client CA could not be loaded.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The built-in dialect of the profile failed to load (a build defect).
    #[error("downstream dialect: {0}")]
    Dialect(#[from] DialectError),
    /// The listen address could not be bound (in use, no permission).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
}

/// How shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownOutcome {
    /// Every connection closed and every handler finished within the grace period.
    Clean,
    /// The grace period ended first; this many handlers were still running (they keep
    /// running until the runtime stops).
    GraceExpired {
        /// Handlers still running.
        handlers_running: usize,
    },
}

/// What every connection of a listener shares.
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    pub(crate) dialect: Arc<Dialect>,
    pub(crate) handler: Arc<dyn RequestHandler>,
    pub(crate) tls: Option<crate::tls::TlsListener>,
    pub(crate) identity: IdentityPolicy,
    pub(crate) handlers: TaskTracker,
    pub(crate) shutdown: CancellationToken,
}

/// A running terminal-facing listener.
pub struct Server {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    connections: TaskTracker,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("connections", &self.connections.len())
            .field("handlers", &self.shared.handlers.len())
            .finish()
    }
}

impl Server {
    /// Validates `config`, loads its profile's dialect, binds and starts accepting.
    pub async fn start(
        config: ServerConfig,
        handler: Arc<dyn RequestHandler>,
    ) -> Result<Server, ServerError> {
        let dialect = config.profile.dialect()?;
        Self::start_with_dialect(config, dialect, handler).await
    }

    /// Like [`Server::start`] with a custom dialect (e.g. loaded from the acquirer's
    /// TOML file); `config.profile` is then ignored.
    pub async fn start_with_dialect(
        config: ServerConfig,
        dialect: Dialect,
        handler: Arc<dyn RequestHandler>,
    ) -> Result<Server, ServerError> {
        Self::start_with_identity(config, dialect, handler, &BTreeMap::new()).await
    }

    /// Like [`Server::start_with_dialect`], with each merchant's allowed source networks
    /// (`merchant id → CIDRs`, see [`IdentityPolicy::new`]). The certificate binding and
    /// the concentrators come from `config`; the first-terminal binding always applies.
    pub async fn start_with_identity(
        config: ServerConfig,
        dialect: Dialect,
        handler: Arc<dyn RequestHandler>,
        merchant_networks: &BTreeMap<String, Vec<String>>,
    ) -> Result<Server, ServerError> {
        config.validate()?;
        let identity = IdentityPolicy::new(&config, merchant_networks)?;
        let tls = config
            .tls
            .as_ref()
            .map(crate::tls::TlsListener::load)
            .transpose()?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let seats = Seats::new(config.max_connections);
        let per_ip = IpLimiter::new(config.max_connections_per_ip);
        let shared = Arc::new(Shared {
            config,
            dialect: Arc::new(dialect),
            handler,
            tls,
            identity,
            handlers: TaskTracker::new(),
            shutdown: CancellationToken::new(),
        });
        let connections = TaskTracker::new();
        let accept = tokio::spawn(accept_loop(
            listener,
            Arc::clone(&shared),
            seats,
            per_ip,
            connections.clone(),
        ));
        tracing::info!(%local_addr, profile = ?shared.config.profile,
            tls = shared.tls.is_some(), identity = %shared.identity.describe(),
            "downstream listening");
        Ok(Server {
            local_addr,
            shared,
            connections,
            accept,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Connections currently open.
    pub fn open_connections(&self) -> usize {
        self.connections.len()
    }

    /// Handlers currently running.
    pub fn running_handlers(&self) -> usize {
        self.shared.handlers.len()
    }

    /// Stops accepting and reading, then waits up to the configured grace period for
    /// in-flight handlers to finish and their answers to be written. Handlers are never
    /// cancelled here.
    pub async fn shutdown(self) -> ShutdownOutcome {
        self.shared.shutdown.cancel();
        let _ = self.accept.await;
        self.connections.close();
        self.shared.handlers.close();
        let grace = self.shared.config.shutdown_grace();
        let finished = tokio::time::timeout(grace, async {
            self.shared.handlers.wait().await;
            self.connections.wait().await;
        })
        .await;
        match finished {
            Ok(()) => ShutdownOutcome::Clean,
            Err(_) => {
                let handlers_running = self.shared.handlers.len();
                tracing::warn!(handlers_running, "shutdown grace period expired");
                ShutdownOutcome::GraceExpired { handlers_running }
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    seats: Arc<Seats>,
    per_ip: Arc<IpLimiter>,
    connections: TaskTracker,
) {
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => {
                backoff = Duration::from_millis(5);
                pair
            }
            Err(error) => {
                // Usually out of file descriptors: wait instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::select! {
                    _ = shared.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let accepted_at = tokio::time::Instant::now();
        // The per-IP limit first: a connection it refuses must not cost anyone a seat.
        let Some(ip_permit) = per_ip.try_acquire(peer.ip()) else {
            metrics::connection(ConnectionResult::RejectedIpLimit);
            tracing::debug!(%peer, "connection rejected: per-IP limit");
            reject(stream);
            continue;
        };
        let id = ConnectionId::next();
        let Some(seat) = seats.take(id) else {
            metrics::connection(ConnectionResult::RejectedGlobalLimit);
            tracing::debug!(%peer,
                "connection rejected: every seat is held by a connection that completed a valid exchange or has a request in progress");
            reject(stream);
            continue;
        };
        // Answers are small and latency matters more than packet count.
        let _ = stream.set_nodelay(true);
        let span = tracing::info_span!("connection", id = %id, %peer);
        let permits = connection::Permits {
            seat,
            ip: ip_permit,
            accepted_at,
        };
        let shared = Arc::clone(&shared);
        let serve = async move {
            let Some(tls) = shared.tls.clone() else {
                metrics::connection(ConnectionResult::Accepted);
                let (read_half, write_half) = stream.into_split();
                connection::serve(shared, read_half, write_half, peer, None, id, permits).await;
                return;
            };
            // Boxed: the handshake and the TLS stream are large, and inline they would make
            // every plain-TCP connection's task as large too.
            Box::pin(serve_tls(shared, tls, stream, peer, id, permits)).await;
        };
        connections.spawn(serve.instrument(span));
    }
}

/// Runs the TLS handshake, then serves the connection. The handshake runs in the connection's
/// own task, so a slow or silent client never holds up the accept loop.
async fn serve_tls(
    shared: Arc<Shared>,
    tls: crate::tls::TlsListener,
    stream: TcpStream,
    peer: SocketAddr,
    id: ConnectionId,
    permits: connection::Permits,
) {
    let timeout = tls.handshake_timeout;
    let handshake = tokio::select! {
        _ = shared.shutdown.cancelled() => return,
        // A handshake in progress is a new connection like any other.
        _ = permits.seat.standing().evicted() => return,
        done = tokio::time::timeout(timeout, tls.acceptor.accept(stream)) => done,
    };
    match handshake {
        Ok(Ok(stream)) => {
            metrics::connection(ConnectionResult::Accepted);
            let certificate = client_certificate(&stream);
            let (read_half, write_half) = tokio::io::split(stream);
            connection::serve(
                shared,
                read_half,
                write_half,
                peer,
                certificate,
                id,
                permits,
            )
            .await;
        }
        Ok(Err(error)) => {
            metrics::connection(ConnectionResult::TlsHandshakeFailed);
            tracing::info!(%error, "tls handshake failed");
        }
        Err(_) => {
            metrics::connection(ConnectionResult::TlsHandshakeFailed);
            tracing::info!(?timeout, "tls handshake timed out");
        }
    }
}

/// The names of the verified client certificate (the leaf of the chain the client sent), or
/// `None` without one. A certificate rustls accepted but whose names cannot be read yields no
/// names, so the certificate binding refuses every claim on that connection.
fn client_certificate(
    stream: &tokio_rustls::server::TlsStream<TcpStream>,
) -> Option<CertificateNames> {
    let leaf = stream.get_ref().1.peer_certificates()?.first()?;
    match CertificateNames::from_der(leaf.as_ref()) {
        Ok(names) => Some(names),
        Err(error) => {
            tracing::warn!(%error, "client certificate accepted but its names are unreadable");
            Some(CertificateNames::default())
        }
    }
}

fn reject(stream: TcpStream) {
    // Dropping closes the socket; nothing is read from a connection we will not serve.
    drop(stream);
}
