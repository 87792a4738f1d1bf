//! The core's [`Answer`] back to an ISO 8583 response: field 39 from the one outcome table
//! ([`crate::response_code::for_outcome`]), the receipt fields and the field-48 tags.

use asw_core::flows::{Answer, Outcome};
use asw_iso8583::{Dialect, Message, PrivateDataBuilder, Tag};
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
    builder.set(39, code.to_string()).ok()?;
    Some(builder.build())
}
