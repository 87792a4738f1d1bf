//! The comparison itself, pure: what every terminal saw (the load tool's records) against what
//! Antom holds (the simulator's ledger and call log). No I/O, so it is unit-tested on its own.
//!
//! Matching: a terminal that got an answer knows the `paymentRequestId` (F48 `PR`); one that got
//! none does not, but the id is a pure function of the terminal's key —
//! `YY MMDD hhmmss TID amount STAN` followed by an 8-hex keyed tag — so the record is matched by
//! that prefix (the year is the run's UTC year). The prefix alone is unique: STANs do not repeat
//! within a terminal and a run.

use std::collections::{BTreeMap, HashMap, HashSet};

use asw_antom_sim::{CallRecord, PaymentView};
use asw_terminal_sim::load::{Scenario, TxRecord};
use serde::Serialize;

/// Length of the keyed tag that ends every `paymentRequestId`.
const TAG_LEN: usize = 8;

/// What Antom must hold for one purchase, given what its terminal saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "expect", content = "why")]
pub enum Expectation {
    /// Told approved and not reversed or voided: SUCCESS, not fully refunded.
    Paid,
    /// Told anything else, nothing, or reversed/voided: no SUCCESS (or fully refunded).
    NotPaid,
    /// The terminal itself cannot know (e.g. its void got no answer); either end is accepted
    /// and counted.
    Either(String),
}

/// The totals printed as the run's table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Table {
    /// Transactions the load tools scheduled (purchases, each possibly with a follow-up).
    pub transactions: u64,
    /// Purchases written to a switch.
    pub sent: u64,
    /// Purchases that could not be written (switch down): nothing may exist at Antom for them.
    pub not_sent: u64,
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
    /// Reversal advices answered with a 0430 other than `00` (not accepted, e.g. 96 while
    /// Redis restarts); the load tool stops repeating them.
    pub advices_refused: u64,
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
    /// Payments at Antom that no terminal record names.
    pub orphan_payments: u64,
    /// Payments still `PROCESSING` at the end (count as not SUCCESS).
    pub still_processing: u64,
    /// Matched by the `PR` the terminal received.
    pub matched_by_payment_request_id: u64,
    /// Matched by the deterministic id prefix (no `PR` seen).
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

/// One disagreement, with both views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which rule broke.
    pub kind: &'static str,
    /// The load record's sequence number (none for orphan payments).
    pub seq: Option<u64>,
    /// Terminal id.
    pub terminal_id: String,
    /// STAN of the purchase.
    pub stan: String,
    /// Load scenario.
    pub scenario: String,
    /// The payment at Antom, when found.
    pub payment_request_id: Option<String>,
    /// What the terminal saw, in one line.
    pub terminal_view: String,
    /// What Antom holds, in one line.
    pub antom_view: String,
}

/// The result of comparing both sides.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparison {
    /// The totals.
    pub table: Table,
    /// Every inconsistency found.
    pub findings: Vec<Finding>,
    /// Every record whose outcome was accepted either way, with the reason.
    pub uncertain: BTreeMap<String, u64>,
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

