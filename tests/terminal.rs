//! A test terminal: builds the dialect's messages, sends them over a real TCP connection and
//! waits for the matching response.

use std::net::SocketAddr;
use std::time::Duration;

use asw_iso8583::{
    Dialect, Frame, FrameCodec, LengthPrefix, Message, MessageBuilder, Mti, PrivateData,
    PrivateDataBuilder, Tag, Tpdu, decode, encode_to_bytes,
};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

use crate::{MID, SGD, TID};

/// One terminal connection (profile B, TPDU, 2-byte length).
pub struct TestTerminal {
    framed: Framed<TcpStream, FrameCodec>,
    dialect: Dialect,
    /// Merchant id sent in F42.
    pub mid: String,
    /// Terminal id sent in F41.
    pub tid: String,
}

/// What a purchase needs to be reversed, voided or refunded later.
#[derive(Clone, Debug)]
pub struct Sent {
    /// F11.
    pub stan: String,
    /// F12.
    pub time: String,
    /// F13.
    pub date: String,
    /// F4.
    pub amount: u64,
}

/// How a follow-up names its original.
#[derive(Clone, Debug, Default)]
pub struct OriginalRef {
    /// F37.
    pub rrn: Option<String>,
    /// F48 `PR`.
    pub payment_request_id: Option<String>,
    /// F48 `PI`.
    pub payment_id: Option<String>,
}

/// A decoded response with helpers.
#[derive(Clone, Debug)]
pub struct Response {
    /// The message.
    pub message: Message,
}

impl Response {
    /// F39.
    pub fn code(&self) -> &str {
        self.message.get_str(39).unwrap_or("")
    }

    /// A field-48 tag.
    pub fn tag(&self, tag: Tag) -> Option<String> {
        let raw = self.message.get(48)?;
        PrivateData::parse(raw).ok()?.get(tag).map(String::from)
    }

    /// F48 `PR`.
    pub fn payment_request_id(&self) -> Option<String> {
        self.tag(Tag::PaymentRequestId)
    }

    /// F37.
    pub fn rrn(&self) -> Option<String> {
        self.message.get_str(37).map(|s| s.trim().to_string())
    }
}

fn now_local() -> (String, String) {
    let now = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(8, 0, 0).expect("offset"));
    (
        format!("{:02}{:02}{:02}", now.hour(), now.minute(), now.second()),
        format!("{:02}{:02}", u8::from(now.month()), now.day()),
    )
}

