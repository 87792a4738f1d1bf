//! The simulated Antom back office: every payment and refund, and the rules of each API
//! (antom-api.md §4.2). Synchronous and free of I/O: each call takes `now` and returns the
//! body to answer plus the side effects (notifications) for the server to carry out.
//!
//! Concurrency: payments live in a sharded map keyed by `paymentRequestId`; every decision
//! about one payment is taken while holding that payment's entry, so two calls for the same
//! payment are serialized and calls for different payments never wait on each other. Lock
//! order is always payments → (refunds index | payment-id index | tombstones); the indexes
//! are only read after the payment entry has been released.

use std::sync::atomic::{AtomicU64, Ordering};

use asw_antom::api::{
    CancelRequest, CancelResponse, InquiryPaymentRequest, InquiryPaymentResponse,
    InquiryRefundRequest, InquiryRefundResponse, PayRequest, PayResponse, RefundRequest,
    RefundResponse,
};
use asw_antom::model::{CodeDetail, OrderCodeForm, PspCustomerInfo, RefundStatus, Transaction};
use asw_antom::webhook::NotifyPayment;
use asw_antom::{Amount, AntomResult, PaymentDetails, PaymentStatus, ResultStatus};
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::{CancelOfClosed, PreCancel, SimConfig};
use crate::online::OnlineOrder;
use crate::scenario::Scenario;

mod buyer;
mod card;
mod session;
pub(crate) use buyer::{BuyerAction, BuyerOutcome, ExpiryCheck, WalletPage};
pub(crate) use card::{CardAuth, CardChecks};
pub use session::SessionView;
pub(crate) use session::SubmitRefusal;

/// The state of one payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PayState {
    Processing,
    Success,
    Failed {
        code: String,
    },
    /// Expired while PROCESSING.
    Closed,
    Cancelled {
        refunded: bool,
    },
}

impl PayState {
    fn status(&self) -> PaymentStatus {
        match self {
            PayState::Processing => PaymentStatus::Processing,
            PayState::Success => PaymentStatus::Success,
            PayState::Failed { .. } | PayState::Closed => PaymentStatus::Fail,
            PayState::Cancelled { .. } => PaymentStatus::Cancelled,
        }
    }
}

/// One refund attempt that reached a final answer.
#[derive(Debug, Clone)]
pub(crate) struct RefundRecord {
    refund_request_id: String,
    refund_id: String,
    amount: Amount,
    status: RefundStatus,
    result_code: String,
    time: OffsetDateTime,
}

/// The key fields Antom compares for a repeated `pay` (REPEAT_REQ_INCONSISTENT).
#[derive(Debug, Clone, PartialEq, Eq)]
struct PayKey {
    amount: Amount,
    payment_code: Option<String>,
    scenario_name: Option<String>,
    /// Online only (`None` in-store): the wallet, which a re-sent pay may not change.
    method_type: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Payment {
    seq: u64,
    payment_request_id: String,
    payment_id: String,
    client_id: String,
    key: PayKey,
    scenario: Scenario,
    state: PayState,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    paid_at: Option<OffsetDateTime>,
    expires_at: OffsetDateTime,
    cancel_time: Option<OffsetDateTime>,
    inquiries: u32,
    notify_url: Option<String>,
    refunds: Vec<RefundRecord>,
    notifications_sent: u32,
    notifications_acked: u32,
    /// Fault-mix decisions taken at creation.
    duplicate_notify: bool,
    late_notify_after_cancel: bool,
    /// The online part (`CASHIER_PAYMENT`); `None` in-store. Boxed: most payments are in-store.
    online: Option<Box<OnlineOrder>>,
}

impl Payment {
    fn refunded_total(&self) -> u64 {
        self.refunds
            .iter()
            .filter(|r| r.status == RefundStatus::Success)
            .filter_map(|r| r.amount.minor_units())
            .sum()
    }

    /// The card part, for card payments.
    fn card(&self) -> Option<&CardAuth> {
        self.online.as_ref().and_then(|o| o.card.as_ref())
    }

    /// What refunds may add up to: the amount paid, or for a card what was captured.
    fn refundable_base(&self) -> u64 {
        match self.card() {
            Some(auth) => auth.captured_total(),
            None => self.key.amount.minor_units().unwrap_or(0),
        }
    }

    /// PROCESSING past its expiry becomes closed, lazily, whenever the payment is touched.
    fn refresh(&mut self, now: OffsetDateTime) {
        if self.state == PayState::Processing && now >= self.expires_at {
            self.state = PayState::Closed;
            self.updated_at = self.expires_at;
        }
    }
}

/// A remembered cancel of a payment that did not exist yet (the `pre_cancel` knob).
#[derive(Debug, Clone)]
struct Tombstone {
    cancel_time: OffsetDateTime,
}

/// Something the server must do after answering.
#[derive(Debug, Clone)]
pub(crate) enum Effect {
    /// Send a notifyPayment.
    Notify(NotifyJob),
    /// Watch an online payment's expiry, to close it and notify on time.
    WatchExpiry(ExpiryJob),
}

/// An online payment whose expiry must be watched.
#[derive(Debug, Clone)]
pub(crate) struct ExpiryJob {
    pub payment_request_id: String,
    /// Generation of the ledger; a reset ends the watch.
    pub generation: u64,
}

/// A notification to deliver.
#[derive(Debug, Clone)]
pub(crate) struct NotifyJob {
    pub payment_request_id: String,
    pub client_id: String,
    pub url: String,
    pub body: Vec<u8>,
    /// Send it once more after it was acknowledged.
    pub duplicate: bool,
    /// Generation of the ledger; a reset makes pending jobs stale.
    pub generation: u64,
    /// Extra wait before the first attempt, on top of the notification delay (a card's
    /// automatic `CAPTURE_RESULT` comes after its `PAYMENT_RESULT`).
    pub after: std::time::Duration,
}

/// Per-payment fault decisions rolled by the server (fault mix) for a new payment.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NewPaymentFaults {
    pub duplicate_notify: bool,
    pub late_notify_after_cancel: bool,
}

/// The answer of one API call: a serialized body plus identifiers for the call log.
#[derive(Debug)]
pub(crate) struct Answer {
    pub body: Vec<u8>,
    pub result: AntomResult,
    pub payment_request_id: Option<String>,
    pub effects: Vec<Effect>,
    /// The scenario of the payment concerned (when known).
    pub scenario: Option<Scenario>,
    /// Whether this call created the payment (delivery faults apply to that call only).
    pub created: bool,
}

impl Answer {
    fn new<T: Serialize>(
        body: &T,
        result: AntomResult,
        payment_request_id: Option<String>,
        scenario: Option<Scenario>,
    ) -> Self {
        Self {
            // Serializing our own plain structs cannot fail; an empty body would be caught by
            // any client as "unknown", which is the safe side.
            body: serde_json::to_vec(body).unwrap_or_default(),
            result,
            payment_request_id,
            effects: Vec::new(),
            scenario,
            created: false,
        }
    }

    fn created(mut self) -> Self {
        self.created = true;
        self
    }

    fn with_effects(mut self, effects: Vec<Effect>) -> Self {
        self.effects = effects;
        self
    }
}

fn res(code: &str, status: ResultStatus, message: &str) -> AntomResult {
    AntomResult::new(code, status, message)
}

fn fail(code: &str, message: &str) -> AntomResult {
    res(code, ResultStatus::Failed, message)
}

/// An `F PARAM_ILLEGAL` result.
pub(crate) fn param_illegal(message: &str) -> AntomResult {
    fail("PARAM_ILLEGAL", message)
}

