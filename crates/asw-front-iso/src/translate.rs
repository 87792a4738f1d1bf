//! ISO 8583 messages into the core's domain requests: the terminal key (F41/F42/F11/F12/F13),
//! the amount (F4/F49), the payment code and the original's references (F37, F48 `PR`/`PI`),
//! and the digest that tells a re-sent request from another with the same key.

use asw_core::domain::{PaymentCode, TerminalKey};
use asw_core::flows::{
    OriginalRef, PurchaseRequest, RefundRequest, ReversalRequest, StatusInquiry, VoidRequest,
};
use asw_iso8583::{Message, Mti, PrivateData, Tag};
use aws_lc_rs::digest;

use crate::front::processing_code;

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

pub(crate) fn void(message: &Message) -> Result<VoidRequest, &'static str> {
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

pub(crate) fn refund(message: &Message) -> Result<RefundRequest, &'static str> {
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

pub(crate) fn reversal(message: &Message) -> Result<ReversalRequest, &'static str> {
    let mti = message.mti();
    Ok(ReversalRequest {
        original_key: key(message)?,
        amount_minor: amount(message)?.0,
        of_purchase: text(message, 3)? == processing_code::PURCHASE,
        advice: mti == Mti::REVERSAL_ADVICE || mti == Mti::REVERSAL_ADVICE_REPEAT,
    })
}

pub(crate) fn status(message: &Message) -> Result<StatusInquiry, &'static str> {
    let original = original_ref(message)?;
    if original.rrn.is_none() && original.payment_request_id.is_none() {
        return Err("status inquiry needs the original F37 or F48 PR");
    }
    Ok(StatusInquiry {
        key: key(message)?,
        original,
    })
}

