//! A terminal connection: several requests outstanding, answers matched by
//! (MTI class, F41, F11) — never by STAN alone, since a reversal shares its original's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use asw_iso8583::{EncodeError, Frame, FrameCodec, FrameError, Message, decode, encode_to_bytes};
use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite};

use crate::link::LinkConfig;

/// Why a request did not get its answer.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    /// Could not connect to the switch.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        /// Switch address.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The request could not be encoded (a usage error).
    #[error("request cannot be encoded: {0}")]
    Encode(#[from] EncodeError),
    /// Writing the request failed.
    #[error("send failed: {0}")]
    Send(#[source] FrameError),
    /// The switch closed the connection before answering.
    #[error("connection closed before the answer")]
    Closed,
    /// No answer within the terminal timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The same (class, F41, F11) is already waiting for an answer on this connection.
    #[error("a request with the same class, F41 and F11 is already outstanding")]
    DuplicateOutstanding,
    /// The request lacks F11 or F41, or has no response MTI, so no answer can match it.
    #[error("request has no matching key (F11, F41, response MTI)")]
    NoKey,
}

/// (MTI class, F41, F11).
type MatchKey = (u8, Bytes, Bytes);
type Pending = Arc<Mutex<HashMap<MatchKey, oneshot::Sender<Message>>>>;

fn key_of(message: &Message) -> Option<MatchKey> {
    Some((
        message.mti().class(),
        message.get_bytes(41)?.clone(),
        message.get_bytes(11)?.clone(),
    ))
}

/// The read side of a plain or TLS connection.
type BoxedRead = Box<dyn tokio::io::AsyncRead + Send + Unpin>;
/// The write side of a plain or TLS connection.
type BoxedWrite = Box<dyn tokio::io::AsyncWrite + Send + Unpin>;

/// How many unmatched answers a connection keeps for [`Terminal::next_unmatched`]; later
/// ones are only counted, so a load run that never reads them does not grow.
pub const UNMATCHED_KEPT: usize = 64;

/// One TCP (or TLS) connection to the switch, usable from many tasks at once.
pub struct Terminal {
    link: LinkConfig,
    writer: tokio::sync::Mutex<FramedWrite<BoxedWrite, FrameCodec>>,
    pending: Pending,
    closed: Arc<AtomicBool>,
    unmatched: Arc<AtomicU64>,
    unmatched_answers: tokio::sync::Mutex<mpsc::Receiver<Message>>,
    reader: JoinHandle<()>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// An answer still to come; dropping it forgets the request (a late answer is then
/// counted as unmatched).
#[derive(Debug)]
pub struct PendingResponse {
    key: MatchKey,
    pending: Pending,
    answer: oneshot::Receiver<Message>,
}

impl PendingResponse {
    /// Waits for the answer up to `timeout`.
    pub async fn wait(mut self, timeout: Duration) -> Result<Message, TerminalError> {
        match tokio::time::timeout(timeout, &mut self.answer).await {
            Ok(Ok(message)) => Ok(message),
            Ok(Err(_)) => Err(TerminalError::Closed),
            Err(_) => Err(TerminalError::Timeout(timeout)),
        }
    }
}

impl Drop for PendingResponse {
    fn drop(&mut self) {
        if let Ok(mut map) = self.pending.lock() {
            map.remove(&self.key);
        }
    }
}

impl Terminal {
    /// Connects to the switch at `addr`.
    pub async fn connect(addr: SocketAddr, link: LinkConfig) -> Result<Terminal, TerminalError> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|source| TerminalError::Connect { addr, source })?;
        let _ = stream.set_nodelay(true);
        let (read_half, write_half): (BoxedRead, BoxedWrite) = match &link.tls {
            None => {
                let (read_half, write_half) = stream.into_split();
                (Box::new(read_half), Box::new(write_half))
            }
            Some(tls) => {
                let stream = tls
                    .connector
                    .connect(tls.server_name.clone(), stream)
                    .await
                    .map_err(|source| TerminalError::Connect { addr, source })?;
                let (read_half, write_half) = tokio::io::split(stream);
                (Box::new(read_half), Box::new(write_half))
            }
        };
        let pending: Pending = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));
        let unmatched = Arc::new(AtomicU64::new(0));
        let (unmatched_tx, unmatched_answers) = mpsc::channel(UNMATCHED_KEPT);
        let reader = tokio::spawn(read_loop(
            FramedRead::new(read_half, link.codec()),
            Arc::clone(&link.dialect),
            Arc::clone(&pending),
            Arc::clone(&closed),
            Arc::clone(&unmatched),
            unmatched_tx,
        ));
        Ok(Terminal {
            writer: tokio::sync::Mutex::new(FramedWrite::new(write_half, link.codec())),
            link,
            pending,
            closed,
            unmatched,
            unmatched_answers: tokio::sync::Mutex::new(unmatched_answers),
            reader,
        })
    }

    /// The link settings.
    pub fn link(&self) -> &LinkConfig {
        &self.link
    }

    /// Whether the switch closed the connection (or reading failed).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Answers that matched no outstanding request (late after a timeout, or unknown).
    pub fn unmatched_answers(&self) -> u64 {
        self.unmatched.load(Ordering::Relaxed)
    }

    /// Writes `request` (flushed) and returns the handle of its answer.
    pub async fn send(&self, request: &Message) -> Result<PendingResponse, TerminalError> {
        let key = key_of(request)
            .filter(|_| request.mti().response().is_some())
            .ok_or(TerminalError::NoKey)?;
        let payload = encode_to_bytes(&self.link.dialect, request)?;
        let (tx, answer) = oneshot::channel();
        {
            let mut map = self.pending.lock().map_err(|_| TerminalError::Closed)?;
            if map.contains_key(&key) {
                return Err(TerminalError::DuplicateOutstanding);
            }
            map.insert(key.clone(), tx);
        }
        let response = PendingResponse {
            key,
            pending: Arc::clone(&self.pending),
            answer,
        };
        if self.is_closed() {
            return Err(TerminalError::Closed);
        }
        self.write(Frame::Message {
            tpdu: self.link.tpdu,
            payload,
        })
        .await?;
        Ok(response)
    }

    /// Sends `request` and waits for its answer up to `timeout`.
    pub async fn request(
        &self,
        request: &Message,
        timeout: Duration,
    ) -> Result<Message, TerminalError> {
        self.send(request).await?.wait(timeout).await
    }

    /// Writes `request` again without registering a second waiter, as a terminal does when
    /// it repeats a request whose answer is still outstanding (the matching key is taken, so
    /// [`send`](Self::send) would refuse it). The switch answers every copy: the first
    /// answer goes to the outstanding handle (if any), the others to
    /// [`next_unmatched`](Self::next_unmatched).
    pub async fn send_again(&self, request: &Message) -> Result<(), TerminalError> {
        let payload = encode_to_bytes(&self.link.dialect, request)?;
        self.write(Frame::Message {
            tpdu: self.link.tpdu,
            payload,
        })
        .await
    }

    /// The next answer that matched no outstanding request (a repeat's answer, or one that
    /// came after its request was given up), oldest first; `None` when none comes within
    /// `timeout` or the connection closed. Only the first [`UNMATCHED_KEPT`] unread ones
    /// are kept; [`unmatched_answers`](Self::unmatched_answers) counts them all.
    pub async fn next_unmatched(&self, timeout: Duration) -> Option<Message> {
        let mut answers = self.unmatched_answers.lock().await;
        tokio::time::timeout(timeout, answers.recv()).await.ok()?
    }

    /// Sends a zero-length keep-alive frame.
    pub async fn keep_alive(&self) -> Result<(), TerminalError> {
        self.write(Frame::KeepAlive).await
    }

    async fn write(&self, frame: Frame) -> Result<(), TerminalError> {
        let mut writer = self.writer.lock().await;
        writer.send(frame).await.map_err(TerminalError::Send)
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // The read half lives in the reader task; ending it closes the socket fully.
        self.reader.abort();
    }
}

async fn read_loop(
    mut frames: FramedRead<BoxedRead, FrameCodec>,
    dialect: Arc<asw_iso8583::Dialect>,
    pending: Pending,
    closed: Arc<AtomicBool>,
    unmatched: Arc<AtomicU64>,
    unmatched_answers: mpsc::Sender<Message>,
) {
    while let Some(frame) = frames.next().await {
        let payload = match frame {
            Ok(Frame::Message { payload, .. }) => payload,
            Ok(Frame::KeepAlive) => continue,
            Err(_) => break,
        };
        let message = match decode(&dialect, payload) {
            Ok(message) => message,
            Err(_) => {
                unmatched.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        let waiter = key_of(&message).and_then(|key| pending.lock().ok()?.remove(&key));
        match waiter {
            Some(waiter) => {
                let _ = waiter.send(message);
            }
            None => {
                unmatched.fetch_add(1, Ordering::Relaxed);
                // Full (nobody reads them) or no reader left: counting is enough.
                let _ = unmatched_answers.try_send(message);
            }
        }
    }
    closed.store(true, Ordering::Relaxed);
    if let Ok(mut map) = pending.lock() {
        // Dropping the senders wakes every waiter with "closed".
        map.clear();
    }
}
