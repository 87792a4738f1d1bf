//! Journal cases: begin, loads, tombstones, compare-and-set, queued work, deadline index.

use std::time::Duration;

use asw_core::domain::PaymentRequestId;
use asw_core::ports::{BeginOutcome, CommitOutcome, Journal, StoreError, TombstoneOutcome};
use asw_core::record::{SafAction, mark_sending, plan_change};
use asw_core::saf::SafQueue;
use asw_core::state::{CancelReason, DeadlineWatch, Delivery, Event, TxnState};

use super::{ContractSubject, NOW, apply};
use crate::fixtures::{purchase, tombstone_for};

const REVERSAL: Event = Event::CancelRequested(CancelReason::ReversalRequest);

/// `begin` creates once; the same record, or another journal id with the same duplicate key,
/// gets the first record back.
pub async fn begin_takes_a_duplicate_key_once<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let rec = purchase(1, NOW);
    assert_eq!(store.begin(&rec).await.unwrap(), BeginOutcome::Started);
    assert_eq!(
        store.begin(&rec).await.unwrap(),
        BeginOutcome::Existing(Box::new(rec.clone()))
    );
    let mut other = purchase(1, NOW + 5);
    other.payment_request_id = PaymentRequestId::new("OTHER00000000001");
    assert_eq!(
        store.begin(&other).await.unwrap(),
        BeginOutcome::Existing(Box::new(rec.clone())),
        "the duplicate key belongs to the first record"
    );
    assert_eq!(
        store.load(&other.tag, other.journal_id()).await.unwrap(),
        None
    );
    // A non-hexadecimal tag names no shard: refused before anything is written.
    let mut bad = purchase(2, NOW);
    bad.tag = "not-hex!".into();
    assert!(matches!(
        store.begin(&bad).await,
        Err(StoreError::Corrupt(_))
    ));
}

/// Records load by journal id and by duplicate key; unknown ones are `None`.
pub async fn loads_by_journal_id_and_by_duplicate_key<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let rec = purchase(3, NOW);
    assert_eq!(store.load(&rec.tag, rec.journal_id()).await.unwrap(), None);
    assert_eq!(
        store
            .load_by_dedup_key(&rec.tag, &rec.dedup_key)
            .await
            .unwrap(),
        None
    );
    store.begin(&rec).await.unwrap();
    assert_eq!(
        store.load(&rec.tag, rec.journal_id()).await.unwrap(),
        Some(rec.clone())
    );
    assert_eq!(
        store
            .load_by_dedup_key(&rec.tag, &rec.dedup_key)
            .await
            .unwrap(),
        Some(rec.clone())
    );
    let approved = apply(store, &rec, Event::Succeeded, NOW + 1).await;
    assert_eq!(
        store
            .load_by_dedup_key(&rec.tag, &rec.dedup_key)
            .await
            .unwrap(),
        Some(approved)
    );
}

/// `reverse_unseen`: Created (tombstone + one queued cancel), then AlreadyTombstoned, and a
/// late original is Tombstoned; for a key a record holds it is RecordExists, nothing queued.
pub async fn a_tombstone_and_begin_exclude_each_other<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let unseen = purchase(10, NOW);
    let (tomb, cancel) = tombstone_for(&unseen, NOW);
    assert_eq!(
        store.reverse_unseen(&tomb, &cancel).await.unwrap(),
        TombstoneOutcome::Created
    );
    assert_eq!(
        store.reverse_unseen(&tomb, &cancel).await.unwrap(),
        TombstoneOutcome::AlreadyTombstoned
    );
    assert_eq!(
        store.begin(&unseen).await.unwrap(),
        BeginOutcome::Tombstoned
    );
    assert_eq!(
        store.load(&unseen.tag, unseen.journal_id()).await.unwrap(),
        None
    );
    assert_eq!(
        store.due_for_sweep(i64::MAX / 4, 10).await.unwrap(),
        vec![],
        "a tombstone is not watched by the sweeper"
    );

    let seen = purchase(11, NOW);
    store.begin(&seen).await.unwrap();
    let (tomb, cancel) = tombstone_for(&seen, NOW);
    assert_eq!(
        store.reverse_unseen(&tomb, &cancel).await.unwrap(),
        TombstoneOutcome::RecordExists(Box::new(seen.clone()))
    );

    let queued = store.fetch("c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(queued.len(), 1, "one cancel, for the unseen original only");
    let (_, expected) = tombstone_for(&unseen, NOW);
    assert_eq!(queued[0].entry, expected);
    assert_eq!(queued[0].attempts, 0);
}

