//! The verdict, pure: everything a run collected ([`Evidence`]) in, every violation out
//! ([`judge`]). Each violation class names one way the switch (or the proof) failed; the run
//! passes only when no class has anything in it. Unit-tested class by class with the data a
//! deliberately broken switch would leave behind.

use std::collections::BTreeMap;

use asw_antom_sim::{CallRecord, PaymentView};
use asw_terminal_sim::durable::{Journal, RunView};
use asw_terminal_sim::load::TxRecord;
use serde::Serialize;

use crate::check::{self, Cause, Comparison, Finding, IdRule, Table};
use crate::check_rest::{RestTable, compare_rest, is_rest_payment};
use crate::rest_load::RestRecord;

/// Every violation class, in the order the report lists them, with what it means.
pub const CLASSES: [(&str, &str); 17] = [
    ("inconsistent", "terminal transactions disagree with Antom"),
    ("rest_inconsistent", "REST payments disagree with Antom"),
    (
        "advice_refused",
        "reversal advices refused (a 0430 other than 00, e.g. 96) at every attempt: the switch must store and acknowledge every advice",
    ),
    (
        "wrong_request_id",
        "purchases answered with a paymentRequestId their own request does not produce",
    ),
    (
        "payment_matched_twice",
        "payments at Antom named by more than one record",
    ),
    (
        "never_sent_at_antom",
        "purchases never sent to a switch, yet Antom has a payment or calls for them",
    ),
    (
        "unmatched_payment",
        "terminal payments at Antom no record names (a lost record, or a payment nobody asked for)",
    ),
    ("duplicate_pays", "payments with more than one pay call"),
    (
        "still_processing",
        "payments still PROCESSING at Antom after the drain",
    ),
    ("dead_letters", "SAF entries dead-lettered"),
    ("saf_left", "SAF entries still queued after the drain"),
    (
        "not_quiet",
        "the SAF queue did not drain within the quiet timeout",
    ),
    (
        "rest_unresolved",
        "REST payments without a final answer or a cancel",
    ),
    (
        "lost_record",
        "scheduled transactions without exactly one record",
    ),
    (
        "records_not_scheduled",
        "transaction records lost or invented (records != scheduled)",
    ),
    (
        "uncertain_over_bound",
        "outcomes accepted either way above their bound",
    ),
    (
        "calls_not_recorded",
        "calls antom-sim did not keep (its log is full): the call-based checks saw less than everything",
    ),
];

/// The records of one load tool, with what it scheduled.
#[derive(Debug, Clone, Default)]
pub struct LoadEvidence {
    /// Names the load in findings (its terminal prefix).
    pub label: String,
    /// Transactions it scheduled.
    pub scheduled: u64,
    /// Its records, one per transaction it knows of.
    pub records: Vec<TxRecord>,
    /// The process runs of a load whose records are durable (killed and restarted); empty for
    /// a load that ran once in this process.
    pub runs: Vec<RunView>,
}

impl LoadEvidence {
    /// The evidence of a durable records file.
    pub fn from_journal(label: &str, journal: &Journal) -> Self {
        let mut evidence = LoadEvidence {
            label: label.into(),
            scheduled: 0,
            records: journal.transactions(),
            runs: journal.runs.clone(),
        };
        evidence.scheduled = evidence.accountable();
        evidence
    }

    /// How many records this load must have: a run that ended owes one per transaction it
    /// scheduled; a killed run only those it started (the rest never reached the wire, as a
    /// snapshot is durable before anything is sent).
    pub fn accountable(&self) -> u64 {
        if self.runs.is_empty() {
            return self.scheduled;
        }
        self.runs
            .iter()
            .map(|run| {
                if run.ended {
                    run.scheduled
                } else {
                    let range = run.first_seq..run.first_seq + run.scheduled;
                    self.records
                        .iter()
                        .filter(|r| range.contains(&r.seq))
                        .count() as u64
                }
            })
            .sum()
    }
}

