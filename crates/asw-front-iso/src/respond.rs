//! The core's [`Answer`] back to an ISO 8583 response: field 39 from the one outcome table
//! ([`crate::response_code::for_outcome`]), the receipt fields and the field-48 tags.

use asw_core::flows::{Answer, Outcome};
use asw_iso8583::{Dialect, Message, PrivateDataBuilder, Tag};
use time::{OffsetDateTime, UtcOffset};
use tracing::warn;

use crate::response_code as rc;

/// Fields every response echoes from its request when present, so the terminal can match it.
pub const ECHO: &[u8] = &asw_iso8583::echo::RESPONSE;

/// The response to a message the front refuses itself (the core never saw it): 39 = `code`,
/// `RM` = `why`, nothing else.
pub fn rejection(dialect: &Dialect, request: &Message, code: &str, why: &str) -> Option<Message> {
    // Only the text of this answer is used: the explicit code stands in for an outcome, and a
    // bare answer carries no ids and no approval code.
    let text_only = Answer::bare(Outcome::Unresolved, why);
    respond_with(dialect, request, code, &text_only)
}

/// The response message for `request` carrying `answer`; falls back to the bare minimum (echo +
/// 39) if an optional field does not fit the dialect, and to `None` when the request's MTI has
/// no response MTI.
pub fn build_response(dialect: &Dialect, request: &Message, answer: &Answer) -> Option<Message> {
    respond_with(dialect, request, rc::for_outcome(&answer.outcome), answer)
}

fn respond_with(
    dialect: &Dialect,
    request: &Message,
    code: &str,
    answer: &Answer,
) -> Option<Message> {
    let full = (|| {
        let mut builder = request.respond(dialect, ECHO).ok()?;
        if let Some(rrn) = &answer.receipt_ref {
            builder.set_padded(37, rrn).ok()?;
        }
        if let Some(code) = answer
            .approval_code
            .as_deref()
            .filter(|_| answer.is_approval())
        {
            builder.set_padded(38, code).ok()?;
        }
        builder.set(39, code.to_string()).ok()?;
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
            if let Some((code, expiry)) = displayed_code(answer) {
                // Never shortened: a code that does not fit is no code (the fallback below
                // answers without it, and the switch closes the payment at its deadline).
                tlv.push(Tag::OrderCode, code).ok()?;
                if let Some(expiry) = expiry {
                    tlv.push(Tag::OrderCodeExpiry, &expiry).ok()?;
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
    // "In progress" without the code to display would leave the terminal waiting for a
    // payment nobody can make: say it failed instead (the switch closes it at its deadline).
    let code = if code == rc::IN_PROGRESS {
        rc::SYSTEM_ERROR
    } else {
        code
    };
    let mut builder = request.respond(dialect, ECHO).ok()?;
    builder.set(39, code.to_string()).ok()?;
    Some(builder.build())
}

/// The order code to display and its expiry (`QE`: the store's local time, `YYYYMMDDhhmmss`),
/// when the answer says the buyer may pay it.
fn displayed_code(answer: &Answer) -> Option<(&str, Option<String>)> {
    if answer.outcome != Outcome::AwaitingBuyer {
        return None;
    }
    let order_code = answer.record.as_ref()?.order_code.as_ref()?;
    let code = order_code.code_value.as_deref().filter(|c| !c.is_empty())?;
    Some((
        code,
        local_time(order_code.expires_at_ms, order_code.utc_offset_minutes),
    ))
}

/// `ms` since the Unix epoch as `YYYYMMDDhhmmss` at a UTC offset of `offset_minutes`.
pub fn local_time(ms: i64, offset_minutes: i16) -> Option<String> {
    let offset = UtcOffset::from_whole_seconds(i32::from(offset_minutes) * 60).ok()?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()?
        .to_offset(offset);
    Some(format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    ))
}
