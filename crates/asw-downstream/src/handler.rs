//! The port to the core: [`RequestHandler`] receives each financial message with a
//! [`Responder`] that writes the answer on the connection the request came in on.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use asw_iso8583::{BuildError, Dialect, EncodeError, Frame, Message, Mti, Tpdu, encode_to_bytes};
use async_trait::async_trait;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Identifies one accepted TCP connection for the life of the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId(pub u64);

impl ConnectionId {
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        ConnectionId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

/// How a terminal matches an answer to its request: message class, terminal id (F41)
/// and STAN (F11). STAN alone is not enough: a reversal shares its original's STAN.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestKey {
    /// MTI class digit (2 financial, 4 reversal, …).
    pub class: u8,
    /// Field 41 as received.
    pub terminal_id: bytes::Bytes,
    /// Field 11 as received.
    pub stan: bytes::Bytes,
}

/// The core's side of the downstream port. Called once per financial message, in its
/// own task that is never cancelled by a disconnect; implementations must answer
/// through `responder` (or drop it to send nothing).
#[async_trait]
pub trait RequestHandler: Send + Sync + 'static {
    /// Processes one request and (usually) sends its answer with [`Responder::send`].
    async fn handle(&self, request: Message, responder: Responder);
}

/// Why an answer did not reach the terminal. Every variant means "not delivered": the
/// terminal did not receive a complete frame, so an approval must be treated as
/// undelivered. None is worth retrying on this connection.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The terminal side is gone (closed, reset, framing lost, timed out) before the
    /// frame was flushed.
    #[error("downstream connection closed before the answer was written")]
    ConnectionClosed,
    /// Writing and flushing did not finish within the write timeout (the connection is
    /// then closed, so a partial frame can never complete).
    #[error("downstream write timed out")]
    WriteTimeout,
    /// The socket reported an error while writing (the connection is then closed).
    #[error("downstream write failed: {0}")]
    Io(#[source] std::io::Error),
    /// Our bug: the answer does not fit the dialect.
    #[error("internal: answer cannot be encoded: {0}")]
    Encode(#[from] EncodeError),
    /// Our bug: the answer cannot be matched to the request by the terminal.
    #[error("internal: answer does not match its request: {0}")]
    Mismatch(String),
    /// Our bug: the answer frame is above the maximum frame size.
    #[error("internal: answer frame of {length} bytes is above the limit of {max}")]
    TooLarge {
        /// Frame body length.
        length: usize,
        /// Configured maximum.
        max: usize,
    },
}

impl DeliveryError {
    /// Whether the switch, not the terminal side, caused the failure (a bug to fix).
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            DeliveryError::Encode(_) | DeliveryError::Mismatch(_) | DeliveryError::TooLarge { .. }
        )
    }
}

impl From<BuildError> for DeliveryError {
    fn from(error: BuildError) -> Self {
        DeliveryError::Mismatch(error.to_string())
    }
}

/// One frame for the writer task. `done` learns whether it was written and flushed.
pub(crate) struct Outgoing {
    pub(crate) frame: Frame,
    pub(crate) mti: Option<Mti>,
    pub(crate) response_code: Option<[u8; 2]>,
    /// Whether flushing this frame completes a valid exchange (see
    /// [`crate::seats::Standing::establish`]).
    pub(crate) establishes: bool,
    pub(crate) done: Option<oneshot::Sender<Result<(), DeliveryError>>>,
}

/// Outstanding requests of one connection, by key (a count, since a terminal may
/// re-send a request before the first is answered).
pub(crate) type Outstanding = Arc<Mutex<HashMap<RequestKey, u32>>>;

/// State of one connection shared with its responders.
pub(crate) struct ConnectionHandle {
    pub(crate) id: ConnectionId,
    pub(crate) peer: SocketAddr,
    pub(crate) dialect: Arc<Dialect>,
    /// Boxed: the channel allocates its slots in blocks of 32 up front, and an `Outgoing`
    /// inline is 72 bytes (2.3 KiB per connection, idle or not); boxed, 256 bytes.
    pub(crate) writer: mpsc::Sender<Box<Outgoing>>,
    /// Cancelled when the terminal side is gone; answers are then not even queued.
    pub(crate) gone: CancellationToken,
    pub(crate) outstanding: Outstanding,
    /// The connection's seat: established by a delivered answer, evictable until then.
    pub(crate) standing: Arc<crate::seats::Standing>,
}

/// Sends the answer to one request on the connection it came in on. Dropping it
/// without sending releases the request's slot and sends nothing.
pub struct Responder {
    connection: Arc<ConnectionHandle>,
    tpdu: Option<Tpdu>,
    request_mti: Mti,
    key: RequestKey,
    _slot: OwnedSemaphorePermit,
    /// Keeps the connection from being evicted while the core works on its request.
    _in_core: crate::seats::InCore,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("connection", &self.connection.id)
            .field("peer", &self.connection.peer)
            .field("request_mti", &self.request_mti)
            .finish_non_exhaustive()
    }
}

