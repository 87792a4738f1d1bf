//! ISO 8583 messages into the core's domain requests: the terminal key (F41/F42/F11/F12/F13) and
//! every id derived from it, the amount (F4/F49), the payment code and the original's references
//! (F37, F48 `PR`/`PI`), and the digest that tells a re-sent request from another with the same
//! key. Anything unreadable is an `Err` with the text the front answers 30 with.

use asw_core::domain::{Origin, PaymentCode};
use asw_core::flows::{
    OrderCodeRequest, OriginalRef, PurchaseRequest, RefundRequest, RequestKey, ReversalRequest,
    ReversedRequest, StatusInquiry, VoidRequest, WhileRunning,
};
use asw_core::ids::IdGenerator;
use asw_iso8583::{Message, Mti, PrivateData, Tag};
use aws_lc_rs::digest;
use time::Date;

use crate::front::processing_code;
use crate::terminal_ids::{DatedKey, TerminalKey, infer_year, parse_rrn, rrn};

/// What deriving a terminal request's ids needs: the deployment's keyed hash, and today's date
/// (F13 carries no year).
#[derive(Clone, Copy)]
pub struct Derive<'a> {
    /// The deployment's id generator.
    pub ids: &'a IdGenerator,
    /// Today, in UTC.
    pub today: Date,
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

fn origin(key: &TerminalKey) -> Origin {
    Origin::terminal(key.merchant_id.clone(), key.terminal_id.clone())
}

fn dated(key: &TerminalKey, today: Date) -> Result<DatedKey<'_>, &'static str> {
    let year = infer_year(&key.local_date, today).ok_or("F13 is not a date")?;
    Ok(DatedKey { key, year })
}

