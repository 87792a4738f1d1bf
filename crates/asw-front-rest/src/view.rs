//! The one table from the core's view of a payment to what a merchant is shown.
//!
//! `succeeded` comes only from an [`Answer`] whose outcome is `Approved`: the core gives that
//! only once the approval is marked handed over (before the closing time), so a payment shown
//! `succeeded` is never cancelled for want of delivery. A record read without such an answer
//! (the POST stopped waiting) shows an approval as `pending` until a read delivers it.

use asw_core::flows::{Answer, Outcome};
use asw_core::record::{NextAction, TransactionRecord};
use asw_core::state::TxnState;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::ids::{payment_id, refund_id};
use crate::model::{
    AmountJson, AntomRefs, Failure, MethodJson, NextActionJson, PaymentJson, RefundAntomRefs,
    RefundJson, SessionJson,
};

/// The merchant's view of a purchase record, given what the core answered about it (if it did).
pub fn payment_json(record: &TransactionRecord, answer: Option<&Answer>) -> PaymentJson {
    payment_json_told(
        record,
        answer.is_some_and(|a| a.outcome == Outcome::Approved),
    )
}

/// The merchant's view of a purchase record; `told_approved` when the core handed the approval
/// over for this very answer or event (the only way a view says `succeeded`).
pub fn payment_json_told(record: &TransactionRecord, told_approved: bool) -> PaymentJson {
    let approved = told_approved;
    let status = status(record, approved);
    let failure = failure(record, status);
    let amount = |value| AmountJson {
        currency: record.currency.clone(),
        value,
    };
    PaymentJson {
        id: payment_id(&record.payment_request_id),
        order_id: record.order_ref.clone(),
        status: status.to_string(),
        amount: amount(record.amount_minor),
        amount_refunded: amount(record.refunded_minor),
        method: match &record.online {
            Some(online) if online.session.is_some() => MethodJson::CheckoutPage {
                methods: online
                    .session
                    .as_ref()
                    .map(|s| s.methods.clone())
                    .unwrap_or_default(),
            },
            Some(online) if online.method_type == "CARD" => MethodJson::Card {
                terminal_type: online.terminal_type.clone(),
                three_ds: online
                    .card_checks
                    .as_ref()
                    .and_then(|c| c.three_ds.then_some(true)),
                billing_address: online
                    .card_checks
                    .as_ref()
                    .and_then(|c| c.billing_address.as_ref())
                    .map(crate::buyer_json::address_json),
            },
            Some(online) => MethodJson::Wallet {
                wallet: online.method_type.clone(),
                terminal_type: online.terminal_type.clone(),
                os_type: online.os_type.clone(),
            },
            None => MethodJson::PaymentCode {
                code: record.masked_payment_code.clone().unwrap_or_default(),
            },
        },
        next_action: (status == "requires_action")
            .then(|| record.online.as_ref().and_then(|o| o.next_action.as_ref()))
            .flatten()
            .map(next_action_json),
        description: record.description.clone(),
        metadata: record.metadata.clone(),
        failure,
        wallet: record.wallet.clone(),
        paid_with: record
            .online
            .as_ref()
            .and_then(|o| o.paid_with.as_ref())
            .map(crate::buyer_json::paid_with_json),
        antom: AntomRefs {
            payment_request_id: record.payment_request_id.to_string(),
            payment_id: record.payment_id.clone(),
        },
        created_at: rfc3339(record.created_at_ms),
        expires_at: rfc3339(record.payment_expiry_ms),
    }
}

/// The merchant's view of a Checkout Page session's record (see [`payment_json`] for what
/// `succeeded` needs). The page and its data are shown only while the buyer may act.
pub fn session_json(record: &TransactionRecord, answer: Option<&Answer>) -> SessionJson {
    let payment = payment_json(record, answer);
    let session = record.online.as_ref().and_then(|o| o.session.as_ref());
    let open = payment.status == "requires_action";
    SessionJson {
        id: payment.id,
        order_id: payment.order_id,
        url: payment
            .next_action
            .as_ref()
            .and_then(|n| n.url.clone())
            .filter(|_| open),
        payment_session_data: session.and_then(|s| s.data.clone()).filter(|_| open),
        status: payment.status,
        expires_at: rfc3339(session.map_or(record.payment_expiry_ms, |s| s.expires_at_ms)),
        closes_at: rfc3339(record.gateway_deadline_ms),
        amount: payment.amount,
        method: payment.method,
        failure: payment.failure,
        antom: payment.antom,
        created_at: payment.created_at,
    }
}