impl Responder {
    pub(crate) fn new(
        connection: Arc<ConnectionHandle>,
        tpdu: Option<Tpdu>,
        request_mti: Mti,
        key: RequestKey,
        slot: OwnedSemaphorePermit,
    ) -> Self {
        if let Ok(mut map) = connection.outstanding.lock() {
            let count = map.entry(key.clone()).or_insert(0);
            *count += 1;
            if *count > 1 {
                tracing::warn!(
                    class = key.class,
                    "request re-sent while the first is outstanding"
                );
            }
        }
        let in_core = connection.standing.in_core();
        Responder {
            connection,
            tpdu,
            request_mti,
            key,
            _slot: slot,
            _in_core: in_core,
        }
    }

    /// The terminal's address.
    pub fn peer(&self) -> SocketAddr {
        self.connection.peer
    }

    /// The connection the request came in on.
    pub fn connection_id(&self) -> ConnectionId {
        self.connection.id
    }

    /// The dialect of the connection, to build the answer with.
    pub fn dialect(&self) -> &Dialect {
        &self.connection.dialect
    }

    /// The matching key of the request.
    pub fn key(&self) -> &RequestKey {
        &self.key
    }

    /// Whether the terminal side is already known to be gone.
    pub fn is_connection_gone(&self) -> bool {
        self.connection.gone.is_cancelled()
    }

    /// Writes `response` and resolves only after the frame was written and flushed to
    /// the socket. F11 and F41 are filled from the request when missing; the MTI must be
    /// the request's response MTI and F11/F41 must not differ from the request's.
    pub async fn send(self, mut response: Message) -> Result<(), DeliveryError> {
        let expected = self.request_mti.response();
        if expected != Some(response.mti()) {
            return Err(DeliveryError::Mismatch(format!(
                "answer MTI {} to request MTI {}",
                response.mti(),
                self.request_mti
            )));
        }
        let dialect = &self.connection.dialect;
        for (n, value) in [(11u8, &self.key.stan), (41u8, &self.key.terminal_id)] {
            match response.get(n) {
                None if !value.is_empty() => response.set(dialect, n, value.clone())?,
                Some(given) if given != &value[..] => {
                    return Err(DeliveryError::Mismatch(format!(
                        "field {n} differs from the request"
                    )));
                }
                _ => {}
            }
        }
        if self.connection.gone.is_cancelled() {
            return Err(DeliveryError::ConnectionClosed);
        }
        let payload = encode_to_bytes(dialect, &response)?;
        let response_code = response.get(39).and_then(|c| <[u8; 2]>::try_from(c).ok());
        let (done, delivered) = oneshot::channel();
        let outgoing = Outgoing {
            frame: Frame::Message {
                tpdu: self.tpdu.map(|t| t.response()),
                payload,
            },
            mti: Some(response.mti()),
            response_code,
            // Whatever the core answered, the request was well formed and admitted.
            establishes: true,
            done: Some(done),
        };
        self.connection
            .writer
            .send(Box::new(outgoing))
            .await
            .map_err(|_| DeliveryError::ConnectionClosed)?;
        delivered
            .await
            .unwrap_or(Err(DeliveryError::ConnectionClosed))
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if let Ok(mut map) = self.connection.outstanding.lock()
            && let Some(count) = map.get_mut(&self.key)
        {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// A stand-in for the core in tests and demos: approves every request. Answers with
/// the response MTI, the usual echoed fields, 39=00, and for 0100/0200 a made-up RRN
/// (F37) and approval code (F38). It never calls anything upstream.
#[derive(Debug, Default)]
pub struct ApproveAllHandler {
    counter: AtomicU64,
}

/// Fields the built-in handler copies from request to answer.
const ECHO: [u8; 13] = asw_iso8583::echo::RESPONSE;

impl ApproveAllHandler {
    /// A new handler.
    pub fn new() -> Self {
        Self::default()
    }

    /// The answer this handler gives to `request`.
    pub fn answer(&self, dialect: &Dialect, request: &Message) -> Result<Message, BuildError> {
        let mut builder = request.respond(dialect, &ECHO)?;
        let class = request.mti().class();
        if class == 1 || class == 2 {
            let n = self.counter.fetch_add(1, Ordering::Relaxed) % 1_000_000_000_000;
            builder.set(37, format!("{n:012}"))?;
            builder.set(38, format!("{:06}", n % 1_000_000))?;
        }
        builder.set(39, "00")?;
        Ok(builder.build())
    }
}

#[async_trait]
impl RequestHandler for ApproveAllHandler {
    async fn handle(&self, request: Message, responder: Responder) {
        match self.answer(responder.dialect(), &request) {
            Ok(answer) => {
                if let Err(error) = responder.send(answer).await {
                    tracing::debug!(%error, "demo answer not delivered");
                }
            }
            Err(error) => tracing::warn!(%error, "demo handler could not build an answer"),
        }
    }
}
