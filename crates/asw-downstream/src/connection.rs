//! One terminal connection: a reader (this task) and a writer task.
//!
//! The reader cuts frames with the codec, answers what it can answer locally and hands
//! financial messages to the handler in tracked tasks. The writer owns the write half;
//! everything written goes through it, so answers from concurrent handlers never
//! interleave, and each answer learns whether it was flushed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use asw_iso8583::{Frame, FrameCodec, FrameError, Message, Mti, Tpdu, encode_to_bytes};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::codec::{Decoder, Encoder};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::handler::{
    ConnectionHandle, ConnectionId, DeliveryError, Outgoing, RequestKey, Responder,
};
use crate::identity::{Binding, Peer, Refusal, TerminalRef};
use crate::inbound::{Inbound, classify, local_answer};
use crate::limits::IpPermit;
use crate::metrics::{self, RejectReason, ShedReason};
use crate::peer_certificate::CertificateNames;
use crate::seats::{Seat, Standing};
use crate::server::Shared;

/// What admitted a connection; held until it closes.
pub(crate) struct Permits {
    /// Its seat under the global limit.
    pub(crate) seat: Seat,
    /// Its place under the per-IP limit (held, never read: dropping it frees the place).
    #[allow(dead_code)]
    pub(crate) ip: IpPermit,
    /// When it was accepted: the first-message timeout runs from here (a TLS handshake
    /// included).
    pub(crate) accepted_at: Instant,
}

/// Why the reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadEnd {
    PeerClosed,
    ReadError,
    FramingLost,
    ReadTimeout,
    IdleTimeout,
    FirstMessageTimeout,
    Evicted,
    WriterGone,
    Shutdown,
}

/// Serves one connection, plain TCP or TLS, given its two halves.
pub(crate) async fn serve<R, W>(
    shared: Arc<Shared>,
    read_half: R,
    write_half: W,
    peer: SocketAddr,
    certificate: Option<CertificateNames>,
    id: ConnectionId,
    permits: Permits,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    metrics::open_connections(1.0);
    tracing::debug!("connection open");
    let codec = shared.config.frame_codec();
    let gone = CancellationToken::new();
    let (writer_tx, writer_rx) = mpsc::channel(shared.config.max_outstanding_per_connection + 16);
    let handle = Arc::new(ConnectionHandle {
        id,
        peer,
        dialect: Arc::clone(&shared.dialect),
        writer: writer_tx,
        gone: gone.clone(),
        outstanding: Default::default(),
        standing: Arc::clone(permits.seat.standing()),
    });
    let writer = tokio::spawn(
        write_loop(
            write_half,
            codec,
            writer_rx,
            gone.clone(),
            shared.config.write_timeout(),
            Arc::clone(permits.seat.standing()),
        )
        .in_current_span(),
    );
    let speaker = Peer::new(peer.ip(), certificate);
    let binding = shared.identity.open(&speaker);
    if let Some(name) = shared.identity.concentrator_name(&binding) {
        tracing::info!(concentrator = name, "concentrator connected");
    }
    let mut reader = Reader {
        slots: Arc::new(Semaphore::new(shared.config.max_outstanding_per_connection)),
        speaker,
        binding,
        shared,
        handle,
        codec,
    };
    let end = reader.run(read_half, permits.accepted_at).await;
    tracing::debug!(?end, "connection reader stopped");
    if end != ReadEnd::Shutdown {
        // The terminal side is gone: answers still to come cannot be delivered.
        gone.cancel();
    }
    // Our sender goes away; the writer ends when the last responder is done.
    drop(reader);
    let _ = writer.await;
    // The seat and the per-IP place are freed only now, with the socket closed.
    drop(permits);
    metrics::open_connections(-1.0);
    tracing::debug!("connection closed");
}

/// Which deadline the reader is waiting for.
#[derive(Debug, Clone, Copy)]
enum Wake {
    ReadTimeout,
    Idle,
    FirstMessage,
}

/// Capacity of the read buffer while no frame is being received: room for a whole sign-on, echo
/// or purchase (profile B: 40 to 200 bytes), so the usual frame is read in one call; a larger
/// one costs a second read, the codec reserving the rest once its length header has arrived.
/// 10,000 idle connections hold 2.5 MB of buffers this way instead of the 40 MB of a
/// `max_frame_bytes` (4 KiB) buffer each.
const IDLE_READ_BUFFER: usize = 256;

