//! Crash recovery: the engine is aborted at each named point, a fresh engine starts on the same
//! Redis, and every transaction still ends correctly (sweeper + own-pending re-read + claims).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use asw_core::ports::{
    BeginOutcome, CommitOutcome, Journal, StoreError, Tombstone, TombstoneOutcome,
};
use asw_core::record::{Change, SafEntry, TransactionRecord};
use asw_core::saf::{SafMessage, SafQueue, SafStats};
use asw_core::state::{CancelReason, Event, TxnState};
use asw_reversal::ReversalEngine;
use asw_store::RedisStore;
use async_trait::async_trait;
use common::*;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Where the "process" dies: the call at this point never returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    Commit,
    Ack,
}

/// The real store with a crash point: when armed, the call hangs (the task is then aborted).
struct Crashing {
    store: RedisStore,
    at: Mutex<Option<Point>>,
    reached: Notify,
}

impl Crashing {
    fn new(store: RedisStore, at: Point) -> Arc<Self> {
        Arc::new(Self {
            store,
            at: Mutex::new(Some(at)),
            reached: Notify::new(),
        })
    }
    async fn maybe_die(&self, point: Point) {
        if *self.at.lock().unwrap() == Some(point) {
            self.reached.notify_one();
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait]
impl Journal for Crashing {
    async fn begin(&self, record: &TransactionRecord) -> Result<BeginOutcome, StoreError> {
        self.store.begin(record).await
    }
    async fn load(&self, tag: &str, id: &str) -> Result<Option<TransactionRecord>, StoreError> {
        self.store.load(tag, id).await
    }
    async fn load_by_dedup_key(
        &self,
        tag: &str,
        key: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        self.store.load_by_dedup_key(tag, key).await
    }
    async fn merchant_payments(
        &self,
        merchant_id: &str,
        before: Option<(i64, String)>,
        created_after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        self.store
            .merchant_payments(merchant_id, before, created_after, limit)
            .await
    }
    async fn order_attempts(
        &self,
        tag: &str,
        order: &str,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        self.store.order_attempts(tag, order).await
    }
    async fn commit(&self, change: &Change) -> Result<CommitOutcome, StoreError> {
        self.maybe_die(Point::Commit).await;
        self.store.commit(change).await
    }
    async fn reverse_unseen(
        &self,
        t: &Tombstone,
        c: &SafEntry,
    ) -> Result<TombstoneOutcome, StoreError> {
        self.store.reverse_unseen(t, c).await
    }
    async fn due_for_sweep(
        &self,
        now: i64,
        max: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.store.due_for_sweep(now, max).await
    }
}

#[async_trait]
impl SafQueue for Crashing {
    async fn fetch(
        &self,
        c: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<SafMessage>, StoreError> {
        self.store.fetch(c, max, block).await
    }
    async fn claim_stale(
        &self,
        c: &str,
        idle: Duration,
        max: usize,
    ) -> Result<Vec<SafMessage>, StoreError> {
        self.store.claim_stale(c, idle, max).await
    }
    async fn release(&self, c: &str, m: &[SafMessage], idle: Duration) -> Result<(), StoreError> {
        self.store.release(c, m, idle).await
    }
    async fn ack(&self, m: &SafMessage) -> Result<(), StoreError> {
        self.maybe_die(Point::Ack).await;
        self.store.ack(m).await
    }
    async fn retry_at(&self, m: &SafMessage, at: i64, e: &str) -> Result<(), StoreError> {
        self.store.retry_at(m, at, e).await
    }
    async fn promote_due(&self, now: i64, max: usize) -> Result<usize, StoreError> {
        self.store.promote_due(now, max).await
    }
    async fn dead_letter(&self, m: &SafMessage, r: &str) -> Result<(), StoreError> {
        self.store.dead_letter(m, r).await
    }
    async fn stats(&self, now: i64) -> Result<SafStats, StoreError> {
        self.store.stats(now).await
    }
}

/// Runs a fresh engine instance until every record reached `expected` and the queue is empty
/// (or fails after 15 s).
async fn recover(rig: &Rig, instance: &str, records: &[&TransactionRecord], expected: TxnState) {
    let token = CancellationToken::new();
    let tasks = rig.engine(instance).start(token.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    'wait: loop {
        for rec in records {
            if rig.load(rec).await.state != expected {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{} stuck in {:?}",
                    rec.payment_request_id,
                    rig.load(rec).await.state
                );
                tokio::time::sleep(Duration::from_millis(30)).await;
                continue 'wait;
            }
        }
        if rig.store.stats(0).await.unwrap().depth == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "queue not drained");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    token.cancel();
    tasks.wait().await;
}

/// An engine named "victim" whose journal and queue die at `at`. The clock is set to the very
/// end of the pay call: no skew tolerance (as `Rig::engine`).
fn crashing_engine(rig: &Rig, at: Point) -> (Arc<Crashing>, Arc<ReversalEngine>) {
    let crashing = Crashing::new(rig.store.clone(), at);
    let engine = ReversalEngine::new(
        rig.upstream.clone(),
        crashing.clone(),
        crashing.clone(),
        rig.clock.clone(),
        engine_config("victim"),
    )
    .with_clock_skew(ClockSkew::from_ms(0));
    (crashing, Arc::new(engine))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_journaling_before_sending_is_cancelled_by_the_sweeper() {
    let rig = Rig::new().await;
    let rec = record(1);
    // The flow journaled the transaction, then the process died before `pay` left (or while it
    // was in flight: from outside, the two cannot be told apart).
    rig.store.begin(&rec).await.unwrap();
    rig.clock.set(rec.gateway_deadline_ms);
    recover(&rig, "fresh", &[&rec], TxnState::Cancelled).await;
    assert_eq!(
        rig.upstream
            .count(CallKind::Cancel, rec.payment_request_id.as_str()),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_approval_before_delivery_is_cancelled_by_the_sweeper() {
    let rig = Rig::new().await;
    let rec = record(2);
    rig.store.begin(&rec).await.unwrap();
    // Approved, but the approval was never handed to the terminal.
    rig.walk(&rec, &[Event::Succeeded]).await;
    rig.clock.set(rec.gateway_deadline_ms + 1);
    recover(&rig, "fresh", &[&rec], TxnState::Cancelled).await;
    assert_eq!(
        rig.upstream
            .count(CallKind::Cancel, rec.payment_request_id.as_str()),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_handing_the_approval_to_the_terminal_keeps_it() {
    // SENDING is committed right before the write: the terminal holds the approval (or, if the
    // crash came before the write, got no answer and reverses it itself). Never cancelled here.
    let rig = Rig::new().await;
    let rec = record(12);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(&rec, &[Event::Succeeded, Event::DeliveryStarted])
        .await;
    rig.clock.set(rec.gateway_deadline_ms + 1);
    let engine = rig.engine("fresh");
    engine.sweep_once().await.unwrap();
    assert_eq!(rig.load(&rec).await.state, TxnState::Approved);
    assert_eq!(
        rig.upstream
            .count(CallKind::Cancel, rec.payment_request_id.as_str()),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_enqueuing_before_acknowledging_is_re_read_or_claimed() {
    let rig = Rig::new().await;
    let same = record(3);
    let other = record(4);
    for rec in [&same, &other] {
        rig.store.begin(rec).await.unwrap();
        rig.walk(rec, &[Event::CancelRequested(CancelReason::ReversalAdvice)])
            .await;
    }
    rig.clock.advance(10_000);
    // Consumers of a dead instance had fetched the entries and died holding them.
    let held_a = rig.store.fetch("dead-0", 1, Duration::ZERO).await.unwrap();
    let held_b = rig.store.fetch("gone-0", 1, Duration::ZERO).await.unwrap();
    assert_eq!(held_a.len() + held_b.len(), 2);
    // "dead" restarts under its own name (re-reads its pending entry); "gone" never comes back
    // and its entry is claimed by the restarted instance after the idle time.
    let held_by_gone = held_b[0].entry.journal_id.clone();
    recover(&rig, "dead", &[&same, &other], TxnState::Cancelled).await;
    for rec in [&same, &other] {
        assert_eq!(
            rig.upstream
                .count(CallKind::Cancel, rec.payment_request_id.as_str()),
            1
        );
    }
    assert!(!held_by_gone.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_antom_answered_before_the_journal_resends_the_idempotent_cancel() {
    let rig = Rig::new().await;
    let rec = record(5);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(
        &rec,
        &[Event::CancelRequested(CancelReason::ReversalRequest)],
    )
    .await;
    rig.clock.advance(10_000);
    let (crashing, engine) = crashing_engine(&rig, Point::Commit);
    let message = rig
        .store
        .fetch("victim-0", 1, Duration::ZERO)
        .await
        .unwrap()
        .remove(0);
    let task = tokio::spawn(async move { engine.handle(&message).await });
    crashing.reached.notified().await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(rig.load(&rec).await.state, TxnState::CancelPending);

    recover(&rig, "victim", &[&rec], TxnState::Cancelled).await;
    // Antom saw the cancel twice: the duplicate the crash caused, harmless (same
    // paymentRequestId, Antom does not cancel twice).
    assert_eq!(
        rig.upstream
            .count(CallKind::Cancel, rec.payment_request_id.as_str()),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_antom_answered_before_xack_does_not_call_antom_again() {
    let rig = Rig::new().await;
    let rec = record(6);
    rig.store.begin(&rec).await.unwrap();
    rig.walk(
        &rec,
        &[Event::CancelRequested(CancelReason::ReversalRequest)],
    )
    .await;
    rig.clock.advance(10_000);
    let (crashing, engine) = crashing_engine(&rig, Point::Ack);
    let message = rig
        .store
        .fetch("victim-0", 1, Duration::ZERO)
        .await
        .unwrap()
        .remove(0);
    let task = tokio::spawn(async move { engine.handle(&message).await });
    crashing.reached.notified().await;
    task.abort();
    let _ = task.await;
    // The journal already says CANCELLED; the entry is still pending.
    assert_eq!(rig.load(&rec).await.state, TxnState::Cancelled);
    assert_eq!(rig.store.stats(0).await.unwrap().depth, 1);

    // A different instance claims it after the idle time and acknowledges without a new call.
    recover(&rig, "rescuer", &[&rec], TxnState::Cancelled).await;
    assert_eq!(
        rig.upstream
            .count(CallKind::Cancel, rec.payment_request_id.as_str()),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_run_loses_nothing() {
    let mut rig = Rig::new().await;
    let mut records = Vec::new();
    for n in 10..30 {
        let rec = record(n);
        rig.store.begin(&rec).await.unwrap();
        rig.walk(
            &rec,
            &[Event::CancelRequested(CancelReason::ReversalAdvice)],
        )
        .await;
        records.push(rec);
    }
    // Antom is unsure at first, so work is spread over retries when Redis dies.
    for rec in &records {
        rig.upstream
            .script_cancel(rec.payment_request_id.as_str(), vec![u()]);
    }
    rig.clock.advance(10_000);
    let token = CancellationToken::new();
    let tasks = rig.engine("inst").start(token.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    rig.server.kill().unwrap(); // SIGKILL: only the AOF survives
    tokio::time::sleep(Duration::from_millis(300)).await;
    rig.server.restart().unwrap();
    let refs: Vec<&TransactionRecord> = records.iter().collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut open = 0;
        for rec in &refs {
            match rig.store.load(&rec.tag, rec.journal_id()).await {
                Ok(Some(r)) if r.state == TxnState::Cancelled => {}
                _ => open += 1,
            }
        }
        if open == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{open} still open");
        rig.clock.advance(2_000);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    token.cancel();
    tasks.wait().await;
    for rec in &records {
        let calls = rig
            .upstream
            .count(CallKind::Cancel, rec.payment_request_id.as_str());
        assert!((2..=4).contains(&calls), "{calls} cancels for one payment");
    }
}
