//! The comparison itself, pure: what every terminal saw (the load tool's records) against what
//! Antom holds (the simulator's ledger and call log). No I/O, so it is unit-tested on its own.
//!
//! Matching: the `paymentRequestId` of a terminal purchase is a pure function of its request —
//! `YY MMDD hhmmss TID amount STAN` followed by an 8-hex tag keyed with the deployment's
//! `[ids] secret` (`asw-front-iso`'s `terminal_ids`). The checker knows the secret (it wrote the
//! switches' configuration), so it rebuilds the exact id every record's request must produce:
//! that id finds the payment, whether or not the terminal got an answer, and a `PR` answered to
//! the terminal must be that id. Without the secret it falls back to the prefix (everything but
//! the tag), which is unique on its own: STANs do not repeat within a terminal and a run.

use std::collections::{BTreeMap, HashMap, HashSet};

use asw_antom_sim::{CallRecord, PaymentView};
use asw_terminal_sim::load::{ADVICE_ATTEMPTS, FollowUp, Scenario, TxRecord};
use serde::Serialize;

/// Length of the keyed tag that ends every `paymentRequestId`.
const TAG_LEN: usize = 8;

/// Why an outcome is accepted either way: the terminal itself cannot know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// An approved purchase whose reversal advice got no answer at all in the load tool's
    /// attempts: the switch may never have received it.
    AdviceUnanswered,
    /// A void that got no answer.
    VoidUnanswered,
    /// A refund answered `91` or not at all (the switch completes refunds through its queue).
    RefundUnresolved,
}

impl Cause {
    /// Every cause, in report order.
    pub const ALL: [Cause; 3] = [
        Cause::AdviceUnanswered,
        Cause::VoidUnanswered,
        Cause::RefundUnresolved,
    ];

    /// The name used in the report and in `--max-uncertain-cause`.
    pub fn name(self) -> &'static str {
        match self {
            Cause::AdviceUnanswered => "advice_unanswered",
            Cause::VoidUnanswered => "void_unanswered",
            Cause::RefundUnresolved => "refund_unresolved",
        }
    }

    /// One line for people.
    pub fn describe(self) -> &'static str {
        match self {
            Cause::AdviceUnanswered => {
                "approved, reversal advice never answered (the switch may not have received it)"
            }
            Cause::VoidUnanswered => "void without answer",
            Cause::RefundUnresolved => "refund answered 91 or not at all",
        }
    }

    /// The cause named `name`.
    pub fn from_name(name: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.name() == name)
    }
}

/// What Antom must hold for one purchase, given what its terminal saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "expect", content = "why")]
pub enum Expectation {
    /// Told approved and not reversed or voided: SUCCESS, not fully refunded.
    Paid,
    /// Told anything else, nothing, or reversed/voided: no SUCCESS (or fully refunded).
    NotPaid,
    /// The terminal itself cannot know (e.g. its void got no answer); either end is accepted
    /// and counted by cause, against a bound.
    Either(Cause),
    /// The switch refused the message that would settle it (a 0430 other than `00` to the
    /// advice of an approved purchase): that refusal is the violation (`advice_refused`); the
    /// payment is judged neither as agreement nor as uncertain.
    Refused,
}

/// The totals printed as the run's table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Transaction records the load tools returned (purchases, each possibly with a follow-up).
    pub transactions: u64,
    /// Purchases written to a switch.
    pub sent: u64,
    /// Purchases that could not be written (switch down): nothing may exist at Antom for them.
    pub not_sent: u64,
    /// Records whose load process was killed with one of their messages in flight (counted
    /// in `not_sent` when it was the purchase: whether it left is unknown, so the never-sent
    /// rule does not apply; the restarted process reversed it).
    pub killed_in_flight: u64,
    /// Of those, with a payment or a call at Antom all the same (each one a violation).
    pub never_sent_at_antom: u64,
    /// Purchases answered `00`.
    pub approved: u64,
    /// Purchases answered with another code than `00` or `91`.
    pub declined: u64,
    /// Purchases answered `91` (outcome unknown, cancel queued).
    pub answered_91: u64,
    /// Purchases without any answer (timeout, disconnect, switch killed).
    pub no_answer: u64,
    /// Reversal advices acknowledged with a 0430 `00`.
    pub reversed: u64,
    /// Reversal advices whose last answer was a 0430 other than `00` (not accepted after every
    /// attempt).
    pub advices_refused: u64,
    /// Reversal advices answered at least once with a 0430 other than `00` and acknowledged
    /// by a later repeat (e.g. 96 while a Redis master fails over): the protocol working —
    /// the switch must not acknowledge what it cannot store yet, and the terminal repeats.
    /// Reported, not judged; an advice never acknowledged is the violation (`advices_refused`).
    pub advice_refusals: u64,
    /// Reversal advices never answered after the tool's attempts.
    pub advices_unacknowledged: u64,
    /// Reversal advice repeats (0421) sent.
    pub advice_repeats: u64,
    /// Voids answered `00`.
    pub voids_approved: u64,
    /// Voids with no answer (either outcome accepted).
    pub voids_unanswered: u64,
    /// Refunds answered `00`.
    pub refunds_approved: u64,
    /// Refunds answered `91` or not at all (the switch completes them; either accepted).
    pub refunds_uncertain: u64,
    /// Refunds and voids sent by a terminal with no authority over the payment.
    pub foreign_follow_ups: u64,
    /// Of those, answered `00` (each one is also an inconsistency).
    pub foreign_follow_ups_accepted: u64,
    /// Voids sent after a partial refund of the same payment.
    pub voids_after_refund: u64,
    /// Of those, declined because the refund held part of the payment.
    pub voids_after_refund_declined: u64,
    /// `cancel` calls Antom received.
    pub cancels_sent: u64,
    /// `refund` calls Antom received.
    pub refund_calls: u64,
    /// `pay` calls Antom received.
    pub pay_calls: u64,
    /// `pay` calls beyond the first for the same `paymentRequestId`.
    pub duplicate_pay_calls: u64,
    /// `inquiryPayment` calls Antom received.
    pub inquiries: u64,
    /// Terminal payments at Antom that no terminal record names (each one a violation).
    pub orphan_payments: u64,
    /// Terminal payments named by more than one record (each one a violation).
    pub payments_matched_twice: u64,
    /// Purchases answered with a `PR` that is not the id their own request produces.
    pub wrong_request_ids: u64,
    /// Payments (terminal and REST) still `PROCESSING` at the end.
    pub still_processing: u64,
    /// Matched by the `PR` the terminal received.
    pub matched_by_payment_request_id: u64,
    /// Matched by the id rebuilt from the request (no `PR` seen).
    pub matched_by_key: u64,
    /// Purchases with no payment at Antom at all.
    pub never_created: u64,
    /// Entries in the SAF dead-letter streams at the end.
    pub dead_letters: u64,
    /// Entries still queued in SAF at the end (should be 0 once quiet).
    pub saf_left: u64,
    /// Terminal and Antom disagree (either way), orphan SUCCESS included.
    pub inconsistent: u64,
    /// Of those: a reversal advice was acknowledged, yet Antom holds SUCCESS.
    pub acknowledged_reversals_not_executed: u64,
}

