//! The one compare-and-set commit loop, shared by the flows and the reversal engine: plan a
//! change for the record as last read, commit it only if the record still has the version the
//! plan saw, and on a conflict (or a write whose outcome is unknown) read again and plan again.

use tracing::{info, warn};

use crate::ports::{CommitOutcome, Journal, StoreError};
use crate::record::{Change, IllegalTransition, TransactionRecord};
use crate::state::Event;

/// How a commit loop ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Committed {
    /// The change was written; the record is now `change.record`.
    Written(Box<Change>),
    /// The plan decided nothing must be written (already there, or not applicable).
    Unchanged(Box<TransactionRecord>),
    /// The state table rejects the event in the record's current state (logged).
    Illegal(Box<TransactionRecord>),
    /// The record is gone (expired, or never written).
    Vanished,
    /// Every attempt lost a race with another writer; nothing was written by this loop.
    Contended(Box<TransactionRecord>),
}

impl Committed {
    /// The record as the journal holds it afterwards, when there is one.
    pub fn into_record(self) -> Option<TransactionRecord> {
        match self {
            Committed::Written(change) => Some(change.record),
            Committed::Unchanged(record)
            | Committed::Illegal(record)
            | Committed::Contended(record) => Some(*record),
            Committed::Vanished => None,
        }
    }
}

/// Re-reads a record after a write to it ended `Indeterminate`: confirmed as durable if the
/// store can (one more chance for the replicas), else as the node that took the write holds it —
/// what stands unless that node fails before a replica has it. Deciding as if the write had not
/// been made contradicts it in the common case where it survives (the chaos run on a Redis
/// Cluster found a `SENDING` mark that stood while the terminal was told 96).
pub async fn reread(
    journal: &dyn Journal,
    record: &TransactionRecord,
) -> Result<Option<TransactionRecord>, StoreError> {
    match journal
        .load_confirmed(&record.tag, record.journal_id())
        .await
    {
        Err(StoreError::Indeterminate(unconfirmed)) => {
            warn!(%unconfirmed, journal_id = record.journal_id(),
                  "re-read not confirmed by a replica: taking what the master holds");
            journal.load(&record.tag, record.journal_id()).await
        }
        other => other,
    }
}

/// Commits what `plan` decides for the current record with compare-and-set, at most `attempts`
/// times; `now_ms` is read before each plan. A store error other than an unknown outcome ends
/// the loop (nothing was written by it).
pub async fn commit_planned(
    journal: &dyn Journal,
    now_ms: impl Fn() -> i64,
    mut record: TransactionRecord,
    event: Event,
    cause: &str,
    attempts: u32,
    plan: impl Fn(&TransactionRecord, i64) -> Result<Option<Change>, IllegalTransition>,
) -> Result<Committed, StoreError> {
    // A write that timed out may still land later (a cluster client re-sends it): a loop that
    // ends without a confirmed write after one of those cannot say "nothing written".
    let mut unsure: Option<String> = None;
    for _ in 0..attempts.max(1) {
        let change = match plan(&record, now_ms()) {
            Ok(Some(change)) => change,
            Ok(None) => return Ok(Committed::Unchanged(Box::new(record))),
            Err(illegal) => {
                warn!(%illegal, journal_id = record.journal_id(), "illegal transition ignored");
                return Ok(Committed::Illegal(Box::new(record)));
            }
        };
        match journal.commit(&change).await {
            Ok(CommitOutcome::Committed) => {
                info!(
                    journal_id = change.record.journal_id(),
                    from = record.state.as_str(),
                    to = change.record.state.as_str(),
                    event = event.name(),
                    cause,
                    "transition"
                );
                return Ok(Committed::Written(Box::new(change)));
            }
            Ok(CommitOutcome::Conflict(Some(current))) => record = *current,
            Ok(CommitOutcome::Conflict(None)) => return Ok(Committed::Vanished),
            Err(StoreError::Indeterminate(why)) => {
                // The write may have happened: re-read (see `reread`) and decide again.
                warn!(%why, journal_id = record.journal_id(), "journal write indeterminate: re-reading");
                unsure = Some(why.clone());
                // A failed re-read leaves the write's outcome unknown, and says so: callers
                // must not take it for "nothing written".
                let current = reread(journal, &record).await.map_err(|error| {
                    StoreError::Indeterminate(format!("{why}; re-read failed: {error}"))
                })?;
                match current {
                    Some(current) => record = current,
                    None => return Err(StoreError::Indeterminate(why)),
                }
            }
            Err(other) => return Err(other),
        }
    }
    match unsure {
        Some(why) => Err(StoreError::Indeterminate(format!(
            "{why}; no write confirmed in {attempts} attempts"
        ))),
        None => Ok(Committed::Contended(Box::new(record))),
    }
}
