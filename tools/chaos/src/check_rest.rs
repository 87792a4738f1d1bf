//! The REST half of the verdict: what each REST merchant was told against what Antom holds.
//! Told `succeeded` ⇔ SUCCESS at Antom (not cancelled, not refunded), for every REST payment
//! Antom has — including those no merchant ever got an answer about.

use std::collections::{HashMap, HashSet};

use asw_antom_sim::PaymentView;
use serde::Serialize;

use crate::check::{Finding, antom_view, holds_success};
use crate::rest_load::RestRecord;

/// Whether a `paymentRequestId` is a REST payment's (`P` + 24 hex + 8 hex tag): terminal ids
/// start with the date.
pub fn is_rest_payment(payment_request_id: &str) -> bool {
    payment_request_id.len() == 33
        && payment_request_id.starts_with('P')
        && payment_request_id[1..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
}

/// Totals of the REST load.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestTable {
    /// Payments the merchants started.
    pub payments: u64,
    /// Told `succeeded`.
    pub told_succeeded: u64,
    /// Told another final status (`failed`, `cancelled`, `expired`).
    pub told_not_succeeded: u64,
    /// Gave up without a final answer and had the cancel acknowledged.
    pub cancels_requested: u64,
    /// Never got a final answer nor a cancel acknowledgement.
    pub unresolved: u64,
    /// Requests without an HTTP answer (kills, restarts), retried with the same key.
    pub transport_errors: u64,
    /// `409` answers while a first request ran (or was orphaned by a kill).
    pub conflicts: u64,
    /// Merchant orders with more than one attempt (each judged: at most one success).
    pub orders_with_retries: u64,
    /// Online wallet payments whose buyer approved on the wallet's page.
    pub buyers_approved: u64,
    /// Online wallet payments whose buyer declined.
    pub buyers_declined: u64,
    /// Online wallet payments whose buyer walked away (expired unpaid, unless paid later).
    pub buyers_left: u64,
    /// REST payments at Antom.
    pub at_antom: u64,
    /// Of those, SUCCESS at the end.
    pub at_antom_success: u64,
    /// Of those, still `PROCESSING` at the end (each one a violation).
    pub still_processing: u64,
    /// Merchant and Antom disagree.
    pub inconsistent: u64,
}

