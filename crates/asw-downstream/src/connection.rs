//! One terminal connection: a reader (this task) and a writer task.
//!
//! The reader cuts frames with the codec, answers what it can answer locally and hands
//! financial messages to the handler in tracked tasks. The writer owns the write half;
//! everything written goes through it, so answers from concurrent handlers never
//! interleave, and each answer learns whether it was flushed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use asw_iso8583::{Frame, FrameCodec, FrameError, Message, Mti, Tpdu, decode, encode_to_bytes};
use bytes::{Bytes, BytesMut};
use futures::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::codec::{Decoder, FramedWrite};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::handler::{
    ConnectionHandle, ConnectionId, DeliveryError, Outgoing, RequestKey, Responder,
};
use crate::limits::IpPermit;
use crate::metrics::{self, RejectReason};
use crate::peek::{self, ECHO_ON_FORMAT_ERROR};
use crate::server::Shared;

/// Message types handed to the handler (the dialect's message set, minus 0800).
const HANDLED: [Mti; 7] = [
    Mti::AUTH_REQUEST,
    Mti::FINANCIAL_REQUEST,
    Mti::REVERSAL_REQUEST,
    Mti::REVERSAL_REQUEST_REPEAT,
    Mti::REVERSAL_ADVICE,
    Mti::REVERSAL_ADVICE_REPEAT,
    Mti::RECONCILIATION_REQUEST,
];

/// Fields echoed in locally built answers (0810, 39=12, 39=30).
const ECHO_LOCAL: [u8; 13] = [3, 4, 7, 11, 12, 13, 24, 25, 41, 42, 49, 60, 70];

/// Why the reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadEnd {
    PeerClosed,
    ReadError,
    FramingLost,
    ReadTimeout,
    IdleTimeout,
    WriterGone,
    Shutdown,
}

pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    id: ConnectionId,
    _permits: (OwnedSemaphorePermit, IpPermit),
) {
    metrics::open_connections(1.0);
    tracing::debug!("connection open");
    let codec = shared.config.frame_codec();
    let (read_half, write_half) = stream.into_split();
    let gone = CancellationToken::new();
    let (writer_tx, writer_rx) = mpsc::channel(shared.config.max_outstanding_per_connection + 16);
    let handle = Arc::new(ConnectionHandle {
        id,
        peer,
        dialect: Arc::clone(&shared.dialect),
        writer: writer_tx,
        gone: gone.clone(),
        outstanding: Default::default(),
    });
    let writer = tokio::spawn(
        write_loop(
            write_half,
            codec,
            writer_rx,
            gone.clone(),
            shared.config.write_timeout(),
        )
        .in_current_span(),
    );
    let mut reader = Reader {
        slots: Arc::new(Semaphore::new(shared.config.max_outstanding_per_connection)),
        shared,
        handle,
        codec,
    };
    let end = reader.run(read_half).await;
    tracing::debug!(?end, "connection reader stopped");
    if end != ReadEnd::Shutdown {
        // The terminal side is gone: answers still to come cannot be delivered.
        gone.cancel();
    }
    // Our sender goes away; the writer ends when the last responder is done.
    drop(reader);
    let _ = writer.await;
    metrics::open_connections(-1.0);
    tracing::debug!("connection closed");
}

struct Reader {
    shared: Arc<Shared>,
    handle: Arc<ConnectionHandle>,
    codec: FrameCodec,
    slots: Arc<Semaphore>,
}

