//! Card payments inside the ledger: the authorization (PROCESSING → SUCCESS, which for a card
//! means *authorized*), the capture that follows (automatic at once, or the merchant's
//! `capture` call), the saved cards, and what inquiries and the control API show of it.
//! Same rules as the rest of the ledger: pure, each decision taken while holding the entry.
//!
//! `capture` rules, in order (antom-online-api.md §5, §13.4):
//! 1. `paymentId` unknown → `AUTH_NOT_FOUND` (or `REPEAT_REQ_INCONSISTENT` when the
//!    `captureRequestId` belongs to another payment).
//! 2. A known `captureRequestId` → the same answer again when the amount is the same,
//!    `REPEAT_REQ_INCONSISTENT` otherwise (idempotency, before any state check).
//! 3. Not a card payment, or not authorized (processing, failed, closed) →
//!    `ORDER_STATUS_INVALID`; cancelled (authorization voided, or refunded) →
//!    `ORDER_IS_CANCELED`. Nothing is recorded.
//! 4. Otherwise the capture is recorded, `S` or `F`: other currency → `CURRENCY_NOT_SUPPORT`;
//!    past `authExpiryTime` → `AUTH_EXPIRED`; already captured → `MULTI_CAPTURE_NOT_SUPPORTED`;
//!    above what is left → `CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT`; below the authorized amount
//!    without `partial_capture` → `PARAM_ILLEGAL` (the hosted guide demands a full capture).
//!    An `S` sends `CAPTURE_RESULT` S; an `F` answer sends nothing (the request was refused,
//!    no capture ran).

use std::time::Duration;

use asw_antom::capture::{
    CaptureRequest, CaptureResponse, CaptureResultNotification, NOTIFY_TYPE_CAPTURE_RESULT,
};
use asw_antom::model::Transaction;
use asw_antom::{Amount, AntomResult, PaymentResultInfo, ResultStatus};
use dashmap::mapref::entry::Entry;
use time::OffsetDateTime;

use super::{Answer, Effect, Ledger, NotifyJob, PayState, Payment, fail, format_time, res};
use crate::card::{CaptureMode, CardOnFile};
use crate::config::{CaptureFault, SimConfig};

/// A saved card: who may use its token, and the card.
#[derive(Debug, Clone)]
pub(crate) struct SavedCard {
    pub client_id: String,
    pub card: CardOnFile,
}

/// The card part of an online payment.
#[derive(Debug, Clone)]
pub(crate) struct CardAuth {
    pub mode: CaptureMode,
    /// Set when authorized.
    pub card: Option<CardOnFile>,
    /// The `cardToken` of the authorized card.
    pub token: Option<String>,
    /// After this, no capture (`AUTH_EXPIRED`) and no void.
    pub auth_expires_at: Option<OffsetDateTime>,
    /// Every capture that reached an answer, in order.
    pub captures: Vec<CaptureRecord>,
    /// `captureRequestId`s whose first attempt got the configured fault.
    pub faulted: Vec<String>,
    /// The checks the merchant asked for in `paymentMethodMetaData`.
    pub checks: CardChecks,
}

/// What `paymentMethodMetaData` asked of a card authorization; reflected in the
/// `paymentResultInfo` the simulator reports (no real 3-D Secure or AVS behind it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CardChecks {
    /// `is3DSAuthentication`: the result carries a `threeDSResult`.
    pub three_ds: bool,
    /// A `billingAddress` was given: AVS reports a full match.
    pub billing_address: bool,
}

impl CardChecks {
    /// The checks of a `pay` request's metadata.
    pub fn of(meta: Option<&asw_antom::buyer::PaymentMethodMetaData>) -> Self {
        Self {
            three_ds: meta.and_then(|m| m.is_3ds_authentication) == Some(true),
            billing_address: meta.is_some_and(|m| m.billing_address.is_some()),
        }
    }
}

/// One capture that reached `S` or `F`.
#[derive(Debug, Clone)]
pub(crate) struct CaptureRecord {
    pub capture_request_id: String,
    pub capture_id: String,
    pub amount: Amount,
    pub success: bool,
    pub result_code: String,
    pub time: OffsetDateTime,
    /// `isLastCapture` of a successful partial capture: nothing more may be captured.
    pub is_last: bool,
}