/// Compares the REST records with Antom's REST payments.
pub fn compare_rest(records: &[RestRecord], payments: &[PaymentView]) -> (RestTable, Vec<Finding>) {
    let mut t = RestTable::default();
    let mut findings = Vec::new();
    let by_id: HashMap<&str, &PaymentView> = payments
        .iter()
        .filter(|p| is_rest_payment(&p.payment_request_id))
        .map(|p| (p.payment_request_id.as_str(), p))
        .collect();
    let mut told_success: HashSet<&str> = HashSet::new();
    let finding = |class: &'static str,
                   kind: &'static str,
                   r: Option<&RestRecord>,
                   prid: &str,
                   p: Option<&PaymentView>,
                   detail: String| Finding {
        class,
        kind,
        seq: None,
        terminal_id: "rest".into(),
        stan: r.map(|r| r.key.clone()).unwrap_or_default(),
        scenario: String::new(),
        payment_request_id: Some(prid.to_string()),
        terminal_view: r.map_or_else(
            || "no merchant was told anything about it".into(),
            |r| {
                format!(
                    "told {:?} (cancel requested: {})",
                    r.told, r.cancel_requested
                )
            },
        ),
        antom_view: antom_view(p),
        detail,
    };
    for r in records {
        t.payments += 1;
        t.transport_errors += u64::from(r.transport_errors);
        t.conflicts += u64::from(r.conflicts);
        match r.buyer.as_deref() {
            Some("approve") => t.buyers_approved += 1,
            Some("decline") => t.buyers_declined += 1,
            Some("leave") => t.buyers_left += 1,
            _ => {}
        }
        match r.told.as_deref() {
            Some("succeeded") => t.told_succeeded += 1,
            Some("cancel_requested") => t.cancels_requested += 1,
            Some("pending" | "requires_action") | None => {
                t.unresolved += 1;
                let prid = r.payment_request_id.as_deref().unwrap_or_default();
                let payment = by_id.get(prid).copied();
                findings.push(finding(
                    "rest_unresolved",
                    "rest_payment_without_final_answer",
                    Some(r),
                    prid,
                    payment,
                    "the merchant got neither a final status nor an acknowledged cancel".into(),
                ));
            }
            Some(_) => t.told_not_succeeded += 1,
        }
        if r.told_succeeded() {
            let prid = r.payment_request_id.as_deref().unwrap_or_default();
            told_success.insert(prid);
            let payment = by_id.get(prid).copied();
            if !payment.is_some_and(holds_success) {
                t.inconsistent += 1;
                findings.push(finding(
                    "rest_inconsistent",
                    "rest_told_succeeded_not_success",
                    Some(r),
                    prid,
                    payment,
                    String::new(),
                ));
            }
        }
    }
    // At most one success per merchant order, whatever its attempts (seed 001's retries).
    let mut orders: HashMap<&str, Vec<&RestRecord>> = HashMap::new();
    for r in records.iter().filter(|r| !r.order.is_empty()) {
        orders.entry(r.order.as_str()).or_default().push(r);
    }
    let mut orders: Vec<_> = orders.into_iter().filter(|(_, rs)| rs.len() > 1).collect();
    orders.sort_unstable_by_key(|(order, _)| *order);
    for (order, attempts) in orders {
        t.orders_with_retries += 1;
        let paid: Vec<&RestRecord> = attempts
            .iter()
            .copied()
            .filter(|r| {
                r.payment_request_id
                    .as_deref()
                    .and_then(|prid| by_id.get(prid))
                    .is_some_and(|p| holds_success(p))
            })
            .collect();
        let told = attempts.iter().filter(|r| r.told_succeeded()).count();
        if paid.len() > 1 || told > 1 {
            t.inconsistent += 1;
            let first = paid.first().or(attempts.first()).copied();
            let prid = first
                .and_then(|r| r.payment_request_id.as_deref())
                .unwrap_or_default();
            findings.push(finding(
                "rest_inconsistent",
                "rest_order_paid_twice",
                first,
                prid,
                by_id.get(prid).copied(),
                format!(
                    "order {order}: {} attempts SUCCESS at Antom, {told} told succeeded",
                    paid.len()
                ),
            ));
        }
    }
    let mut named: HashMap<&str, Vec<&RestRecord>> = HashMap::new();
    for r in records {
        if let Some(prid) = r.payment_request_id.as_deref() {
            named.entry(prid).or_default().push(r);
        }
    }
    let by_prid: HashMap<&str, &RestRecord> = named
        .iter()
        .filter_map(|(prid, rs)| Some((*prid, *rs.first()?)))
        .collect();
    // Sorted, so that the findings come in the same order on every run of the same data.
    let mut at_antom: Vec<(&str, &PaymentView)> = by_id.iter().map(|(k, v)| (*k, *v)).collect();
    at_antom.sort_unstable_by_key(|(prid, _)| *prid);
    let mut twice: Vec<(&str, &Vec<&RestRecord>)> = named
        .iter()
        .filter(|(_, rs)| rs.len() > 1)
        .map(|(k, v)| (*k, v))
        .collect();
    twice.sort_unstable_by_key(|(prid, _)| *prid);
    for (prid, rs) in twice {
        // Two merchant payments (two idempotency keys) answered with one Antom payment.
        let keys: Vec<&str> = rs.iter().map(|r| r.key.as_str()).collect();
        findings.push(finding(
            "payment_matched_twice",
            "rest_payment_named_by_several_requests",
            rs.first().copied(),
            prid,
            by_id.get(prid).copied(),
            format!("named by the requests with keys {}", keys.join(", ")),
        ));
    }
    for (prid, p) in at_antom {
        t.at_antom += 1;
        if p.status == "PROCESSING" {
            t.still_processing += 1;
            findings.push(finding(
                "still_processing",
                "payment_still_processing",
                by_prid.get(prid).copied(),
                prid,
                Some(p),
                "PROCESSING at Antom after the drain: nobody settled it".into(),
            ));
        }
        if holds_success(p) {
            t.at_antom_success += 1;
            if !told_success.contains(&prid) {
                t.inconsistent += 1;
                findings.push(finding(
                    "rest_inconsistent",
                    "rest_success_not_told",
                    by_prid.get(prid).copied(),
                    prid,
                    Some(p),
                    String::new(),
                ));
            }
        }
    }
    (t, findings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::tests::payment;

    const A: &str = "P0123456789abcdef01234567aaaaaaaa";
    const B: &str = "P0123456789abcdef01234567bbbbbbbb";

    fn told(prid: Option<&str>, status: Option<&str>) -> RestRecord {
        RestRecord {
            key: "k".into(),
            order: String::new(),
            payment_request_id: prid.map(str::to_string),
            told: status.map(str::to_string),
            cancel_requested: status == Some("cancel_requested"),
            transport_errors: 0,
            conflicts: 0,
            buyer: None,
        }
    }

    #[test]
    fn two_attempts_of_one_order_may_not_both_stay_paid() {
        let attempt = |prid: &str, told: &str| RestRecord {
            order: "o-1".into(),
            ..self::told(Some(prid), Some(told))
        };
        let (table, findings) = compare_rest(
            &[attempt(A, "cancelled"), attempt(B, "succeeded")],
            &[payment(A, "CANCELLED", 0), payment(B, "SUCCESS", 0)],
        );
        assert_eq!(table.orders_with_retries, 1);
        assert!(findings.is_empty(), "{findings:?}");
        let (_, findings) = compare_rest(
            &[attempt(A, "cancelled"), attempt(B, "succeeded")],
            &[payment(A, "SUCCESS", 0), payment(B, "SUCCESS", 0)],
        );
        assert!(
            findings.iter().any(|f| f.kind == "rest_order_paid_twice"),
            "{findings:?}"
        );
    }

    #[test]
    fn an_online_payment_left_awaiting_its_buyer_is_unresolved() {
        let (table, findings) = compare_rest(
            &[told(Some(A), Some("requires_action"))],
            &[payment(A, "PROCESSING", 0)],
        );
        assert_eq!(table.unresolved, 1);
        assert!(findings.iter().any(|f| f.class == "rest_unresolved"));
    }

    #[test]
    fn told_succeeded_must_be_success_and_success_must_have_been_told() {
        let agree = compare_rest(
            &[told(Some(A), Some("succeeded"))],
            &[payment(A, "SUCCESS", 0)],
        );
        assert_eq!(agree.0.inconsistent, 0);
        let cancelled = compare_rest(
            &[told(Some(A), Some("succeeded"))],
            &[payment(A, "CANCELLED", 0)],
        );
        assert_eq!(cancelled.1[0].kind, "rest_told_succeeded_not_success");
        let refunded = compare_rest(
            &[told(Some(A), Some("succeeded"))],
            &[payment(A, "SUCCESS", 1250)],
        );
        assert_eq!(refunded.0.inconsistent, 1);
        // SUCCESS nobody was told about, whether the merchant heard of the payment or not.
        let gave_up = compare_rest(
            &[told(Some(A), Some("cancel_requested"))],
            &[payment(A, "SUCCESS", 0)],
        );
        assert_eq!(gave_up.1[0].kind, "rest_success_not_told");
        let silent = compare_rest(&[told(None, None)], &[payment(B, "SUCCESS", 0)]);
        assert_eq!(silent.0.inconsistent, 1);
        // Not told, not SUCCESS: fine; terminal payments are not judged here.
        let fine = compare_rest(
            &[
                told(Some(A), Some("failed")),
                told(Some(B), Some("cancelled")),
            ],
            &[
                payment(A, "FAIL", 0),
                payment(B, "CANCELLED", 0),
                payment("26120614...", "SUCCESS", 0),
            ],
        );
        assert_eq!(fine.0.inconsistent, 0);
        assert_eq!(fine.0.at_antom, 2);
    }
}