/// Everything a run collected, as the checker judges it.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// The terminal loads.
    pub loads: Vec<LoadEvidence>,
    /// The REST merchants' records.
    pub rest_records: Vec<RestRecord>,
    /// Antom's ledger, terminal and REST payments alike.
    pub payments: Vec<PaymentView>,
    /// Antom's call log.
    pub calls: Vec<CallRecord>,
    /// `saf dead` entries at the end (the switch CLI's JSON, one value each).
    pub dead_letters: Vec<serde_json::Value>,
    /// `saf list` entries at the end.
    pub saf_left: Vec<serde_json::Value>,
    /// Whether the SAF queue drained within the quiet timeout.
    pub quiet: bool,
    /// Calls antom-sim received but did not keep (its call log is capped).
    pub calls_not_recorded: u64,
    /// How terminal payment ids are derived.
    pub ids: IdRule,
}

impl Evidence {
    /// Evidence with nothing in it, for `ids`.
    pub fn new(ids: IdRule) -> Self {
        Evidence {
            loads: Vec::new(),
            rest_records: Vec::new(),
            payments: Vec::new(),
            calls: Vec::new(),
            dead_letters: Vec::new(),
            saf_left: Vec::new(),
            quiet: true,
            calls_not_recorded: 0,
            ids,
        }
    }

    /// Every terminal record of every load.
    pub fn records(&self) -> impl Iterator<Item = &TxRecord> {
        self.loads.iter().flat_map(|l| l.records.iter())
    }
}

/// How many outcomes may be accepted either way, as shares of the terminal records.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UncertainBounds {
    /// All causes together.
    pub total: f64,
    /// Per cause, where one is set (a cause without its own bound is held to `total` only).
    pub per_cause: BTreeMap<Cause, f64>,
}

impl Default for UncertainBounds {
    /// 5% in all: a kill every 20 s and a Redis restart leave far fewer in practice, so more
    /// means terminals are left in doubt by something else.
    fn default() -> Self {
        UncertainBounds {
            total: 0.05,
            per_cause: BTreeMap::new(),
        }
    }
}

/// One cause's uncertain outcomes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CauseShare {
    /// What it means.
    pub description: &'static str,
    /// Records accepted either way for this cause.
    pub count: u64,
    /// `count` / terminal records.
    pub share: f64,
    /// Its own bound, when one is set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound: Option<f64>,
}

/// The uncertain outcomes, per cause and in all, against their bounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UncertainReport {
    /// Terminal records judged (the denominator of every share).
    pub records: u64,
    /// Outcomes accepted either way.
    pub total: u64,
    /// `total` / `records`.
    pub share: f64,
    /// The bound on `share`.
    pub bound: f64,
    /// Per cause (every cause listed, also at 0).
    pub by_cause: BTreeMap<Cause, CauseShare>,
}

/// One class with something in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The class (see [`CLASSES`]).
    pub class: &'static str,
    /// How many findings (or units) it holds.
    pub count: u64,
    /// One line for people.
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} [{}]", self.count, self.what, self.class)
    }
}

/// What the checker concluded.
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    /// The terminal totals.
    pub table: Table,
    /// The REST totals.
    pub rest: RestTable,
    /// Every violation finding, grouped by class in [`CLASSES`] order.
    pub findings: Vec<Finding>,
    /// The outcomes accepted either way.
    pub uncertain: UncertainReport,
    /// Each record accepted either way, one finding each (class `uncertain`).
    pub uncertain_findings: Vec<Finding>,
    /// Classes with something in them (empty: the run passed).
    pub violations: Vec<Violation>,
}

impl Judgement {
    /// The process exit status this verdict asks for: 0 consistent, 1 not.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.violations.is_empty())
    }

    /// Whether `class` is among the violations.
    pub fn names(&self, class: &str) -> bool {
        self.violations.iter().any(|v| v.class == class)
    }
}

fn class_rank(class: &str) -> usize {
    CLASSES
        .iter()
        .position(|(c, _)| *c == class)
        .unwrap_or(CLASSES.len())
}

fn describe(class: &str) -> &'static str {
    CLASSES
        .iter()
        .find(|(c, _)| *c == class)
        .map_or("unclassified findings", |(_, what)| what)
}