impl CardAuth {
    /// A card payment not yet authorized.
    pub fn new(mode: CaptureMode) -> Self {
        Self {
            mode,
            card: None,
            token: None,
            auth_expires_at: None,
            captures: Vec::new(),
            faulted: Vec::new(),
            checks: CardChecks::default(),
        }
    }

    /// The same, with the checks the merchant asked for.
    pub fn with_checks(mut self, checks: CardChecks) -> Self {
        self.checks = checks;
        self
    }

    /// Sum of the successful captures, in minor units.
    pub fn captured_total(&self) -> u64 {
        self.captures
            .iter()
            .filter(|c| c.success)
            .filter_map(|c| c.amount.minor_units())
            .sum()
    }

    /// Whether anything was captured (a cancel then refunds instead of voiding).
    pub fn is_captured(&self) -> bool {
        self.captures.iter().any(|c| c.success)
    }
}

fn capture_result(record: &CaptureRecord) -> AntomResult {
    if record.success {
        res("SUCCESS", ResultStatus::Success, "success.")
    } else {
        fail(&record.result_code, "the capture was refused")
    }
}

fn capture_response(
    record: &CaptureRecord,
    payment_id: &str,
    off: time::UtcOffset,
) -> CaptureResponse {
    let result = capture_result(record);
    if !record.success {
        return CaptureResponse::from_result(result);
    }
    CaptureResponse {
        result,
        capture_request_id: Some(record.capture_request_id.clone()),
        capture_id: Some(record.capture_id.clone()),
        payment_id: Some(payment_id.to_owned()),
        capture_amount: Some(record.amount.clone()),
        capture_time: Some(format_time(record.time, off)),
        acquirer_reference_no: None,
    }
}

