//! The way back from the core to a waiting HTTP handler.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use asw_core::flows::{Answer, FirstAnswer, Reply, Undelivered};
use asw_core::record::{SavedAnswer, TransactionRecord};
use async_trait::async_trait;
use tokio::sync::oneshot;

use crate::responses::StoredResponse;

/// Hands the core's answer to the handler waiting on the receiver. When the handler stopped
/// waiting (its `sync_wait_ms` passed, or the caller hung up) the answer is undelivered: an
/// approval then goes back under the sweeper's watch until a read delivers it.
pub(crate) struct ChannelReply {
    tx: oneshot::Sender<Answer>,
    kept: Option<Arc<KeptAnswer>>,
}

impl ChannelReply {
    pub(crate) fn new() -> (Box<Self>, oneshot::Receiver<Answer>) {
        Self::keeping(None)
    }

    /// A reply whose first final answer the core may keep with the approval's commit.
    pub(crate) fn keeping(kept: Option<Arc<KeptAnswer>>) -> (Box<Self>, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        (Box::new(Self { tx, kept }), rx)
    }
}

/// `POST /v1/payments`' first answer, rendered by the core's approval commit so the answer and
/// the approval are one durable write; the handler then skips its own save when it would save
/// the same bytes.
pub(crate) struct KeptAnswer {
    fingerprint: String,
    rendered: Mutex<Option<String>>,
    committed: AtomicBool,
}

impl KeptAnswer {
    /// For a request with this body fingerprint.
    pub(crate) fn new(fingerprint: String) -> Arc<Self> {
        Arc::new(Self {
            fingerprint,
            rendered: Mutex::new(None),
            committed: AtomicBool::new(false),
        })
    }

    /// The saved response the approval's commit wrote, if it wrote one.
    pub(crate) fn committed_text(&self) -> Option<String> {
        if !self.committed.load(Ordering::Acquire) {
            return None;
        }
        self.rendered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl KeptAnswer {
    /// The text to keep for `record`, `None` while its answer is `pending`.
    fn text_for(&self, record: &TransactionRecord) -> Option<String> {
        let answer = Answer::from_record(record);
        let view = crate::view::payment_json(record, Some(&answer));
        if view.status == "pending" {
            return None;
        }
        let stored = StoredResponse {
            fingerprint: self.fingerprint.clone(),
            status: axum::http::StatusCode::CREATED.as_u16(),
            body: serde_json::to_string(&view).ok()?,
        };
        Some(stored.to_text())
    }
}

impl FirstAnswer for KeptAnswer {
    fn render(&self, record: &TransactionRecord) -> Option<SavedAnswer> {
        let text = self.text_for(record);
        // Replaced on every call, `None` included: a compare-and-set attempt that renders
        // nothing must not leave an earlier attempt's text to be taken as committed.
        *self.rendered.lock().unwrap_or_else(|e| e.into_inner()) = text.clone();
        Some(SavedAnswer { text: text? })
    }

    fn committed(&self) {
        self.committed.store(true, Ordering::Release);
    }
}

/// The core's answer if it comes within `wait`, else `None` — and then no answer can be handed
/// over any more. The receiver is closed before it is given up, so an answer sent in the same
/// instant is either taken here (and said) or refused to the core (which then treats it as
/// undelivered): never accepted by the channel and dropped unread, which would leave the core
/// believing an approval delivered that nobody was told.
pub(crate) async fn answer_within(
    mut answered: oneshot::Receiver<Answer>,
    wait: std::time::Duration,
) -> Option<Answer> {
    tokio::select! {
        received = &mut answered => received.ok(),
        () = tokio::time::sleep(wait) => {
            answered.close();
            answered.try_recv().ok()
        }
    }
}

#[async_trait]
impl Reply for ChannelReply {
    async fn send(self: Box<Self>, answer: &Answer) -> Result<(), Undelivered> {
        self.tx.send(answer.clone()).map_err(|_| Undelivered)
    }

    fn first_answer(&self) -> Option<Arc<dyn FirstAnswer>> {
        // A handler that stopped waiting says nothing: nothing of its to keep.
        if self.tx.is_closed() {
            return None;
        }
        self.kept.clone().map(|kept| kept as Arc<dyn FirstAnswer>)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asw_core::flows::{Outcome, Refusal};
    use std::time::Duration;

    #[tokio::test]
    async fn an_answer_is_either_taken_or_refused_to_the_core_never_dropped() {
        let answer = || Answer::refused(Refusal::StillRunning);
        // Sent before the wait ends: taken.
        let (reply, answered) = ChannelReply::new();
        assert!(reply.send(&answer()).await.is_ok());
        let got = answer_within(answered, Duration::from_millis(10)).await;
        assert_eq!(
            got.map(|a| a.outcome),
            Some(Outcome::Refused(Refusal::StillRunning))
        );
        // Sent after the wait gave up: the core is told it was not delivered.
        let (reply, answered) = ChannelReply::new();
        assert_eq!(
            answer_within(answered, Duration::from_millis(10)).await,
            None
        );
        assert!(reply.send(&answer()).await.is_err());
    }

    fn record(state: &str, version: u64) -> TransactionRecord {
        serde_json::from_value(serde_json::json!({
            "version": version, "kind": "purchase", "state": state,
            "payment_request_id": "P1a2b3c4d", "tag": "1a2b3c4d",
            "dedup_key": "rest|M1|k1", "origin": {"merchant_id": "M1", "terminal_id": "k1", "way_in": "rest"},
            "content_digest": "d", "client": "default", "amount_minor": 100, "currency": "SGD",
            "currency_numeric": 702, "receipt_ref": "P1a2b3c4d", "created_at_ms": 1,
            "updated_at_ms": 2, "call_over_at_ms": 3, "response_deadline_ms": 4,
            "terminal_deadline_ms": 5, "gateway_deadline_ms": 6, "payment_expiry_ms": 7
        }))
        .unwrap()
    }

    /// The core renders once per compare-and-set attempt; only the last rendering is written.
    /// An attempt that renders nothing must not leave an earlier one's text to pass for what
    /// the commit kept (the handler would then skip its own save).
    #[test]
    fn only_the_last_rendering_counts_as_committed() {
        let kept = KeptAnswer::new("f".into());
        assert!(kept.render(&record("APPROVED", 2)).is_some());
        assert!(kept.render(&record("PENDING", 3)).is_none());
        kept.committed();
        assert_eq!(kept.committed_text(), None);

        let text = kept.render(&record("APPROVED", 4)).map(|saved| saved.text);
        kept.committed();
        assert_eq!(kept.committed_text(), text);
    }
}
