//! SAF queue cases: delivery, re-delivery, claims, release, retries, dead letters, stats.

use std::time::Duration;

use asw_core::ports::Journal;
use asw_core::record::SafEntry;
use asw_core::saf::{SafMessage, SafQueue, SafStats};
use asw_core::state::{CancelReason, Event};

use super::{ContractSubject, NOW, apply};
use crate::fixtures::purchase;

/// Begins purchase `n` and reverses it at `at_ms`: one cancel queued, enqueued at `at_ms`.
async fn queue_cancel<S: Journal + SafQueue>(store: &S, n: u32, at_ms: i64) -> SafEntry {
    let rec = purchase(n, NOW);
    store.begin(&rec).await.unwrap();
    let change = asw_core::record::plan_change(
        &rec,
        Event::CancelRequested(CancelReason::ReversalRequest),
        at_ms,
        "contract",
    )
    .unwrap()
    .unwrap();
    let entry = change.enqueue.clone().unwrap();
    apply(
        store,
        &rec,
        Event::CancelRequested(CancelReason::ReversalRequest),
        at_ms,
    )
    .await;
    entry
}

fn entries(messages: &[SafMessage]) -> Vec<SafEntry> {
    messages.iter().map(|m| m.entry.clone()).collect()
}

/// A consumer's own pending entries come back (same id, entry, attempts) before anything new,
/// and nobody else gets them.
pub async fn fetch_rereads_own_pending_entries_first<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let first = queue_cancel(store, 100, NOW + 1).await;
    let second = queue_cancel(store, 101, NOW + 2).await;
    let held = store.fetch("a", 1, Duration::ZERO).await.unwrap();
    assert_eq!(entries(&held), vec![first.clone()]);
    assert_eq!(
        store.fetch("a", 10, Duration::ZERO).await.unwrap(),
        held,
        "own pending first, even with new work waiting"
    );
    let other = store.fetch("b", 10, Duration::ZERO).await.unwrap();
    assert_eq!(entries(&other), vec![second], "b gets only the new one");
    store.ack(&held[0]).await.unwrap();
    assert!(
        store
            .fetch("a", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.fetch("b", 10, Duration::ZERO).await.unwrap(), other);
}

/// `claim_stale` takes only entries idle for `min_idle` (any holder); a re-read by the holder
/// resets the idle time; once claimed, the old holder no longer sees the entry.
pub async fn a_held_entry_goes_to_nobody_else_until_stale<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let idle = Duration::from_millis(500);
    let entry = queue_cancel(store, 110, NOW + 1).await;
    let held = store.fetch("a", 10, Duration::ZERO).await.unwrap();
    assert_eq!(entries(&held), vec![entry]);
    assert!(store.claim_stale("b", idle, 10).await.unwrap().is_empty());
    subject.let_time_pass(Duration::from_millis(600)).await;
    assert_eq!(
        store.fetch("a", 10, Duration::ZERO).await.unwrap(),
        held,
        "the holder re-reads it"
    );
    assert!(
        store.claim_stale("b", idle, 10).await.unwrap().is_empty(),
        "a re-read counts as a delivery: not idle any more"
    );
    subject.let_time_pass(Duration::from_millis(600)).await;
    let claimed = store.claim_stale("b", idle, 10).await.unwrap();
    assert_eq!(claimed, held, "same id, entry and attempts");
    assert!(
        store
            .fetch("a", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.fetch("b", 10, Duration::ZERO).await.unwrap(), held);
    assert!(store.claim_stale("c", idle, 10).await.unwrap().is_empty());
}

/// `release` marks held entries idle at once, so any consumer's next claim takes them.
pub async fn release_hands_entries_back_for_an_immediate_claim<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    queue_cancel(store, 120, NOW + 1).await;
    queue_cancel(store, 121, NOW + 2).await;
    let held = store.fetch("a", 10, Duration::ZERO).await.unwrap();
    assert_eq!(held.len(), 2);
    let min_idle = Duration::from_secs(60);
    assert!(
        store
            .claim_stale("b", min_idle, 10)
            .await
            .unwrap()
            .is_empty()
    );
    store
        .release("a", &held[1..], Duration::from_secs(120))
        .await
        .unwrap();
    let claimed = store.claim_stale("b", min_idle, 10).await.unwrap();
    assert_eq!(claimed, held[1..].to_vec(), "only the released entry");
    assert_eq!(
        store.fetch("a", 10, Duration::ZERO).await.unwrap(),
        held[..1].to_vec()
    );
}

