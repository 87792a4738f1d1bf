//! Checkout Page sessions inside the ledger: creating one (idempotent on `paymentRequestId`),
//! what the page shows, the buyer's choice of a method (which creates the session's payment
//! under the session's `paymentRequestId`), and closing an unsubmitted session on a cancel.
//!
//! Lock order: a session entry may be held while the payment entry is taken (the buyer's
//! choice); a cancel closes the session *before* it takes the payment entry, never while
//! holding it, so the two never wait on each other in opposite orders.

use asw_antom::session::{CreatePaymentSessionRequest, CreatePaymentSessionResponse};
use asw_antom::{AntomResult, ResultStatus};
use dashmap::mapref::entry::Entry;
use serde::Serialize;
use time::OffsetDateTime;

use super::{Answer, Effect, Ledger, NewPaymentFaults, fail, format_time, param_illegal, res};
use crate::card::CARD_METHOD_TYPE;
use crate::config::SimConfig;
use crate::scenario::Scenario;
use crate::session::{self, DEFAULT_METHODS, MAX_SESSION, SessionRecord};

/// A session as the control API and the page show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// `paymentSessionId`.
    pub session_id: String,
    /// The merchant's id of the payment the session makes.
    pub payment_request_id: String,
    /// `OPEN`, `SUBMITTED`, `CLOSED` (cancelled before anything was submitted) or `EXPIRED`.
    pub status: String,
    /// The methods on the page, in order.
    pub methods: Vec<String>,
    /// The method the buyer submitted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted_method: Option<String>,
    /// Minor units.
    pub amount: String,
    /// ISO 4217 alpha-3.
    pub currency: String,
    /// `order.referenceOrderId`.
    pub reference_order_id: String,
    /// `order.orderDescription`.
    pub order_description: String,
    /// Whether `order.buyer` names the buyer (card payments need it).
    pub buyer_identified: bool,
    /// When the page stops taking payments (UTC, RFC 3339).
    pub expires_at: String,
    /// `normalUrl`.
    pub normal_url: String,
}

/// Why the buyer's choice on the page was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubmitRefusal {
    /// No session by that id.
    Unknown,
    /// Cancelled or expired before anything was submitted.
    Closed(&'static str),
    /// The method is not on this page.
    NotOffered,
    /// A card without `order.buyer` (Antom's page errors the same way).
    BuyerRequired,
}

/// The payment a submitted session became.
#[derive(Debug, Clone)]
pub(crate) struct Submitted {
    pub payment_id: String,
    pub payment_request_id: String,
    pub is_card: bool,
    pub effects: Vec<Effect>,
}

impl Ledger {
    /// Handles a validated `createPaymentSession`. `commit` is false for the scenarios that
    /// store nothing (the answer is then `U`).
    pub fn create_session(
        &self,
        client_id: &str,
        req: &CreatePaymentSessionRequest,
        commit: bool,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Answer {
        let prid = req.payment_request_id.clone();
        let refuse = |r: AntomResult| {
            Answer::new(
                &CreatePaymentSessionResponse::from_result(r.clone()),
                r,
                Some(prid.clone()),
                None,
            )
        };
        if self.payments.contains_key(&prid) {
            return refuse(fail(
                "REPEAT_REQ_INCONSISTENT",
                "the paymentRequestId was used by a payment",
            ));
        }
        let expires_at = match req.payment_session_expiry_time.as_deref() {
            None => now + MAX_SESSION,
            Some(t) => {
                match OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339) {
                    // A second of slack for the caller's clock and rounding.
                    Ok(at) if at > now && at <= now + MAX_SESSION + time::Duration::SECOND => at,
                    _ => {
                        return refuse(param_illegal(
                            "paymentSessionExpiryTime must be in the next hour",
                        ));
                    }
                }
            }
        };
        match self.sessions.entry(prid.clone()) {
            Entry::Occupied(entry) => {
                let s = entry.get();
                if s.amount != req.payment_amount {
                    return refuse(fail(
                        "REPEAT_REQ_INCONSISTENT",
                        "the paymentRequestId was used with different key fields",
                    ));
                }
                // The same session again (Antom's behaviour here is unconfirmed).
                session_answer(s, cfg, Some(prid.clone()))
            }
            Entry::Vacant(entry) => {
                if !commit {
                    let r = res(
                        "UNKNOWN_EXCEPTION",
                        ResultStatus::Unknown,
                        "API failed due to unknown reason.",
                    );
                    return Answer::new(
                        &CreatePaymentSessionResponse::from_result(r.clone()),
                        r,
                        Some(prid),
                        None,
                    )
                    .created();
                }
                let seq = self.next_seq();
                let offered = req.offered_methods();
                let methods = if offered.is_empty() {
                    DEFAULT_METHODS.iter().map(|m| (*m).to_owned()).collect()
                } else {
                    offered
                };
                let record = SessionRecord {
                    session_id: format!("SIMSESSION{seq:016}"),
                    payment_request_id: prid.clone(),
                    client_id: client_id.to_owned(),
                    amount: req.payment_amount.clone(),
                    redirect_url: req.payment_redirect_url.clone(),
                    notify_url: req.payment_notify_url.clone(),
                    reference_order_id: req.order.reference_order_id.clone(),
                    order_description: req.order.order_description.clone(),
                    methods,
                    payment_factor: req.payment_factor.clone(),
                    buyer_identified: req
                        .order
                        .buyer
                        .as_ref()
                        .is_some_and(asw_antom::session::buyer_identified),
                    buyer: req.order.buyer.clone(),
                    expires_at,
                    submitted: None,
                    closed: false,
                };
                self.session_ids
                    .insert(record.session_id.clone(), prid.clone());
                let answer = session_answer(&record, cfg, Some(prid));
                entry.insert(record);
                answer.created()
            }
        }
    }

