//! ISO 8583 ⇄ domain translation: routes a decoded terminal message to its flow and builds the
//! response message from the flow's [`Answer`].
//!
//! Network management (0800) is answered by the downstream adapter; everything else arrives
//! here. Validation failures answer 39 = 30 on the response MTI; unsupported messages 39 = 12.

use std::sync::Arc;

use asw_iso8583::{Dialect, Message, Mti, PrivateData, PrivateDataBuilder, Tag};
use async_trait::async_trait;
use aws_lc_rs::digest;
use tracing::warn;

use crate::domain::{PaymentCode, TerminalKey};
use crate::flows::{
    Answer, Core, OriginalRef, PurchaseRequest, RefundRequest, Reply, ReversalRequest,
    StatusInquiry, Undelivered, VoidRequest,
};
use crate::response_code as rc;

/// Fields every response echoes from its request when present, so the terminal can match it.
const ECHO: &[u8] = &[3, 4, 7, 11, 12, 13, 24, 25, 41, 42, 49, 60, 62];

/// Processing codes (F3) of the flows this switch supports.
pub mod processing_code {
    /// Purchase with a customer-presented code.
    pub const PURCHASE: &str = "000000";
    /// Void of a purchase.
    pub const VOID: &str = "020000";
    /// Refund.
    pub const REFUND: &str = "200000";
    /// Status inquiry (private use range).
    pub const STATUS: &str = "900000";
}

/// The way back to the terminal for a whole ISO message.
#[async_trait]
pub trait IsoReply: Send + 'static {
    /// Writes the response; resolves once written (or failed).
    async fn send(self: Box<Self>, response: Message) -> Result<(), Undelivered>;
}

/// Routes decoded terminal messages into the core's flows.
pub struct IsoFront {
    core: Arc<Core>,
    dialect: Arc<Dialect>,
}

impl IsoFront {
    /// Builds the front for one dialect.
    pub fn new(core: Arc<Core>, dialect: Arc<Dialect>) -> Self {
        Self { core, dialect }
    }