/// The identity of the request `key` names: its duplicate-detection key, shard tag, RRN and
/// local time.
fn request_key(dated: &DatedKey<'_>, ids: &IdGenerator) -> Result<RequestKey, &'static str> {
    Ok(RequestKey {
        origin: origin(dated.key),
        dedup_key: dated.dedup_string(),
        tag: dated.tag(ids),
        receipt_ref: rrn(dated).ok_or("F12/F13 are not a time")?,
        local_time: Some(dated.local_time().ok_or("F12/F13 are not a time")?),
    })
}

/// The references a follow-up gives for its original. An F37 RRN names one of the sender's own
/// requests (RRNs are unique per terminal): it is turned back into that request's key.
fn original_ref(
    message: &Message,
    sender: &TerminalKey,
    derive: Derive<'_>,
) -> Result<OriginalRef, &'static str> {
    let tlv = private_data(message)?;
    let rrn_value = message
        .get_str(37)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let own_request = rrn_value
        .as_deref()
        .and_then(|r| parse_rrn(r, derive.today))
        .map(|(local_date, year, stan)| {
            let key = TerminalKey {
                merchant_id: sender.merchant_id.clone(),
                terminal_id: sender.terminal_id.clone(),
                local_date,
                local_time: String::new(),
                stan,
            };
            let dated = DatedKey { key: &key, year };
            (dated.dedup_string(), dated.tag(derive.ids))
        });
    Ok(OriginalRef {
        payment_request_id: tlv
            .as_ref()
            .and_then(|t| t.get(Tag::PaymentRequestId))
            .map(String::from),
        own_request,
        receipt_ref: rrn_value,
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

/// Reads a 0200 purchase into the core's request (the terminal key and its ids, amount, payment
/// code from F48 `PC`, and the digest that tells a re-send from a different request with the
/// same key).
pub fn purchase_request(
    message: &Message,
    derive: Derive<'_>,
) -> Result<PurchaseRequest, &'static str> {
    let key = key(message)?;
    let (amount_minor, currency_numeric) = amount(message)?;
    let tlv = private_data(message)?.ok_or("missing F48")?;
    let code = tlv.get(Tag::PaymentCode).ok_or("missing F48 PC")?;
    let dated = dated(&key, derive.today)?;
    Ok(PurchaseRequest {
        content_digest: content_digest(message, &[3, 4, 12, 49, 62], Some(code)),
        while_running: WhileRunning::WaitForOutcome,
        store_terminal: None,
        store: None,
        description: None,
        metadata: Default::default(),
        request: request_key(&dated, derive.ids)?,
        payment_request_id: dated.payment_request_id(derive.ids, amount_minor),
        amount_minor,
        currency_numeric,
        payment_code: PaymentCode::new(code),
        reference_order_id: message
            .get_str(62)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    })
}

/// Reads a 0200 order code request (F3 `910000`): a purchase's key, ids and amount, and no
/// payment code — the buyer scans the code the switch returns. A `PC` here is a terminal that
/// confused the two flows: refused rather than ignored.
pub fn order_code(message: &Message, derive: Derive<'_>) -> Result<OrderCodeRequest, &'static str> {
    let key = key(message)?;
    let (amount_minor, currency_numeric) = amount(message)?;
    if private_data(message)?.is_some_and(|t| t.get(Tag::PaymentCode).is_some()) {
        return Err("F48 PC is not allowed in an order code request");
    }
    let dated = dated(&key, derive.today)?;
    Ok(OrderCodeRequest {
        content_digest: content_digest(message, &[3, 4, 12, 49, 62], None),
        request: request_key(&dated, derive.ids)?,
        // Derived exactly as a purchase's: a reversal of it derives the same id.
        payment_request_id: dated.payment_request_id(derive.ids, amount_minor),
        amount_minor,
        currency_numeric,
        reference_order_id: message
            .get_str(62)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    })
}

/// Reads a 0200 void.
pub fn void(message: &Message, derive: Derive<'_>) -> Result<VoidRequest, &'static str> {
    let key = key(message)?;
    let original = original_ref(message, &key, derive)?;
    if original.receipt_ref.is_none() && original.payment_request_id.is_none() {
        return Err("void needs the original F37 or F48 PR");
    }
    let receipt_ref = dated(&key, derive.today).ok().and_then(|d| rrn(&d));
    Ok(VoidRequest {
        origin: origin(&key),
        receipt_ref,
        amount_minor: amount(message)?.0,
        original,
    })
}

/// Reads a 0200 refund.
pub fn refund(message: &Message, derive: Derive<'_>) -> Result<RefundRequest, &'static str> {
    let key = key(message)?;
    let original = original_ref(message, &key, derive)?;
    // `PI` alone names nothing the switch can scope to its sender (the journal is not indexed
    // by Antom's id): it only confirms what F37 or `PR` found.
    if original.receipt_ref.is_none() && original.payment_request_id.is_none() {
        return Err("refund needs the original F37 or F48 PR");
    }
    let (amount_minor, currency_numeric) = amount(message)?;
    let dated = dated(&key, derive.today)?;
    Ok(RefundRequest {
        content_digest: content_digest(message, &[3, 4, 12, 37, 48, 49], None),
        request: request_key(&dated, derive.ids)?,
        refund_request_id: dated.refund_request_id(derive.ids, amount_minor),
        amount_minor,
        currency_numeric,
        original,
    })
}

/// Reads a 0400/0401 reversal or 0420/0421 advice: its key is the original's (same F11/F12/F13),
/// from which the original's ids follow even when the journal never saw it.
pub fn reversal(message: &Message, derive: Derive<'_>) -> Result<ReversalRequest, &'static str> {
    let mti = message.mti();
    let key = key(message)?;
    let amount_minor = amount(message)?.0;
    let dated = dated(&key, derive.today)?;
    Ok(ReversalRequest {
        origin: origin(&key),
        original: ReversedRequest {
            dedup_key: dated.dedup_string(),
            tag: dated.tag(derive.ids),
            payment_request_id: dated.payment_request_id(derive.ids, amount_minor),
        },
        amount_minor,
        of_purchase: matches!(
            text(message, 3)?,
            processing_code::PURCHASE | processing_code::ORDER_CODE
        ),
        advice: mti == Mti::REVERSAL_ADVICE || mti == Mti::REVERSAL_ADVICE_REPEAT,
    })
}

/// Reads a 0100 status inquiry.
pub fn status(message: &Message, derive: Derive<'_>) -> Result<StatusInquiry, &'static str> {
    let key = key(message)?;
    let original = original_ref(message, &key, derive)?;
    if original.receipt_ref.is_none() && original.payment_request_id.is_none() {
        return Err("status inquiry needs the original F37 or F48 PR");
    }
    Ok(StatusInquiry {
        origin: origin(&key),
        original,
    })
}
