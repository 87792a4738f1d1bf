//! The shared steps every flow commits through: learn an outcome (`settle`, `settle_approval`),
//! and the one compare-and-set loop (`commit_planned`).

use super::*;

/// The record changes Antom's definitive failure brings (a `pay` F, an inquiry's FAIL or
/// CANCELLED, a refund F): its result code, from which each front derives its own answer.
pub(super) fn failed(result_code: &str) -> impl Fn(&mut TransactionRecord) + '_ {
    move |r| r.result_code = Some(result_code.to_string())
}

/// The result code recorded when Antom reports a failed payment without one.
pub(super) const FAILED_WITHOUT_CODE: &str = "PAYMENT_FAILED";

impl Core {
    /// Journals a new record. A record found under its key (or holding its order) that is
    /// exactly this one was written by this very call: a Redis Cluster client re-sends a
    /// command whose connection dropped after it ran, and the second run finds the first run's
    /// write. That is this request's own transaction to run, not a re-sent request's.
    pub(super) async fn begin(
        &self,
        record: &TransactionRecord,
    ) -> Result<BeginOutcome, StoreError> {
        match self.journal.begin(record).await? {
            BeginOutcome::Existing(found) | BeginOutcome::OrderTaken(found)
                if *found == *record =>
            {
                warn!(
                    journal_id = record.journal_id(),
                    "begin re-sent by the store client found its own record: running it"
                );
                Ok(BeginOutcome::Started)
            }
            other => Ok(other),
        }
    }

    /// Applies an event, retrying on version conflicts; on store failure returns the record as
    /// last known (the deadline sweeper finishes whatever the journal holds).
    pub(super) async fn settle(
        &self,
        record: TransactionRecord,
        event: Event,
        cause: &str,
        patch: impl Fn(&mut TransactionRecord),
    ) -> TransactionRecord {
        match self.apply(record.clone(), event, cause, patch).await {
            Ok(r) => r,
            Err(error) => self.settle_failed(record, event, &error),
        }
    }

    /// [`Core::settle`], and when `reopen_until` is given and the change leaves an approval or
    /// an authorization its merchant was not told of, its closing time moves to
    /// `reopen_until`: the last look at the closing time found the buyer had paid, and the
    /// merchant must get time to learn it (a read, or its event) before the rule for approvals
    /// never told applies.
    pub(super) async fn settle_until(
        &self,
        record: TransactionRecord,
        event: Event,
        cause: &str,
        patch: impl Fn(&mut TransactionRecord),
        reopen_until: Option<i64>,
    ) -> TransactionRecord {
        let Some(until) = reopen_until else {
            return self.settle(record, event, cause, patch).await;
        };
        let result = self
            .commit_planned(record.clone(), event, cause, |current, now| {
                let mut change = plan_change(current, event, now, cause)?;
                if let Some(change) = change.as_mut() {
                    patch(&mut change.record);
                    reopen(change, until);
                }
                Ok(change)
            })
            .await;
        match result {
            Ok(r) => r,
            Err(error) => self.settle_failed(record, event, &error),
        }
    }

