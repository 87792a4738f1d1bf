//! The offenders' full history, so a failure can be debugged from the report alone: for each of
//! the first findings, what the terminal (or REST merchant) recorded, the switch journal's
//! record and audit trail of every message of the transaction (`antom-switch txn show`), the
//! payment at Antom and every call Antom received for it.
//!
//! [`offenders`] is pure (records, ledger and call log in); [`attach_journals`] asks the switch
//! CLI, which reads Redis, so it must run before Redis is stopped.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use asw_antom_sim::{CallRecord, PaymentView};
use asw_terminal_sim::load::TxRecord;
use serde::Serialize;

use crate::check::{ExpectedId, Finding};
use crate::rest_load::RestRecord;
use crate::verdict::{Evidence, saf_payment_request_id};

/// How many offenders the report details.
pub const OFFENDERS: usize = 20;

/// How long one `txn show` may take: Redis is local, a hung CLI must not hang the report.
const CLI_TIMEOUT: Duration = Duration::from_secs(10);

/// How to ask the switch's journal about one message of the transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalQuery {
    /// Which message: `purchase`, `void`, `reversal_advice`, `payment` …
    pub what: String,
    /// The `antom-switch txn show` arguments (after `--config FILE`).
    pub args: Vec<String>,
    /// Its JSON answer (record, outlook, audit trail), once asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<serde_json::Value>,
    /// Why there is no answer (e.g. `no such transaction`), once asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One offender and everything known about it.
#[derive(Debug, Clone, Serialize)]
pub struct Offender {
    /// The finding.
    pub finding: Finding,
    /// The id its request must produce (terminal purchases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_payment_request_id: Option<ExpectedId>,
    /// The terminal's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terminal_record: Option<TxRecord>,
    /// The REST merchant's record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rest_record: Option<RestRecord>,
    /// Other terminal records that name the same payment (a payment matched twice).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_records: Vec<TxRecord>,
    /// Other REST records that name the same payment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_rest_records: Vec<RestRecord>,
    /// The payment at Antom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentView>,
    /// Every call Antom received for the payment, in order of arrival.
    pub antom_calls: Vec<CallRecord>,
    /// SAF entries (queued or dead) about the payment.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub saf_entries: Vec<serde_json::Value>,
    /// The journal's view of each message of the transaction.
    pub journal: Vec<JournalQuery>,
}

fn identity(f: &Finding) -> (Option<u64>, String, Option<String>) {
    (f.seq, f.terminal_id.clone(), f.payment_request_id.clone())
}

/// The first `limit` offenders of `findings` (in order, one per transaction), with their
/// records, payment, calls and the journal queries to make.
pub fn offenders(findings: &[Finding], evidence: &Evidence, limit: usize) -> Vec<Offender> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for finding in findings {
        if out.len() >= limit {
            break;
        }
        if !seen.insert(identity(finding)) {
            continue;
        }
        out.push(offender(finding, evidence));
    }
    out
}

