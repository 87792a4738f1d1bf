//! Answering the front from the journal: the delivery protocol of approvals, failed writes, and
//! duplicates of a journaled request.

use super::*;

impl Core {
    /// Answers the terminal from the journal's view of the transaction. Approvals go through
    /// the delivery protocol: marked `Sending` (handed over) before the write; only a failed
    /// write is journaled after it.
    ///
    /// `marked_here` is true when this request's own approval commit made the `Sending` mark in
    /// `record` (after the delivery deadline was checked): the approval must now be written, or
    /// the mark would promise the sweeper a delivery that never happens, and a failed write
    /// un-hands it. A mark made by another request (a re-send, a status inquiry) may have been
    /// delivered there: a failed write here proves nothing.
    pub(super) async fn answer_with_record(
        &self,
        record: TransactionRecord,
        received_ms: i64,
        reply: Box<dyn Reply>,
        marked_here: bool,
    ) -> Answer {
        let answer = Answer::from_record(&record);
        if !answer.is_approval() {
            return send_plain(reply, answer).await;
        }
        let timing = &self.settings.timing;
        let handed = record.delivery.handed_to_terminal();
        if !marked_here && handed && !record.handover_may_fail(self.now_ms(), timing) {
            // Handed over, and its settle window closed: nothing un-hands it any more, so saying
            // it again (a status inquiry, a REST read long after the payment) is true at any
            // time and needs no write.
            return send_plain(reply, answer).await;
        }
        if !marked_here && !handed && self.now_ms() >= self.send_by(&record, received_ms) {
            // The terminal has given up (or the sweeper is about to run): an approval now could
            // be read as delivered while the terminal treats it as failed. Leave it undelivered;
            // the sweeper cancels it.
            warn!("approval too late to deliver: leaving it to active cancellation");
            return send_plain(reply, Answer::withheld(&record)).await;
        }
        // Counted before it is sent: this request's own approval commit did it (`marked_here`),
        // else a mark here — which, while another hand-over of the same approval may still
        // fail, keeps that failure from un-handing what this one tells.
        let (sending, counted) = if marked_here {
            (record, true)
        } else {
            match self
                .mark_handed_over(record.clone(), "sending approval", |_, _| true)
                .await
            {
                Ok(marked) => marked,
                Err(error) => {
                    warn!(%error, "could not mark the approval as sending: not delivering it");
                    return send_plain(reply, Answer::withheld(&record)).await;
                }
            }
        };
        if sending.state != TxnState::Approved {
            // A reversal or the sweeper won the race: answer what the journal now says.
            return send_plain(reply, Answer::from_record(&sending)).await;
        }
        let answer = Answer::from_record(&sending);
        if reply.send(&answer).await.is_err() {
            if counted {
                warn!(
                    "approval could not be delivered: it will be cancelled at the gateway deadline unless another hand-over reached the merchant"
                );
                Box::pin(self.record_failed_delivery(sending)).await;
            } else {
                // Handed over long enough ago that nothing un-hands it: this failure proves
                // nothing. A terminal that got no answer reverses on its own timeout.
                warn!("re-sent approval could not be written: the earlier hand-over stands");
            }
        }
        answer
    }

    /// Marks the approval handed over (one more hand-over when it is already), unless its
    /// settle window has closed meanwhile or `may_mark` says no for the record as it is now.
    /// Returns the record and whether this call counted a hand-over (then its failure must be
    /// recorded).
    async fn mark_handed_over(
        &self,
        record: TransactionRecord,
        cause: &'static str,
        may_mark: impl Fn(&TransactionRecord, i64) -> bool,
    ) -> Result<(TransactionRecord, bool), StoreError> {
        let timing = &self.settings.timing;
        let counted = AtomicBool::new(false);
        let after = self
            .commit_planned(record, Event::DeliveryStarted, cause, |current, now| {
                counted.store(false, Ordering::Relaxed);
                let settled = current.delivery.handed_to_terminal()
                    && !current.handover_may_fail(now, timing);
                if settled || !may_mark(current, now) {
                    return Ok(None);
                }
                let change = plan_change(current, Event::DeliveryStarted, now, cause)?;
                counted.store(change.is_some(), Ordering::Relaxed);
                Ok(change)
            })
            .await?;
        Ok((after, counted.load(Ordering::Relaxed)))
    }