/// One thing found wrong (or, for `uncertain`, accepted either way), with both views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The violation class it counts under (see [`crate::verdict::CLASSES`]).
    pub class: &'static str,
    /// Which rule broke, more precisely than the class.
    pub kind: &'static str,
    /// The load record's sequence number (none for payments no record names).
    pub seq: Option<u64>,
    /// Terminal id (`rest` for a REST merchant's payment).
    pub terminal_id: String,
    /// STAN of the purchase (the `Idempotency-Key` for REST).
    pub stan: String,
    /// Load scenario.
    pub scenario: String,
    /// The payment at Antom, when found (or the id concerned).
    pub payment_request_id: Option<String>,
    /// What the terminal saw, in one line.
    pub terminal_view: String,
    /// What Antom holds, in one line.
    pub antom_view: String,
    /// What exactly is wrong, when the views do not say it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

impl Finding {
    /// A finding about a payment (or an entry) no record is known for.
    pub fn about_payment(
        class: &'static str,
        kind: &'static str,
        payment_request_id: Option<String>,
        antom_view: String,
        detail: String,
    ) -> Finding {
        Finding {
            class,
            kind,
            seq: None,
            terminal_id: String::new(),
            stan: String::new(),
            scenario: String::new(),
            payment_request_id,
            terminal_view: "no record names this payment".into(),
            antom_view,
            detail,
        }
    }
}

/// The result of comparing both sides.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparison {
    /// The totals.
    pub table: Table,
    /// Every violation found, each under its class.
    pub findings: Vec<Finding>,
    /// Records whose outcome was accepted either way, by cause.
    pub uncertain: BTreeMap<Cause, u64>,
    /// Those records, one finding each (class `uncertain`): the offenders when a bound is
    /// exceeded.
    pub uncertain_findings: Vec<Finding>,
}

/// How the switch derives terminal payment ids, as far as the checker needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdRule {
    /// The UTC year of the run (F13 carries no year; the switch infers the nearest).
    pub year: i32,
    /// The switches' `[ids] secret`; without it only the prefix is checked.
    pub secret: Option<Vec<u8>>,
}

impl IdRule {
    /// The id rule of a run in `year` with the deployment secret `secret`.
    pub fn new(year: i32, secret: Option<Vec<u8>>) -> Self {
        IdRule { year, secret }
    }

    /// The `paymentRequestId` `record`'s purchase must have.
    pub fn expected(&self, record: &TxRecord) -> ExpectedId {
        let prefix = key_prefix(record, self.year);
        let full = self.secret.as_deref().map(|secret| {
            let dedup = format!(
                "{}|{}|{:04}{}|{}",
                record.merchant_id.trim_end(),
                record.terminal_id.trim_end(),
                self.year,
                record.local_date,
                record.stan
            );
            format!("{prefix}{}", key_tag(secret, &dedup))
        });
        ExpectedId { prefix, full }
    }
}

/// The id a record's purchase must have at Antom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedId {
    /// Everything but the keyed tag.
    pub prefix: String,
    /// The whole id, when the secret is known.
    pub full: Option<String>,
}

impl ExpectedId {
    /// Whether `id` is this id (or, without the secret, has this prefix and a tag's shape).
    pub fn matches(&self, id: &str) -> bool {
        match &self.full {
            Some(full) => id == full,
            None => {
                id.len() == self.prefix.len() + TAG_LEN
                    && id.starts_with(&self.prefix)
                    && id
                        .get(self.prefix.len()..)
                        .is_some_and(|tag| tag.bytes().all(|b| b.is_ascii_hexdigit()))
            }
        }
    }

    /// The id as text (the prefix followed by `????????` when the tag is unknown).
    pub fn display(&self) -> String {
        self.full
            .clone()
            .unwrap_or_else(|| format!("{}{}", self.prefix, "?".repeat(TAG_LEN)))
    }
}