impl TestTerminal {
    /// Connects to the switch.
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr)
            .await
            .expect("connect to the switch");
        stream.set_nodelay(true).ok();
        Self {
            framed: Framed::new(
                stream,
                FrameCodec::new(LengthPrefix::BinaryExclusive, true, 4096),
            ),
            dialect: Dialect::pos_binary().expect("dialect"),
            mid: MID.into(),
            tid: TID.into(),
        }
    }

    /// The dialect of this terminal.
    pub fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    /// Sends a message without waiting.
    pub async fn send(&mut self, message: &Message) {
        let payload = encode_to_bytes(&self.dialect, message).expect("encode");
        self.framed
            .send(Frame::Message {
                tpdu: Some(Tpdu::new([0x00, 0x01], [0x00, 0x02])),
                payload,
            })
            .await
            .expect("send");
    }

    /// Waits for the next response (keep-alives skipped).
    pub async fn receive(&mut self, within: Duration) -> Option<Response> {
        loop {
            let frame = tokio::time::timeout(within, self.framed.next())
                .await
                .ok()??
                .ok()?;
            if let Frame::Message { payload, .. } = frame {
                let message = decode(&self.dialect, payload).expect("decode response");
                return Some(Response { message });
            }
        }
    }

    /// Sends and waits for the response (up to 15 s).
    pub async fn request(&mut self, message: &Message) -> Response {
        self.send(message).await;
        self.receive(Duration::from_secs(15))
            .await
            .expect("a response from the switch")
    }

    fn base(
        &self,
        mti: Mti,
        processing: &str,
        stan: &str,
        time: &str,
        date: &str,
        amount: u64,
    ) -> MessageBuilder<'_> {
        let mut b = MessageBuilder::new(&self.dialect, mti);
        b.set(3, processing.to_string()).expect("F3");
        b.set_number(4, amount).expect("F4");
        b.set(11, stan.to_string()).expect("F11");
        b.set(12, time.to_string()).expect("F12");
        b.set(13, date.to_string()).expect("F13");
        b.set(25, "00").expect("F25");
        b.set_padded(41, &self.tid).expect("F41");
        b.set_padded(42, &self.mid).expect("F42");
        b.set_number(49, u64::from(SGD)).expect("F49");
        b
    }

    /// A 0200 purchase message for `code` (payment code) and `amount` cents.
    pub fn purchase_message(&self, stan: &str, amount: u64, code: &str) -> (Message, Sent) {
        let (time, date) = now_local();
        let mut b = self.base(Mti::FINANCIAL_REQUEST, "000000", stan, &time, &date, amount);
        b.set(22, "032").expect("F22");
        let mut tlv = PrivateDataBuilder::new();
        tlv.push(Tag::PaymentCode, code).expect("PC");
        b.set(48, tlv.build()).expect("F48");
        (
            b.build(),
            Sent {
                stan: stan.into(),
                time,
                date,
                amount,
            },
        )
    }

    /// Sends a purchase and waits for its answer.
    pub async fn purchase(&mut self, stan: &str, amount: u64, code: &str) -> (Response, Sent) {
        let (message, sent) = self.purchase_message(stan, amount, code);
        (self.request(&message).await, sent)
    }

    /// A 0400 (or 0420/0421 with `advice`) reversal of `original`.
    pub fn reversal_message(&self, original: &Sent, mti: Mti) -> Message {
        let mut b = self.base(
            mti,
            "000000",
            &original.stan,
            &original.time,
            &original.date,
            original.amount,
        );
        b.set(39, "98").ok();
        b.build()
    }

    /// A void (0200 `020000`) of a purchase, quoting its RRN.
    pub fn void_message(&self, stan: &str, amount: u64, rrn: &str) -> Message {
        let (time, date) = now_local();
        let mut b = self.base(Mti::FINANCIAL_REQUEST, "020000", stan, &time, &date, amount);
        b.set_padded(37, rrn).expect("F37");
        b.build()
    }

    /// A refund (0200 `200000`) of a purchase, quoting its `paymentRequestId`.
    pub fn refund_message(&self, stan: &str, amount: u64, payment_request_id: &str) -> Message {
        let (time, date) = now_local();
        let mut b = self.base(Mti::FINANCIAL_REQUEST, "200000", stan, &time, &date, amount);
        let mut tlv = PrivateDataBuilder::new();
        tlv.push(Tag::PaymentRequestId, payment_request_id)
            .expect("PR");
        b.set(48, tlv.build()).expect("F48");
        b.build()
    }

    /// Connects as another terminal (F42/F41) of the test configuration.
    pub async fn connect_as(addr: SocketAddr, mid: &str, tid: &str) -> Self {
        let mut t = Self::connect(addr).await;
        t.mid = mid.into();
        t.tid = tid.into();
        t
    }

    /// A void, refund (0200) or status inquiry (0100 `900000`) naming its original by any mix
    /// of F37 RRN, F48 `PR` and F48 `PI`.
    pub fn follow_up_message(
        &self,
        processing: &str,
        stan: &str,
        amount: u64,
        original: &OriginalRef,
    ) -> Message {
        let (time, date) = now_local();
        let mut b = if processing == "900000" {
            let mut b = MessageBuilder::new(&self.dialect, Mti::AUTH_REQUEST);
            b.set(3, processing.to_string()).expect("F3");
            b.set(11, stan.to_string()).expect("F11");
            b.set(12, time).expect("F12");
            b.set(13, date).expect("F13");
            b.set_padded(41, &self.tid).expect("F41");
            b.set_padded(42, &self.mid).expect("F42");
            b
        } else {
            self.base(
                Mti::FINANCIAL_REQUEST,
                processing,
                stan,
                &time,
                &date,
                amount,
            )
        };
        if let Some(rrn) = &original.rrn {
            b.set_padded(37, rrn).expect("F37");
        }
        let mut tlv = PrivateDataBuilder::new();
        if let Some(pr) = &original.payment_request_id {
            tlv.push(Tag::PaymentRequestId, pr).expect("PR");
        }
        if let Some(pi) = &original.payment_id {
            tlv.push(Tag::PaymentId, pi).expect("PI");
        }
        if !tlv.is_empty() {
            b.set(48, tlv.build()).expect("F48");
        }
        b.build()
    }

    /// A status inquiry (0100 `900000`) about a `paymentRequestId`.
    pub fn status_message(&self, stan: &str, payment_request_id: &str) -> Message {
        let (time, date) = now_local();
        let mut b = MessageBuilder::new(&self.dialect, Mti::AUTH_REQUEST);
        b.set(3, "900000").expect("F3");
        b.set(11, stan.to_string()).expect("F11");
        b.set(12, time).expect("F12");
        b.set(13, date).expect("F13");
        b.set_padded(41, &self.tid).expect("F41");
        b.set_padded(42, &self.mid).expect("F42");
        let mut tlv = PrivateDataBuilder::new();
        tlv.push(Tag::PaymentRequestId, payment_request_id)
            .expect("PR");
        b.set(48, tlv.build()).expect("F48");
        b.build()
    }
}