    /// The record changes Antom's SUCCESS brings, whoever learned it (the `pay` answer, an
    /// inquiry, a status inquiry, a notification): written once, so the copies cannot drift.
    pub(super) fn paid(
        &self,
        payment_id: Option<String>,
        wallet: Option<String>,
    ) -> impl Fn(&mut TransactionRecord) + '_ {
        move |r| {
            r.payment_id = payment_id.clone().or(r.payment_id.take());
            r.wallet = wallet.clone().or(r.wallet.take());
            r.approval_code = Some(self.ids.approval_code(&r.payment_request_id));
            r.result_code = Some("SUCCESS".into());
        }
    }

    /// Keeps on an online attempt how the buyer paid, as Antom reported it, completing what an
    /// earlier report said (nothing for in-store payments or an empty report).
    pub(super) fn keep_paid_with(record: &mut TransactionRecord, reported: Option<&PaidWith>) {
        let (Some(online), Some(reported)) = (record.online.as_mut(), reported) else {
            return;
        };
        if reported.is_empty() {
            return;
        }
        online.paid_with = Some(
            online
                .paid_with
                .take()
                .unwrap_or_default()
                .merged(reported.clone()),
        );
    }

    /// What a flow continues with when the journal write of `event` failed.
    pub(super) fn settle_failed(
        &self,
        record: TransactionRecord,
        event: Event,
        error: &StoreError,
    ) -> TransactionRecord {
        warn!(%error, event = event.name(), "journal write failed: the sweeper will finish this transaction");
        metrics::counter!(metric::STORE_FAILURES, "flow" => "settle").increment(1);
        // We do not know what the journal holds; answer as if unknown (never approve).
        let mut unknown = record;
        unknown.state = TxnState::Unknown;
        unknown
    }

    /// Records that Antom approved the payment. When the approval can still reach the terminal
    /// it is marked `SENDING` in the same compare-and-set (one durable write less per approval:
    /// the answer is written to the terminal right after); otherwise it stays undelivered and
    /// the sweeper cancels it.
    ///
    /// Also says whether this commit made the `SENDING` mark: only then does this request owe the
    /// terminal the write (and may a failure of that write un-hand the approval). A mark found
    /// already there was made by another request, which may have delivered it.
    pub(super) async fn settle_approval(
        &self,
        record: TransactionRecord,
        received_ms: i64,
        cause: &str,
        patch: impl Fn(&mut TransactionRecord),
        first_answer: Option<&dyn FirstAnswer>,
    ) -> (TransactionRecord, bool) {
        let deliverable = self.now_ms() < self.send_by(&record, received_ms);
        // The plan runs once per compare-and-set attempt: the last run is the one written.
        let marked = AtomicBool::new(false);
        let result = self
            .commit_planned(record.clone(), Event::Succeeded, cause, |current, now| {
                marked.store(false, Ordering::Relaxed);
                let mut change = plan_change(current, Event::Succeeded, now, cause)?;
                if let Some(change) = change.as_mut() {
                    patch(&mut change.record);
                    if deliverable {
                        mark_sending(change, now);
                        let marks = change.record.delivery == Delivery::Sending
                            && current.delivery != Delivery::Sending;
                        marked.store(marks, Ordering::Relaxed);
                        if marks {
                            // Kept with the approval that will be answered: one durable write.
                            change.saved_answer =
                                first_answer.and_then(|first| first.render(&change.record));
                        }
                    }
                }
                Ok(change)
            })
            .await;
        match result {
            Ok(r) => {
                self.recent_approvals.note(&r);
                (r, marked.load(Ordering::Relaxed))
            }
            Err(error) => (self.settle_failed(record, Event::Succeeded, &error), false),
        }
    }

    /// The last moment, by this instance's clock, an approval may be written to the terminal:
    /// before the terminal gives up and before the sweeper's gateway deadline, with a margin.
    ///
    /// The terminal's timeout runs from `received_ms`, read by this clock. The gateway deadline
    /// was written by whichever instance began the transaction and is judged by every
    /// sweeper's clock, one of which may run `max_clock_skew_ms` ahead of this one: it counts
    /// as that much earlier here, so no instance says 00 once another may have closed.
    pub(super) fn send_by(&self, record: &TransactionRecord, received_ms: i64) -> i64 {
        let timing = &self.settings.timing;
        let closing = record.gateway_deadline_ms - timing.clock_skew().ms();
        (received_ms + timing.terminal_timeout_ms).min(closing) - timing.delivery_margin_ms
    }

    /// Plans and commits one event with compare-and-set, reloading on conflicts.
    pub async fn apply(
        &self,
        record: TransactionRecord,
        event: Event,
        cause: &str,
        patch: impl Fn(&mut TransactionRecord),
    ) -> Result<TransactionRecord, StoreError> {
        self.commit_planned(record, event, cause, |current, now| {
            let mut change = plan_change(current, event, now, cause)?;
            if let Some(change) = change.as_mut() {
                patch(&mut change.record);
            }
            Ok(change)
        })
        .await
    }

    /// Commits what `plan` decides for the current record with compare-and-set; on a conflict
    /// or an unknown write outcome, reloads and plans again (the loop shared with the reversal
    /// engine: [`crate::commit::commit_planned`]).
    pub(super) async fn commit_planned(
        &self,
        record: TransactionRecord,
        event: Event,
        cause: &str,
        plan: impl Fn(&TransactionRecord, i64) -> Result<Option<Change>, IllegalTransition>,
    ) -> Result<TransactionRecord, StoreError> {
        let journal_id = record.journal_id().to_string();
        let now = || self.clock.now_ms();
        match crate::commit::commit_planned(&*self.journal, now, record, event, cause, 8, plan)
            .await?
        {
            Committed::Written(change) => Ok(change.record),
            Committed::Unchanged(record) => Ok(*record),
            Committed::Illegal(record) => {
                metrics::counter!(metric::ILLEGAL, "event" => event.name()).increment(1);
                Ok(*record)
            }
            Committed::Vanished => {
                Err(StoreError::Corrupt(format!("record {journal_id} vanished")))
            }
            Committed::Contended(_) => Err(StoreError::Unavailable(
                "too many concurrent changes to one transaction".into(),
            )),
        }
    }
}

/// Moves the closing time of an approval or authorization not yet told to its merchant to
/// `until` (see [`Core::settle_until`]); anything else is left as planned.
pub(super) fn reopen(change: &mut Change, until: i64) {
    let record = &mut change.record;
    let untold = matches!(record.state, TxnState::Approved | TxnState::Authorized)
        && !record.delivery.handed_to_terminal();
    if untold && record.gateway_deadline_ms < until {
        record.gateway_deadline_ms = until;
        record.terminal_deadline_ms = record.terminal_deadline_ms.max(until);
        change.deadline = crate::state::DeadlineWatch::Resume;
    }
}