fn offender(finding: &Finding, evidence: &Evidence) -> Offender {
    let prid = finding.payment_request_id.as_deref();
    let rest = finding.terminal_id == "rest";
    let terminal_record = if rest {
        None
    } else {
        evidence
            .records()
            .find(|r| {
                finding
                    .seq
                    .is_some_and(|seq| r.seq == seq && r.terminal_id == finding.terminal_id)
            })
            .or_else(|| {
                let prid = prid?;
                evidence.records().find(|r| {
                    r.payment_request_id.as_deref() == Some(prid)
                        || evidence.ids.expected(r).matches(prid)
                })
            })
            .cloned()
    };
    let rest_record = if rest || terminal_record.is_none() {
        evidence
            .rest_records
            .iter()
            .find(|r| {
                (rest && !finding.stan.is_empty() && r.key == finding.stan)
                    || (prid.is_some() && r.payment_request_id.as_deref() == prid)
            })
            .cloned()
    } else {
        None
    };
    let expected = terminal_record.as_ref().map(|r| evidence.ids.expected(r));
    let payment = evidence
        .payments
        .iter()
        .find(|p| {
            prid.is_some_and(|id| p.payment_request_id == id)
                || expected
                    .as_ref()
                    .is_some_and(|e| e.matches(&p.payment_request_id))
        })
        .cloned();
    let payment_id = payment.as_ref().map(|p| p.payment_id.as_str());
    let antom_calls = evidence
        .calls
        .iter()
        .filter(|c| {
            let by_prid = c.payment_request_id.as_deref().is_some_and(|id| {
                Some(id) == prid
                    || payment.as_ref().is_some_and(|p| p.payment_request_id == id)
                    || expected.as_ref().is_some_and(|e| e.matches(id))
            });
            let by_payment_id = payment_id.is_some() && c.payment_id.as_deref() == payment_id;
            by_prid || by_payment_id
        })
        .cloned()
        .collect();
    let the_id = payment
        .as_ref()
        .map(|p| p.payment_request_id.clone())
        .or_else(|| prid.map(str::to_owned));
    // Everyone else who names this payment: for a payment matched twice, the other side.
    let related_records = match the_id.as_deref() {
        Some(id) => evidence
            .records()
            .filter(|r| {
                let same = terminal_record
                    .as_ref()
                    .is_some_and(|t| t.seq == r.seq && t.terminal_id == r.terminal_id);
                !same
                    && (r.payment_request_id.as_deref() == Some(id)
                        || evidence.ids.expected(r).matches(id))
            })
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let related_rest_records = match the_id.as_deref() {
        Some(id) => evidence
            .rest_records
            .iter()
            .filter(|r| {
                r.payment_request_id.as_deref() == Some(id)
                    && rest_record.as_ref().is_none_or(|own| own.key != r.key)
            })
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    let saf_entries = evidence
        .dead_letters
        .iter()
        .chain(&evidence.saf_left)
        .filter(|e| the_id.is_some() && saf_payment_request_id(e) == the_id)
        .cloned()
        .collect();
    let journal = journal_queries(
        terminal_record.as_ref(),
        the_id.as_deref(),
        evidence.ids.year,
    );
    Offender {
        finding: finding.clone(),
        expected_payment_request_id: expected,
        terminal_record,
        rest_record,
        related_records,
        related_rest_records,
        payment,
        antom_calls,
        saf_entries,
        journal,
    }
}

/// The journal queries of a transaction: each message the terminal sent on its own
/// terminal, by its terminal key (they have their own journal records), or the payment's id.
fn journal_queries(record: Option<&TxRecord>, prid: Option<&str>, year: i32) -> Vec<JournalQuery> {
    let query = |what: &str, args: Vec<String>| JournalQuery {
        what: what.into(),
        args,
        view: None,
        error: None,
    };
    let Some(r) = record else {
        return prid
            .map(|id| vec![query("payment", vec![id.to_owned()])])
            .unwrap_or_default();
    };
    let by_key = |stan: &str| {
        vec![
            "--merchant".to_owned(),
            r.merchant_id.clone(),
            "--terminal".to_owned(),
            r.terminal_id.clone(),
            "--stan".to_owned(),
            stan.to_owned(),
            "--date".to_owned(),
            format!("{year:04}{}", r.local_date),
        ]
    };
    let mut out = vec![query("purchase", by_key(&r.stan))];
    // A follow-up from another terminal carries that terminal's key, which the record does not
    // keep: those are found through the purchase's own trail.
    for f in r
        .follow_up
        .iter()
        .chain(&r.other_follow_ups)
        .filter(|f| !f.kind.starts_with("foreign") && f.kind != "resend" && f.attempts > 0)
        .filter(|f| f.stan != r.stan)
    {
        out.push(query(f.kind, by_key(&f.stan)));
    }
    out
}

/// Asks `antom-switch txn show` (configuration `config`) for every offender's journal queries.
pub async fn attach_journals(offenders: &mut [Offender], bin: &Path, config: &Path) {
    for offender in offenders {
        for q in &mut offender.journal {
            match txn_show(bin, config, &q.args).await {
                Ok(view) => q.view = Some(view),
                Err(error) => q.error = Some(error),
            }
        }
    }
}

async fn txn_show(bin: &Path, config: &Path, args: &[String]) -> Result<serde_json::Value, String> {
    let run = tokio::process::Command::new(bin)
        .args(["txn", "show"])
        .args(args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(CLI_TIMEOUT, run)
        .await
        .map_err(|_| format!("txn show did not answer within {CLI_TIMEOUT:?}"))?
        .map_err(|e| format!("txn show: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("txn show printed no JSON: {e}"))
}

/// The offender in a few lines for people: the finding, both sides, Antom's calls and the
/// journal's trail.
pub fn offender_text(index: usize, o: &Offender) -> String {
    let f = &o.finding;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "#{index} [{}/{}] {} seq={} stan={} scenario={} prid={}",
        f.class,
        f.kind,
        if f.terminal_id.is_empty() {
            "-"
        } else {
            &f.terminal_id
        },
        f.seq.map_or("-".into(), |s| s.to_string()),
        if f.stan.is_empty() { "-" } else { &f.stan },
        if f.scenario.is_empty() {
            "-"
        } else {
            &f.scenario
        },
        f.payment_request_id.as_deref().unwrap_or("-")
    );
    if !f.detail.is_empty() {
        let _ = writeln!(out, "    why:      {}", f.detail);
    }
    let _ = writeln!(out, "    terminal: {}", f.terminal_view);
    if let Some(e) = &o.expected_payment_request_id {
        let _ = writeln!(out, "    expected: {}", e.display());
    }
    for r in &o.related_records {
        let _ = writeln!(
            out,
            "    also:     {} seq {} stan {}: {}",
            r.terminal_id,
            r.seq,
            r.stan,
            crate::check::terminal_view(r)
        );
    }
    for r in o.rest_record.iter().chain(&o.related_rest_records) {
        let _ = writeln!(
            out,
            "    merchant: key {} told {:?} cancel requested {} transport errors {} conflicts {}",
            r.key, r.told, r.cancel_requested, r.transport_errors, r.conflicts
        );
    }
    let _ = writeln!(
        out,
        "    antom:    {}",
        crate::check::antom_view(o.payment.as_ref())
    );
    for c in &o.antom_calls {
        let _ = writeln!(
            out,
            "      call #{} {} {} -> {} {} http {}{}{}{}",
            c.seq,
            c.time,
            c.api,
            c.result_status,
            c.result_code,
            c.http_status,
            if c.dropped { " DROPPED" } else { "" },
            if c.client_gone { " client gone" } else { "" },
            if c.delay_ms > 0 {
                format!(" delay {}ms", c.delay_ms)
            } else {
                String::new()
            }
        );
    }
    for e in &o.saf_entries {
        let _ = writeln!(out, "    saf:      {e}");
    }
    for q in &o.journal {
        match (&q.view, &q.error) {
            (Some(view), _) => {
                let _ = writeln!(
                    out,
                    "    journal {}: {}",
                    q.what,
                    view.get("outlook")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("?")
                );
                for a in view
                    .get("audit")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let s = |k: &str| a.get(k).and_then(serde_json::Value::as_str).unwrap_or("");
                    let _ = writeln!(
                        out,
                        "      {} {} -> {} {} ({})",
                        a.get("at_ms")
                            .and_then(serde_json::Value::as_i64)
                            .unwrap_or(0),
                        s("from"),
                        s("to"),
                        s("event"),
                        s("cause")
                    );
                }
            }
            (None, Some(error)) => {
                let _ = writeln!(out, "    journal {}: {error}", q.what);
            }
            (None, None) => {
                let _ = writeln!(out, "    journal {}: not asked", q.what);
            }
        }
    }
    out
}