impl Ledger {
    /// Authorizes a card payment: SUCCESS (authorized, not captured), the card saved under a
    /// new token (or the token it was paid with), `PAYMENT_RESULT` S, and with `AUTOMATIC`
    /// capture the capture itself and its `CAPTURE_RESULT` S (sent one notification delay
    /// after the payment result, so they arrive in Antom's order).
    pub(super) fn authorize_card(
        &self,
        p: &mut Payment,
        card: CardOnFile,
        token: Option<String>,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Vec<Effect> {
        let token = token.unwrap_or_else(|| format!("SIMCARDTOKEN{:020}", self.next_seq()));
        self.card_tokens.insert(
            token.clone(),
            SavedCard {
                client_id: p.client_id.clone(),
                card: card.clone(),
            },
        );
        p.state = PayState::Success;
        p.paid_at = Some(now);
        p.updated_at = now;
        let mode = match p.online.as_mut().and_then(|o| o.card.as_mut()) {
            Some(auth) => {
                auth.card = Some(card);
                auth.token = Some(token);
                auth.auth_expires_at = Some(now + cfg.auth_expiry);
                auth.mode
            }
            None => return Vec::new(),
        };
        let mut effects: Vec<Effect> = self.notify_effect(p, cfg).into_iter().collect();
        if mode == CaptureMode::Automatic {
            let record = CaptureRecord {
                capture_request_id: format!("{}-auto", p.payment_id),
                capture_id: self.new_capture_id(now),
                amount: p.key.amount.clone(),
                success: true,
                result_code: "SUCCESS".to_owned(),
                time: now,
                is_last: true,
            };
            effects.extend(self.capture_notify_effect(p, &record, cfg.notify_delay, cfg));
            if let Some(auth) = p.online.as_mut().and_then(|o| o.card.as_mut()) {
                auth.captures.push(record);
            }
        }
        effects
    }

    /// The saved card of `token`, if it was issued to `client_id`.
    pub(super) fn saved_card(&self, token: &str, client_id: &str) -> Option<CardOnFile> {
        self.card_tokens
            .get(token)
            .filter(|s| s.client_id == client_id)
            .map(|s| s.card.clone())
    }

    fn new_capture_id(&self, now: OffsetDateTime) -> String {
        format!("{}1940108014001{:016}", now.year(), self.next_seq())
    }

    fn capture_notify_effect(
        &self,
        p: &Payment,
        record: &CaptureRecord,
        after: Duration,
        cfg: &SimConfig,
    ) -> Option<Effect> {
        let url = p.notify_url.clone()?;
        let body = CaptureResultNotification {
            notify_type: NOTIFY_TYPE_CAPTURE_RESULT.to_owned(),
            result: capture_result(record),
            capture_request_id: record.capture_request_id.clone(),
            payment_id: p.payment_id.clone(),
            capture_id: Some(record.capture_id.clone()),
            capture_amount: Some(record.amount.clone()),
            capture_time: Some(format_time(record.time, cfg.response_utc_offset)),
            acquirer_reference_no: None,
        };
        Some(Effect::Notify(NotifyJob {
            payment_request_id: p.payment_request_id.clone(),
            client_id: p.client_id.clone(),
            url,
            body: serde_json::to_vec(&body).unwrap_or_default(),
            duplicate: p.duplicate_notify,
            generation: self.generation(),
            after,
        }))
    }

    /// Handles a validated `capture`. Also returns the configured fault when this call is the
    /// first attempt of its `captureRequestId` and the fault is one the server delivers (a
    /// dropped or slow answer); the `U` faults are already in the answer.
    pub fn capture(
        &self,
        req: &CaptureRequest,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> (Answer, Option<CaptureFault>) {
        let off = cfg.response_utc_offset;
        let bare = |r: AntomResult, prid: Option<String>| {
            (
                Answer::new(&CaptureResponse::from_result(r.clone()), r, prid, None),
                None,
            )
        };
        let inconsistent = || {
            fail(
                "REPEAT_REQ_INCONSISTENT",
                "the captureRequestId was used with different key fields",
            )
        };
        let Some(prid) = self.resolve(super::Lookup::PaymentId(&req.payment_id)) else {
            if self.captures.contains_key(&req.capture_request_id) {
                return bare(inconsistent(), None);
            }
            return bare(
                fail("AUTH_NOT_FOUND", "the authorization does not exist"),
                None,
            );
        };
        let Some(mut entry) = self.payments.get_mut(&prid) else {
            return bare(
                fail("AUTH_NOT_FOUND", "the authorization does not exist"),
                Some(prid),
            );
        };
        let p = &mut *entry;
        p.refresh(now);
        let scenario = p.scenario;
        let index = match self.captures.entry(req.capture_request_id.clone()) {
            Entry::Occupied(e) => {
                let record = (e.get() == &prid)
                    .then(|| {
                        p.online
                            .as_ref()
                            .and_then(|o| o.card.as_ref())
                            .and_then(|a| {
                                a.captures
                                    .iter()
                                    .find(|c| c.capture_request_id == req.capture_request_id)
                            })
                    })
                    .flatten();
                return match record {
                    Some(r) if r.amount == req.capture_amount => {
                        let body = capture_response(r, &p.payment_id, off);
                        let result = body.result.clone();
                        (Answer::new(&body, result, Some(prid), Some(scenario)), None)
                    }
                    _ => bare(inconsistent(), Some(prid)),
                };
            }
            Entry::Vacant(v) => v,
        };
        let refused = match (&p.state, p.online.as_ref().and_then(|o| o.card.as_ref())) {
            (PayState::Cancelled { .. }, Some(_)) => {
                Some(fail("ORDER_IS_CANCELED", "the payment was cancelled"))
            }
            (PayState::Success, Some(auth)) if auth.card.is_some() => None,
            _ => Some(fail(
                "ORDER_STATUS_INVALID",
                "the payment is not an authorized card payment",
            )),
        };
        if let Some(r) = refused {
            return bare(r, Some(prid));
        }
        let first_attempt = {
            let Some(auth) = p.online.as_mut().and_then(|o| o.card.as_mut()) else {
                return bare(fail("AUTH_NOT_FOUND", "no authorization"), Some(prid));
            };
            let first = cfg.capture_fault != CaptureFault::None
                && !auth.faulted.contains(&req.capture_request_id);
            if first {
                auth.faulted.push(req.capture_request_id.clone());
            }
            first
        };
        let unknown = || {
            res(
                "UNKNOWN_EXCEPTION",
                ResultStatus::Unknown,
                "API failed due to unknown reason.",
            )
        };
        if first_attempt && cfg.capture_fault == CaptureFault::UnknownNotCommitted {
            return bare(unknown(), Some(prid));
        }
        let authorized = p.key.amount.minor_units().unwrap_or(0);
        let Some(auth) = p.online.as_ref().and_then(|o| o.card.as_ref()) else {
            return bare(fail("AUTH_NOT_FOUND", "no authorization"), Some(prid));
        };
        let captured = auth.captured_total();
        let closed = captured >= authorized
            || auth.captures.iter().any(|c| c.success && c.is_last)
            || (!cfg.partial_capture && auth.is_captured());
        let requested = req.capture_amount.minor_units().unwrap_or(u64::MAX);
        let code = if req.capture_amount.currency != p.key.amount.currency {
            Some("CURRENCY_NOT_SUPPORT")
        } else if auth.auth_expires_at.is_some_and(|t| now > t) {
            Some("AUTH_EXPIRED")
        } else if closed {
            Some("MULTI_CAPTURE_NOT_SUPPORTED")
        } else if requested > authorized - captured {
            Some("CAPTURE_AMOUNT_EXCEED_AUTH_LIMIT")
        } else if !cfg.partial_capture && requested < authorized {
            Some("PARAM_ILLEGAL")
        } else {
            None
        };
        let record = CaptureRecord {
            capture_request_id: req.capture_request_id.clone(),
            capture_id: self.new_capture_id(now),
            amount: req.capture_amount.clone(),
            success: code.is_none(),
            result_code: code.unwrap_or("SUCCESS").to_owned(),
            time: now,
            is_last: req.is_last_capture == Some(true),
        };
        index.insert(prid.clone());
        p.updated_at = now;
        let effects: Vec<Effect> = if record.success {
            self.capture_notify_effect(p, &record, Duration::ZERO, cfg)
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        let body = capture_response(&record, &p.payment_id, off);
        if let Some(auth) = p.online.as_mut().and_then(|o| o.card.as_mut()) {
            auth.captures.push(record);
        }
        let fault = first_attempt.then_some(cfg.capture_fault);
        let (body, result) = if fault == Some(CaptureFault::UnknownCommitted) {
            let r = unknown();
            (CaptureResponse::from_result(r.clone()), r)
        } else {
            let r = body.result.clone();
            (body, r)
        };
        let answer = Answer::new(&body, result, Some(prid), Some(scenario)).with_effects(effects);
        let delivered = fault.filter(|f| {
            matches!(
                f,
                CaptureFault::LostAfterCommit | CaptureFault::SlowCommitted
            )
        });
        (answer, delivered)
    }
}

/// `paymentResultInfo` and `authExpiryTime` of an authorized card payment.
pub(super) fn card_details(
    p: &Payment,
    off: time::UtcOffset,
) -> (Option<PaymentResultInfo>, Option<String>) {
    let Some(auth) = p.online.as_ref().and_then(|o| o.card.as_ref()) else {
        return (None, None);
    };
    let info = match (&auth.card, &auth.token) {
        (Some(card), Some(token)) => Some(crate::card::result_info(
            card,
            token,
            &p.payment_id,
            auth.checks,
        )),
        _ => None,
    };
    (info, auth.auth_expires_at.map(|t| format_time(t, off)))
}

/// The `CAPTURE` entries of `inquiryPayment`'s `transactions[]`.
pub(super) fn capture_transactions(p: &Payment, off: time::UtcOffset) -> Vec<Transaction> {
    let Some(auth) = p.online.as_ref().and_then(|o| o.card.as_ref()) else {
        return Vec::new();
    };
    auth.captures
        .iter()
        .map(|c| Transaction {
            transaction_type: Some("CAPTURE".into()),
            transaction_status: Some(if c.success { "SUCCESS" } else { "FAIL" }.into()),
            transaction_request_id: Some(c.capture_request_id.clone()),
            transaction_id: Some(c.capture_id.clone()),
            transaction_amount: Some(c.amount.clone()),
            transaction_time: Some(format_time(c.time, off)),
            transaction_result: Some(capture_result(c)),
        })
        .collect()
}