    /// Records that a hand-over of the approval did not reach the merchant. When every
    /// hand-over counted has failed, that puts the approval back under the sweeper's watch;
    /// while another may have reached the merchant it only counts this one.
    ///
    /// Until this commits the record says `SENDING` (handed over, not watched), so it is retried
    /// while the failure may still be counted (the settle window); after it the approval stays
    /// handed over, as after a crash between the mark and the write. If the gateway deadline
    /// has passed by then, the cancel is requested here rather than at the sweeper's next pass.
    pub(super) async fn record_failed_delivery(&self, sending: TransactionRecord) {
        let timing = &self.settings.timing;
        let mut pause = Duration::from_millis(50);
        let recorded = loop {
            let attempt = self
                .commit_planned(
                    sending.clone(),
                    Event::DeliveryFailed,
                    "approval write failed",
                    |current, now| {
                        if current.state == TxnState::Approved
                            && current.delivery.handed_to_terminal()
                            && !current.handover_failure_countable(now, timing)
                        {
                            // Too late to count: a read may have said "approved" uncounted.
                            return Ok(None);
                        }
                        plan_change(current, Event::DeliveryFailed, now, "approval write failed")
                    },
                )
                .await;
            match attempt {
                Ok(record) => break record,
                Err(error) if sending.handover_failure_countable(self.now_ms() + 200, timing) => {
                    warn!(%error, "could not record the failed approval write yet: retrying");
                    self.clock.sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(error) => {
                    warn!(%error, "could not record the failed approval write: the approval stays handed over");
                    return;
                }
            }
        };
        // Due only once the closing time has passed on every clock within the tolerance: the
        // merchant may still read it until then.
        if recorded.state == TxnState::Approved
            && recorded.delivery == Delivery::Undelivered
            && self
                .settings
                .timing
                .clock_skew()
                .surely_past(self.now_ms(), recorded.gateway_deadline_ms)
        {
            // Due already: do not wait for the sweeper's next pass.
            if let Err(error) = self
                .apply(
                    recorded,
                    Event::GatewayDeadline,
                    "undelivered after the gateway deadline",
                    |_| {},
                )
                .await
            {
                warn!(%error, "could not queue the cancel of an undelivered approval");
            }
        }
    }

    /// A re-sent request whose key is already journaled.
    pub(super) async fn duplicate(
        &self,
        existing: TransactionRecord,
        content_digest: &str,
        received_ms: i64,
        reply: Box<dyn Reply>,
    ) -> Answer {
        if existing.content_digest != content_digest {
            info!(
                journal_id = existing.journal_id(),
                "same key, different content: 94"
            );
            return send_plain(reply, Answer::refused(Refusal::DuplicateWithOtherContent)).await;
        }
        let timing = &self.settings.timing;
        let wait_until = received_ms + timing.response_deadline_ms;
        let mut record = existing;
        while record.state.is_in_flight() && self.now_ms() < wait_until {
            self.clock
                .sleep(Duration::from_millis(
                    u64::try_from(timing.duplicate_poll_ms).unwrap_or(200),
                ))
                .await;
            match self.journal.load(&record.tag, record.journal_id()).await {
                Ok(Some(fresh)) => record = fresh,
                Ok(None) | Err(_) => break,
            }
        }
        info!(
            journal_id = record.journal_id(),
            state = record.state.as_str(),
            "replaying to a duplicate"
        );
        self.answer_with_record(record, received_ms, reply, false)
            .await
    }
}

/// What telling a merchant "succeeded" by an event may do, decided before the event is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandOver {
    /// This call marked the approval handed over: if the event is not acknowledged, undo it
    /// with [`Core::event_not_acknowledged`].
    MarkedNow,
    /// Already handed over (an answer, a read or an earlier event): say it, undo nothing.
    AlreadyHanded,
    /// Not to be said: no longer approved, or the closing time is too near (the sweeper
    /// cancels it, and the cancel raises its own event).
    TooLate,
}

impl Core {
    /// Before an event tells a REST merchant its payment succeeded: the approval is marked
    /// handed over exactly as an answer would be, and only before its closing time (minus the
    /// delivery margin), so no event ever says `succeeded` about a payment the sweeper cancels.
    pub async fn hand_over_by_event(
        &self,
        record: TransactionRecord,
    ) -> Result<HandOver, StoreError> {
        if record.state != TxnState::Approved {
            return Ok(HandOver::TooLate);
        }
        let timing = &self.settings.timing;
        if record.delivery.handed_to_terminal() && !record.handover_may_fail(self.now_ms(), timing)
        {
            return Ok(HandOver::AlreadyHanded);
        }
        let margin = timing.delivery_margin_ms;
        // The closing time less the margin must still be ahead on every clock within the
        // tolerance: a sweeper whose clock runs ahead may otherwise already close it. (An
        // approval handed over already is not watched by the sweeper: no closing time applies.)
        let skew = timing.clock_skew();
        let in_time = |record: &TransactionRecord, now: i64| {
            record.delivery.handed_to_terminal()
                || skew.surely_before(now, record.gateway_deadline_ms - margin)
        };
        if !in_time(&record, self.now_ms()) {
            return Ok(HandOver::TooLate);
        }
        let (after, marked_now) = self
            .mark_handed_over(record, "event sending approval", in_time)
            .await?;
        Ok(match (after.state, after.delivery, marked_now) {
            (TxnState::Approved, Delivery::Sending, true) => HandOver::MarkedNow,
            (TxnState::Approved, Delivery::Sending, false) => HandOver::AlreadyHanded,
            _ => HandOver::TooLate,
        })
    }

    /// The event that said "succeeded" was not acknowledged (no 2xx): the approval counts as
    /// undelivered again, as after a failed terminal write — the merchant may still read it
    /// before the closing time, else it is cancelled.
    pub async fn event_not_acknowledged(&self, record: TransactionRecord) {
        self.record_failed_delivery(record).await;
    }
}