impl Reader {
    async fn run(&mut self, mut socket: OwnedReadHalf) -> ReadEnd {
        let mut buf = BytesMut::with_capacity(4096);
        let mut partial_since: Option<Instant> = None;
        let read_timeout = self.shared.config.read_timeout();
        let idle_timeout = self.shared.config.idle_timeout();
        loop {
            loop {
                match self.codec.decode(&mut buf) {
                    Ok(Some(frame)) => {
                        partial_since = None;
                        if let Some(end) = self.on_frame(frame).await {
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
            } else if partial_since.is_none() {
                partial_since = Some(Instant::now());
            }
            let deadline = match partial_since {
                Some(started) => started + read_timeout,
                None => Instant::now() + idle_timeout,
            };
            tokio::select! {
                _ = self.shared.shutdown.cancelled() => return ReadEnd::Shutdown,
                _ = self.handle.gone.cancelled() => return ReadEnd::WriterGone,
                read = tokio::time::timeout_at(deadline, socket.read_buf(&mut buf)) => match read {
                    Err(_) if partial_since.is_some() => {
                        metrics::rejected(RejectReason::ReadTimeout);
                        tracing::info!(buffered = buf.len(), "partial frame stalled, closing connection");
                        return ReadEnd::ReadTimeout;
                    }
                    Err(_) => {
                        if self.outstanding() == 0 {
                            tracing::debug!("idle timeout");
                            return ReadEnd::IdleTimeout;
                        }
                    }
                    Ok(Ok(0)) => return ReadEnd::PeerClosed,
                    Ok(Ok(_)) => {}
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
                self.queue(Frame::KeepAlive, None, None).await
            }
            Frame::Message { tpdu, payload } => self.on_message(tpdu, payload).await,
        }
    }

    async fn on_message(&mut self, tpdu: Option<Tpdu>, payload: Bytes) -> Option<ReadEnd> {
        let dialect = Arc::clone(&self.handle.dialect);
        let message = match decode(&dialect, payload.clone()) {
            Ok(message) => message,
            Err(error) => {
                return match peek::recover(&dialect, &payload, &ECHO_ON_FORMAT_ERROR) {
                    Some(recovered)
                        if recovered.has_keys() && recovered.mti.response().is_some() =>
                    {
                        metrics::message_in(recovered.mti);
                        metrics::rejected(RejectReason::FormatError);
                        tracing::info!(mti = %recovered.mti, %error, "format error, answering 30");
                        self.answer(tpdu, &recovered.fields, "30").await
                    }
                    _ => {
                        metrics::rejected(RejectReason::Unreadable);
                        tracing::info!(%error, "unreadable message dropped");
                        None
                    }
                };
            }
        };
        let mti = message.mti();
        metrics::message_in(mti);
        if mti == Mti::NETWORK_REQUEST {
            return self.network_management(tpdu, &message).await;
        }
        if HANDLED.contains(&mti) {
            if !(message.has(11) && message.has(41)) {
                metrics::rejected(RejectReason::FormatError);
                tracing::info!(%mti, "F11 or F41 missing, answering 30");
                return self.answer(tpdu, &message, "30").await;
            }
            return self.dispatch(tpdu, message).await;
        }
        if mti.response().is_some() {
            metrics::rejected(RejectReason::UnsupportedMti);
            tracing::info!(%mti, "unsupported message type, answering 12");
            self.answer(tpdu, &message, "12").await
        } else {
            metrics::rejected(RejectReason::UnexpectedMti);
            tracing::info!(%mti, "unexpected message type dropped");
            None
        }
    }

    async fn network_management(
        &mut self,
        tpdu: Option<Tpdu>,
        request: &Message,
    ) -> Option<ReadEnd> {
        let code = match request.get(70) {
            Some(b"001") => {
                tracing::info!(terminal_id = request.get_str(41), "sign-on");
                "00"
            }
            Some(b"002") => {
                tracing::info!(terminal_id = request.get_str(41), "sign-off");
                "00"
            }
            Some(b"301") => "00",
            Some(_) => "12",
            None => "30",
        };
        self.answer(tpdu, request, code).await
    }

    /// Answers locally: the response MTI, the echoed fields that exist, and `code` in 39.
    async fn answer(
        &mut self,
        tpdu: Option<Tpdu>,
        request: &Message,
        code: &str,
    ) -> Option<ReadEnd> {
        let dialect = Arc::clone(&self.handle.dialect);
        let built = request
            .respond(&dialect, &ECHO_LOCAL)
            .and_then(|mut builder| {
                builder.set(39, code.to_owned())?;
                Ok(builder.build())
            });
        let answer = match built {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%error, "cannot build a local answer");
                return None;
            }
        };
        let payload = match encode_to_bytes(&dialect, &answer) {
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
        let code = <[u8; 2]>::try_from(code.as_bytes()).ok();
        self.queue(frame, Some(answer.mti()), code).await
    }

    async fn queue(
        &mut self,
        frame: Frame,
        mti: Option<Mti>,
        response_code: Option<[u8; 2]>,
    ) -> Option<ReadEnd> {
        let outgoing = Outgoing {
            frame,
            mti,
            response_code,
            done: None,
        };
        match self.handle.writer.send(outgoing).await {
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
    socket: OwnedWriteHalf,
    codec: FrameCodec,
    mut rx: mpsc::Receiver<Outgoing>,
    gone: CancellationToken,
    write_timeout: Duration,
) {
    let mut framed = FramedWrite::new(socket, codec);
    loop {
        let item = tokio::select! {
            biased;
            _ = gone.cancelled() => break,
            item = rx.recv() => match item {
                Some(item) => item,
                None => break,
            },
        };
        let result = match tokio::time::timeout(write_timeout, framed.send(item.frame)).await {
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
                if let Some(mti) = item.mti {
                    metrics::message_out(mti, item.response_code.as_ref().map(|c| &c[..]));
                }
            }
            Err(error) if !error.is_internal() => {
                tracing::info!(%error, "write failed, closing connection");
                gone.cancel();
            }
            Err(error) => tracing::error!(%error, "answer rejected"),
        }
        if let Some(done) = item.done {
            let _ = done.send(result);
        }
    }
    rx.close();
    while let Ok(item) = rx.try_recv() {
        if let Some(done) = item.done {
            let _ = done.send(Err(DeliveryError::ConnectionClosed));
        }
    }
    let mut socket = framed.into_inner();
    let _ = tokio::time::timeout(write_timeout, socket.shutdown()).await;
}