/// A REST attempt of a merchant order is refused while another attempt of the order is in flight
/// or approved (with that attempt's record), and allowed once it declined; terminal records and
/// other orders lock nothing.
pub async fn begin_keeps_one_live_attempt_per_merchant_order<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let attempt = |seq: u32| {
        let mut r = purchase(20 + seq, NOW);
        r.origin = asw_core::domain::Origin::rest("M1", "k1");
        r.order_ref = Some("order-1".into());
        // Every attempt of an order shares the order's shard tag.
        r.tag = "00000abc".into();
        r
    };
    let first = attempt(1);
    assert_eq!(store.begin(&first).await.unwrap(), BeginOutcome::Started);
    let second = attempt(2);
    assert_eq!(
        store.begin(&second).await.unwrap(),
        BeginOutcome::OrderTaken(Box::new(first.clone()))
    );
    let declined = apply(store, &first, Event::Failed, NOW).await;
    assert_eq!(declined.state, TxnState::Declined);
    assert_eq!(store.begin(&second).await.unwrap(), BeginOutcome::Started);
    let approved = apply(store, &second, Event::Succeeded, NOW).await;
    let third = attempt(3);
    assert_eq!(
        store.begin(&third).await.unwrap(),
        BeginOutcome::OrderTaken(Box::new(approved))
    );
    let mut other_order = attempt(4);
    other_order.order_ref = Some("order-2".into());
    assert_eq!(
        store.begin(&other_order).await.unwrap(),
        BeginOutcome::Started
    );
    let mut terminal = attempt(5);
    terminal.origin = asw_core::domain::Origin::terminal("M1", "T1");
    assert_eq!(store.begin(&terminal).await.unwrap(), BeginOutcome::Started);

    // The order lists its attempts; the merchant's payments page newest first (ties by
    // journal id), one at a time after a cursor, terminal records left out.
    let attempts = store
        .order_attempts(&first.tag, "M1|order-1")
        .await
        .unwrap();
    let ids = |records: &[asw_core::record::TransactionRecord]| {
        records
            .iter()
            .map(|r| r.journal_id().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&attempts), [first.journal_id(), second.journal_id()]);
    let mut expected = vec![
        first.journal_id().to_string(),
        second.journal_id().to_string(),
        other_order.journal_id().to_string(),
    ];
    expected.sort();
    expected.reverse();
    let all = store.merchant_payments("M1", None, None, 10).await.unwrap();
    assert_eq!(ids(&all), expected);
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .merchant_payments("M1", cursor, None, 1)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        cursor = Some((last.created_at_ms, last.journal_id().to_string()));
        walked.extend(ids(&page));
    }
    assert_eq!(walked, expected);
    assert!(
        store
            .merchant_payments("M1", None, Some(NOW), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// A stale version or a vanished record is a conflict and writes nothing; a change whose
/// version does not step by one is refused as corrupt.
pub async fn commit_is_compare_and_set<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let rec = purchase(20, NOW);
    store.begin(&rec).await.unwrap();
    let approved = apply(store, &rec, Event::Succeeded, NOW + 1).await;
    assert_eq!(approved.version, 2);

    // Stale: planned on version 1, would queue a cancel.
    let stale = plan_change(&rec, REVERSAL, NOW + 2, "late")
        .unwrap()
        .unwrap();
    assert!(stale.enqueue.is_some());
    assert_eq!(
        store.commit(&stale).await.unwrap(),
        CommitOutcome::Conflict(Some(Box::new(approved.clone())))
    );
    assert_eq!(
        store.load(&rec.tag, rec.journal_id()).await.unwrap(),
        Some(approved.clone())
    );
    assert!(
        store
            .fetch("c", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty(),
        "a conflict queues nothing"
    );

    // Never begun.
    let ghost = purchase(21, NOW);
    let change = plan_change(&ghost, Event::Succeeded, NOW, "x")
        .unwrap()
        .unwrap();
    assert_eq!(
        store.commit(&change).await.unwrap(),
        CommitOutcome::Conflict(None)
    );
    assert_eq!(
        store.load(&ghost.tag, ghost.journal_id()).await.unwrap(),
        None
    );

    // Version jump: a caller bug, refused before anything is written.
    let mut jump = plan_change(&approved, REVERSAL, NOW + 3, "x")
        .unwrap()
        .unwrap();
    jump.record.version += 1;
    assert!(matches!(
        store.commit(&jump).await,
        Err(StoreError::Corrupt(_))
    ));
    assert_eq!(
        store.load(&rec.tag, rec.journal_id()).await.unwrap(),
        Some(approved)
    );
}

/// The SAF entry a change carries is queued by the same commit, exactly as planned; a change
/// without one queues nothing.
pub async fn a_commit_queues_its_saf_entry_with_the_state<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let rec = purchase(30, NOW);
    store.begin(&rec).await.unwrap();
    let uncertain = apply(store, &rec, Event::Uncertain, NOW + 1).await;
    assert!(
        store
            .fetch("c", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    let change = plan_change(&uncertain, REVERSAL, NOW + 2, "reversal")
        .unwrap()
        .unwrap();
    let planned = change.enqueue.clone().expect("a reversal queues a cancel");
    assert_eq!(planned.action, SafAction::Cancel);
    assert_eq!(
        store.commit(&change).await.unwrap(),
        CommitOutcome::Committed
    );
    let now = store
        .load(&rec.tag, rec.journal_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now, change.record);
    assert_eq!(now.state, TxnState::CancelPending);
    let queued = store.fetch("c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].entry, planned);
    assert_eq!(queued[0].attempts, 0);
}

/// begin indexes the gateway deadline; Keep leaves it, Stop removes it, Resume puts it back at
/// the record's gateway deadline.
pub async fn the_deadline_index_follows_keep_stop_resume<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let rec = purchase(40, NOW);
    let deadline = rec.gateway_deadline_ms;
    let entry = vec![(rec.tag.clone(), rec.journal_id().to_string())];
    store.begin(&rec).await.unwrap();
    assert!(
        store
            .due_for_sweep(deadline - 1, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Keep: Approved, not handed over yet.
    let approved = plan_change(&rec, Event::Succeeded, NOW + 1, "pay S")
        .unwrap()
        .unwrap();
    assert_eq!(approved.deadline, DeadlineWatch::Keep);
    assert_eq!(approved.record.delivery, Delivery::None);
    store.commit(&approved).await.unwrap();
    assert_eq!(store.due_for_sweep(deadline, 10).await.unwrap(), entry);
    let approved = approved.record;
    // Stop: handed to the terminal.
    let mut sending = plan_change(&approved, Event::DeliveryStarted, NOW + 2, "sending")
        .unwrap()
        .unwrap();
    mark_sending(&mut sending, NOW + 2);
    assert_eq!(sending.deadline, DeadlineWatch::Stop);
    store.commit(&sending).await.unwrap();
    assert!(
        store
            .due_for_sweep(deadline + 1, 10)
            .await
            .unwrap()
            .is_empty(),
        "handed over: nothing left for the sweeper"
    );
    // Resume: the write failed; watched again, due at the gateway deadline and not before.
    let failed = plan_change(
        &sending.record,
        Event::DeliveryFailed,
        NOW + 3,
        "write failed",
    )
    .unwrap()
    .unwrap();
    assert_eq!(failed.deadline, DeadlineWatch::Resume);
    store.commit(&failed).await.unwrap();
    assert!(
        store
            .due_for_sweep(deadline - 1, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.due_for_sweep(deadline, 10).await.unwrap(), entry);
}

/// `due_for_sweep` hands out due entries earliest deadline first, at most `max`, and hides
/// each one for the lease; one whose record is settled (Stop) is gone.
pub async fn due_for_sweep_leases_entries_in_deadline_order<S: ContractSubject>(subject: &S) {
    let store = subject.store();
    let lease = subject.sweep_lease_ms();
    let late = purchase(50, NOW + 1_000);
    let early = purchase(51, NOW);
    let settled = purchase(52, NOW);
    for rec in [&late, &early, &settled] {
        store.begin(rec).await.unwrap();
    }
    apply(store, &settled, Event::Failed, NOW + 1).await;
    let id = |r: &asw_core::record::TransactionRecord| (r.tag.clone(), r.journal_id().to_string());
    let at = late.gateway_deadline_ms;
    assert_eq!(store.due_for_sweep(at, 1).await.unwrap(), vec![id(&early)]);
    assert_eq!(
        store.due_for_sweep(at + 500, 10).await.unwrap(),
        vec![id(&late)],
        "the first one is leased"
    );
    assert!(
        store
            .due_for_sweep(at + lease - 1, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.due_for_sweep(at + lease, 10).await.unwrap(),
        vec![id(&early)],
        "its lease is over, the second's not yet"
    );
    assert_eq!(
        store.due_for_sweep(at + lease + 500, 10).await.unwrap(),
        vec![id(&late)]
    );
}