/// `retry_at` acknowledges the delivery and hides the entry until `promote_due` reaches its
/// time; it then comes back with one more attempt; a retry of an acknowledged delivery is
/// not scheduled.
pub async fn retry_at_hides_the_entry_until_promoted<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let entry = queue_cancel(store, 130, NOW + 1).await;
    let held = store.fetch("a", 10, Duration::ZERO).await.unwrap();
    let due = NOW + 10_000;
    store
        .retry_at(&held[0], due, "U:UNKNOWN_EXCEPTION")
        .await
        .unwrap();
    assert!(
        store
            .fetch("a", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .fetch("b", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.stats(NOW + 1).await.unwrap().depth, 1);
    assert_eq!(store.promote_due(due - 1, 10).await.unwrap(), 0);
    assert_eq!(store.promote_due(due, 10).await.unwrap(), 1);
    assert_eq!(store.promote_due(due, 10).await.unwrap(), 0);
    let again = store.fetch("b", 10, Duration::ZERO).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].entry, entry);
    assert_eq!(again[0].attempts, 1);
    assert_ne!(again[0].id, held[0].id, "a new delivery");

    // Already acknowledged: nothing scheduled.
    store.ack(&again[0]).await.unwrap();
    store.retry_at(&again[0], due, "late").await.unwrap();
    assert_eq!(store.stats(due).await.unwrap().depth, 0);
    assert_eq!(store.promote_due(i64::MAX / 4, 10).await.unwrap(), 0);

    // `max` bounds one promotion pass.
    for n in 0..3 {
        queue_cancel(store, 131 + n, NOW + 2).await;
    }
    for m in store.fetch("a", 10, Duration::ZERO).await.unwrap() {
        store.retry_at(&m, due, "U").await.unwrap();
    }
    assert_eq!(store.promote_due(due, 2).await.unwrap(), 2);
    assert_eq!(store.promote_due(due, 2).await.unwrap(), 1);
}

/// `dead_letter` takes the delivery out of the queue into the dead letters (attempts and
/// reason kept); a replay puts it back with attempts reset, once.
pub async fn dead_letters_leave_the_queue_and_replay_puts_them_back<S: ContractSubject>(
    subject: &S,
) {
    let store = subject.store();
    let entry = queue_cancel(store, 140, NOW + 1).await;
    let held = store.fetch("a", 10, Duration::ZERO).await.unwrap();
    store.retry_at(&held[0], NOW + 5, "U").await.unwrap();
    store.promote_due(NOW + 5, 10).await.unwrap();
    let retried = store.fetch("a", 10, Duration::ZERO).await.unwrap();
    store
        .dead_letter(&retried[0], "PROCESS_FAIL")
        .await
        .unwrap();
    let stats = store.stats(NOW + 10).await.unwrap();
    assert_eq!((stats.depth, stats.dead_letters), (0, 1));
    assert!(
        store
            .fetch("a", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    // A second dead-letter of the same (acknowledged) delivery adds nothing.
    store.dead_letter(&retried[0], "again").await.unwrap();
    let dead = subject.dead_letters().await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (&dead[0].entry, dead[0].attempts, dead[0].reason.as_str()),
        (&entry, 1, "PROCESS_FAIL")
    );
    assert!(subject.replay_dead(&dead[0].qualified_id).await);
    assert!(!subject.replay_dead(&dead[0].qualified_id).await);
    assert!(subject.dead_letters().await.is_empty());
    let replayed = store.fetch("a", 10, Duration::ZERO).await.unwrap();
    assert_eq!(entries(&replayed), vec![entry]);
    assert_eq!(replayed[0].attempts, 0);
}

/// Depth counts ready, pending and delayed entries; the oldest age is measured from the
/// entries' `enqueued_at_ms`; dead letters are counted apart.
pub async fn stats_count_depth_age_and_dead_letters<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    assert_eq!(store.stats(NOW).await.unwrap(), SafStats::default());
    queue_cancel(store, 150, NOW + 1).await;
    let stats = store.stats(NOW + 5_001).await.unwrap();
    assert_eq!((stats.depth, stats.oldest_age_ms), (1, 5_000));
    let held = store.fetch("a", 10, Duration::ZERO).await.unwrap();
    assert_eq!(
        store.stats(NOW + 5_001).await.unwrap(),
        stats,
        "pending counts"
    );
    store.retry_at(&held[0], NOW + 60_000, "U").await.unwrap();
    assert_eq!(
        store.stats(NOW + 5_001).await.unwrap(),
        stats,
        "delayed counts, with its original age"
    );
    queue_cancel(store, 151, NOW + 2).await;
    queue_cancel(store, 152, NOW + 3).await;
    let stats = store.stats(NOW + 10_001).await.unwrap();
    assert_eq!((stats.depth, stats.oldest_age_ms), (3, 10_000));
    let ready = store.fetch("a", 1, Duration::ZERO).await.unwrap();
    store.dead_letter(&ready[0], "gone").await.unwrap();
    assert_eq!(
        store.stats(NOW + 10_001).await.unwrap(),
        SafStats {
            depth: 2,
            oldest_age_ms: 10_000,
            dead_letters: 1
        }
    );
    // An age is never negative.
    assert_eq!(store.stats(NOW).await.unwrap().oldest_age_ms, 0);
}

/// A blocking fetch on an empty queue waits (up to `block`) and returns nothing.
pub async fn a_blocking_fetch_on_an_empty_queue_returns_nothing<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    assert!(
        store
            .fetch("a", 10, Duration::from_millis(50))
            .await
            .unwrap()
            .is_empty()
    );
    let entry = queue_cancel(store, 160, NOW + 1).await;
    let got = store
        .fetch("a", 10, Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(entries(&got), vec![entry], "no wait when work is there");
}

/// `ack` removes the entry for good; acknowledging again is harmless.
pub async fn ack_removes_the_entry_and_is_idempotent<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    queue_cancel(store, 170, NOW + 1).await;
    let held = store.fetch("a", 10, Duration::ZERO).await.unwrap();
    store.ack(&held[0]).await.unwrap();
    store.ack(&held[0]).await.unwrap();
    assert_eq!(store.stats(NOW + 1).await.unwrap().depth, 0);
    assert!(
        store
            .fetch("a", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    subject.let_time_pass(Duration::from_millis(600)).await;
    assert!(
        store
            .claim_stale("b", Duration::from_millis(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
}