struct Reader {
    shared: Arc<Shared>,
    handle: Arc<ConnectionHandle>,
    /// What the connection showed (address, certificate): fixed for its life.
    speaker: Peer,
    /// Which terminal(s) the connection may speak for; set by the first admitted message.
    binding: Binding,
    codec: FrameCodec,
    slots: Arc<Semaphore>,
}

impl Reader {
    async fn run(&mut self, mut socket: impl AsyncRead + Unpin, accepted_at: Instant) -> ReadEnd {
        let mut buf = BytesMut::with_capacity(IDLE_READ_BUFFER);
        let mut partial_since: Option<Instant> = None;
        let read_timeout = self.shared.config.read_timeout();
        let idle_timeout = self.shared.config.idle_timeout();
        let first_message_timeout = self.shared.config.first_message_timeout();
        let standing = Arc::clone(&self.handle.standing);
        let mut idle_since = Instant::now();
        // `None` once the connection has completed a valid exchange.
        let mut first_message_by = Some(accepted_at + first_message_timeout);
        loop {
            loop {
                match self.codec.decode(&mut buf) {
                    Ok(Some(frame)) => {
                        partial_since = None;
                        // Boxed: the handling of one frame (decode, identity, queueing the
                        // answer) is a large future, and inline it would make every idle
                        // connection's task that large; one allocation per frame instead.
                        if let Some(end) = Box::pin(self.on_frame(frame)).await {
                            return end;
                        }
                    }
                    Ok(None) => break,
                    Err(error) => {
                        let reason = match error {
                            FrameError::TooLarge { .. } => RejectReason::TooLarge,
                            FrameError::TpduTruncated { .. } => RejectReason::TpduTruncated,
                            _ => RejectReason::BadLengthHeader,
                        };
                        metrics::rejected(reason);
                        tracing::info!(%error, "framing lost, closing connection");
                        return ReadEnd::FramingLost;
                    }
                }
            }
            if buf.is_empty() {
                partial_since = None;
                // A fresh buffer for the next frame when the last frames grew this one (that
                // memory goes back) or left too little of it to read a usual frame in one
                // call; otherwise the rest of it serves (one allocation less per frame).
                if buf.capacity() > IDLE_READ_BUFFER || buf.capacity() < IDLE_READ_BUFFER / 2 {
                    buf = BytesMut::with_capacity(IDLE_READ_BUFFER);
                }
            } else if partial_since.is_none() {
                partial_since = Some(Instant::now());
            }
            if standing.is_established() {
                first_message_by = None;
            }
            // The earliest of the deadlines that apply, and which one it is.
            let (mut deadline, mut wake) = match partial_since {
                Some(started) => (started + read_timeout, Wake::ReadTimeout),
                None => (idle_since + idle_timeout, Wake::Idle),
            };
            if let Some(by) = first_message_by
                && by < deadline
            {
                (deadline, wake) = (by, Wake::FirstMessage);
            }
            tokio::select! {
                _ = self.shared.shutdown.cancelled() => return ReadEnd::Shutdown,
                _ = self.handle.gone.cancelled() => return ReadEnd::WriterGone,
                _ = standing.evicted() => {
                    tracing::debug!("evicted: the connection limit was reached");
                    return ReadEnd::Evicted;
                }
                read = tokio::time::timeout_at(deadline, socket.read_buf(&mut buf)) => match read {
                    Err(_) => match wake {
                        Wake::ReadTimeout => {
                            metrics::rejected(RejectReason::ReadTimeout);
                            tracing::info!(buffered = buf.len(), "partial frame stalled, closing connection");
                            return ReadEnd::ReadTimeout;
                        }
                        Wake::Idle => {
                            if self.outstanding() == 0 {
                                tracing::debug!("idle timeout");
                                return ReadEnd::IdleTimeout;
                            }
                            idle_since = Instant::now();
                        }
                        // Established meanwhile: the loop drops this deadline.
                        Wake::FirstMessage if standing.is_established() => {}
                        Wake::FirstMessage => {
                            if self.outstanding() == 0 {
                                metrics::shed(ShedReason::FirstMessageTimeout);
                                tracing::info!(buffered = buf.len(),
                                    "no valid exchange within the first-message timeout, closing connection");
                                return ReadEnd::FirstMessageTimeout;
                            }
                            // A request is with the core: its answer will establish the
                            // connection; look again one timeout later.
                            first_message_by = Some(Instant::now() + first_message_timeout);
                        }
                    },
                    Ok(Ok(0)) => return ReadEnd::PeerClosed,
                    Ok(Ok(_)) => idle_since = Instant::now(),
                    Ok(Err(error)) => {
                        tracing::debug!(%error, "read failed");
                        return ReadEnd::ReadError;
                    }
                },
            }
        }
    }