/// The payment a SAF entry (as the switch CLI prints it) is about.
pub fn saf_payment_request_id(entry: &serde_json::Value) -> Option<String> {
    entry
        .get("entry")
        .and_then(|e| e.get("payment_request_id"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

fn saf_findings(
    class: &'static str,
    kind: &'static str,
    entries: &[serde_json::Value],
) -> Vec<Finding> {
    entries
        .iter()
        .map(|entry| {
            Finding::about_payment(
                class,
                kind,
                saf_payment_request_id(entry),
                String::new(),
                entry.to_string(),
            )
        })
        .collect()
}

/// Judges a run: compares both sides, then lists every class with something in it.
pub fn judge(evidence: &Evidence, bounds: &UncertainBounds) -> Judgement {
    let records: Vec<TxRecord> = evidence.records().cloned().collect();
    let (rest_payments, terminal_payments): (Vec<PaymentView>, Vec<PaymentView>) = evidence
        .payments
        .iter()
        .cloned()
        .partition(|p| is_rest_payment(&p.payment_request_id));
    // Online payments re-send an unanswered `pay` with the same id on purpose (seed 000: Antom
    // answers it idempotently), so their pay calls are not counted as duplicates.
    let online: std::collections::HashSet<&str> = rest_payments
        .iter()
        .filter(|p| p.payment_method_type.is_some())
        .map(|p| p.payment_request_id.as_str())
        .collect();
    let calls: Vec<_> = evidence
        .calls
        .iter()
        .filter(|c| {
            c.api != "pay"
                || !c
                    .payment_request_id
                    .as_deref()
                    .is_some_and(|id| online.contains(id))
        })
        .cloned()
        .collect();
    let Comparison {
        mut table,
        mut findings,
        uncertain,
        uncertain_findings,
    } = check::compare(&records, &terminal_payments, &calls, &evidence.ids);
    let (rest, rest_findings) = compare_rest(&evidence.rest_records, &rest_payments);
    findings.extend(rest_findings);
    table.still_processing += rest.still_processing;
    table.dead_letters = evidence.dead_letters.len() as u64;
    table.saf_left = evidence.saf_left.len() as u64;
    findings.extend(saf_findings(
        "dead_letters",
        "saf_entry_dead_lettered",
        &evidence.dead_letters,
    ));
    findings.extend(saf_findings(
        "saf_left",
        "saf_entry_still_queued",
        &evidence.saf_left,
    ));
    if !evidence.quiet {
        findings.push(Finding::about_payment(
            "not_quiet",
            "saf_not_drained",
            None,
            String::new(),
            format!(
                "{} SAF entries still queued when the quiet timeout ran out",
                evidence.saf_left.len()
            ),
        ));
    }
    if evidence.calls_not_recorded > 0 {
        // Duplicate pays and calls for purchases never sent are found in the call log: a
        // log that lost calls would let them pass unseen.
        findings.push(Finding::about_payment(
            "calls_not_recorded",
            "call_log_full",
            None,
            String::new(),
            format!(
                "antom-sim kept no record of {} calls",
                evidence.calls_not_recorded
            ),
        ));
    }
    let scheduled: u64 = evidence.loads.iter().map(|l| l.scheduled).sum();
    for load in &evidence.loads {
        findings.extend(check::lost_records(load));
    }
    // Grouped by class, the order of the report; stable, so each class keeps record order.
    findings.sort_by_key(|f| class_rank(f.class));

    let judged = table.transactions;
    let share = |n: u64| {
        if judged == 0 {
            0.0
        } else {
            n as f64 / judged as f64
        }
    };
    let total: u64 = uncertain.values().sum();
    let report = UncertainReport {
        records: judged,
        total,
        share: share(total),
        bound: bounds.total,
        by_cause: Cause::ALL
            .into_iter()
            .map(|cause| {
                let count = uncertain.get(&cause).copied().unwrap_or(0);
                (
                    cause,
                    CauseShare {
                        description: cause.describe(),
                        count,
                        share: share(count),
                        bound: bounds.per_cause.get(&cause).copied(),
                    },
                )
            })
            .collect(),
    };

    let mut violations: Vec<Violation> = Vec::new();
    for (class, _) in CLASSES {
        let count = findings.iter().filter(|f| f.class == class).count() as u64;
        if count > 0 {
            violations.push(Violation {
                class,
                count,
                what: describe(class).into(),
            });
        }
    }
    let difference = scheduled.abs_diff(table.transactions);
    if difference > 0 {
        violations.push(Violation {
            class: "records_not_scheduled",
            count: difference,
            what: format!(
                "{} ({} records, {scheduled} scheduled)",
                describe("records_not_scheduled"),
                table.transactions
            ),
        });
    }
    let mut over: Vec<String> = Vec::new();
    if report.share > report.bound {
        over.push(format!(
            "all causes {} = {:.2}% > {:.2}%",
            report.total,
            report.share * 100.0,
            report.bound * 100.0
        ));
    }
    for (cause, c) in &report.by_cause {
        if let Some(bound) = c.bound
            && c.share > bound
        {
            over.push(format!(
                "{} {} = {:.2}% > {:.2}%",
                cause.name(),
                c.count,
                c.share * 100.0,
                bound * 100.0
            ));
        }
    }
    if !over.is_empty() {
        violations.push(Violation {
            class: "uncertain_over_bound",
            count: over.len() as u64,
            what: format!(
                "{}: {} of {judged} records",
                describe("uncertain_over_bound"),
                over.join("; ")
            ),
        });
        // The records in doubt are the offenders of this class.
        findings.extend(uncertain_findings.iter().map(|f| Finding {
            class: "uncertain_over_bound",
            ..f.clone()
        }));
    }
    violations.sort_by_key(|v| class_rank(v.class));
    Judgement {
        table,
        rest,
        findings,
        uncertain: report,
        uncertain_findings,
        violations,
    }
}

#[cfg(test)]
mod tests {
    //! One test per violation class: the data a switch broken in that one way would leave
    //! behind, fed to the checker, must give exit status 1 with that class named — and the
    //! same run without the break must pass.
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::check::tests::{advice, answered, call, ids, paid, payment, record};

    /// A consistent run: approved, declined, unanswered and reversed, voided and refunded
    /// purchases, a REST payment, with the calls a correct switch makes.
    fn consistent() -> Evidence {
        let approved = record(0, Some("00"));
        let declined = record(1, Some("05"));
        let mut unanswered = record(2, None);
        unanswered.follow_up = Some(advice(&["00"]));
        let mut voided = record(3, Some("00"));
        voided.scenario = asw_terminal_sim::load::Scenario::Void;
        voided.follow_up = Some(answered("void", Some("00")));
        let mut not_sent = record(4, None);
        not_sent.sent = false;
        not_sent.timed_out = false;
        not_sent.error = Some("connect: connection refused".into());
        let records = vec![approved, declined, unanswered, voided, not_sent];
        let mut evidence = Evidence::new(ids());
        evidence.payments = vec![
            paid(&records[0], "SUCCESS", 0),
            paid(&records[1], "FAIL", 0),
            paid(&records[2], "CANCELLED", 0),
            paid(&records[3], "CANCELLED", 0),
            payment(REST_ID, "SUCCESS", 0),
        ];
        evidence.calls = records[..4]
            .iter()
            .map(|r| call("pay", &crate::check::tests::id_of(r)))
            .chain([call("pay", REST_ID)])
            .collect();
        evidence.loads = vec![LoadEvidence {
            label: "CA".into(),
            scheduled: 5,
            records,
            runs: Vec::new(),
        }];
        evidence.rest_records = vec![RestRecord {
            key: "k1".into(),
            order: "order-1".into(),
            payment_request_id: Some(REST_ID.into()),
            told: Some("succeeded".into()),
            cancel_requested: false,
            transport_errors: 0,
            conflicts: 0,
            buyer: None,
        }];
        evidence
    }

    const REST_ID: &str = "P0123456789abcdef01234567aaaaaaaa";

    fn judged(evidence: &Evidence) -> Judgement {
        judge(evidence, &UncertainBounds::default())
    }

    /// The verdict fails with `class` named, and its findings (if any) carry that class.
    fn fails_with(evidence: &Evidence, class: &str) -> Judgement {
        let j = judged(evidence);
        assert_eq!(j.exit_code(), 1, "{class}: {:?}", j.violations);
        assert!(j.names(class), "{class} not in {:?}", j.violations);
        j
    }

    fn records_mut(e: &mut Evidence) -> &mut Vec<TxRecord> {
        &mut e.loads[0].records
    }

    #[test]
    fn a_consistent_run_passes() {
        let j = judged(&consistent());
        assert_eq!(j.exit_code(), 0, "{:?}\n{:#?}", j.violations, j.findings);
        assert!(j.findings.is_empty());
        assert_eq!(j.table.transactions, 5);
        assert_eq!(j.uncertain.total, 0);
        assert_eq!(j.rest.told_succeeded, 1);
    }

    #[test]
    fn inconsistent_approved_but_cancelled() {
        let mut e = consistent();
        e.payments[0].status = "CANCELLED".into();
        let j = fails_with(&e, "inconsistent");
        assert_eq!(j.findings[0].kind, "approved_but_not_success");
        assert_eq!(j.violations.len(), 1, "{:?}", j.violations);
    }

    /// An online payment's `pay` re-sent with the same id is seed 000's rule, not a duplicate;
    /// a second `pay` of a payment-code REST payment still is one.
    #[test]
    fn an_online_payment_may_re_send_its_pay_but_a_payment_code_one_may_not() {
        let mut e = consistent();
        e.payments[4].payment_method_type = Some("GCASH".into());
        e.calls.push(call("pay", REST_ID));
        let j = judged(&e);
        assert_eq!(j.exit_code(), 0, "{:?}", j.violations);

        let mut e = consistent();
        e.calls.push(call("pay", REST_ID));
        fails_with(&e, "duplicate_pays");
    }

    #[test]
    fn rest_inconsistent_told_succeeded_but_cancelled() {
        let mut e = consistent();
        e.payments[4].status = "CANCELLED".into();
        fails_with(&e, "rest_inconsistent");
    }

    #[test]
    fn dead_letters() {
        let mut e = consistent();
        e.dead_letters = vec![serde_json::json!({
            "shard": 3, "id": "1-0", "attempts": 12, "reason": "max attempts",
            "entry": {"action": "cancel", "payment_request_id": "261122014500CA0000011250000003x"}
        })];
        let j = fails_with(&e, "dead_letters");
        assert_eq!(j.table.dead_letters, 1);
        assert_eq!(
            j.findings[0].payment_request_id.as_deref(),
            Some("261122014500CA0000011250000003x")
        );
    }

    #[test]
    fn duplicate_pays() {
        let mut e = consistent();
        let id = e.calls[0].payment_request_id.clone().unwrap();
        e.calls.push(call("pay", &id));
        let j = fails_with(&e, "duplicate_pays");
        assert_eq!(j.table.duplicate_pay_calls, 1);
        assert_eq!(j.findings[0].seq, Some(0));
        // A REST payment paid twice is caught too.
        let mut e = consistent();
        e.calls.push(call("pay", REST_ID));
        fails_with(&e, "duplicate_pays");
    }

    #[test]
    fn still_processing() {
        let mut e = consistent();
        e.payments[1].status = "PROCESSING".into();
        let j = fails_with(&e, "still_processing");
        assert_eq!(j.table.still_processing, 1);
        let mut e = consistent();
        e.payments[4].status = "PROCESSING".into();
        let j = fails_with(&e, "still_processing");
        assert_eq!(j.rest.still_processing, 1);
    }

    #[test]
    fn saf_left_and_not_quiet() {
        let mut e = consistent();
        e.saf_left = vec![serde_json::json!({"shard": 0, "id": "5-0", "attempts": 1})];
        let j = fails_with(&e, "saf_left");
        assert!(!j.names("not_quiet"));
        e.quiet = false;
        fails_with(&e, "not_quiet");
    }

    #[test]
    fn rest_unresolved() {
        let mut e = consistent();
        e.rest_records[0].told = Some("pending".into());
        e.payments[4].status = "CANCELLED".into();
        fails_with(&e, "rest_unresolved");
    }

    #[test]
    fn records_not_scheduled() {
        let mut e = consistent();
        e.loads[0].scheduled = 6;
        let j = fails_with(&e, "records_not_scheduled");
        assert!(j.names("lost_record"));
        let v = j
            .violations
            .iter()
            .find(|v| v.class == "records_not_scheduled")
            .unwrap();
        assert_eq!(v.count, 1);
    }

    #[test]
    fn lost_record() {
        // The record of an approved purchase is lost (and another written twice, so the count
        // still matches): its payment is unmatched and the sequence number missing.
        let mut e = consistent();
        let twice = records_mut(&mut e)[1].clone();
        records_mut(&mut e)[0] = twice;
        let j = fails_with(&e, "lost_record");
        assert!(!j.names("records_not_scheduled"));
        assert!(j.names("unmatched_payment"));
        let lost: Vec<&str> = j
            .findings
            .iter()
            .filter(|f| f.class == "lost_record")
            .map(|f| f.kind)
            .collect();
        assert_eq!(lost, ["record_missing", "record_duplicated"]);
    }

    #[test]
    fn unmatched_payment() {
        // A payment no request of the run produces (here: a failed one, so no disagreement).
        let mut e = consistent();
        e.payments
            .push(payment("261122014500CA0000019999000999deadbeef", "FAIL", 0));
        let j = fails_with(&e, "unmatched_payment");
        assert_eq!(j.violations.len(), 1, "{:?}", j.violations);
    }

    #[test]
    fn payment_matched_twice() {
        // The switch answered a second purchase with the first one's payment.
        let mut e = consistent();
        let first = records_mut(&mut e)[0].payment_request_id.clone();
        records_mut(&mut e)[1].payment_request_id = first;
        let j = fails_with(&e, "payment_matched_twice");
        assert!(j.names("wrong_request_id"));
        // The offender shows both records.
        let offenders = crate::history::offenders(&j.findings, &e, 20);
        let twice = offenders
            .iter()
            .find(|o| o.finding.class == "payment_matched_twice")
            .unwrap();
        let seqs: Vec<u64> = twice
            .terminal_record
            .iter()
            .chain(&twice.related_records)
            .map(|r| r.seq)
            .collect();
        assert_eq!(seqs, [0, 1]);
        let twice = j
            .findings
            .iter()
            .find(|f| f.class == "payment_matched_twice")
            .unwrap();
        assert!(twice.detail.contains("seq 0") && twice.detail.contains("seq 1"));
        // Two REST merchants (two keys) answered with one payment.
        let mut e = consistent();
        let mut other = e.rest_records[0].clone();
        other.key = "k2".into();
        e.rest_records.push(other);
        fails_with(&e, "payment_matched_twice");
    }

    #[test]
    fn wrong_request_id() {
        // The answer names an id the request does not produce (a tag off by one character):
        // the payment is not the terminal's own, even if no other record claims it.
        let mut e = consistent();
        let id = records_mut(&mut e)[0].payment_request_id.clone().unwrap();
        let mut other = id[..id.len() - 1].to_string();
        other.push(if id.ends_with('0') { '1' } else { '0' });
        records_mut(&mut e)[0].payment_request_id = Some(other.clone());
        e.payments[0].payment_request_id = other;
        let j = fails_with(&e, "wrong_request_id");
        assert!(j.findings[0].detail.contains(&id), "{:?}", j.findings[0]);
    }

    #[test]
    fn never_sent_at_antom() {
        // A purchase the load never wrote, yet paid at Antom (even unsuccessfully).
        let mut e = consistent();
        let not_sent = records_mut(&mut e)[4].clone();
        e.payments.push(paid(&not_sent, "FAIL", 0));
        let j = fails_with(&e, "never_sent_at_antom");
        assert_eq!(j.table.never_sent_at_antom, 1);
        // A call alone (a pay that left no payment) is enough.
        let mut e = consistent();
        e.calls
            .push(call("pay", &crate::check::tests::id_of(&not_sent)));
        fails_with(&e, "never_sent_at_antom");
    }

    #[test]
    fn advice_refused_at_every_attempt_fails_and_refused_then_acknowledged_is_reported() {
        // Refused while the journal was away, acknowledged on a repeat: the protocol working.
        let mut e = consistent();
        records_mut(&mut e)[2].follow_up = Some(advice(&["96", "00"]));
        let j = judged(&e);
        assert!(j.violations.is_empty(), "{:?}", j.violations);
        assert_eq!(j.table.advice_refusals, 1);
        // An approved purchase whose advice is refused every time (while Antom keeps the
        // payment): the refusal is the violation, not an outcome in doubt.
        let mut e = consistent();
        records_mut(&mut e)[0].follow_up = Some(advice(&["96"; 5]));
        let j = fails_with(&e, "advice_refused");
        assert_eq!(j.uncertain.total, 0);
        assert_eq!(j.violations.len(), 1, "{:?}", j.violations);
        assert!(
            j.findings[0].detail.contains("96, 96"),
            "{:?}",
            j.findings[0]
        );
    }

    #[test]
    fn uncertain_share_over_its_bound() {
        // Twenty approved purchases whose advice nobody answered: 20 of 24 records in doubt.
        let mut e = consistent();
        for seq in 5..25 {
            let mut r = record(seq, Some("00"));
            r.follow_up = Some(advice(&["none"; 5]));
            e.payments.push(paid(&r, "SUCCESS", 0));
            e.calls.push(call("pay", &crate::check::tests::id_of(&r)));
            records_mut(&mut e).push(r);
        }
        e.loads[0].scheduled = 25;
        let j = fails_with(&e, "uncertain_over_bound");
        assert_eq!(j.uncertain.total, 20);
        assert_eq!(j.uncertain.by_cause[&Cause::AdviceUnanswered].count, 20);
        assert_eq!(j.violations.len(), 1, "{:?}", j.violations);
        // The records in doubt are the offenders of the class.
        assert_eq!(
            j.findings
                .iter()
                .filter(|f| f.class == "uncertain_over_bound")
                .count(),
            20
        );
        // Under a loose enough bound the same run passes; a per-cause bound is its own.
        let loose = UncertainBounds {
            total: 0.9,
            per_cause: BTreeMap::new(),
        };
        assert_eq!(judge(&e, &loose).exit_code(), 0);
        let per_cause = UncertainBounds {
            total: 0.9,
            per_cause: [(Cause::AdviceUnanswered, 0.5)].into_iter().collect(),
        };
        let j = judge(&e, &per_cause);
        assert!(j.names("uncertain_over_bound"), "{:?}", j.violations);
        assert!(j.violations[0].what.contains("advice_unanswered"));
    }

    #[test]
    fn calls_not_recorded() {
        let mut e = consistent();
        e.calls_not_recorded = 3;
        let j = fails_with(&e, "calls_not_recorded");
        assert_eq!(j.violations.len(), 1, "{:?}", j.violations);
    }

    #[test]
    fn offenders_carry_record_payment_calls_and_journal_queries() {
        let mut e = consistent();
        e.payments[0].status = "CANCELLED".into();
        e.calls
            .push(call("cancel", &e.payments[0].payment_request_id.clone()));
        let j = judged(&e);
        let offenders = crate::history::offenders(&j.findings, &e, 20);
        assert_eq!(offenders.len(), 1);
        let o = &offenders[0];
        assert_eq!(o.terminal_record.as_ref().map(|r| r.seq), Some(0));
        assert_eq!(
            o.payment.as_ref().map(|p| p.status.as_str()),
            Some("CANCELLED")
        );
        let apis: Vec<&str> = o.antom_calls.iter().map(|c| c.api.as_str()).collect();
        assert_eq!(apis, ["pay", "cancel"]);
        assert_eq!(o.journal[0].what, "purchase");
        assert!(o.journal[0].args.contains(&"20261122".to_string()));
        let text = crate::history::offender_text(1, o);
        assert!(text.contains("approved_but_not_success") && text.contains("call #1"));
    }
}