/// The whole back office.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    payments: DashMap<String, Payment>,
    by_payment_id: DashMap<String, String>,
    /// refundRequestId → paymentRequestId of the payment holding the record.
    refunds: DashMap<String, String>,
    tombstones: DashMap<String, Tombstone>,
    /// captureRequestId → paymentRequestId of the payment holding the capture record.
    captures: DashMap<String, String>,
    /// cardToken → the saved card (tokens issued by card authorizations).
    card_tokens: DashMap<String, card::SavedCard>,
    /// Checkout Page sessions by `paymentRequestId`.
    sessions: DashMap<String, crate::session::SessionRecord>,
    /// `paymentSessionId` → `paymentRequestId`.
    session_ids: DashMap<String, String>,
    seq: AtomicU64,
    generation: AtomicU64,
}

/// How a call names a payment.
#[derive(Debug, Clone, Copy)]
enum Lookup<'a> {
    PaymentId(&'a str),
    PaymentRequestId(&'a str),
}

/// Formats a time the way Antom writes it: ISO 8601, seconds, with the configured offset.
pub(crate) fn format_time(t: OffsetDateTime, offset: time::UtcOffset) -> String {
    let t = t.to_offset(offset).replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Ledger {
    /// Current generation (bumped by [`Ledger::reset`]).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Forgets everything.
    pub fn reset(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        self.payments.clear();
        self.by_payment_id.clear();
        self.refunds.clear();
        self.tombstones.clear();
        self.captures.clear();
        self.card_tokens.clear();
        self.sessions.clear();
        self.session_ids.clear();
    }

    fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn resolve(&self, lookup: Lookup<'_>) -> Option<String> {
        match lookup {
            Lookup::PaymentRequestId(id) => Some(id.to_owned()),
            Lookup::PaymentId(id) => self.by_payment_id.get(id).map(|e| e.value().clone()),
        }
    }

    // -----------------------------------------------------------------------------------
    // pay
    // -----------------------------------------------------------------------------------

    /// Handles a validated `pay`. `commit` is false for the scenarios that store nothing.
    pub fn pay(
        &self,
        client_id: &str,
        req: &PayRequest,
        scenario: Scenario,
        faults: NewPaymentFaults,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Answer {
        let online = OnlineOrder::from_request(req);
        let key = PayKey {
            amount: req.payment_amount.clone(),
            payment_code: req
                .payment_method
                .payment_method_id
                .as_ref()
                .map(|c| c.expose().to_owned()),
            scenario_name: req.payment_factor.in_store_payment_scenario.clone(),
            method_type: online.as_ref().map(|o| o.wallet.method_type.to_owned()),
        };
        let prid = req.payment_request_id.clone();
        match self.payments.entry(prid.clone()) {
            Entry::Occupied(mut entry) => {
                let payment = entry.get_mut();
                payment.refresh(now);
                if payment.key != key {
                    let r = fail(
                        "REPEAT_REQ_INCONSISTENT",
                        "the paymentRequestId was used with different key fields",
                    );
                    return Answer::new(&PayResponse::from_result(r.clone()), r, Some(prid), None);
                }
                let scenario = payment.scenario;
                let (body, result) = self.pay_replay(payment, cfg);
                Answer::new(&body, result, Some(prid), Some(scenario))
            }
            Entry::Vacant(entry) => {
                if let Some(tomb) = self.tombstones.get(&prid).map(|t| t.clone()) {
                    // A cancel overtook this pay: the order is closed before it began.
                    let payment = self.new_payment(client_id, req, key, scenario, online, now, cfg);
                    let payment = Payment {
                        state: PayState::Cancelled { refunded: false },
                        cancel_time: Some(tomb.cancel_time),
                        ..payment
                    };
                    self.by_payment_id
                        .insert(payment.payment_id.clone(), prid.clone());
                    entry.insert(payment);
                    let r = fail("ORDER_IS_CANCELED", "the order was cancelled");
                    return Answer::new(
                        &PayResponse::from_result(r.clone()),
                        r,
                        Some(prid),
                        Some(scenario),
                    )
                    .created();
                }
                if !scenario.commits() {
                    let r = match scenario {
                        Scenario::TrafficLimited => res(
                            "REQUEST_TRAFFIC_EXCEED_LIMIT",
                            ResultStatus::Unknown,
                            "request traffic exceeds the limit",
                        ),
                        _ => res(
                            "UNKNOWN_EXCEPTION",
                            ResultStatus::Unknown,
                            "API failed due to unknown reason.",
                        ),
                    };
                    return Answer::new(
                        &PayResponse::from_result(r.clone()),
                        r,
                        Some(prid),
                        Some(scenario),
                    )
                    .created();
                }
                // A saved card (`paymentMethodId` = a cardToken this simulator issued to this
                // client) is authorized at once: the answer is `S`, not the card page.
                let saved_card = match (&online, &req.payment_method.payment_method_id) {
                    (Some(o), Some(token)) if o.card.is_some() => {
                        match self.saved_card(token.expose(), client_id) {
                            Some(card) => Some((card, token.expose().to_owned())),
                            None => {
                                let r = param_illegal(
                                    "paymentMethod.paymentMethodId is not a known cardToken",
                                );
                                return Answer::new(
                                    &PayResponse::from_result(r.clone()),
                                    r,
                                    Some(prid),
                                    Some(scenario),
                                );
                            }
                        }
                    }
                    _ => None,
                };
                let mut payment = self.new_payment(client_id, req, key, scenario, online, now, cfg);
                payment.duplicate_notify |= faults.duplicate_notify;
                payment.late_notify_after_cancel |= faults.late_notify_after_cancel;
                let mut effects = Vec::new();
                match scenario {
                    Scenario::Decline(code) => {
                        payment.state = PayState::Failed { code: code.into() };
                    }
                    _ if saved_card.is_some() => {
                        if let Some((card, token)) = saved_card {
                            effects.extend(self.authorize_card(
                                &mut payment,
                                card,
                                Some(token),
                                now,
                                cfg,
                            ));
                        }
                    }
                    // Online, whatever the delivery scenario: the order waits for the buyer.
                    _ if payment.online.is_some() => {
                        effects.push(Effect::WatchExpiry(ExpiryJob {
                            payment_request_id: prid.clone(),
                            generation: self.generation(),
                        }));
                    }
                    Scenario::ProcessingThenSuccess
                    | Scenario::ProcessingThenFail
                    | Scenario::ProcessingForever
                    | Scenario::LateNotifyAfterCancel
                    | Scenario::OrderCode => {}
                    _ => {
                        payment.state = PayState::Success;
                        payment.paid_at = Some(now);
                        effects.extend(self.notify_effect(&payment, cfg));
                    }
                }
                let (mut body, mut result) = self.pay_replay(&payment, cfg);
                if scenario == Scenario::UnknownCommitted {
                    result = res(
                        "UNKNOWN_EXCEPTION",
                        ResultStatus::Unknown,
                        "API failed due to unknown reason.",
                    );
                    body = PayResponse::from_result(result.clone());
                }

                self.by_payment_id
                    .insert(payment.payment_id.clone(), prid.clone());
                entry.insert(payment);
                Answer::new(&body, result, Some(prid), Some(scenario))
                    .with_effects(effects)
                    .created()
            }
        }
    }

    /// Whether a payment with this `paymentRequestId` exists.
    pub fn contains(&self, payment_request_id: &str) -> bool {
        self.payments.contains_key(payment_request_id)
    }

    #[allow(clippy::too_many_arguments)] // one call per field group; a struct would only rename them
    fn new_payment(
        &self,
        client_id: &str,
        req: &PayRequest,
        key: PayKey,
        scenario: Scenario,
        online: Option<OnlineOrder>,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Payment {
        let default_expiry = if online.is_some() {
            cfg.online_expiry
        } else {
            cfg.payment_expiry
        };
        let seq = self.next_seq();
        let expires_at = req
            .payment_expiry_time
            .as_deref()
            .and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .unwrap_or_else(|| now + default_expiry);
        let date = now.date();
        Payment {
            seq,
            payment_request_id: req.payment_request_id.clone(),
            payment_id: format!(
                "{:04}{:02}{:02}1940108001001{:016}",
                date.year(),
                u8::from(date.month()),
                date.day(),
                seq
            ),
            client_id: client_id.to_owned(),
            key,
            scenario,
            state: PayState::Processing,
            created_at: now,
            updated_at: now,
            paid_at: None,
            expires_at,
            cancel_time: None,
            inquiries: 0,
            notify_url: req.payment_notify_url.clone(),
            refunds: Vec::new(),
            notifications_sent: 0,
            notifications_acked: 0,
            duplicate_notify: scenario == Scenario::DuplicateNotify,
            late_notify_after_cancel: scenario == Scenario::LateNotifyAfterCancel,
            online: online.map(Box::new),
        }
    }

    /// The answer a repeated `pay` with the same key fields gets, from the current state.
    fn pay_replay(&self, p: &Payment, cfg: &SimConfig) -> (PayResponse, AntomResult) {
        let off = cfg.response_utc_offset;
        match &p.state {
            // Order Code: `S` means "code created" (the SDK's mock answer), and a repeat of the
            // pay answers the same code for as long as it can be paid.
            PayState::Processing if p.scenario == Scenario::OrderCode => {
                let r = AntomResult::success();
                let mut body = PayResponse::from_result(r.clone());
                body.payment_request_id = Some(p.payment_request_id.clone());
                body.payment.payment_id = Some(p.payment_id.clone());
                body.payment.payment_amount = Some(p.key.amount.clone());
                body.payment.payment_create_time = Some(format_time(p.created_at, off));
                body.order_code_form = Some(OrderCodeForm {
                    expire_time: Some(format_time(p.expires_at, off)),
                    code_details: vec![CodeDetail {
                        code_value: Some(format!("https://qr.antom-sim.invalid/{}", p.payment_id)),
                        code_value_type: Some("QRCODE".into()),
                        display_type: Some("TEXT".into()),
                    }],
                    extend_info: None,
                });
                (body, r)
            }
            PayState::Processing => {
                let r = res(
                    "PAYMENT_IN_PROCESS",
                    ResultStatus::Unknown,
                    "payment is processing",
                );
                let mut body = PayResponse::from_result(r.clone());
                body.payment_request_id = Some(p.payment_request_id.clone());
                body.payment.payment_id = Some(p.payment_id.clone());
                body.payment.payment_amount = Some(p.key.amount.clone());
                body.payment.payment_create_time = Some(format_time(p.created_at, off));
                if let Some(online) = &p.online {
                    crate::online::add_continuation(
                        &mut body,
                        online,
                        &p.payment_id,
                        p.expires_at,
                        cfg,
                    );
                }
                (body, r)
            }
            PayState::Success => {
                let r = res("SUCCESS", ResultStatus::Success, "success.");
                let mut body = PayResponse::from_result(r.clone());
                body.payment_request_id = Some(p.payment_request_id.clone());
                body.payment.payment_id = Some(p.payment_id.clone());
                body.payment.payment_amount = Some(p.key.amount.clone());
                body.payment.actual_payment_amount = Some(p.key.amount.clone());
                body.payment.payment_create_time = Some(format_time(p.created_at, off));
                body.payment.payment_time = p.paid_at.map(|t| format_time(t, off));
                body.payment.psp_customer_info = psp_of(p);
                (
                    body.payment.payment_result_info,
                    body.payment.auth_expiry_time,
                ) = card::card_details(p, off);
                (body, r)
            }
            PayState::Failed { code } => {
                let r = fail(code, "the payment failed");
                (PayResponse::from_result(r.clone()), r)
            }
            PayState::Closed => {
                let r = fail("ORDER_IS_CLOSED", "the order is closed");
                (PayResponse::from_result(r.clone()), r)
            }
            PayState::Cancelled { .. } => {
                let r = fail("ORDER_IS_CANCELED", "the order was cancelled");
                (PayResponse::from_result(r.clone()), r)
            }
        }
    }

    fn notify_body(&self, p: &Payment, cfg: &SimConfig) -> Vec<u8> {
        let off = cfg.response_utc_offset;
        let (card_info, auth_expiry_time) = card::card_details(p, off);
        let body = NotifyPayment {
            notify_type: "PAYMENT_RESULT".into(),
            result: res("SUCCESS", ResultStatus::Success, "success."),
            payment_request_id: p.payment_request_id.clone(),
            payment: PaymentDetails {
                payment_id: Some(p.payment_id.clone()),
                payment_amount: Some(p.key.amount.clone()),
                actual_payment_amount: Some(p.key.amount.clone()),
                payment_create_time: Some(format_time(p.created_at, off)),
                payment_time: Some(format_time(p.paid_at.unwrap_or(p.updated_at), off)),
                psp_customer_info: psp_of(p),
                payment_result_info: card_info,
                auth_expiry_time,
                ..PaymentDetails::default()
            },
            payment_status: None,
        };
        if let Some(online) = &p.online {
            return crate::online::notify_body(body, online);
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// An online payment's failure notification (`PAYMENT_RESULT` F): declined by the buyer
    /// or expired. In-store Antom notifies successes only, so in-store payments get none.
    fn notify_fail_effect(&self, p: &Payment, code: &str, cfg: &SimConfig) -> Option<Effect> {
        let online = p.online.as_ref()?;
        let url = p.notify_url.clone()?;
        let off = cfg.response_utc_offset;
        let body = NotifyPayment {
            notify_type: "PAYMENT_RESULT".into(),
            result: fail(code, "the payment failed"),
            payment_request_id: p.payment_request_id.clone(),
            payment: PaymentDetails {
                payment_id: Some(p.payment_id.clone()),
                payment_amount: Some(p.key.amount.clone()),
                payment_create_time: Some(format_time(p.created_at, off)),
                ..PaymentDetails::default()
            },
            payment_status: None,
        };
        Some(Effect::Notify(NotifyJob {
            payment_request_id: p.payment_request_id.clone(),
            client_id: p.client_id.clone(),
            url,
            body: crate::online::notify_body(body, online),
            duplicate: p.duplicate_notify,
            generation: self.generation(),
            after: std::time::Duration::ZERO,
        }))
    }

    fn notify_effect(&self, p: &Payment, cfg: &SimConfig) -> Option<Effect> {
        let url = p.notify_url.clone()?;
        Some(Effect::Notify(NotifyJob {
            payment_request_id: p.payment_request_id.clone(),
            client_id: p.client_id.clone(),
            url,
            body: self.notify_body(p, cfg),
            duplicate: p.duplicate_notify,
            generation: self.generation(),
            after: std::time::Duration::ZERO,
        }))
    }

    /// Records one notification attempt.
    pub fn record_notification(&self, payment_request_id: &str, acked: bool) {
        if let Some(mut p) = self.payments.get_mut(payment_request_id) {
            p.notifications_sent += 1;
            if acked {
                p.notifications_acked += 1;
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // inquiryPayment
    // -----------------------------------------------------------------------------------

    /// Handles `inquiryPayment`.
    pub fn inquiry_payment(
        &self,
        req: &InquiryPaymentRequest,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Answer {
        let lookup = match lookup_of(req.payment_id.as_deref(), req.payment_request_id.as_deref()) {
            Ok(l) => l,
            Err(r) => {
                return Answer::new(
                    &InquiryPaymentResponse::from_result(r.clone()),
                    r,
                    None,
                    None,
                );
            }
        };
        let prid_hint = match lookup {
            Lookup::PaymentRequestId(id) => Some(id.to_owned()),
            Lookup::PaymentId(_) => None,
        };
        let not_found = |prid: Option<String>| {
            let r = fail("ORDER_NOT_EXIST", "the order does not exist");
            Answer::new(
                &InquiryPaymentResponse::from_result(r.clone()),
                r,
                prid,
                None,
            )
        };
        let Some(prid) = self.resolve(lookup) else {
            return not_found(prid_hint);
        };
        let Some(mut p) = self.payments.get_mut(&prid) else {
            return not_found(Some(prid));
        };
        p.refresh(now);
        let scenario = p.scenario;
        if scenario == Scenario::InquiryNotFoundAtFirst
            && now < p.created_at + cfg.inquiry_not_found_for
        {
            return not_found(Some(prid));
        }
        if scenario == Scenario::InquiryUnknown {
            let r = res(
                "UNKNOWN_EXCEPTION",
                ResultStatus::Unknown,
                "API failed due to unknown reason.",
            );
            return Answer::new(
                &InquiryPaymentResponse::from_result(r.clone()),
                r,
                Some(prid),
                Some(scenario),
            );
        }
        let mut effects = Vec::new();
        if p.state == PayState::Processing {
            p.inquiries += 1;
            if p.inquiries >= cfg.settle_after_inquiries {
                match scenario {
                    Scenario::ProcessingThenSuccess => {
                        p.state = PayState::Success;
                        p.paid_at = Some(now);
                        p.updated_at = now;
                        effects.extend(self.notify_effect(&p, cfg));
                    }
                    Scenario::ProcessingThenFail => {
                        p.state = PayState::Failed {
                            code: "USER_BALANCE_NOT_ENOUGH".into(),
                        };
                        p.updated_at = now;
                    }
                    _ => {}
                }
            }
        } else {
            p.inquiries += 1;
        }
        let body = inquiry_body(&p, cfg);
        let r = body.result.clone();
        Answer::new(&body, r, Some(prid), Some(scenario)).with_effects(effects)
    }

    // -----------------------------------------------------------------------------------
    // cancel
    // -----------------------------------------------------------------------------------

    /// Handles `cancel`.
    pub fn cancel(&self, req: &CancelRequest, now: OffsetDateTime, cfg: &SimConfig) -> Answer {
        let off = cfg.response_utc_offset;
        let empty = |r: AntomResult, prid: Option<String>, scenario: Option<Scenario>| {
            let body = CancelResponse {
                result: r.clone(),
                payment_id: None,
                payment_request_id: None,
                cancel_time: None,
            };
            Answer::new(&body, r, prid, scenario)
        };
        let lookup = match lookup_of(req.payment_id.as_deref(), req.payment_request_id.as_deref()) {
            Ok(l) => l,
            Err(r) => return empty(r, None, None),
        };
        let Some(prid) = self.resolve(lookup) else {
            return empty(
                fail("ORDER_NOT_EXIST", "the order does not exist"),
                None,
                None,
            );
        };
        // A Checkout Page session nothing was submitted on is closed: no payment exists
        // (ORDER_NOT_EXIST below, as the inquiry says) and none can be made on it any more.
        self.close_session(&prid);
        let mut entry = match self.payments.entry(prid.clone()) {
            Entry::Occupied(e) => e,
            Entry::Vacant(_) => {
                // Never seen: the cancel overtook its pay (or the pay never arrived).
                return match cfg.pre_cancel {
                    PreCancel::Off => empty(
                        fail("ORDER_NOT_EXIST", "the order does not exist"),
                        Some(prid),
                        None,
                    ),
                    PreCancel::Remember => {
                        self.tombstones
                            .entry(prid.clone())
                            .or_insert(Tombstone { cancel_time: now });
                        empty(
                            fail("ORDER_NOT_EXIST", "the order does not exist"),
                            Some(prid),
                            None,
                        )
                    }
                    PreCancel::PreClose => {
                        let t = self
                            .tombstones
                            .entry(prid.clone())
                            .or_insert(Tombstone { cancel_time: now })
                            .cancel_time;
                        let r = AntomResult::success();
                        let body = CancelResponse {
                            result: r.clone(),
                            payment_id: None,
                            payment_request_id: Some(prid.clone()),
                            cancel_time: Some(format_time(t, off)),
                        };
                        Answer::new(&body, r, Some(prid), None)
                    }
                };
            }
        };
        let p = entry.get_mut();
        p.refresh(now);
        let scenario = p.scenario;
        let mut effects = Vec::new();
        let outcome: Result<(), AntomResult> = match &p.state {
            PayState::Processing => {
                p.state = PayState::Cancelled { refunded: false };
                p.cancel_time = Some(now);
                p.updated_at = now;
                if p.late_notify_after_cancel {
                    effects.extend(self.notify_effect(p, cfg));
                }
                Ok(())
            }
            PayState::Success => {
                let paid_at = p.paid_at.unwrap_or(p.created_at);
                // A card authorization nothing was captured of is voided (no money moved),
                // within the authorization's life; anything else paid is refunded in full.
                let void = p.card().is_some_and(|a| !a.is_captured());
                let window = if void {
                    cfg.auth_expiry
                } else {
                    cfg.cancel_window
                };
                if p.refunds.iter().any(|r| r.status == RefundStatus::Success) {
                    Err(fail(
                        "PROCESS_FAIL",
                        "a payment with refunds cannot be cancelled",
                    ))
                } else if scenario == Scenario::CancelWindowExceeded || now > paid_at + window {
                    Err(fail(
                        "CANCEL_WINDOW_EXCEED",
                        "the cancellable period has passed",
                    ))
                } else {
                    p.state = PayState::Cancelled { refunded: !void };
                    p.cancel_time = Some(now);
                    p.updated_at = now;
                    Ok(())
                }
            }
            PayState::Failed { .. } | PayState::Closed => match cfg.cancel_of_closed {
                CancelOfClosed::Success => {
                    if p.cancel_time.is_none() {
                        p.cancel_time = Some(now);
                        p.updated_at = now;
                    }
                    Ok(())
                }
                CancelOfClosed::OrderStatusInvalid => Err(fail(
                    "ORDER_STATUS_INVALID",
                    "the order status does not allow cancel",
                )),
            },
            PayState::Cancelled { .. } => Ok(()),
        };
        let answer = match outcome {
            Ok(()) => {
                let r = AntomResult::success();
                let body = CancelResponse {
                    result: r.clone(),
                    payment_id: Some(p.payment_id.clone()),
                    payment_request_id: Some(p.payment_request_id.clone()),
                    cancel_time: p.cancel_time.map(|t| format_time(t, off)),
                };
                Answer::new(&body, r, Some(prid), Some(scenario))
            }
            Err(r) => empty(r, Some(prid), Some(scenario)),
        };
        answer.with_effects(effects)
    }

    // -----------------------------------------------------------------------------------
    // refund
    // -----------------------------------------------------------------------------------

    /// Handles a validated `refund`.
    pub fn refund(&self, req: &RefundRequest, now: OffsetDateTime, cfg: &SimConfig) -> Answer {
        let off = cfg.response_utc_offset;
        let bare = |r: AntomResult, prid: Option<String>| {
            let body = refund_response(r.clone(), None, None, off);
            Answer::new(&body, r, prid, None)
        };
        let Some(prid) = self.resolve(Lookup::PaymentId(&req.payment_id)) else {
            // An unknown payment, but the refund id may exist on another payment.
            if self.refunds.contains_key(&req.refund_request_id) {
                return bare(
                    fail(
                        "REPEAT_REQ_INCONSISTENT",
                        "the refundRequestId was used with different key fields",
                    ),
                    None,
                );
            }
            return bare(fail("ORDER_NOT_EXIST", "the payment does not exist"), None);
        };
        let Some(mut p) = self.payments.get_mut(&prid) else {
            return bare(
                fail("ORDER_NOT_EXIST", "the payment does not exist"),
                Some(prid),
            );
        };
        p.refresh(now);
        let scenario = p.scenario;
        // Idempotency on refundRequestId, decided while holding the payment.
        match self.refunds.entry(req.refund_request_id.clone()) {
            Entry::Occupied(e) => {
                let inconsistent = e.get() != &prid
                    || p.refunds
                        .iter()
                        .find(|r| r.refund_request_id == req.refund_request_id)
                        .is_none_or(|r| r.amount != req.refund_amount);
                if inconsistent {
                    let r = fail(
                        "REPEAT_REQ_INCONSISTENT",
                        "the refundRequestId was used with different key fields",
                    );
                    return Answer::new(
                        &refund_response(r.clone(), None, None, off),
                        r,
                        Some(prid),
                        Some(scenario),
                    );
                }
                let Some(record) = p
                    .refunds
                    .iter()
                    .find(|r| r.refund_request_id == req.refund_request_id)
                else {
                    return bare(fail("PROCESS_FAIL", "refund record missing"), Some(prid));
                };
                let body = refund_response(
                    refund_result(record),
                    Some(record),
                    Some(&p.payment_id),
                    off,
                );
                let r = body.result.clone();
                Answer::new(&body, r, Some(prid), Some(scenario))
            }
            Entry::Vacant(v) => {
                let refused: Option<AntomResult> = match &p.state {
                    PayState::Processing | PayState::Failed { .. } => Some(fail(
                        "ORDER_STATUS_INVALID",
                        "the payment is not successful",
                    )),
                    PayState::Closed => Some(fail("ORDER_IS_CLOSED", "the order is closed")),
                    PayState::Cancelled { .. } => {
                        Some(fail("ORDER_IS_CANCELED", "the order was cancelled"))
                    }
                    // A card authorization is refunded once captured, up to what was captured.
                    PayState::Success if p.card().is_some_and(|a| !a.is_captured()) => Some(fail(
                        "ORDER_STATUS_INVALID",
                        "the authorization was not captured",
                    )),
                    PayState::Success => None,
                };
                if let Some(r) = refused {
                    // Nothing recorded: the payment state, not the refund, is the problem.
                    return Answer::new(
                        &refund_response(r.clone(), None, None, off),
                        r,
                        Some(prid),
                        Some(scenario),
                    );
                }
                let paid_at = p.paid_at.unwrap_or(p.created_at);
                let requested = req.refund_amount.minor_units().unwrap_or(u64::MAX);
                let remaining = p.refundable_base().saturating_sub(p.refunded_total());
                let code = if req.refund_amount.currency != p.key.amount.currency {
                    Some("CURRENCY_NOT_SUPPORT")
                } else if now > paid_at + cfg.refund_window {
                    Some("REFUND_WINDOW_EXCEED")
                } else if !cfg.multiple_refunds
                    && p.refunds.iter().any(|r| r.status == RefundStatus::Success)
                {
                    Some("MULTIPLE_REFUNDS_NOT_SUPPORTED")
                } else if requested > remaining {
                    Some("REFUND_AMOUNT_EXCEED")
                } else {
                    None
                };
                let seq = self.next_seq();
                let record = RefundRecord {
                    refund_request_id: req.refund_request_id.clone(),
                    refund_id: format!("{}1940108013001{:016}", now.year(), seq),
                    amount: req.refund_amount.clone(),
                    status: if code.is_some() {
                        RefundStatus::Fail
                    } else {
                        RefundStatus::Success
                    },
                    result_code: code.unwrap_or("SUCCESS").to_owned(),
                    time: now,
                };
                v.insert(prid.clone());
                p.updated_at = now;
                let body = refund_response(
                    refund_result(&record),
                    Some(&record),
                    Some(&p.payment_id),
                    off,
                );
                p.refunds.push(record);
                let r = body.result.clone();
                Answer::new(&body, r, Some(prid), Some(scenario))
            }
        }
    }

    // -----------------------------------------------------------------------------------
    // inquiryRefund
    // -----------------------------------------------------------------------------------

    /// Handles `inquiryRefund`.
    pub fn inquiry_refund(
        &self,
        req: &InquiryRefundRequest,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Answer {
        let off = cfg.response_utc_offset;
        let empty = |r: AntomResult, prid: Option<String>| {
            let body = InquiryRefundResponse {
                result: r.clone(),
                refund_id: None,
                refund_request_id: None,
                refund_amount: None,
                refund_time: None,
                refund_status: None,
                gross_settlement_amount: None,
                settlement_quote: None,
            };
            Answer::new(&body, r, prid, None)
        };
        let _ = now;
        let (by_refund_id, id) = match (
            req.refund_id.as_deref().filter(|s| !s.is_empty()),
            req.refund_request_id.as_deref().filter(|s| !s.is_empty()),
        ) {
            (Some(id), _) => (true, id),
            (None, Some(id)) => (false, id),
            (None, None) => {
                return empty(
                    param_illegal("refundRequestId or refundId is required"),
                    None,
                );
            }
        };
        let not_found = || fail("ORDER_NOT_EXIST", "the refund does not exist");
        let prid = if by_refund_id {
            // Refund ids are not indexed: scan (inquiries by refundId are rare in tests).
            self.payments.iter().find_map(|p| {
                p.refunds
                    .iter()
                    .any(|r| r.refund_id == id)
                    .then(|| p.payment_request_id.clone())
            })
        } else {
            self.refunds.get(id).map(|e| e.value().clone())
        };
        let Some(prid) = prid else {
            return empty(not_found(), None);
        };
        let Some(p) = self.payments.get(&prid) else {
            return empty(not_found(), Some(prid));
        };
        let Some(record) = p.refunds.iter().find(|r| {
            if by_refund_id {
                r.refund_id == id
            } else {
                r.refund_request_id == id
            }
        }) else {
            return empty(not_found(), Some(prid.clone()));
        };
        let r = AntomResult::success();
        let body = InquiryRefundResponse {
            result: r.clone(),
            refund_id: Some(record.refund_id.clone()),
            refund_request_id: Some(record.refund_request_id.clone()),
            refund_amount: Some(record.amount.clone()),
            refund_time: (record.status == RefundStatus::Success)
                .then(|| format_time(record.time, off)),
            refund_status: Some(record.status.clone()),
            gross_settlement_amount: None,
            settlement_quote: None,
        };
        Answer::new(&body, r, Some(prid.clone()), Some(p.scenario))
    }

    // -----------------------------------------------------------------------------------
    // control API
    // -----------------------------------------------------------------------------------

    /// Every payment, oldest first, with lazily applied expiry.
    pub fn snapshot(&self, now: OffsetDateTime, cfg: &SimConfig) -> Vec<PaymentView> {
        let mut views: Vec<(u64, PaymentView)> = self
            .payments
            .iter_mut()
            .map(|mut p| {
                p.refresh(now);
                (p.seq, view(&p, cfg))
            })
            .collect();
        views.sort_by_key(|(seq, _)| *seq);
        views.into_iter().map(|(_, v)| v).collect()
    }

    /// One payment by `paymentRequestId` or `paymentId`.
    pub fn payment_view(
        &self,
        id: &str,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Option<PaymentView> {
        let prid = if self.payments.contains_key(id) {
            id.to_owned()
        } else {
            self.by_payment_id.get(id)?.value().clone()
        };
        let mut p = self.payments.get_mut(&prid)?;
        p.refresh(now);
        Some(view(&p, cfg))
    }

    /// Forces a final state, as if the wallet (or Antom's operations) decided it.
    /// Reaching SUCCESS from another state sends the notification.
    pub fn force(
        &self,
        id: &str,
        target: ForcedState,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Option<(PaymentView, Vec<Effect>)> {
        let prid = if self.payments.contains_key(id) {
            id.to_owned()
        } else {
            self.by_payment_id.get(id)?.value().clone()
        };
        let mut p = self.payments.get_mut(&prid)?;
        let mut effects = Vec::new();
        let was_success = p.state == PayState::Success;
        match target {
            ForcedState::Success => {
                p.state = PayState::Success;
                if !was_success {
                    p.paid_at = Some(now);
                    effects.extend(self.notify_effect(&p, cfg));
                }
            }
            ForcedState::Fail(code) => {
                if p.state == PayState::Processing {
                    effects.extend(self.notify_fail_effect(&p, &code, cfg));
                }
                p.state = PayState::Failed { code };
            }
            ForcedState::Cancelled => {
                p.state = PayState::Cancelled {
                    refunded: was_success,
                };
                p.cancel_time = Some(now);
            }
            ForcedState::Processing => p.state = PayState::Processing,
        }
        p.updated_at = now;
        Some((view(&p, cfg), effects))
    }
}

/// A state the control API can force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForcedState {
    Success,
    Fail(String),
    Cancelled,
    Processing,
}

fn lookup_of<'a>(
    payment_id: Option<&'a str>,
    payment_request_id: Option<&'a str>,
) -> Result<Lookup<'a>, AntomResult> {
    match (
        payment_id.filter(|s| !s.is_empty()),
        payment_request_id.filter(|s| !s.is_empty()),
    ) {
        (Some(id), _) => Ok(Lookup::PaymentId(id)),
        (None, Some(id)) => Ok(Lookup::PaymentRequestId(id)),
        (None, None) => Err(param_illegal("paymentId or paymentRequestId is required")),
    }
}

/// The wallet user of a paid payment: the online wallet's, or the in-store one; none for
/// a card (the card is in `paymentResultInfo`).
fn psp_of(p: &Payment) -> Option<PspCustomerInfo> {
    match &p.online {
        Some(o) if o.card.is_some() => None,
        Some(o) => Some(crate::online::psp_customer(o)),
        None => Some(psp_customer()),
    }
}

fn psp_customer() -> PspCustomerInfo {
    PspCustomerInfo {
        psp_name: Some("ALIPAYCN".into()),
        psp_customer_id: Some("2088000000000000".into()),
        display_customer_id: Some("sim***@antom-sim.invalid".into()),
        display_customer_name: None,
    }
}

fn refund_result(record: &RefundRecord) -> AntomResult {
    if record.status == RefundStatus::Success {
        res("SUCCESS", ResultStatus::Success, "success.")
    } else {
        fail(&record.result_code, "the refund was refused")
    }
}

fn refund_response(
    result: AntomResult,
    record: Option<&RefundRecord>,
    payment_id: Option<&str>,
    off: time::UtcOffset,
) -> RefundResponse {
    let success = result.result_status == ResultStatus::Success;
    let record = record.filter(|_| success);
    RefundResponse {
        result,
        refund_request_id: record.map(|r| r.refund_request_id.clone()),
        refund_id: record.map(|r| r.refund_id.clone()),
        payment_id: record.and(payment_id.map(str::to_owned)),
        refund_amount: record.map(|r| r.amount.clone()),
        refund_time: record.map(|r| format_time(r.time, off)),
        gross_settlement_amount: None,
        settlement_quote: None,
        acquirer_reference_no: None,
    }
}

fn inquiry_body(p: &Payment, cfg: &SimConfig) -> InquiryPaymentResponse {
    let off = cfg.response_utc_offset;
    let mut body = InquiryPaymentResponse::from_result(AntomResult::success());
    let status = p.state.status();
    let (code, message) = match &p.state {
        PayState::Processing => ("PAYMENT_IN_PROCESS".to_owned(), "payment is processing"),
        PayState::Success => ("SUCCESS".to_owned(), "success"),
        PayState::Failed { code } => (code.clone(), "the payment failed"),
        PayState::Closed => ("ORDER_IS_CLOSED".to_owned(), "the order is closed"),
        PayState::Cancelled { .. } => ("ORDER_IS_CANCELED".to_owned(), "the order was cancelled"),
    };
    body.payment_status = Some(status);
    body.payment_result_code = Some(code);
    body.payment_result_message = Some(message.to_owned());
    body.payment_request_id = Some(p.payment_request_id.clone());
    body.payment.payment_id = Some(p.payment_id.clone());
    body.payment.payment_amount = Some(p.key.amount.clone());
    body.payment.payment_create_time = Some(format_time(p.created_at, off));
    if let Some(paid) = p.paid_at {
        body.payment.payment_time = Some(format_time(paid, off));
        body.payment.actual_payment_amount = Some(p.key.amount.clone());
        body.payment.psp_customer_info = psp_of(p);
    }
    (
        body.payment.payment_result_info,
        body.payment.auth_expiry_time,
    ) = card::card_details(p, off);
    if let Some(online) = &p.online {
        let paid = p.paid_at.is_some();
        crate::online::add_online_details(&mut body.payment, online, &p.payment_request_id, paid);
    }
    let mut transactions = card::capture_transactions(p, off);
    if let (PayState::Cancelled { refunded }, Some(t)) = (&p.state, p.cancel_time) {
        // A card authorization cancelled before any capture was voided, not refunded.
        let kind = if p.card().is_some() && !refunded {
            "VOID"
        } else {
            "CANCEL"
        };
        transactions.push(Transaction {
            transaction_type: Some(kind.into()),
            transaction_status: Some("SUCCESS".into()),
            transaction_request_id: Some(p.payment_request_id.clone()),
            transaction_id: Some(p.payment_id.clone()),
            transaction_amount: Some(p.key.amount.clone()),
            transaction_time: Some(format_time(t, off)),
            transaction_result: Some(AntomResult::success()),
        });
    }
    for r in &p.refunds {
        transactions.push(Transaction {
            transaction_type: Some("REFUND".into()),
            transaction_status: Some(r.status.as_str().to_owned()),
            transaction_request_id: Some(r.refund_request_id.clone()),
            transaction_id: Some(r.refund_id.clone()),
            transaction_amount: Some(r.amount.clone()),
            transaction_time: Some(format_time(r.time, off)),
            transaction_result: Some(refund_result(r)),
        });
    }
    if !transactions.is_empty() {
        body.transactions = Some(transactions);
    }
    body
}

/// A payment as the control API shows it.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    /// The merchant's id.
    pub payment_request_id: String,
    /// The simulator's id.
    pub payment_id: String,
    /// The client that created it.
    pub client_id: String,
    /// SUCCESS / FAIL / PROCESSING / CANCELLED.
    pub status: String,
    /// For FAIL: the reason (`ORDER_IS_CLOSED` for an expired payment).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_code: Option<String>,
    /// Whether a CANCELLED payment had been paid (and was refunded in full by the cancel).
    pub cancelled_after_success: bool,
    /// Minor units, as a string.
    pub amount: String,
    /// ISO 4217 alpha-3.
    pub currency: String,
    /// The scenario picked at creation.
    pub scenario: &'static str,
    /// Inquiries received.
    pub inquiries: u32,
    /// Refunds, in order.
    pub refunds: Vec<RefundView>,
    /// Sum of successful refunds (minor units).
    pub refunded_total: u64,
    /// Creation time (UTC, RFC 3339).
    pub created_at: String,
    /// Last change (UTC, RFC 3339).
    pub updated_at: String,
    /// Success time, when it was paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    /// Cancel time, when cancelled (or closed by a cancel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_time: Option<String>,
    /// Notification POSTs sent (every attempt counts).
    pub notifications_sent: u32,
    /// Notification POSTs answered with the SUCCESS acknowledgement.
    pub notifications_acked: u32,
    /// Online only: the wallet (`paymentMethod.paymentMethodType`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_method_type: Option<String>,
    /// Online only: where the wallet page sends the buyer back (`paymentRedirectUrl`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_redirect_url: Option<String>,
    /// Online only: when the unpaid payment closes (UTC, RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Cards only: `AUTOMATIC` or `MANUAL`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_mode: Option<String>,
    /// Cards only: `NOT_CAPTURED`, `PARTIALLY_CAPTURED` or `CAPTURED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_status: Option<String>,
    /// Cards only: sum of the successful captures (minor units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured_total: Option<u64>,
    /// Cards only: every capture that got an answer (successful or refused), in order; a
    /// `captureRequestId` appears once however often it was sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub captures: Vec<CaptureView>,
    /// Cards only: when the authorization can no longer be captured (UTC, RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_expires_at: Option<String>,
    /// Cards only: the saved card's token (usable as `paymentMethodId` by the same client).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_token: Option<String>,
    /// Cards only: the last four digits of the authorized card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_last_four: Option<String>,
}

/// A card capture as the control API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptureView {
    /// The merchant's capture id (`<paymentId>-auto` for an automatic capture).
    pub capture_request_id: String,
    /// The simulator's capture id.
    pub capture_id: String,
    /// Minor units.
    pub amount: String,
    /// SUCCESS / FAIL.
    pub status: String,
    /// SUCCESS or the refusal code.
    pub result_code: String,
    /// When it was decided (UTC, RFC 3339).
    pub time: String,
}

/// A refund as the control API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundView {
    /// The merchant's refund id.
    pub refund_request_id: String,
    /// The simulator's refund id.
    pub refund_id: String,
    /// Minor units.
    pub amount: String,
    /// Currency.
    pub currency: String,
    /// SUCCESS / FAIL.
    pub status: String,
    /// SUCCESS or the refusal code.
    pub result_code: String,
    /// When it was decided (UTC, RFC 3339).
    pub time: String,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn view(p: &Payment, _cfg: &SimConfig) -> PaymentView {
    let (status, result_code, after_success) = match &p.state {
        PayState::Processing => ("PROCESSING", None, false),
        PayState::Success => ("SUCCESS", None, false),
        PayState::Failed { code } => ("FAIL", Some(code.clone()), false),
        PayState::Closed => ("FAIL", Some("ORDER_IS_CLOSED".to_owned()), false),
        PayState::Cancelled { refunded } => ("CANCELLED", None, *refunded),
    };
    PaymentView {
        payment_request_id: p.payment_request_id.clone(),
        payment_id: p.payment_id.clone(),
        client_id: p.client_id.clone(),
        status: status.to_owned(),
        result_code,
        cancelled_after_success: after_success,
        amount: p.key.amount.value.clone(),
        currency: p.key.amount.currency.clone(),
        scenario: p.scenario.name(),
        inquiries: p.inquiries,
        refunds: p
            .refunds
            .iter()
            .map(|r| RefundView {
                refund_request_id: r.refund_request_id.clone(),
                refund_id: r.refund_id.clone(),
                amount: r.amount.value.clone(),
                currency: r.amount.currency.clone(),
                status: r.status.as_str().to_owned(),
                result_code: r.result_code.clone(),
                time: rfc3339(r.time),
            })
            .collect(),
        refunded_total: p.refunded_total(),
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
        paid_at: p.paid_at.map(rfc3339),
        cancel_time: p.cancel_time.map(rfc3339),
        notifications_sent: p.notifications_sent,
        notifications_acked: p.notifications_acked,
        payment_method_type: p.online.as_ref().map(|o| o.wallet.method_type.to_owned()),
        payment_redirect_url: p.online.as_ref().map(|o| o.redirect_url.clone()),
        expires_at: p.online.as_ref().map(|_| rfc3339(p.expires_at)),
        ..card_view(p)
    }
}

/// The card fields of a [`PaymentView`] (all empty for other payments).
fn card_view(p: &Payment) -> PaymentView {
    let auth = p.card();
    let captured = auth.map(CardAuth::captured_total);
    let authorized = p.key.amount.minor_units().unwrap_or(0);
    PaymentView {
        capture_mode: auth.map(|a| a.mode.as_str().to_owned()),
        capture_status: captured.map(|c| {
            match c {
                0 => "NOT_CAPTURED",
                c if c < authorized => "PARTIALLY_CAPTURED",
                _ => "CAPTURED",
            }
            .to_owned()
        }),
        captured_total: captured,
        captures: auth
            .map(|a| {
                a.captures
                    .iter()
                    .map(|c| CaptureView {
                        capture_request_id: c.capture_request_id.clone(),
                        capture_id: c.capture_id.clone(),
                        amount: c.amount.value.clone(),
                        status: if c.success { "SUCCESS" } else { "FAIL" }.to_owned(),
                        result_code: c.result_code.clone(),
                        time: rfc3339(c.time),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        auth_expires_at: auth.and_then(|a| a.auth_expires_at).map(rfc3339),
        card_token: auth.and_then(|a| a.token.clone()),
        card_last_four: auth.and_then(|a| a.card.as_ref().map(|c| c.last_four.clone())),
        ..PaymentView::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    const ANTOM_KEY: &str = include_str!("../testdata/antom_private_pkcs8.pem");

    fn cfg() -> SimConfig {
        let mut cfg = SimConfig::from_antom_private_key(ANTOM_KEY).unwrap();
        cfg.settle_after_inquiries = 2;
        cfg
    }

    fn pay_req(prid: &str, suffix: &str, value: u64) -> PayRequest {
        serde_json::from_value(serde_json::json!({
            "productCode": "IN_STORE_PAYMENT",
            "paymentRequestId": prid,
            "order": {
                "orderDescription": "x",
                "orderAmount": {"currency": "SGD", "value": value.to_string()},
                "merchant": {"referenceMerchantId": "M", "merchantMCC": "5411", "merchantName": "N"}
            },
            "paymentAmount": {"currency": "SGD", "value": value.to_string()},
            "paymentMethod": {"paymentMethodType": "CONNECT_WALLET", "paymentMethodId": format!("2810123456789012{suffix}")},
            "paymentFactor": {"inStorePaymentScenario": "PaymentCode"},
            "paymentNotifyUrl": "http://127.0.0.1:9/notify"
        }))
        .unwrap()
    }

    /// An online wallet pay (ids 3 and 4 of the property test are online).
    fn online_req(prid: &str, value: u64) -> PayRequest {
        serde_json::from_value(serde_json::json!({
            "productCode": "CASHIER_PAYMENT",
            "paymentRequestId": prid,
            "order": {
                "referenceOrderId": "o",
                "orderDescription": "x",
                "orderAmount": {"currency": "SGD", "value": value.to_string()},
                "merchant": {"referenceMerchantId": "", "merchantMCC": "", "merchantName": ""}
            },
            "paymentAmount": {"currency": "SGD", "value": value.to_string()},
            "paymentMethod": {"paymentMethodType": "GCASH"},
            "paymentFactor": {},
            "paymentRedirectUrl": "https://shop.example/r",
            "env": {"terminalType": "WAP"},
            "paymentNotifyUrl": "http://127.0.0.1:9/notify"
        }))
        .unwrap()
    }

    /// Ids 0–2 are in-store payments, 3–4 online ones.
    const IDS: usize = 5;

    fn prid_of(id: usize) -> String {
        format!("p{id}")
    }

    #[derive(Debug, Clone)]
    enum Op {
        Pay {
            id: usize,
            suffix: usize,
            value: u64,
        },
        OnlinePay {
            id: usize,
            value: u64,
        },
        Buyer {
            id: usize,
            action: usize,
        },
        /// What the expiry watcher does when it wakes.
        Watch {
            id: usize,
        },
        Inquiry {
            id: usize,
        },
        Cancel {
            id: usize,
        },
        Refund {
            id: usize,
            refund: usize,
            value: u64,
        },
        Advance {
            minutes: i64,
        },
    }

    const SUFFIXES: [&str; 7] = ["00", "10", "30", "31", "32", "52", "54"];

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..3usize, 0..SUFFIXES.len(), 1..3u64).prop_map(|(id, suffix, value)| Op::Pay {
                id,
                suffix,
                value: value * 100
            }),
            (3..IDS, 1..3u64).prop_map(|(id, value)| Op::OnlinePay {
                id,
                value: value * 100
            }),
            (0..IDS, 0..3usize).prop_map(|(id, action)| Op::Buyer { id, action }),
            (3..IDS).prop_map(|id| Op::Watch { id }),
            (0..IDS).prop_map(|id| Op::Inquiry { id }),
            (0..IDS).prop_map(|id| Op::Cancel { id }),
            (0..IDS, 0..4usize, 1..250u64).prop_map(|(id, refund, value)| Op::Refund {
                id,
                refund,
                value
            }),
            (1..30i64).prop_map(|minutes| Op::Advance { minutes }),
        ]
    }

    fn status_of(
        ledger: &Ledger,
        prid: &str,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Option<String> {
        ledger.payment_view(prid, now, cfg).map(|v| v.status)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the order of calls, in-store and online (buyer actions and expiry checks
        /// included): refunds never exceed the payment, CANCELLED and FAIL are final, SUCCESS
        /// only comes from PROCESSING (or at creation), a notification (S, or online F) is
        /// produced at most once per payment, and a repeated pay answers from the current state.
        #[test]
        fn ledger_invariants(ops in proptest::collection::vec(op(), 1..40)) {
            let cfg = cfg();
            let ledger = Ledger::default();
            let mut now = OffsetDateTime::now_utc();
            let mut first_body: HashMap<usize, PayRequest> = HashMap::new();
            let mut notified: HashMap<String, u32> = HashMap::new();
            for op in ops {
                let before: HashMap<usize, Option<String>> = (0..IDS)
                    .map(|id| (id, status_of(&ledger, &prid_of(id), now, &cfg)))
                    .collect();
                let answer = match &op {
                    Op::Pay { id, suffix, value } => {
                        let req = first_body
                            .entry(*id)
                            .or_insert_with(|| pay_req(&format!("p{id}"), SUFFIXES[*suffix], *value))
                            .clone();
                        let scenario = crate::scenario::select(
                            req.payment_method.payment_method_id.as_ref().map(|c| c.expose()),
                            &req.payment_amount.value,
                        );
                        ledger.pay("c", &req, scenario, NewPaymentFaults::default(), now, &cfg)
                    }
                    Op::OnlinePay { id, value } => {
                        let req = first_body
                            .entry(*id)
                            .or_insert_with(|| online_req(&prid_of(*id), *value))
                            .clone();
                        let scenario = crate::scenario::select_checkout(&req.payment_amount.value);
                        ledger.pay("c", &req, scenario, NewPaymentFaults::default(), now, &cfg)
                    }
                    Op::Buyer { id, action } => {
                        let action = [BuyerAction::Approve, BuyerAction::Decline, BuyerAction::Leave][*action];
                        let outcome = ledger.buyer_act(&prid_of(*id), action, None, now, &cfg);
                        if *id < 3 {
                            prop_assert!(outcome.is_none(), "an in-store payment has no buyer page");
                        }
                        let Some((outcome, effects)) = outcome else { continue };
                        prop_assert_eq!(outcome.redirect_url.as_str(), "https://shop.example/r");
                        let mut answer = Answer::new(&(), AntomResult::success(), None, None);
                        answer.effects = effects;
                        answer
                    }
                    Op::Watch { id } => {
                        let ExpiryCheck::Done(effects) = ledger.check_expiry(&prid_of(*id), now, &cfg) else { continue };
                        let mut answer = Answer::new(&(), AntomResult::success(), None, None);
                        answer.effects = effects;
                        answer
                    }
                    Op::Inquiry { id } => ledger.inquiry_payment(
                        &InquiryPaymentRequest::by_payment_request_id(format!("p{id}")), now, &cfg),
                    Op::Cancel { id } => ledger.cancel(
                        &CancelRequest::by_payment_request_id(format!("p{id}")), now, &cfg),
                    Op::Refund { id, refund, value } => {
                        let Some(view) = ledger.payment_view(&format!("p{id}"), now, &cfg) else { continue };
                        ledger.refund(
                            &RefundRequest::new(format!("r{id}-{refund}"), view.payment_id, Amount::minor("SGD", *value)),
                            now, &cfg)
                    }
                    Op::Advance { minutes } => {
                        now += time::Duration::minutes(*minutes);
                        continue;
                    }
                };
                for effect in &answer.effects {
                    if let Effect::Notify(job) = effect {
                        *notified.entry(job.payment_request_id.clone()).or_default() += 1;
                    }
                }
                for id in 0..IDS {
                    let prid = prid_of(id);
                    let after = status_of(&ledger, &prid, now, &cfg);
                    let was = before[&id].clone();
                    if let Some(was) = &was {
                        if was == "CANCELLED" || was == "FAIL" {
                            prop_assert_eq!(after.as_deref(), Some(was.as_str()), "{} left a final state", prid);
                        }
                        if after.as_deref() == Some("SUCCESS") {
                            prop_assert!(was == "PROCESSING" || was == "SUCCESS");
                        }
                    }
                    if let Some(view) = ledger.payment_view(&prid, now, &cfg) {
                        let amount: u64 = view.amount.parse().unwrap();
                        prop_assert!(view.refunded_total <= amount);
                        if view.status == "CANCELLED" && view.refunded_total > 0 {
                            prop_assert!(false, "a refunded payment was cancelled");
                        }
                    }
                }
                if let Op::Pay { id, .. } | Op::OnlinePay { id, .. } = op {
                    let status = status_of(&ledger, &format!("p{id}"), now, &cfg);
                    let code = answer.result.result_code.as_str();
                    match status.as_deref() {
                        Some("SUCCESS") => prop_assert!(code == "SUCCESS" || code == "UNKNOWN_EXCEPTION"),
                        Some("CANCELLED") => prop_assert_eq!(code, "ORDER_IS_CANCELED"),
                        Some("PROCESSING") => prop_assert_eq!(code, "PAYMENT_IN_PROCESS"),
                        Some("FAIL") => prop_assert!(answer.result.result_status == ResultStatus::Failed),
                        _ => {}
                    }
                }
            }
            for (prid, count) in notified {
                prop_assert!(count <= 1, "{} notified {} times", prid, count);
            }
        }
    }

    #[test]
    fn payment_ids_are_unique_and_look_like_antom_ids() {
        let cfg = cfg();
        let ledger = Ledger::default();
        let now = OffsetDateTime::now_utc();
        let a = ledger.pay(
            "c",
            &pay_req("a", "00", 100),
            Scenario::Success,
            NewPaymentFaults::default(),
            now,
            &cfg,
        );
        let b = ledger.pay(
            "c",
            &pay_req("b", "00", 100),
            Scenario::Success,
            NewPaymentFaults::default(),
            now,
            &cfg,
        );
        let id = |a: &Answer| {
            serde_json::from_slice::<serde_json::Value>(&a.body).unwrap()["paymentId"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_ne!(id(&a), id(&b));
        assert!(id(&a).len() <= 64 && id(&a).bytes().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn times_have_seconds_and_an_offset() {
        let t = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap()
            + time::Duration::milliseconds(123);
        assert_eq!(
            format_time(t, time::macros::offset!(-8)),
            "2023-11-14T14:13:20-08:00"
        );
    }
}