    fn outstanding(&self) -> usize {
        self.shared.config.max_outstanding_per_connection - self.slots.available_permits()
    }

    async fn on_frame(&mut self, frame: Frame) -> Option<ReadEnd> {
        match frame {
            Frame::KeepAlive => {
                metrics::keepalive();
                // Echoed, but proves nothing: anyone can send two zero bytes.
                self.queue(Frame::KeepAlive, None, None, false).await
            }
            Frame::Message { tpdu, payload } => self.on_message(tpdu, payload).await,
        }
    }

    async fn on_message(&mut self, tpdu: Option<Tpdu>, payload: Bytes) -> Option<ReadEnd> {
        match classify(&self.handle.dialect, payload) {
            Inbound::Handle(message) => {
                metrics::message_in(message.mti());
                if self.admit(&message).is_err() {
                    // Answered here and never handed over: nothing is journaled or sent on.
                    return match local_answer(&self.handle.dialect, &message, "63") {
                        Ok(answer) => self.answer(tpdu, &answer, false).await,
                        Err(error) => {
                            tracing::warn!(%error, "cannot build the 63 answer");
                            None
                        }
                    };
                }
                self.dispatch(tpdu, message).await
            }
            Inbound::Answer {
                request_mti,
                mut answer,
                rejected,
                error,
            } => {
                metrics::message_in(request_mti);
                // A sign-on or echo names its terminal too and is held to the same rules
                // (the 0810 echoes the request's F41/F42, so the claim is read from it).
                if rejected.is_none()
                    && request_mti == Mti::NETWORK_REQUEST
                    && self.admit(&answer).is_err()
                {
                    if let Err(error) = answer.set(&self.handle.dialect, 39, "63") {
                        tracing::warn!(%error, "cannot build the 63 answer");
                        return None;
                    }
                    return self.answer(tpdu, &answer, false).await;
                }
                if let Some(reason) = rejected {
                    metrics::rejected(reason);
                    let code = answer.get_str(39).unwrap_or_default();
                    match error {
                        Some(error) => {
                            tracing::info!(mti = %request_mti, code, %error, "answered locally")
                        }
                        None => tracing::info!(mti = %request_mti, code, "answered locally"),
                    }
                } else if answer.mti() == Mti::NETWORK_RESPONSE {
                    tracing::debug!(
                        code = answer.get_str(70),
                        terminal_id = answer.get_str(41),
                        "network management"
                    );
                }
                // Only an accepted 0800 (answered 00) is a valid exchange; a 30 or a 12
                // answers something malformed or unsupported.
                let establishes = rejected.is_none();
                self.answer(tpdu, &answer, establishes).await
            }
            Inbound::Drop {
                request_mti,
                reason,
                error,
            } => {
                if let Some(mti) = request_mti {
                    metrics::message_in(mti);
                }
                metrics::rejected(reason);
                match error {
                    Some(error) => {
                        tracing::info!(reason = reason.as_str(), %error, "message dropped")
                    }
                    None => tracing::info!(reason = reason.as_str(), "message dropped"),
                }
                None
            }
        }
    }

    /// Checks that this connection may speak for the terminal `message` names; counts and
    /// logs a refusal. A message without F41 names no terminal and is not checked (only a
    /// network management message can lack it; it binds nothing either).
    fn admit(&mut self, message: &Message) -> Result<(), Refusal> {
        let Some(claim) = TerminalRef::claimed_by(message) else {
            return Ok(());
        };
        let result = self
            .shared
            .identity
            .admit(&self.speaker, &claim, &mut self.binding);
        if let Err(reason) = result {
            metrics::identity_refused(reason);
            tracing::info!(
                reason = reason.as_str(),
                mti = %message.mti(),
                claimed_terminal = %claim,
                peer = %self.speaker.addr,
                "refused: the connection may not speak for this terminal"
            );
        }
        result
    }