/// The merchant's view of a refund record. A refund is never cancelled: one not decided in
/// time is completed through the queue with the same `refundRequestId`, so it stays `pending`
/// until Antom says.
pub fn refund_json(record: &TransactionRecord) -> RefundJson {
    let status = match record.state {
        TxnState::Approved => "succeeded",
        TxnState::Declined => "failed",
        _ => "pending",
    };
    let failure = (status == "failed").then(|| Failure {
        code: record
            .result_code
            .clone()
            .unwrap_or_else(|| "DECLINED".into()),
        message: "Antom refused the refund; nothing was refunded".into(),
    });
    let rrid = record
        .refund_request_id
        .clone()
        .unwrap_or_else(|| asw_core::domain::RefundRequestId::new(record.journal_id().to_string()));
    RefundJson {
        id: refund_id(&rrid),
        payment_id: payment_id(&record.payment_request_id),
        status: status.to_string(),
        amount: AmountJson {
            currency: record.currency.clone(),
            value: record.amount_minor,
        },
        failure,
        antom: RefundAntomRefs {
            refund_request_id: rrid.as_str().to_string(),
            refund_id: record.refund_id.clone(),
        },
        created_at: rfc3339(record.created_at_ms),
    }
}

/// Where the buyer goes on, as Antom gave it.
fn next_action_json(next: &NextAction) -> NextActionJson {
    NextActionJson {
        kind: if next.is_redirect() {
            "redirect"
        } else {
            "display_code"
        }
        .to_string(),
        url: next.url.clone(),
        applink_url: next.applink_url.clone(),
        scheme_url: next.scheme_url.clone(),
        app_identifier: next.app_identifier.clone(),
        code: next.code_value.clone(),
        code_expires_at: next.code_expires_at.clone(),
    }
}

fn status(record: &TransactionRecord, approved: bool) -> &'static str {
    let online = record.online.as_ref();
    match record.state {
        // Created at Antom, awaiting the buyer on the method's page.
        TxnState::Pending | TxnState::Unknown
            if online.is_some_and(|o| o.next_action.is_some()) =>
        {
            "requires_action"
        }
        // An online payment closed unpaid at its closing time: it expired (a late payment was
        // cancelled by that close).
        TxnState::CancelPending
        | TxnState::Cancelled
        | TxnState::RefundPending
        | TxnState::Refunded
            if online.is_some()
                && record.cancel_reason == Some(asw_core::state::CancelReason::GatewayDeadline) =>
        {
            "expired"
        }
        TxnState::Approved if approved => {
            if record.refunded_minor == 0 {
                "succeeded"
            } else if record.refunded_minor >= record.amount_minor {
                "refunded"
            } else {
                "partially_refunded"
            }
        }
        // Antom holds it, but the merchant was not told: it becomes `succeeded` when a read
        // delivers it before the closing time, or `cancelled` after it.
        TxnState::Approved => "pending",
        TxnState::Pending | TxnState::Unknown => "pending",
        TxnState::Declined => "failed",
        TxnState::CancelPending
        | TxnState::Cancelled
        | TxnState::RefundPending
        | TxnState::Refunded => "cancelled",
        // The queue gave up on the cancel: an operator reconciles; nothing here is final yet.
        TxnState::Failed => "pending",
        TxnState::Authorized => "authorized",
        TxnState::Expired => "expired",
    }
}

fn failure(record: &TransactionRecord, status: &str) -> Option<Failure> {
    if asw_core::flows::session_not_created(record) {
        return Some(Failure {
            code: "session_not_created".into(),
            message: "Antom's answer to the session was unknown: it was never handed out and is \
                      cancelled; create a new session"
                .into(),
        });
    }
    match status {
        "failed" => Some(Failure {
            code: record
                .result_code
                .clone()
                .unwrap_or_else(|| "DECLINED".into()),
            message: "Antom declined the payment; nothing was charged".into(),
        }),
        "cancelled" => Some(Failure {
            code: record
                .cancel_reason
                .map_or("cancelled", |r| r.as_str())
                .to_string(),
            message: "the payment was cancelled at Antom; nothing stays charged".into(),
        }),
        "expired" => Some(Failure {
            code: "expired".into(),
            message: "the payment expired unpaid".into(),
        }),
        _ => None,
    }
}

/// Milliseconds since the epoch as RFC 3339.
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}