/// HMAC-SHA256, written out because the checker only has `sha2`: the switch's keyed tag is the
/// first 8 hex characters of it over `"key" 0x1F <dedup key> 0x1F` (`IdGenerator::key_tag`).
fn key_tag(secret: &[u8], dedup: &str) -> String {
    use sha2::{Digest as _, Sha256};
    const BLOCK: usize = 64;
    let mut key = [0u8; BLOCK];
    if secret.len() > BLOCK {
        let digest = Sha256::digest(secret);
        key[..digest.len()].copy_from_slice(&digest);
    } else {
        key[..secret.len()].copy_from_slice(secret);
    }
    let mut inner = Sha256::new();
    inner.update(key.map(|b| b ^ 0x36));
    for part in ["key", dedup] {
        inner.update(part.as_bytes());
        inner.update([0x1f]);
    }
    let mut outer = Sha256::new();
    outer.update(key.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    let mut tag = hex::encode(outer.finalize());
    tag.truncate(TAG_LEN);
    tag
}

/// The deterministic `paymentRequestId` prefix of a purchase (everything but the keyed tag).
pub fn key_prefix(record: &TxRecord, year: i32) -> String {
    let tid: String = record
        .terminal_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    format!(
        "{:02}{}{}{tid}{}{}",
        year.rem_euclid(100),
        record.local_date,
        record.local_time,
        record.amount,
        record.stan
    )
}

/// The F39 of every message of a follow-up (`none` where nothing came back); records without
/// the per-attempt list give their last answer only.
fn answers_of(f: &FollowUp) -> Vec<String> {
    if f.answers.is_empty() {
        vec![f.response_code.clone().unwrap_or_else(|| "none".into())]
    } else {
        f.answers.clone()
    }
}

/// What Antom must hold for this record's purchase.
pub fn expectation(record: &TxRecord) -> Expectation {
    let approved = record.response_code.as_deref() == Some("00");
    match &record.follow_up {
        Some(f) if f.kind == "reversal_advice" => {
            if f.response_code.as_deref() == Some("00") || !approved {
                Expectation::NotPaid
            } else if f.response_code.is_some() {
                // Only a 0430 with 00 acknowledges an advice. The load tool repeats it up to
                // ADVICE_ATTEMPTS times (a real terminal keeps going); refused every time, the
                // switch failed to store it — a failure of the switch, not an outcome in doubt.
                Expectation::Refused
            } else {
                Expectation::Either(Cause::AdviceUnanswered)
            }
        }
        Some(f) if f.kind == "void" => match f.response_code.as_deref() {
            Some("00") => Expectation::NotPaid,
            None => Expectation::Either(Cause::VoidUnanswered),
            Some(_) => Expectation::Paid,
        },
        _ if approved => Expectation::Paid,
        _ => Expectation::NotPaid,
    }
}

fn amount_of(p: &PaymentView) -> u64 {
    p.amount.parse().unwrap_or(u64::MAX)
}

pub(crate) fn holds_success(p: &PaymentView) -> bool {
    p.status == "SUCCESS" && p.refunded_total < amount_of(p)
}

pub(crate) fn antom_view(p: Option<&PaymentView>) -> String {
    match p {
        None => "never created".into(),
        Some(p) => format!(
            "{} {} (result {}, refunded {}/{}, cancelledAfterSuccess {}, scenario {}, inquiries {})",
            p.payment_request_id,
            p.status,
            p.result_code.as_deref().unwrap_or("-"),
            p.refunded_total,
            p.amount,
            p.cancelled_after_success,
            p.scenario,
            p.inquiries
        ),
    }
}

/// One line of what a terminal saw.
pub fn terminal_view(r: &TxRecord) -> String {
    let follow = r
        .follow_up
        .iter()
        .chain(&r.other_follow_ups)
        .map(|f| {
            let answers = if f.answers.len() > 1 {
                format!(" [{}]", f.answers.join(","))
            } else {
                String::new()
            };
            format!(
                ", then {} {} x{} -> {}{answers}",
                f.kind,
                f.mti,
                f.attempts,
                f.response_code.as_deref().unwrap_or("no answer")
            )
        })
        .collect::<String>();
    format!(
        "{} amount {} {} -> {}{}{}",
        r.scenario.name(),
        r.amount,
        if r.sent { "sent" } else { "NOT sent" },
        r.response_code.as_deref().unwrap_or("no answer"),
        r.error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default(),
        follow
    )
}

/// Compares every terminal record with the terminal payments of the ledger (REST payments are
/// judged by [`crate::check_rest`]) and with Antom's call log.
pub fn compare(
    records: &[TxRecord],
    payments: &[PaymentView],
    calls: &[CallRecord],
    ids: &IdRule,
) -> Comparison {
    let mut out = Comparison::default();
    let by_id: HashMap<&str, &PaymentView> = payments
        .iter()
        .map(|p| (p.payment_request_id.as_str(), p))
        .collect();
    let by_prefix: HashMap<&str, &PaymentView> = payments
        .iter()
        .filter_map(|p| {
            let id = p.payment_request_id.as_str();
            id.get(..id.len().checked_sub(TAG_LEN)?).map(|k| (k, p))
        })
        .collect();
    // Every id Antom was called for: a purchase never sent must not appear here either (a pay
    // that failed leaves a call but maybe no payment).
    let called: HashSet<&str> = calls
        .iter()
        .filter_map(|c| c.payment_request_id.as_deref())
        .collect();
    // Which records name each payment (by the PR they were told or by their own request's
    // id): exactly one may.
    let mut claims: HashMap<&str, Vec<usize>> = HashMap::new();
    let t = &mut out.table;
    for (index, r) in records.iter().enumerate() {
        t.transactions += 1;
        if r.sent {
            t.sent += 1;
        } else {
            t.not_sent += 1;
        }
        match r.response_code.as_deref() {
            Some("00") => t.approved += 1,
            Some("91") => t.answered_91 += 1,
            Some(_) => t.declined += 1,
            None => t.no_answer += 1,
        }
        let expected = ids.expected(r);
        let by_pr = r
            .payment_request_id
            .as_deref()
            .and_then(|id| by_id.get(id).copied());
        let by_key = match &expected.full {
            Some(full) => by_id.get(full.as_str()).copied(),
            None => by_prefix.get(expected.prefix.as_str()).copied(),
        };
        let payment = match (by_pr, by_key) {
            (Some(p), _) => {
                t.matched_by_payment_request_id += 1;
                Some(p)
            }
            (None, Some(p)) => {
                t.matched_by_key += 1;
                Some(p)
            }
            (None, None) => {
                t.never_created += 1;
                None
            }
        };
        for p in [by_pr, by_key].into_iter().flatten() {
            let claimants = claims.entry(p.payment_request_id.as_str()).or_default();
            if claimants.last() != Some(&index) {
                claimants.push(index);
            }
        }
        let finding = |class: &'static str, kind: &'static str, detail: String| Finding {
            class,
            kind,
            seq: Some(r.seq),
            terminal_id: r.terminal_id.clone(),
            stan: r.stan.clone(),
            scenario: r.scenario.name().into(),
            payment_request_id: payment
                .map(|p| p.payment_request_id.clone())
                .or_else(|| r.payment_request_id.clone()),
            terminal_view: terminal_view(r),
            antom_view: antom_view(payment),
            detail,
        };
        let mut found = Vec::new();
        if let Some(told) = r.payment_request_id.as_deref()
            && !expected.matches(told)
        {
            // The answer names another request's payment (or a made-up one): what the
            // terminal believes is about a payment that is not its own.
            t.wrong_request_ids += 1;
            found.push(finding(
                "wrong_request_id",
                "answered_with_another_requests_id",
                format!(
                    "answered PR {told}, its request produces {}",
                    expected.display()
                ),
            ));
        }
        // A message in flight when the load process was killed may have reached the switch.
        let maybe_sent = r.sent || r.killed_while.is_some() || r.in_flight.is_some();
        if r.killed_while.is_some() || r.in_flight.is_some() {
            t.killed_in_flight += 1;
        }
        if !maybe_sent {
            let calls_for_it = match &expected.full {
                Some(full) => called.contains(full.as_str()),
                None => called.iter().any(|id| expected.matches(id)),
            };
            if payment.is_some() || calls_for_it {
                t.never_sent_at_antom += 1;
                found.push(finding(
                    "never_sent_at_antom",
                    "purchase_never_sent_but_known_to_antom",
                    format!(
                        "the purchase was never written to a switch, yet Antom has {} for {}",
                        if payment.is_some() {
                            "a payment"
                        } else {
                            "calls"
                        },
                        expected.display()
                    ),
                ));
            }
        }
        let acked_advice = r.follow_up.as_ref().is_some_and(|f| {
            f.kind == "reversal_advice" && f.response_code.as_deref() == Some("00")
        });
        if let Some(f) = &r.follow_up {
            match (f.kind, f.response_code.as_deref()) {
                ("reversal_advice", Some("00")) => t.reversed += 1,
                ("reversal_advice", Some(_)) => t.advices_refused += 1,
                ("reversal_advice", None) => t.advices_unacknowledged += 1,
                ("void", Some("00")) => t.voids_approved += 1,
                ("void", None) => t.voids_unanswered += 1,
                ("refund", Some("00")) => t.refunds_approved += 1,
                ("refund", None | Some("91")) => t.refunds_uncertain += 1,
                _ => {}
            }
            if f.kind == "reversal_advice" {
                t.advice_repeats += u64::from(f.attempts.saturating_sub(1));
                let answers = answers_of(f);
                let refused_once = answers.iter().any(|a| a != "00" && a != "none");
                if refused_once && acked_advice {
                    // Refused while the switch could not store it (its journal away), then
                    // stored and acknowledged on a repeat: what the repeat is for.
                    t.advice_refusals += 1;
                } else if refused_once {
                    // An advice is stored and acknowledged, always: even an unknown original
                    // leaves a tombstone. Refused at every attempt, the switch failed to.
                    found.push(finding(
                        "advice_refused",
                        "reversal_advice_answered_not_00",
                        format!(
                            "0430 answers to the advice, in order: {} (of at most {ADVICE_ATTEMPTS} attempts)",
                            answers.join(", ")
                        ),
                    ));
                }
            }
        }
        let refund_scenario = r.scenario == Scenario::Refund
            && r.follow_up.as_ref().is_some_and(|f| f.kind == "refund");
        match expectation(r) {
            Expectation::Paid => {
                let ok = payment.is_some_and(|p| {
                    if refund_scenario {
                        p.status == "SUCCESS"
                    } else {
                        holds_success(p)
                    }
                });
                if !ok {
                    found.push(finding(
                        "inconsistent",
                        "approved_but_not_success",
                        String::new(),
                    ));
                }
            }
            Expectation::NotPaid => {
                if payment.is_some_and(holds_success) {
                    let kind = if acked_advice {
                        "acknowledged_reversal_not_executed"
                    } else if r.response_code.as_deref() == Some("00") {
                        "voided_but_success"
                    } else {
                        "not_approved_but_success"
                    };
                    found.push(finding("inconsistent", kind, String::new()));
                }
            }
            Expectation::Either(cause) => {
                *out.uncertain.entry(cause).or_default() += 1;
                out.uncertain_findings.push(finding(
                    "uncertain",
                    cause.name(),
                    cause.describe().into(),
                ));
            }
            // Already an `advice_refused` finding above.
            Expectation::Refused => {}
        }
        for f in &r.other_follow_ups {
            match (f.kind, f.response_code.as_deref()) {
                ("foreign_refund" | "foreign_void", code) => {
                    t.foreign_follow_ups += 1;
                    if code == Some("00") {
                        t.foreign_follow_ups_accepted += 1;
                        found.push(finding(
                            "inconsistent",
                            "foreign_follow_up_accepted",
                            format!("{} from another terminal answered 00", f.kind),
                        ));
                    }
                }
                ("partial_refund", Some("00")) => {
                    let refunded = payment.map_or(0, |p| p.refunded_total);
                    if refunded < r.amount / 2 {
                        found.push(finding(
                            "inconsistent",
                            "refund_approved_but_not_refunded",
                            String::new(),
                        ));
                    }
                }
                _ => {}
            }
        }
        if r.scenario == Scenario::Foreign
            && !r.other_follow_ups.is_empty()
            && payment.is_some_and(|p| p.refunded_total > 0 || p.status != "SUCCESS")
        {
            found.push(finding(
                "inconsistent",
                "foreign_follow_up_changed_antom",
                String::new(),
            ));
        }
        if r.scenario == Scenario::RefundVoid
            && let Some(void) = r.follow_up.as_ref().filter(|f| f.kind == "void")
        {
            t.voids_after_refund += 1;
            let refund_approved = r
                .other_follow_ups
                .iter()
                .any(|f| f.kind == "partial_refund" && f.response_code.as_deref() == Some("00"));
            match void.response_code.as_deref() {
                Some("00") if refund_approved => {
                    // A void the switch cannot honour at Antom was acknowledged.
                    found.push(finding(
                        "inconsistent",
                        "void_after_refund_approved",
                        String::new(),
                    ));
                }
                Some("00") | None => {}
                Some(_) => t.voids_after_refund_declined += 1,
            }
        }
        if refund_scenario && let Some(f) = &r.follow_up {
            let refunded = payment.map_or(0, |p| p.refunded_total);
            match f.response_code.as_deref() {
                Some("00") if refunded < r.amount => {
                    found.push(finding(
                        "inconsistent",
                        "refund_approved_but_not_refunded",
                        String::new(),
                    ));
                }
                None | Some("91") => {
                    *out.uncertain.entry(Cause::RefundUnresolved).or_default() += 1;
                    out.uncertain_findings.push(finding(
                        "uncertain",
                        Cause::RefundUnresolved.name(),
                        Cause::RefundUnresolved.describe().into(),
                    ));
                }
                Some("00") => {}
                Some(_) if refunded > 0 => found.push(finding(
                    "inconsistent",
                    "refund_declined_but_refunded",
                    String::new(),
                )),
                Some(_) => {}
            }
        }
        for f in found {
            if f.class == "inconsistent" {
                if f.kind == "acknowledged_reversal_not_executed" {
                    t.acknowledged_reversals_not_executed += 1;
                }
                t.inconsistent += 1;
            }
            out.findings.push(f);
        }
    }
    let pays = pay_counts(calls, t);
    for p in payments {
        let id = p.payment_request_id.as_str();
        let claimants = claims.get(id).map(Vec::as_slice).unwrap_or_default();
        let claimed_by = claimants.first().map(|&i| &records[i]);
        let about = |class: &'static str, kind: &'static str, detail: String| match claimed_by {
            Some(r) => Finding {
                class,
                kind,
                seq: Some(r.seq),
                terminal_id: r.terminal_id.clone(),
                stan: r.stan.clone(),
                scenario: r.scenario.name().into(),
                payment_request_id: Some(id.to_string()),
                terminal_view: terminal_view(r),
                antom_view: antom_view(Some(p)),
                detail,
            },
            None => Finding::about_payment(
                class,
                kind,
                Some(id.to_string()),
                antom_view(Some(p)),
                detail,
            ),
        };
        if p.status == "PROCESSING" {
            t.still_processing += 1;
            out.findings.push(about(
                "still_processing",
                "payment_still_processing",
                "PROCESSING at Antom after the drain: nobody settled it".into(),
            ));
        }
        if let Some(&n) = pays.get(id)
            && n > 1
        {
            out.findings.push(about(
                "duplicate_pays",
                "pay_sent_more_than_once",
                format!("{n} pay calls for this paymentRequestId"),
            ));
        }
        match claimants.len() {
            0 => {
                // No record names it: a record was lost, or the switch paid for a request
                // nobody made (or under an id no request produces).
                t.orphan_payments += 1;
                out.findings.push(about(
                    "unmatched_payment",
                    "payment_no_record_names",
                    "no terminal record's request produces this id, no terminal was told it".into(),
                ));
                if holds_success(p) {
                    t.inconsistent += 1;
                    out.findings.push(about(
                        "inconsistent",
                        "orphan_success",
                        "SUCCESS no terminal was told about".into(),
                    ));
                }
            }
            1 => {}
            _ => {
                t.payments_matched_twice += 1;
                let who: Vec<String> = claimants
                    .iter()
                    .map(|&i| {
                        let r = &records[i];
                        format!("{} seq {} stan {}", r.terminal_id, r.seq, r.stan)
                    })
                    .collect();
                out.findings.push(about(
                    "payment_matched_twice",
                    "payment_named_by_several_records",
                    format!("named by {}", who.join("; ")),
                ));
            }
        }
    }
    // A second pay for a payment Antom does not hold (or a REST one) is caught here.
    let known: HashSet<&str> = payments
        .iter()
        .map(|p| p.payment_request_id.as_str())
        .collect();
    let mut extra: Vec<(&str, u64)> = pays
        .iter()
        .filter(|(id, n)| **n > 1 && !known.contains(**id))
        .map(|(id, n)| (*id, *n))
        .collect();
    extra.sort_unstable();
    for (id, n) in extra {
        out.findings.push(Finding::about_payment(
            "duplicate_pays",
            "pay_sent_more_than_once",
            Some(id.to_string()),
            "not among the terminal payments judged here".into(),
            format!("{n} pay calls for this paymentRequestId"),
        ));
    }
    out
}

/// Counts Antom's calls into the table; returns the `pay` calls per `paymentRequestId`.
fn pay_counts<'a>(calls: &'a [CallRecord], t: &mut Table) -> HashMap<&'a str, u64> {
    let mut pays: HashMap<&str, u64> = HashMap::new();
    for c in calls {
        match c.api.as_str() {
            "pay" => {
                t.pay_calls += 1;
                if let Some(id) = c.payment_request_id.as_deref() {
                    *pays.entry(id).or_default() += 1;
                }
            }
            "cancel" => t.cancels_sent += 1,
            "refund" => t.refund_calls += 1,
            "inquiry_payment" => t.inquiries += 1,
            _ => {}
        }
    }
    t.duplicate_pay_calls = pays.values().map(|n| n.saturating_sub(1)).sum();
    pays
}