    async fn answer(
        &mut self,
        tpdu: Option<Tpdu>,
        answer: &Message,
        establishes: bool,
    ) -> Option<ReadEnd> {
        let payload = match encode_to_bytes(&self.handle.dialect, answer) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(%error, "cannot encode a local answer");
                return None;
            }
        };
        let frame = Frame::Message {
            tpdu: tpdu.map(|t| t.response()),
            payload,
        };
        let code = answer.get(39).and_then(|c| <[u8; 2]>::try_from(c).ok());
        self.queue(frame, Some(answer.mti()), code, establishes)
            .await
    }

    async fn queue(
        &mut self,
        frame: Frame,
        mti: Option<Mti>,
        response_code: Option<[u8; 2]>,
        establishes: bool,
    ) -> Option<ReadEnd> {
        let outgoing = Outgoing {
            frame,
            mti,
            response_code,
            establishes,
            done: None,
        };
        match self.handle.writer.send(Box::new(outgoing)).await {
            Ok(()) => None,
            Err(_) => Some(ReadEnd::WriterGone),
        }
    }

    async fn dispatch(&mut self, tpdu: Option<Tpdu>, message: Message) -> Option<ReadEnd> {
        // Back-pressure: with every slot taken, stop reading until a handler finishes.
        let slot = tokio::select! {
            biased;
            slot = Arc::clone(&self.slots).acquire_owned() => slot.ok()?,
            _ = self.handle.gone.cancelled() => return Some(ReadEnd::WriterGone),
            _ = self.shared.shutdown.cancelled() => return Some(ReadEnd::Shutdown),
        };
        let mti = message.mti();
        let key = RequestKey {
            class: mti.class(),
            terminal_id: message.get_bytes(41).cloned().unwrap_or_default(),
            stan: message.get_bytes(11).cloned().unwrap_or_default(),
        };
        let span = tracing::info_span!(
            "request",
            %mti,
            stan = message.get_str(11),
            terminal_id = message.get_str(41),
        );
        let responder = Responder::new(Arc::clone(&self.handle), tpdu, mti, key, slot);
        let handler = Arc::clone(&self.shared.handler);
        // Tracked, never aborted: once a request may have gone upstream it must finish.
        self.shared
            .handlers
            .spawn(async move { handler.handle(message, responder).await }.instrument(span));
        None
    }
}

async fn write_loop(
    mut socket: impl AsyncWrite + Unpin,
    mut codec: FrameCodec,
    mut rx: mpsc::Receiver<Box<Outgoing>>,
    gone: CancellationToken,
    write_timeout: Duration,
    standing: Arc<Standing>,
) {
    loop {
        let item = tokio::select! {
            biased;
            _ = gone.cancelled() => break,
            item = rx.recv() => match item {
                Some(item) => item,
                None => break,
            },
        };
        let Outgoing {
            frame,
            mti,
            response_code,
            establishes,
            done,
        } = *item;
        let result =
            match tokio::time::timeout(write_timeout, write_frame(&mut socket, &mut codec, frame))
                .await
            {
                Ok(Ok(())) => Ok(()),
                Ok(Err(FrameError::TooLarge { length, max })) => {
                    Err(DeliveryError::TooLarge { length, max })
                }
                Ok(Err(FrameError::Io(error))) => Err(DeliveryError::Io(error)),
                Ok(Err(other)) => Err(DeliveryError::Mismatch(other.to_string())),
                Err(_) => Err(DeliveryError::WriteTimeout),
            };
        match &result {
            Ok(()) => {
                // Only once flushed: an answer that never left does not prove anything.
                if establishes {
                    standing.establish();
                }
                if let Some(mti) = mti {
                    metrics::message_out(mti, response_code.as_ref().map(|c| &c[..]));
                }
            }
            Err(error) if !error.is_internal() => {
                tracing::info!(%error, "write failed, closing connection");
                gone.cancel();
            }
            Err(error) => tracing::error!(%error, "answer rejected"),
        }
        if let Some(done) = done {
            let _ = done.send(result);
        }
    }
    rx.close();
    while let Ok(item) = rx.try_recv() {
        if let Some(done) = item.done {
            let _ = done.send(Err(DeliveryError::ConnectionClosed));
        }
    }
    let _ = tokio::time::timeout(write_timeout, socket.shutdown()).await;
}

/// Encodes one frame into a buffer of its own size, writes and flushes it. No buffer is kept
/// between frames (a `FramedWrite` keeps 8 KiB per connection, idle or not); answers are
/// written one at a time, so nothing would be gained by keeping one.
async fn write_frame(
    socket: &mut (impl AsyncWrite + Unpin),
    codec: &mut FrameCodec,
    frame: Frame,
) -> Result<(), FrameError> {
    let mut bytes = BytesMut::new();
    codec.encode(frame, &mut bytes)?;
    socket.write_all(&bytes).await?;
    socket.flush().await?;
    Ok(())
}