    /// Handles one financial message to completion (never cancelled by a disconnect).
    pub async fn handle(&self, request: Message, reply: Box<dyn IsoReply>) {
        let mti = request.mti();
        let respond = Box::new(Responder {
            request: request.clone(),
            dialect: Arc::clone(&self.dialect),
            inner: reply,
        });
        let processing = request.get_str(3).unwrap_or_default();
        match (mti.as_str(), processing) {
            ("0200", processing_code::PURCHASE) => match purchase_request(&request) {
                Ok(p) => self.core.purchase(p, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            ("0200", processing_code::VOID) => match void(&request) {
                Ok(v) => self.core.void(v, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            ("0200", processing_code::REFUND) => match refund(&request) {
                Ok(r) => self.core.refund(r, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            ("0400" | "0401" | "0420" | "0421", _) => match reversal(&request) {
                Ok(r) => self.core.reverse(r, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            ("0100", processing_code::STATUS) => match status(&request) {
                Ok(s) => self.core.status(s, respond).await,
                Err(why) => reject(respond, rc::FORMAT_ERROR, why).await,
            },
            _ => reject(respond, rc::INVALID_TRANSACTION, "unsupported message").await,
        }
    }
}

async fn reject(reply: Box<Responder>, code: &'static str, why: &'static str) {
    let answer = Answer::rejected(code, why);
    if reply.send(&answer).await.is_err() {
        tracing::debug!("terminal gone before a rejection");
    }
}

/// Builds the ISO response for an [`Answer`] and writes it.
struct Responder {
    request: Message,
    dialect: Arc<Dialect>,
    inner: Box<dyn IsoReply>,
}

#[async_trait]
impl Reply for Responder {
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered> {
        let response = build_response(&self.dialect, &self.request, answer);
        match response {
            Some(message) => self.inner.send(message).await,
            None => Err(Undelivered),
        }
    }
}

/// The response message for `request` carrying `answer`; falls back to the bare minimum (echo +
/// 39) if an optional field does not fit the dialect, and to `None` when the request's MTI has
/// no response MTI.
pub fn build_response(dialect: &Dialect, request: &Message, answer: &Answer) -> Option<Message> {
    let full = (|| {
        let mut builder = request.respond(dialect, ECHO).ok()?;
        if let Some(rrn) = &answer.rrn {
            builder.set_padded(37, rrn).ok()?;
        }
        if let Some(code) = answer
            .approval_code
            .as_deref()
            .filter(|_| answer.is_approval())
        {
            builder.set_padded(38, code).ok()?;
        }
        builder.set(39, answer.response_code).ok()?;
        let is_financial = request.mti().as_str() == "0200" || request.mti().as_str() == "0100";
        if is_financial {
            let mut tlv = PrivateDataBuilder::new();
            let tags = [
                (
                    Tag::PaymentRequestId,
                    answer.payment_request_id.as_ref().map(|p| p.as_str()),
                ),
                (Tag::PaymentId, answer.payment_id.as_deref()),
                (
                    Tag::RefundRequestId,
                    answer.refund_request_id.as_ref().map(|r| r.as_str()),
                ),
                (Tag::RefundId, answer.refund_id.as_deref()),
                (Tag::WalletName, answer.wallet.as_deref()),
                (Tag::ResultMessage, answer.result_text.as_deref()),
            ];
            for (tag, value) in tags {
                if let Some(value) = value.filter(|v| !v.is_empty()) {
                    let value: String = value.chars().take(tag.max_len()).collect();
                    tlv.push(tag, &value).ok()?;
                }
            }
            if !tlv.is_empty() {
                builder.set(48, tlv.build()).ok()?;
            }
        }
        Some(builder.build())
    })();
    if full.is_some() {
        return full;
    }
    warn!(
        mti = request.mti().as_str(),
        "full response did not fit the dialect: minimal response"
    );
    let mut builder = request.respond(dialect, ECHO).ok()?;
    builder.set(39, answer.response_code).ok()?;
    Some(builder.build())
}

fn text(message: &Message, n: u8) -> Result<&str, &'static str> {
    message.get_str(n).ok_or(match n {
        3 => "missing F3",
        4 => "missing F4",
        11 => "missing F11",
        12 => "missing F12",
        13 => "missing F13",
        41 => "missing F41",
        42 => "missing F42",
        49 => "missing F49",
        _ => "missing field",
    })
}

fn key(message: &Message) -> Result<TerminalKey, &'static str> {
    Ok(TerminalKey {
        merchant_id: text(message, 42)?.trim_end().to_string(),
        terminal_id: text(message, 41)?.trim_end().to_string(),
        local_date: text(message, 13)?.to_string(),
        local_time: text(message, 12)?.to_string(),
        stan: text(message, 11)?.to_string(),
    })
}

fn amount(message: &Message) -> Result<(u64, u16), &'static str> {
    let minor = text(message, 4)?
        .parse::<u64>()
        .map_err(|_| "F4 not numeric")?;
    let currency = text(message, 49)?
        .parse::<u16>()
        .map_err(|_| "F49 not numeric")?;
    Ok((minor, currency))
}

fn private_data(message: &Message) -> Result<Option<PrivateData<'_>>, &'static str> {
    match message.get(48) {
        None => Ok(None),
        Some(raw) => PrivateData::parse(raw)
            .map(Some)
            .map_err(|_| "F48 is not valid TLV"),
    }
}

fn original_ref(message: &Message) -> Result<OriginalRef, &'static str> {
    let tlv = private_data(message)?;
    Ok(OriginalRef {
        rrn: message
            .get_str(37)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        payment_request_id: tlv
            .as_ref()
            .and_then(|t| t.get(Tag::PaymentRequestId))
            .map(String::from),
        payment_id: tlv
            .as_ref()
            .and_then(|t| t.get(Tag::PaymentId))
            .map(String::from),
    })
}

/// Digest of what makes two requests "the same request" for duplicate detection.
fn content_digest(message: &Message, fields: &[u8], code: Option<&str>) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(message.mti().as_str().as_bytes());
    for &n in fields {
        ctx.update(&[n]);
        if let Some(v) = message.get(n) {
            ctx.update(v);
        }
        ctx.update(b"\x1f");
    }
    if let Some(code) = code {
        ctx.update(code.as_bytes());
    }
    hex::encode(ctx.finish().as_ref())
}

/// Reads a 0200 purchase into the core's request (the terminal key, amount, payment code from
/// F48 `PC`, and the digest that tells a re-send from a different request with the same key).
pub fn purchase_request(message: &Message) -> Result<PurchaseRequest, &'static str> {
    let key = key(message)?;
    let (amount_minor, currency_numeric) = amount(message)?;
    let tlv = private_data(message)?.ok_or("missing F48")?;
    let code = tlv.get(Tag::PaymentCode).ok_or("missing F48 PC")?;
    Ok(PurchaseRequest {
        content_digest: content_digest(message, &[3, 4, 12, 49, 62], Some(code)),
        key,
        amount_minor,
        currency_numeric,
        payment_code: PaymentCode::new(code),
        reference_order_id: message
            .get_str(62)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    })
}

fn void(message: &Message) -> Result<VoidRequest, &'static str> {
    let original = original_ref(message)?;
    if original.rrn.is_none() && original.payment_request_id.is_none() {
        return Err("void needs the original F37 or F48 PR");
    }
    Ok(VoidRequest {
        key: key(message)?,
        amount_minor: amount(message)?.0,
        original,
    })
}

fn refund(message: &Message) -> Result<RefundRequest, &'static str> {
    let original = original_ref(message)?;
    // `PI` alone names nothing the switch can scope to its sender (the journal is not indexed
    // by Antom's id): it only confirms what F37 or `PR` found.
    if original.rrn.is_none() && original.payment_request_id.is_none() {
        return Err("refund needs the original F37 or F48 PR");
    }
    let (amount_minor, currency_numeric) = amount(message)?;
    Ok(RefundRequest {
        content_digest: content_digest(message, &[3, 4, 12, 37, 48, 49], None),
        key: key(message)?,
        amount_minor,
        currency_numeric,
        original,
    })
}

fn reversal(message: &Message) -> Result<ReversalRequest, &'static str> {
    let mti = message.mti();
    Ok(ReversalRequest {
        original_key: key(message)?,
        amount_minor: amount(message)?.0,
        original_processing_code: text(message, 3)?.to_string(),
        advice: mti == Mti::REVERSAL_ADVICE || mti == Mti::REVERSAL_ADVICE_REPEAT,
    })
}

fn status(message: &Message) -> Result<StatusInquiry, &'static str> {
    let original = original_ref(message)?;
    if original.rrn.is_none() && original.payment_request_id.is_none() {
        return Err("status inquiry needs the original F37 or F48 PR");
    }
    Ok(StatusInquiry {
        key: key(message)?,
        original,
    })
}