/// What Antom must hold for this record's purchase.
pub fn expectation(record: &TxRecord) -> Expectation {
    let approved = record.response_code.as_deref() == Some("00");
    match &record.follow_up {
        Some(f) if f.kind == "reversal_advice" => {
            if f.response_code.as_deref() == Some("00") || !approved {
                Expectation::NotPaid
            } else {
                // Only a 0430 with 00 acknowledges an advice; a real terminal repeats it until
                // then, but the load tool stops after 5 attempts or at any answer (e.g. 96 while
                // Redis restarts), so the switch may never have accepted it.
                Expectation::Either("approved, reversal advice not accepted (no 0430 00)".into())
            }
        }
        Some(f) if f.kind == "void" => match f.response_code.as_deref() {
            Some("00") => Expectation::NotPaid,
            None => Expectation::Either("void without answer".into()),
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

fn terminal_view(r: &TxRecord) -> String {
    let follow = r
        .follow_up
        .as_ref()
        .map(|f| {
            format!(
                ", then {} {} x{} -> {}",
                f.kind,
                f.mti,
                f.attempts,
                f.response_code.as_deref().unwrap_or("no answer")
            )
        })
        .unwrap_or_default();
    format!(
        "{} amount {} sent {} -> {}{}{}",
        r.scenario.name(),
        r.amount,
        r.sent,
        r.response_code.as_deref().unwrap_or("no answer"),
        r.error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default(),
        follow
    )
}

/// Compares every terminal record with the ledger. `year` is the UTC year of the run, used to
/// rebuild ids of transactions that got no answer.
pub fn compare(
    records: &[TxRecord],
    payments: &[PaymentView],
    calls: &[CallRecord],
    year: i32,
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
    let mut matched: HashSet<&str> = HashSet::new();
    let t = &mut out.table;
    for r in records {
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
        let payment = match r.payment_request_id.as_deref().and_then(|id| by_id.get(id)) {
            Some(p) => {
                t.matched_by_payment_request_id += 1;
                Some(*p)
            }
            None => {
                let found = by_prefix.get(key_prefix(r, year).as_str()).copied();
                if found.is_some() {
                    t.matched_by_key += 1;
                }
                found
            }
        };
        match payment {
            Some(p) => {
                matched.insert(p.payment_request_id.as_str());
                if p.status == "PROCESSING" {
                    t.still_processing += 1;
                }
            }
            None => t.never_created += 1,
        }
        let finding = |kind: &'static str| Finding {
            kind,
            seq: Some(r.seq),
            terminal_id: r.terminal_id.clone(),
            stan: r.stan.clone(),
            scenario: r.scenario.name().into(),
            payment_request_id: payment.map(|p| p.payment_request_id.clone()),
            terminal_view: terminal_view(r),
            antom_view: antom_view(payment),
        };
        let mut found = Vec::new();
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
                    found.push(finding("approved_but_not_success"));
                }
            }
            Expectation::NotPaid => {
                if payment.is_some_and(holds_success) {
                    found.push(finding(if acked_advice {
                        "acknowledged_reversal_not_executed"
                    } else if r.response_code.as_deref() == Some("00") {
                        "voided_but_success"
                    } else {
                        "not_approved_but_success"
                    }));
                }
            }
            Expectation::Either(why) => {
                *out.uncertain.entry(why).or_default() += 1;
            }
        }
        for f in &r.other_follow_ups {
            match (f.kind, f.response_code.as_deref()) {
                ("foreign_refund" | "foreign_void", code) => {
                    t.foreign_follow_ups += 1;
                    if code == Some("00") {
                        t.foreign_follow_ups_accepted += 1;
                        found.push(finding("foreign_follow_up_accepted"));
                    }
                }
                ("partial_refund", Some("00")) => {
                    let refunded = payment.map_or(0, |p| p.refunded_total);
                    if refunded < r.amount / 2 {
                        found.push(finding("refund_approved_but_not_refunded"));
                    }
                }
                _ => {}
            }
        }
        if r.scenario == Scenario::Foreign
            && !r.other_follow_ups.is_empty()
            && payment.is_some_and(|p| p.refunded_total > 0 || p.status != "SUCCESS")
        {
            found.push(finding("foreign_follow_up_changed_antom"));
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
                    found.push(finding("void_after_refund_approved"));
                }
                Some("00") | None => {}
                Some(_) => t.voids_after_refund_declined += 1,
            }
        }
        if refund_scenario && let Some(f) = &r.follow_up {
            let refunded = payment.map_or(0, |p| p.refunded_total);
            match f.response_code.as_deref() {
                Some("00") if refunded < r.amount => {
                    found.push(finding("refund_approved_but_not_refunded"));
                }
                None | Some("91") => {
                    *out.uncertain
                        .entry("refund answered 91 or not at all".into())
                        .or_default() += 1;
                }
                Some("00") => {}
                Some(_) if refunded > 0 => found.push(finding("refund_declined_but_refunded")),
                Some(_) => {}
            }
        }
        for f in found {
            if f.kind == "acknowledged_reversal_not_executed" {
                t.acknowledged_reversals_not_executed += 1;
            }
            t.inconsistent += 1;
            out.findings.push(f);
        }
    }
    for p in payments {
        if matched.contains(p.payment_request_id.as_str()) {
            continue;
        }
        t.orphan_payments += 1;
        if holds_success(p) {
            t.inconsistent += 1;
            out.findings.push(Finding {
                kind: "orphan_success",
                seq: None,
                terminal_id: String::new(),
                stan: String::new(),
                scenario: String::new(),
                payment_request_id: Some(p.payment_request_id.clone()),
                terminal_view: "no terminal record names this payment".into(),
                antom_view: antom_view(Some(p)),
            });
        }
    }
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
    out
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use asw_terminal_sim::load::FollowUp;

    fn record(seq: u64, code: Option<&str>, prid: Option<&str>) -> TxRecord {
        TxRecord {
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
            payment_request_id: prid.map(String::from),
            payment_id: None,
            latency_us: None,
            disconnected_before_answer: false,
            timed_out: code.is_none(),
            error: None,
            follow_up: None,
            other_follow_ups: Vec::new(),
            terminal_believes_paid: code == Some("00"),
        }
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
        }
    }

    fn advice(acked: bool) -> FollowUp {
        FollowUp {
            kind: "reversal_advice",
            mti: "0420".into(),
            stan: "000001".into(),
            attempts: if acked { 1 } else { 3 },
            response_code: acked.then(|| "00".into()),
            rrn: None,
            latency_us: None,
            error: None,
        }
    }

    #[test]
    fn key_prefix_matches_the_switch_layout() {
        let r = record(0, None, None);
        assert_eq!(key_prefix(&r, 2026), "261122014500CA0000011250000001");
    }

    #[test]
    fn agreeing_sides_give_no_finding() {
        let records = vec![
            record(0, Some("00"), Some("A")),
            record(1, Some("05"), Some("B")),
            record(2, None, None),
        ];
        let prefix = key_prefix(&records[2], 2026);
        let payments = vec![
            payment("A", "SUCCESS", 0),
            payment("B", "FAIL", 0),
            payment(&format!("{prefix}deadbeef"), "CANCELLED", 0),
        ];
        let c = compare(&records, &payments, &[], 2026);
        assert!(c.findings.is_empty(), "{:?}", c.findings);
        assert_eq!(c.table.matched_by_key, 1);
        assert_eq!(c.table.approved, 1);
        assert_eq!(c.table.no_answer, 1);
    }

    #[test]
    fn unanswered_purchase_that_succeeded_is_inconsistent() {
        let records = vec![record(2, None, None)];
        let prefix = key_prefix(&records[0], 2026);
        let payments = vec![payment(&format!("{prefix}deadbeef"), "SUCCESS", 0)];
        let c = compare(&records, &payments, &[], 2026);
        assert_eq!(c.table.inconsistent, 1);
        assert_eq!(c.findings[0].kind, "not_approved_but_success");
    }

    #[test]
    fn approved_but_cancelled_or_refunded_is_inconsistent() {
        let records = vec![
            record(0, Some("00"), Some("A")),
            record(1, Some("00"), Some("B")),
            record(2, Some("00"), Some("C")),
        ];
        let payments = vec![payment("A", "CANCELLED", 0), payment("B", "SUCCESS", 1250)];
        let c = compare(&records, &payments, &[], 2026);
        assert_eq!(c.table.inconsistent, 3);
        assert_eq!(c.table.never_created, 1);
    }

    #[test]
    fn acknowledged_reversal_must_be_executed() {
        let mut r = record(0, Some("00"), Some("A"));
        r.follow_up = Some(advice(true));
        let bad = compare(&[r.clone()], &[payment("A", "SUCCESS", 0)], &[], 2026);
        assert_eq!(bad.table.acknowledged_reversals_not_executed, 1);
        assert_eq!(bad.table.inconsistent, 1);
        let good = compare(&[r.clone()], &[payment("A", "SUCCESS", 1250)], &[], 2026);
        assert_eq!(good.table.inconsistent, 0);
        let mut refused = advice(true);
        refused.response_code = Some("96".into());
        r.follow_up = Some(refused);
        let not_accepted = compare(&[r.clone()], &[payment("A", "SUCCESS", 0)], &[], 2026);
        assert_eq!(not_accepted.table.inconsistent, 0);
        assert_eq!(not_accepted.table.advices_refused, 1);
        r.follow_up = Some(advice(false));
        let unknown = compare(&[r], &[payment("A", "SUCCESS", 0)], &[], 2026);
        assert_eq!(unknown.table.inconsistent, 0);
        assert_eq!(unknown.table.advices_unacknowledged, 1);
    }

    #[test]
    fn orphan_success_is_inconsistent() {
        let c = compare(&[], &[payment("Z", "SUCCESS", 0)], &[], 2026);
        assert_eq!(c.table.orphan_payments, 1);
        assert_eq!(c.findings[0].kind, "orphan_success");
    }

    #[test]
    fn refunds_are_checked_against_the_refunded_total() {
        let mut r = record(0, Some("00"), Some("A"));
        r.scenario = Scenario::Refund;
        r.follow_up = Some(FollowUp {
            kind: "refund",
            mti: "0200".into(),
            stan: "000002".into(),
            attempts: 1,
            response_code: Some("00".into()),
            rrn: None,
            latency_us: None,
            error: None,
        });
        let good = compare(&[r.clone()], &[payment("A", "SUCCESS", 1250)], &[], 2026);
        assert_eq!(good.table.inconsistent, 0, "{:?}", good.findings);
        let bad = compare(&[r], &[payment("A", "SUCCESS", 0)], &[], 2026);
        assert_eq!(bad.findings[0].kind, "refund_approved_but_not_refunded");
    }

    fn answered(kind: &'static str, code: Option<&str>) -> FollowUp {
        FollowUp {
            kind,
            mti: "0200".into(),
            stan: "000009".into(),
            attempts: 1,
            response_code: code.map(String::from),
            rrn: None,
            latency_us: None,
            error: None,
        }
    }

    #[test]
    fn follow_ups_from_another_terminal_must_be_refused_and_change_nothing() {
        let mut r = record(0, Some("00"), Some("A"));
        r.scenario = Scenario::Foreign;
        r.other_follow_ups = vec![
            answered("foreign_refund", Some("25")),
            answered("foreign_void", Some("25")),
        ];
        let good = compare(&[r.clone()], &[payment("A", "SUCCESS", 0)], &[], 2026);
        assert_eq!(good.table.inconsistent, 0, "{:?}", good.findings);
        assert_eq!(good.table.foreign_follow_ups, 2);
        // Refused on the wire, yet Antom refunded: still caught.
        let changed = compare(&[r.clone()], &[payment("A", "SUCCESS", 600)], &[], 2026);
        assert_eq!(changed.findings[0].kind, "foreign_follow_up_changed_antom");
        r.other_follow_ups[1].response_code = Some("00".into());
        let accepted = compare(&[r], &[payment("A", "CANCELLED", 0)], &[], 2026);
        assert_eq!(accepted.table.foreign_follow_ups_accepted, 1);
        let kinds: Vec<_> = accepted.findings.iter().map(|f| f.kind).collect();
        assert!(kinds.contains(&"foreign_follow_up_accepted"), "{kinds:?}");
        assert!(kinds.contains(&"approved_but_not_success"), "{kinds:?}");
    }

    #[test]
    fn a_void_after_an_approved_partial_refund_must_be_declined() {
        let mut r = record(0, Some("00"), Some("A"));
        r.scenario = Scenario::RefundVoid;
        r.other_follow_ups = vec![answered("partial_refund", Some("00"))];
        r.follow_up = Some(answered("void", Some("12")));
        let good = compare(&[r.clone()], &[payment("A", "SUCCESS", 625)], &[], 2026);
        assert_eq!(good.table.inconsistent, 0, "{:?}", good.findings);
        assert_eq!(good.table.voids_after_refund_declined, 1);
        // The refund was approved but Antom holds nothing refunded.
        let unrefunded = compare(&[r.clone()], &[payment("A", "SUCCESS", 0)], &[], 2026);
        assert_eq!(
            unrefunded.findings[0].kind,
            "refund_approved_but_not_refunded"
        );
        // The void acknowledged although it cannot be honoured: caught even when Antom ends
        // with nothing (a refund of the rest).
        r.follow_up = Some(answered("void", Some("00")));
        let acked = compare(&[r.clone()], &[payment("A", "SUCCESS", 1250)], &[], 2026);
        assert_eq!(acked.findings[0].kind, "void_after_refund_approved");
        // Without an approved refund a void goes through and must leave nothing paid.
        r.other_follow_ups = vec![answered("partial_refund", Some("05"))];
        let voided = compare(&[r.clone()], &[payment("A", "CANCELLED", 0)], &[], 2026);
        assert_eq!(voided.table.inconsistent, 0, "{:?}", voided.findings);
        let kept = compare(&[r], &[payment("A", "SUCCESS", 0)], &[], 2026);
        assert_eq!(kept.findings[0].kind, "voided_but_success");
    }
}
