//! A front that keeps its first final answer (REST) has it rendered into the approval's own
//! commit — one durable write — and only when that commit hands the approval over.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use asw_core::flows::{FirstAnswer, PurchaseRequest, Reply, Undelivered};
use asw_core::record::{SavedAnswer, TransactionRecord};
use async_trait::async_trait;

use crate::common::*;

/// Renders the record's state and delivery; notes what it rendered and whether it was written.
#[derive(Default)]
struct Keeper {
    rendered: Mutex<Vec<String>>,
    committed: AtomicBool,
}

impl FirstAnswer for Keeper {
    fn render(&self, record: &TransactionRecord) -> Option<SavedAnswer> {
        let text = format!("{}/{:?}", record.state.as_str(), record.delivery);
        self.rendered.lock().unwrap().push(text.clone());
        Some(SavedAnswer { text })
    }

    fn committed(&self) {
        self.committed.store(true, Ordering::SeqCst);
    }
}

struct KeepingReply(Arc<Keeper>);

#[async_trait]
impl Reply for KeepingReply {
    async fn send(self: Box<Self>, _answer: &asw_core::flows::Answer) -> Result<(), Undelivered> {
        Ok(())
    }

    fn first_answer(&self) -> Option<Arc<dyn FirstAnswer>> {
        Some(Arc::clone(&self.0) as Arc<dyn FirstAnswer>)
    }
}

/// Runs `purchase` with a reply that offers the core a first answer to keep.
async fn purchase_keeping(h: &Harness, purchase: &PurchaseRequest) -> Arc<Keeper> {
    let keeper = Arc::new(Keeper::default());
    h.core
        .purchase(
            purchase.clone(),
            Box::new(KeepingReply(Arc::clone(&keeper))),
        )
        .await;
    keeper
}

#[tokio::test(start_paused = true)]
async fn an_approval_that_is_answered_carries_the_first_answer_in_its_commit() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    h.upstream
        .script_pay(purchase.payment_request_id.as_str(), [pay_ok("P-1")]);
    let keeper = purchase_keeping(&h, &purchase).await;

    assert_eq!(*keeper.rendered.lock().unwrap(), ["APPROVED/Sending"]);
    assert!(keeper.committed.load(Ordering::SeqCst));
    assert_eq!(
        h.events(&purchase.payment_request_id),
        ["begin", "succeeded"],
        "still two durable writes"
    );
}

#[tokio::test(start_paused = true)]
async fn an_approval_too_late_to_answer_keeps_no_first_answer() {
    let h = Harness::new();
    let purchase = h.purchase_req(1);
    // Antom answers after the terminal's timeout: the approval is not handed over.
    h.upstream.script_pay_after(
        purchase.payment_request_id.as_str(),
        ms(timing().terminal_timeout_ms),
        pay_ok("P-1"),
    );
    let keeper = purchase_keeping(&h, &purchase).await;

    assert!(keeper.rendered.lock().unwrap().is_empty());
    assert!(!keeper.committed.load(Ordering::SeqCst));
}