/// Records a load lost or wrote twice: every sequence number a run scheduled must have exactly
/// one record — in a run that was killed, only those it started (a durable snapshot precedes
/// every send, so a number without one never reached the wire). A load that ran once in this
/// process is one run of `0..scheduled` that ended.
pub fn lost_records(load: &crate::verdict::LoadEvidence) -> Vec<Finding> {
    let label = load.label.as_str();
    let records = &load.records;
    let runs = if load.runs.is_empty() {
        vec![asw_terminal_sim::durable::RunView {
            run: 1,
            first_seq: 0,
            scheduled: load.scheduled,
            ended: true,
        }]
    } else {
        load.runs.clone()
    };
    let mut seen: BTreeMap<u64, u64> = BTreeMap::new();
    for r in records {
        *seen.entry(r.seq).or_default() += 1;
    }
    let mut out = Vec::new();
    let missing = |seq: u64, kind: &'static str, detail: String| Finding {
        class: "lost_record",
        kind,
        seq: Some(seq),
        terminal_id: String::new(),
        stan: String::new(),
        scenario: String::new(),
        payment_request_id: None,
        terminal_view: format!("load {label}"),
        antom_view: String::new(),
        detail,
    };
    for run in &runs {
        for seq in run.first_seq..run.first_seq + run.scheduled {
            match seen.get(&seq).copied().unwrap_or(0) {
                0 if run.ended => out.push(missing(
                    seq,
                    "record_missing",
                    format!(
                        "transaction {seq} of load {label} (run {}) was scheduled but has no record",
                        run.run
                    ),
                )),
                0 | 1 => {}
                n => out.push(missing(
                    seq,
                    "record_duplicated",
                    format!("transaction {seq} of load {label} has {n} records"),
                )),
            }
        }
    }
    for &seq in seen.keys() {
        if !runs
            .iter()
            .any(|run| (run.first_seq..run.first_seq + run.scheduled).contains(&seq))
        {
            out.push(missing(
                seq,
                "record_not_scheduled",
                format!("load {label} has a record {seq} no run of it scheduled"),
            ));
        }
    }
    out.sort_by_key(|f| f.seq);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The secret of the test configuration (`asw-testkit`'s switch fixture).
    pub(crate) const SECRET: &[u8] = b"test-switch-secret-0123456789abcdef";

    pub(crate) fn ids() -> IdRule {
        IdRule::new(2026, Some(SECRET.to_vec()))
    }

    /// A purchase of terminal `CA000001` (STAN `seq + 1`) answered `code`; an answer carries
    /// the id its request produces, as the switch's does.
    pub(crate) fn record(seq: u64, code: Option<&str>) -> TxRecord {
        let mut r = TxRecord {
            seq,
            scenario: Scenario::Purchase,
            merchant_id: "M00000000000001".into(),
            terminal_id: "CA000001".into(),
            local_date: "1122".into(),
            local_time: "014500".into(),
            transmission: "1122014500".into(),
            stan: format!("{:06}", seq + 1),
            amount: 1250,
            currency: 702,
            payment_code: "28**********1234".into(),
            scheduled_at_ms: 0.0,
            sent_at_ms: Some(0.0),
            sent_late: false,
            sent: true,
            response_code: code.map(String::from),
            rrn: None,
            payment_request_id: None,
            payment_id: None,
            latency_us: None,
            disconnected_before_answer: false,
            timed_out: code.is_none(),
            error: None,
            follow_up: None,
            other_follow_ups: Vec::new(),
            terminal_believes_paid: code == Some("00"),
            in_flight: None,
            killed_while: None,
        };
        if code.is_some() {
            r.payment_request_id = Some(id_of(&r));
        }
        r
    }

    /// The id `r`'s request produces.
    pub(crate) fn id_of(r: &TxRecord) -> String {
        ids().expected(r).full.unwrap()
    }

    pub(crate) fn payment(id: &str, status: &str, refunded: u64) -> PaymentView {
        PaymentView {
            payment_request_id: id.into(),
            payment_id: format!("P{id}"),
            client_id: "c".into(),
            status: status.into(),
            result_code: None,
            cancelled_after_success: false,
            amount: "1250".into(),
            currency: "SGD".into(),
            scenario: "success",
            inquiries: 0,
            refunds: vec![],
            refunded_total: refunded,
            created_at: String::new(),
            updated_at: String::new(),
            paid_at: None,
            cancel_time: None,
            notifications_sent: 0,
            notifications_acked: 0,
            payment_method_type: None,
            payment_redirect_url: None,
            expires_at: None,
            capture_mode: None,
            capture_status: None,
            captured_total: None,
            captures: Vec::new(),
            auth_expires_at: None,
            card_token: None,
            card_last_four: None,
        }
    }

    /// The payment of `r`'s request at Antom.
    pub(crate) fn paid(r: &TxRecord, status: &str, refunded: u64) -> PaymentView {
        payment(&id_of(r), status, refunded)
    }

    pub(crate) fn call(api: &str, id: &str) -> CallRecord {
        CallRecord {
            seq: 1,
            time: "2026-11-22T01:45:00Z".into(),
            api: api.into(),
            method: "POST".into(),
            path: format!("/ams/api/v1/payments/{api}"),
            client_id: Some("c".into()),
            payment_request_id: Some(id.into()),
            payment_id: None,
            refund_request_id: None,
            capture_request_id: None,
            result_code: "SUCCESS".into(),
            result_status: "S".into(),
            http_status: 200,
            dropped: false,
            signing: "signed",
            delay_ms: 0,
            scenario: None,
            client_gone: false,
            handled_us: 0,
        }
    }

    pub(crate) fn answered(kind: &'static str, code: Option<&str>) -> FollowUp {
        FollowUp {
            kind,
            mti: "0200".into(),
            stan: "000009".into(),
            attempts: 1,
            response_code: code.map(String::from),
            answers: Vec::new(),
            rrn: None,
            latency_us: None,
            error: None,
        }
    }

    /// A reversal advice answered, attempt by attempt, with `answers` (`none`: no answer).
    pub(crate) fn advice(answers: &[&str]) -> FollowUp {
        let last = answers.last().copied().unwrap_or("none");
        FollowUp {
            kind: "reversal_advice",
            mti: if answers.len() > 1 { "0421" } else { "0420" }.into(),
            stan: "000001".into(),
            attempts: answers.len() as u32,
            response_code: (last != "none").then(|| last.to_string()),
            answers: answers.iter().map(|a| a.to_string()).collect(),
            rrn: None,
            latency_us: None,
            error: None,
        }
    }

    fn kinds(c: &Comparison) -> Vec<&'static str> {
        c.findings.iter().map(|f| f.kind).collect()
    }

    #[test]
    fn ids_are_rebuilt_exactly_as_the_switch_derives_them() {
        use asw_front_iso::terminal_ids::{DatedKey, TerminalKey};
        let r = record(0, None);
        let key = TerminalKey {
            merchant_id: r.merchant_id.clone(),
            terminal_id: r.terminal_id.clone(),
            local_date: r.local_date.clone(),
            local_time: r.local_time.clone(),
            stan: r.stan.clone(),
        };
        let switch = DatedKey {
            key: &key,
            year: 2026,
        }
        .payment_request_id(&asw_core::ids::IdGenerator::new(SECRET), r.amount);
        assert_eq!(id_of(&r), switch.as_str());
        assert!(ids().expected(&r).matches(switch.as_str()));
        // A long secret is hashed first, as HMAC does.
        let long = [7u8; 100];
        let tag = asw_core::ids::IdGenerator::new(&long).key_tag("a|b");
        assert_eq!(key_tag(&long, "a|b"), tag);
    }

    #[test]
    fn key_prefix_matches_the_switch_layout() {
        let r = record(0, None);
        assert_eq!(key_prefix(&r, 2026), "261122014500CA0000011250000001");
        let without_secret = IdRule::new(2026, None).expected(&r);
        assert!(without_secret.matches("261122014500CA0000011250000001deadbeef"));
        assert!(!without_secret.matches("261122014500CA0000011250000001deadbee"));
        assert!(!without_secret.matches("261122014500CA0000011250000001deadbeez"));
    }

    #[test]
    fn agreeing_sides_give_no_finding() {
        let records = vec![
            record(0, Some("00")),
            record(1, Some("05")),
            record(2, None),
        ];
        let payments = vec![
            paid(&records[0], "SUCCESS", 0),
            paid(&records[1], "FAIL", 0),
            paid(&records[2], "CANCELLED", 0),
        ];
        let c = compare(&records, &payments, &[], &ids());
        assert!(c.findings.is_empty(), "{:?}", c.findings);
        assert_eq!(c.table.matched_by_key, 1);
        assert_eq!(c.table.matched_by_payment_request_id, 2);
        assert_eq!(c.table.approved, 1);
        assert_eq!(c.table.no_answer, 1);
    }

    #[test]
    fn unanswered_purchase_that_succeeded_is_inconsistent() {
        let records = vec![record(2, None)];
        let payments = vec![paid(&records[0], "SUCCESS", 0)];
        let c = compare(&records, &payments, &[], &ids());
        assert_eq!(c.table.inconsistent, 1);
        assert_eq!(kinds(&c), ["not_approved_but_success"]);
    }

    #[test]
    fn approved_but_cancelled_or_refunded_is_inconsistent() {
        let records = vec![
            record(0, Some("00")),
            record(1, Some("00")),
            record(2, Some("00")),
        ];
        let payments = vec![
            paid(&records[0], "CANCELLED", 0),
            paid(&records[1], "SUCCESS", 1250),
        ];
        let c = compare(&records, &payments, &[], &ids());
        assert_eq!(c.table.inconsistent, 3);
        assert_eq!(c.table.never_created, 1);
    }

    #[test]
    fn acknowledged_reversal_must_be_executed() {
        let mut r = record(0, Some("00"));
        r.follow_up = Some(advice(&["00"]));
        let bad = compare(&[r.clone()], &[paid(&r, "SUCCESS", 0)], &[], &ids());
        assert_eq!(bad.table.acknowledged_reversals_not_executed, 1);
        assert_eq!(bad.table.inconsistent, 1);
        let good = compare(&[r.clone()], &[paid(&r, "SUCCESS", 1250)], &[], &ids());
        assert_eq!(good.table.inconsistent, 0);
        assert!(good.findings.is_empty(), "{:?}", good.findings);
        // Refused every time: a failure of the switch, its own violation — neither an
        // outcome in doubt nor a disagreement.
        r.follow_up = Some(advice(&["96", "96", "96", "96", "96"]));
        let refused = compare(&[r.clone()], &[paid(&r, "SUCCESS", 0)], &[], &ids());
        assert_eq!(refused.table.inconsistent, 0);
        assert_eq!(refused.table.advices_refused, 1);
        assert!(refused.uncertain.is_empty(), "{:?}", refused.uncertain);
        assert_eq!(kinds(&refused), ["reversal_advice_answered_not_00"]);
        r.follow_up = Some(advice(&["none", "none", "none", "none", "none"]));
        let unknown = compare(&[r.clone()], &[paid(&r, "SUCCESS", 0)], &[], &ids());
        assert_eq!(unknown.table.inconsistent, 0);
        assert_eq!(unknown.table.advices_unacknowledged, 1);
        assert_eq!(unknown.uncertain[&Cause::AdviceUnanswered], 1);
        assert!(unknown.findings.is_empty(), "{:?}", unknown.findings);
    }

    #[test]
    fn orphan_payments_are_violations_and_an_orphan_success_is_inconsistent() {
        let c = compare(
            &[],
            &[
                payment("261122014500CA0000011250999999deadbeef", "SUCCESS", 0),
                payment("261122014500CA0000011250999998deadbeef", "FAIL", 0),
            ],
            &[],
            &ids(),
        );
        assert_eq!(c.table.orphan_payments, 2);
        assert_eq!(
            kinds(&c),
            [
                "payment_no_record_names",
                "orphan_success",
                "payment_no_record_names"
            ]
        );
    }

    #[test]
    fn refunds_are_checked_against_the_refunded_total() {
        let mut r = record(0, Some("00"));
        r.scenario = Scenario::Refund;
        r.follow_up = Some(answered("refund", Some("00")));
        let good = compare(&[r.clone()], &[paid(&r, "SUCCESS", 1250)], &[], &ids());
        assert_eq!(good.table.inconsistent, 0, "{:?}", good.findings);
        let bad = compare(&[r.clone()], &[paid(&r, "SUCCESS", 0)], &[], &ids());
        assert_eq!(kinds(&bad), ["refund_approved_but_not_refunded"]);
        r.follow_up = Some(answered("refund", Some("91")));
        let unsure = compare(&[r.clone()], &[paid(&r, "SUCCESS", 0)], &[], &ids());
        assert_eq!(unsure.uncertain[&Cause::RefundUnresolved], 1);
        assert_eq!(unsure.uncertain_findings[0].kind, "refund_unresolved");
    }

    #[test]
    fn follow_ups_from_another_terminal_must_be_refused_and_change_nothing() {
        let mut r = record(0, Some("00"));
        r.scenario = Scenario::Foreign;
        r.other_follow_ups = vec![
            answered("foreign_refund", Some("25")),
            answered("foreign_void", Some("25")),
        ];
        let good = compare(&[r.clone()], &[paid(&r, "SUCCESS", 0)], &[], &ids());
        assert_eq!(good.table.inconsistent, 0, "{:?}", good.findings);
        assert_eq!(good.table.foreign_follow_ups, 2);
        // Refused on the wire, yet Antom refunded: still caught.
        let changed = compare(&[r.clone()], &[paid(&r, "SUCCESS", 600)], &[], &ids());
        assert_eq!(kinds(&changed), ["foreign_follow_up_changed_antom"]);
        r.other_follow_ups[1].response_code = Some("00".into());
        let accepted = compare(&[r.clone()], &[paid(&r, "CANCELLED", 0)], &[], &ids());
        assert_eq!(accepted.table.foreign_follow_ups_accepted, 1);
        let kinds = kinds(&accepted);
        assert!(kinds.contains(&"foreign_follow_up_accepted"), "{kinds:?}");
        assert!(kinds.contains(&"approved_but_not_success"), "{kinds:?}");
    }

    #[test]
    fn a_void_after_an_approved_partial_refund_must_be_declined() {
        let mut r = record(0, Some("00"));
        r.scenario = Scenario::RefundVoid;
        r.other_follow_ups = vec![answered("partial_refund", Some("00"))];
        r.follow_up = Some(answered("void", Some("12")));
        let good = compare(&[r.clone()], &[paid(&r, "SUCCESS", 625)], &[], &ids());
        assert_eq!(good.table.inconsistent, 0, "{:?}", good.findings);
        assert_eq!(good.table.voids_after_refund_declined, 1);
        // The refund was approved but Antom holds nothing refunded.
        let unrefunded = compare(&[r.clone()], &[paid(&r, "SUCCESS", 0)], &[], &ids());
        assert_eq!(kinds(&unrefunded), ["refund_approved_but_not_refunded"]);
        // The void acknowledged although it cannot be honoured: caught even when Antom ends
        // with nothing (a refund of the rest).
        r.follow_up = Some(answered("void", Some("00")));
        let acked = compare(&[r.clone()], &[paid(&r, "SUCCESS", 1250)], &[], &ids());
        assert_eq!(kinds(&acked), ["void_after_refund_approved"]);
        // Without an approved refund a void goes through and must leave nothing paid.
        r.other_follow_ups = vec![answered("partial_refund", Some("05"))];
        let voided = compare(&[r.clone()], &[paid(&r, "CANCELLED", 0)], &[], &ids());
        assert_eq!(voided.table.inconsistent, 0, "{:?}", voided.findings);
        let kept = compare(&[r.clone()], &[paid(&r, "SUCCESS", 0)], &[], &ids());
        assert_eq!(kinds(&kept), ["voided_but_success"]);
    }

    #[test]
    fn lost_and_duplicated_records_are_found_by_sequence_number() {
        let records = vec![
            record(0, None),
            record(2, None),
            record(2, None),
            record(5, None),
        ];
        let found = lost_records(&load(4, records.clone()));
        let seen: Vec<(Option<u64>, &str)> = found.iter().map(|f| (f.seq, f.kind)).collect();
        assert_eq!(
            seen,
            [
                (Some(1), "record_missing"),
                (Some(2), "record_duplicated"),
                (Some(3), "record_missing"),
                (Some(5), "record_not_scheduled"),
            ]
        );
        assert!(lost_records(&load(1, records[..1].to_vec())).is_empty());
    }

    fn load(scheduled: u64, records: Vec<TxRecord>) -> crate::verdict::LoadEvidence {
        crate::verdict::LoadEvidence {
            label: "CA".into(),
            scheduled,
            records,
            runs: Vec::new(),
        }
    }

    #[test]
    fn a_killed_run_owes_only_the_records_it_started() {
        use asw_terminal_sim::durable::RunView;
        // Run 1 (0..10) was killed after starting 0, 1 and 3 (2 never reached its snapshot,
        // so it never left); run 2 (10..14) ended: each of its numbers needs a record.
        let mut records = vec![
            record(0, None),
            record(1, None),
            record(3, None),
            record(4, None),
            record(5, None),
            record(7, None),
        ];
        for (r, seq) in records[3..].iter_mut().zip([10, 11, 13]) {
            r.seq = seq;
        }
        let mut evidence = load(0, records);
        evidence.runs = vec![
            RunView {
                run: 1,
                first_seq: 0,
                scheduled: 10,
                ended: false,
            },
            RunView {
                run: 2,
                first_seq: 10,
                scheduled: 4,
                ended: true,
            },
        ];
        let found = lost_records(&evidence);
        let seen: Vec<(Option<u64>, &str)> = found.iter().map(|f| (f.seq, f.kind)).collect();
        assert_eq!(seen, [(Some(12), "record_missing")]);
        assert_eq!(evidence.accountable(), 3 + 4);
    }

    #[test]
    fn a_purchase_killed_in_flight_may_have_left() {
        // The terminal process died writing the purchase; Antom has a payment for it, which
        // the restarted terminal's advice cancelled: not a never-sent violation.
        let mut r = record(0, None);
        r.sent = false;
        r.killed_while = Some("purchase".into());
        r.follow_up = Some(advice(&["00"]));
        let c = compare(&[r.clone()], &[paid(&r, "CANCELLED", 0)], &[], &ids());
        assert!(c.findings.is_empty(), "{:?}", c.findings);
        assert_eq!(c.table.killed_in_flight, 1);
        // Had it paid, the advice's acknowledgement would be broken: still caught.
        let c = compare(&[r.clone()], &[paid(&r, "SUCCESS", 0)], &[], &ids());
        assert_eq!(kinds(&c), ["acknowledged_reversal_not_executed"]);
    }
}