    fn session_prid(&self, id: &str) -> Option<String> {
        if self.sessions.contains_key(id) {
            Some(id.to_owned())
        } else {
            self.session_ids.get(id).map(|e| e.value().clone())
        }
    }

    /// A session by `paymentSessionId` or `paymentRequestId`.
    pub fn session_view(
        &self,
        id: &str,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Option<SessionView> {
        let prid = self.session_prid(id)?;
        let s = self.sessions.get(&prid)?;
        Some(SessionView {
            session_id: s.session_id.clone(),
            payment_request_id: s.payment_request_id.clone(),
            status: s.status(now).to_owned(),
            methods: s.methods.clone(),
            submitted_method: s.submitted.clone(),
            amount: s.amount.value.clone(),
            currency: s.amount.currency.clone(),
            reference_order_id: s.reference_order_id.clone(),
            order_description: s.order_description.clone(),
            buyer_identified: s.buyer_identified,
            expires_at: format_time(s.expires_at, time::UtcOffset::UTC),
            normal_url: session::normal_url(cfg, &s.session_id),
        })
    }

    /// The buyer picks `method` on the page: the session's payment is created (awaiting the
    /// buyer on the method's own page). Picking again afterwards leads to that same payment.
    pub(crate) fn submit_session(
        &self,
        id: &str,
        method: &str,
        now: OffsetDateTime,
        cfg: &SimConfig,
    ) -> Result<Submitted, SubmitRefusal> {
        let prid = self.session_prid(id).ok_or(SubmitRefusal::Unknown)?;
        let mut entry = self.sessions.get_mut(&prid).ok_or(SubmitRefusal::Unknown)?;
        let s = &mut *entry;
        let mut effects = Vec::new();
        if s.submitted.is_none() {
            match s.status(now) {
                "CLOSED" => return Err(SubmitRefusal::Closed("the session was cancelled")),
                "EXPIRED" => return Err(SubmitRefusal::Closed("the session has expired")),
                _ => {}
            }
            if !s.methods.iter().any(|m| m == method) {
                return Err(SubmitRefusal::NotOffered);
            }
            if method == CARD_METHOD_TYPE && !s.buyer_identified {
                return Err(SubmitRefusal::BuyerRequired);
            }
            let request = s.pay_request(method);
            let mut answer = self.pay(
                &s.client_id,
                &request,
                Scenario::Checkout,
                NewPaymentFaults::default(),
                now,
                cfg,
            );
            effects = std::mem::take(&mut answer.effects);
            s.submitted = Some(method.to_owned());
        }
        let payment = self.payments.get(&prid).ok_or(SubmitRefusal::Unknown)?;
        Ok(Submitted {
            payment_id: payment.payment_id.clone(),
            payment_request_id: prid.clone(),
            is_card: payment.card().is_some(),
            effects,
        })
    }

    /// A cancel of a `paymentRequestId`: an open session is closed, so nothing can be paid on
    /// it any more. Called before the cancel looks at the payments (see the lock order).
    pub(crate) fn close_session(&self, payment_request_id: &str) {
        if let Some(mut s) = self.sessions.get_mut(payment_request_id)
            && s.submitted.is_none()
        {
            s.closed = true;
        }
    }
}

/// The `S` answer of a created session.
fn session_answer(s: &SessionRecord, cfg: &SimConfig, prid: Option<String>) -> Answer {
    let r = AntomResult::success();
    let body = CreatePaymentSessionResponse {
        result: r.clone(),
        payment_session_data: Some(s.session_data()),
        payment_session_expiry_time: Some(format_time(s.expires_at, cfg.response_utc_offset)),
        payment_session_id: Some(s.session_id.clone()),
        normal_url: Some(session::normal_url(cfg, &s.session_id)),
    };
    Answer::new(&body, r, prid, Some(Scenario::Checkout))
}
