//! Store adapter against a real redis-server (started per test by asw-testkit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use asw_core::domain::{Origin, PaymentRequestId};
use asw_core::ports::{
    BeginOutcome, CommitOutcome, Journal, StoreError, Tombstone, TombstoneOutcome,
};
use asw_core::record::{
    SafAction, SafEntry, SavedAnswer, TransactionRecord, mark_sending, plan_change,
};
use asw_core::saf::SafQueue;
use asw_core::state::{CancelReason, Delivery, Event, TxnState};
use asw_store::{ConnectError, Durability, QueuePlace, RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use asw_testkit::fixtures::{NOW_MS, purchase_record};

const NOW: i64 = NOW_MS;

fn config(server: &RedisServer) -> StoreConfig {
    StoreConfig {
        url: server.url(),
        command_timeout_ms: 500,
        ..StoreConfig::default()
    }
}

async fn connect(server: &RedisServer) -> RedisStore {
    RedisStore::connect(config(server)).await.unwrap()
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn apply(store: &RedisStore, current: &TransactionRecord, event: Event) -> TransactionRecord {
    let change = plan_change(current, event, NOW + 1, "test")
        .unwrap()
        .expect("a move");
    assert_eq!(
        store.commit(&change).await.unwrap(),
        CommitOutcome::Committed
    );
    change.record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begin_dedups_sets_ttls_and_indexes_the_deadline() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    assert!(store.findings().is_empty(), "{:?}", store.findings());
    let rec = purchase_record(1);
    assert_eq!(store.begin(&rec).await.unwrap(), BeginOutcome::Started);
    match store.begin(&rec).await.unwrap() {
        BeginOutcome::Existing(existing) => assert_eq!(*existing, rec),
        other => panic!("expected Existing, got {other:?}"),
    }
    // Same dedup key, other content (another journal id): still the first record.
    let mut other = purchase_record(1);
    other.payment_request_id = PaymentRequestId::new("OTHER00000000001");
    assert!(
        matches!(store.begin(&other).await.unwrap(), BeginOutcome::Existing(e) if e.payment_request_id == rec.payment_request_id)
    );

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

    let mut conn = raw(&server).await;
    let shard = store.layout().shard_of(&rec.tag).unwrap();
    for key in [
        store.layout().txn(shard, rec.journal_id()),
        store.layout().dedup(shard, &rec.dedup_key),
    ] {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 48 * 3600 * 1000, "{key} ttl {ttl}");
    }
    let score: Option<f64> = redis::cmd("ZSCORE")
        .arg(store.layout().deadlines(shard))
        .arg(format!("{}:{}", rec.tag, rec.journal_id()))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(score, Some(rec.gateway_deadline_ms as f64));
}

/// A transaction's record (with its trail) and duplicate key stay at least the retention after
/// the last change: a commit soon after the begin leaves their TTLs alone (they were written
/// with an hour to spare), a commit that finds less than the retention left renews them. The
/// begin writes no `log:` list any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_keeps_the_keys_for_the_retention_after_the_last_change() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let retention = i64::try_from(StoreConfig::default().retention_ms).unwrap();
    let hour = 3_600_000;
    let rec = purchase_record(7);
    store.begin(&rec).await.unwrap();
    let shard = store.layout().shard_of(&rec.tag).unwrap();
    let keys = [
        store.layout().txn(shard, rec.journal_id()),
        store.layout().dedup(shard, &rec.dedup_key),
    ];
    // No `log:` list (PTTL -2: no such key): the trail is in the record hash.
    let log = [store.layout().txn_log(shard, rec.journal_id())];
    let mut conn = raw(&server).await;
    assert_eq!(pttls(&mut conn, &log).await, [-2], "begin wrote a log list");
    for ttl in pttls(&mut conn, &keys).await {
        assert!(ttl > retention + hour - 60_000, "begin: {ttl}");
    }

    // Less than the retention left on each (as if time had passed).
    for key in &keys {
        let _: i64 = redis::cmd("PEXPIRE")
            .arg(key)
            .arg(retention / 2)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let approved = apply(&store, &rec, Event::Succeeded).await;
    for ttl in pttls(&mut conn, &keys).await {
        assert!(ttl > retention + hour - 60_000, "renewed: {ttl}");
    }

    // Within the slack: nothing to renew, and nothing is shortened either.
    for key in &keys {
        let _: i64 = redis::cmd("PEXPIRE")
            .arg(key)
            .arg(retention + hour / 2)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    apply(&store, &approved, Event::DeliveryStarted).await;
    for ttl in pttls(&mut conn, &keys).await {
        assert!(
            ttl > retention && ttl <= retention + hour / 2,
            "kept: {ttl}"
        );
    }
    assert_eq!(
        pttls(&mut conn, &log).await,
        [-2],
        "a commit wrote a log list"
    );
}

async fn pttls(conn: &mut redis::aio::MultiplexedConnection, keys: &[String]) -> Vec<i64> {
    let mut out = Vec::new();
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL").arg(key).query_async(conn).await.unwrap();
        out.push(ttl);
    }
    out
}

/// An attempt of a REST order that replaces a declined one names it in its record (`p`): the
/// order's attempts are read back as that chain from the live attempt, oldest first, and no
/// `order:…:attempts` list is written. Attempts an earlier release listed there are read too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attempts_of_an_order_are_a_chain_in_their_records() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let attempt = |seq: u32| {
        let mut r = purchase_record(40 + seq);
        r.origin = Origin::rest("M1", "k1");
        r.order_ref = Some("order-9".into());
        r.tag = "00000abc".into();
        r.created_at_ms = NOW_MS + i64::from(seq);
        r
    };
    let (first, second) = (attempt(1), attempt(2));
    store.begin(&first).await.unwrap();
    apply(&store, &first, Event::Failed).await;
    assert_eq!(store.begin(&second).await.unwrap(), BeginOutcome::Started);
    let shard = store.layout().shard_of(&first.tag).unwrap();
    let list = store.layout().order_attempts(shard, "M1|order-9");
    let mut conn = raw(&server).await;
    assert_eq!(
        pttls(&mut conn, std::slice::from_ref(&list)).await,
        [-2],
        "an attempts list was written"
    );
    let replaced: Option<String> = redis::cmd("HGET")
        .arg(store.layout().txn(shard, second.journal_id()))
        .arg("p")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(replaced.as_deref(), Some(first.journal_id()));
    let ids = |records: Vec<TransactionRecord>| {
        records
            .iter()
            .map(|r| r.journal_id().to_string())
            .collect::<Vec<_>>()
    };
    let read = store
        .order_attempts(&first.tag, "M1|order-9")
        .await
        .unwrap();
    assert_eq!(ids(read), [first.journal_id(), second.journal_id()]);

    // An attempt an earlier release began before these (of another order here, to keep its
    // lock out of the way), in the list that release kept.
    let mut old = attempt(0);
    old.order_ref = Some("order-0".into());
    store.begin(&old).await.unwrap();
    let _: i64 = redis::cmd("RPUSH")
        .arg(&list)
        .arg(old.journal_id())
        .arg(first.journal_id())
        .query_async(&mut conn)
        .await
        .unwrap();
    let read = store
        .order_attempts(&first.tag, "M1|order-9")
        .await
        .unwrap();
    assert_eq!(
        ids(read),
        [old.journal_id(), first.journal_id(), second.journal_id()],
        "each attempt once, oldest first"
    );
}

/// A record begun by an earlier release started its trail in a `log:` list: `txn show` reads
/// that list and then the lines this release writes into the record, and a commit renews the
/// list with the record so the trail's start does not expire first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trail_begun_in_a_log_list_by_an_earlier_release_goes_on_in_the_record() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let retention = i64::try_from(StoreConfig::default().retention_ms).unwrap();
    let rec = purchase_record(8);
    store.begin(&rec).await.unwrap();
    let shard = store.layout().shard_of(&rec.tag).unwrap();
    let txn = store.layout().txn(shard, rec.journal_id());
    let log = store.layout().txn_log(shard, rec.journal_id());
    let mut conn = raw(&server).await;
    // Make it look as an earlier release left it: the begin line in the list, not the hash.
    let line: String = redis::cmd("HGET")
        .arg(&txn)
        .arg(format!("l{}", rec.version))
        .query_async(&mut conn)
        .await
        .unwrap();
    let old_line = line.replacen(
        '{',
        &format!("{{\"journal_id\":\"{}\",", rec.journal_id()),
        1,
    );
    let _: i64 = redis::cmd("HDEL")
        .arg(&txn)
        .arg(format!("l{}", rec.version))
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: i64 = redis::cmd("RPUSH")
        .arg(&log)
        .arg(&old_line)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: i64 = redis::cmd("PEXPIRE")
        .arg(&log)
        .arg(retention / 2)
        .query_async(&mut conn)
        .await
        .unwrap();

    apply(&store, &rec, Event::Succeeded).await;
    let ttl = pttls(&mut conn, std::slice::from_ref(&log)).await[0];
    assert!(
        ttl > retention,
        "the list is renewed with the record: {ttl}"
    );
    let view = store.show_txn(rec.journal_id()).await.unwrap().unwrap();
    let trail: Vec<(String, String, u64, String)> = view
        .audit
        .iter()
        .map(|a| {
            (
                a.from.clone(),
                a.to.clone(),
                a.version,
                a.journal_id.clone(),
            )
        })
        .collect();
    let id = rec.journal_id().to_string();
    assert_eq!(
        trail,
        vec![
            ("".into(), "PENDING".into(), rec.version, id.clone()),
            ("PENDING".into(), "APPROVED".into(), rec.version + 1, id),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_is_compare_and_set_with_atomic_side_effects() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let rec = purchase_record(2);
    store.begin(&rec).await.unwrap();

    // Stale version: conflict carrying the current record, nothing written.
    let approved = apply(&store, &rec, Event::Succeeded).await;
    let stale = plan_change(&rec, Event::Failed, NOW, "late")
        .unwrap()
        .unwrap();
    match store.commit(&stale).await.unwrap() {
        CommitOutcome::Conflict(Some(current)) => assert_eq!(*current, approved),
        other => panic!("expected conflict, got {other:?}"),
    }
    // A record that does not exist is a conflict without a record.
    let mut ghost = plan_change(&purchase_record(99), Event::Succeeded, NOW, "x")
        .unwrap()
        .unwrap();
    ghost.record.tag = rec.tag.clone();
    assert_eq!(
        store.commit(&ghost).await.unwrap(),
        CommitOutcome::Conflict(None)
    );

    // Approved but undelivered → the deadline sweep queues a cancel: state, SAF entry and the
    // deadline index change together.
    let cancel = apply(&store, &approved, Event::GatewayDeadline).await;
    assert_eq!(cancel.state, TxnState::CancelPending);
    let due = store.due_for_sweep(NOW + 120_000, 10).await.unwrap();
    assert!(due.is_empty(), "deadline entry must be gone: {due:?}");
    let got = store
        .fetch("c1", 10, Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].entry.action, SafAction::Cancel);
    assert_eq!(got[0].entry.journal_id, rec.journal_id());
    assert_eq!(got[0].attempts, 0);

    let view = store.show_txn(rec.journal_id()).await.unwrap().unwrap();
    let trail: Vec<(String, String, String)> = view
        .audit
        .iter()
        .map(|a| (a.from.clone(), a.to.clone(), a.event.clone()))
        .collect();
    assert_eq!(
        trail,
        vec![
            ("".into(), "PENDING".into(), "begin".into()),
            ("PENDING".into(), "APPROVED".into(), "succeeded".into()),
            (
                "APPROVED".into(),
                "CANCEL_PENDING".into(),
                "gateway_deadline".into()
            ),
        ]
    );
    let by_key = store
        .show_txn_by_terminal_key("M1", "T1", "20251122", "000002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_key.record, cancel);
    assert_eq!(by_key.outlook, cancel.outlook());
    assert!(by_key.outlook.starts_with("a cancel is queued"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_of_one_version_commit_once() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let rec = purchase_record(3);
    store.begin(&rec).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = store.clone();
        let rec = rec.clone();
        tasks.push(tokio::spawn(async move {
            let event = if i % 2 == 0 {
                Event::CancelRequested(CancelReason::ReversalAdvice)
            } else {
                Event::Succeeded
            };
            let change = plan_change(&rec, event, NOW, "race").unwrap().unwrap();
            store.commit(&change).await.unwrap()
        }));
    }
    let mut committed = 0;
    for task in tasks {
        if task.await.unwrap() == CommitOutcome::Committed {
            committed += 1;
        }
    }
    assert_eq!(committed, 1);
    let now = store
        .load(&rec.tag, rec.journal_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.version, 2);
    let queued = store.fetch("c", 10, Duration::ZERO).await.unwrap();
    assert_eq!(
        queued.len(),
        usize::from(now.state == TxnState::CancelPending)
    );
}

fn tombstone_for(rec: &TransactionRecord) -> (Tombstone, SafEntry) {
    let tomb = Tombstone {
        tag: rec.tag.clone(),
        dedup_key: rec.dedup_key.clone(),
        payment_request_id: rec.payment_request_id.clone(),
        created_at_ms: NOW,
    };
    let entry = SafEntry {
        action: SafAction::Cancel,
        payment_request_id: rec.payment_request_id.clone(),
        journal_id: rec.journal_id().to_string(),
        tag: rec.tag.clone(),
        client: rec.client.clone(),
        reason: CancelReason::ReversalAdvice,
        enqueued_at_ms: NOW,
        not_before_ms: NOW,
        order_may_appear_until_ms: NOW + 600_000,
        tombstone: true,
    };
    (tomb, entry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tombstones_and_begin_exclude_each_other_even_when_racing() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    // Sequential cases.
    let first = purchase_record(10);
    let (tomb, entry) = tombstone_for(&first);
    assert_eq!(
        store.reverse_unseen(&tomb, &entry).await.unwrap(),
        TombstoneOutcome::Created
    );
    assert_eq!(
        store.reverse_unseen(&tomb, &entry).await.unwrap(),
        TombstoneOutcome::AlreadyTombstoned
    );
    assert_eq!(store.begin(&first).await.unwrap(), BeginOutcome::Tombstoned);
    let second = purchase_record(11);
    store.begin(&second).await.unwrap();
    let (tomb, entry) = tombstone_for(&second);
    assert!(
        matches!(store.reverse_unseen(&tomb, &entry).await.unwrap(), TombstoneOutcome::RecordExists(r) if *r == second)
    );

    // Races: exactly one side wins each key.
    let mut handles = Vec::new();
    for n in 100..160 {
        let store_a = store.clone();
        let store_b = store.clone();
        let rec = purchase_record(n);
        let (tomb, entry) = tombstone_for(&rec);
        handles.push(tokio::spawn(async move {
            let (b, t) = tokio::join!(store_a.begin(&rec), store_b.reverse_unseen(&tomb, &entry));
            (b.unwrap(), t.unwrap())
        }));
    }
    for handle in handles {
        match handle.await.unwrap() {
            (BeginOutcome::Started, TombstoneOutcome::RecordExists(_)) => {}
            (BeginOutcome::Tombstoned, TombstoneOutcome::Created) => {}
            other => panic!("both or neither won: {other:?}"),
        }
    }
    // Only tombstone cancels were queued (1 sequential + the races tombstones won).
    let queued = store.fetch("c", 1000, Duration::ZERO).await.unwrap();
    assert!(queued.iter().all(|m| m.entry.tombstone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saf_fetch_own_pending_claim_retry_promote_dead_letter_replay() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let rec = purchase_record(20);
    store.begin(&rec).await.unwrap();
    apply(
        &store,
        &rec,
        Event::CancelRequested(CancelReason::ReversalRequest),
    )
    .await;

    let first = store
        .fetch("a", 10, Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // A restarted process (new client) with the same consumer name gets its pending entry back.
    drop(store);
    let store = connect(&server).await;
    let again = store
        .fetch("a", 10, Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(again, first);
    // Nobody else gets it while it is held, until it is stale.
    assert!(
        store
            .fetch("b", 10, Duration::from_millis(50))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .claim_stale("b", Duration::from_secs(60), 10)
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    let claimed = store
        .claim_stale("b", Duration::from_millis(100), 10)
        .await
        .unwrap();
    assert_eq!(claimed, first);

    let stats = store.stats(NOW + 5_000).await.unwrap();
    assert_eq!(stats.depth, 1);
    assert_eq!(stats.oldest_age_ms, 4_999);

    // Retry later: acknowledged now, invisible until promoted.
    store
        .retry_at(&claimed[0], NOW + 10_000, "U:UNKNOWN_EXCEPTION")
        .await
        .unwrap();
    assert!(
        store
            .fetch("b", 10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    let listed = store.list_saf(10).await.unwrap();
    assert!(
        matches!(listed[0].place, QueuePlace::Delayed { due_at_ms, .. } if due_at_ms == NOW + 10_000)
    );
    assert_eq!(store.stats(NOW + 5_000).await.unwrap().depth, 1);
    assert_eq!(store.promote_due(NOW + 9_999, 10).await.unwrap(), 0);
    assert_eq!(store.promote_due(NOW + 10_000, 10).await.unwrap(), 1);
    let retried = store.fetch("b", 10, Duration::ZERO).await.unwrap();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].attempts, 1);
    assert_eq!(retried[0].entry, first[0].entry);
    assert!(
        matches!(store.list_saf(10).await.unwrap()[0].place, QueuePlace::Pending { ref consumer, .. } if consumer == "b")
    );

    // Dead letter, then replay with attempts reset.
    store
        .dead_letter(&retried[0], "PROCESS_FAIL")
        .await
        .unwrap();
    let stats = store.stats(NOW).await.unwrap();
    assert_eq!((stats.depth, stats.dead_letters), (0, 1));
    let dead = store.list_dead(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "PROCESS_FAIL");
    assert_eq!(dead[0].attempts, 1);
    assert!(store.replay_dead(&dead[0].qualified_id()).await.unwrap());
    assert!(!store.replay_dead(&dead[0].qualified_id()).await.unwrap());
    let replayed = store.fetch("b", 10, Duration::ZERO).await.unwrap();
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].attempts, 0);
    store.ack(&replayed[0]).await.unwrap();
    let stats = store.stats(NOW).await.unwrap();
    assert_eq!((stats.depth, stats.dead_letters), (0, 0));
    assert_eq!(store.replay_all_dead().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweeper_leases_due_entries_and_forgets_expired_records() {
    let server = RedisServer::start().unwrap();
    let config = StoreConfig {
        sweep_lease_ms: 1_000,
        ..config(&server)
    };
    let store = RedisStore::connect(config).await.unwrap();
    let rec = purchase_record(30);
    store.begin(&rec).await.unwrap();
    let due_at = rec.gateway_deadline_ms;
    assert!(
        store
            .due_for_sweep(due_at - 1, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store.due_for_sweep(due_at, 10).await.unwrap();
    assert_eq!(due, vec![(rec.tag.clone(), rec.journal_id().to_string())]);
    // Leased to the first sweeper: others skip it until the lease ends.
    assert!(
        store
            .due_for_sweep(due_at + 999, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.due_for_sweep(due_at + 1_000, 10).await.unwrap().len(),
        1
    );
    // A record that expired leaves the index on the next sweep.
    let mut conn = raw(&server).await;
    let shard = store.layout().shard_of(&rec.tag).unwrap();
    let _: () = redis::cmd("DEL")
        .arg(store.layout().txn(shard, rec.journal_id()))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        store
            .due_for_sweep(i64::MAX / 4, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let left: i64 = redis::cmd("ZCARD")
        .arg(store.layout().deadlines(shard))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_over_approval_leaves_the_deadline_index_and_a_failed_write_brings_it_back() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let rec = purchase_record(31);
    store.begin(&rec).await.unwrap();
    let after_deadline = rec.gateway_deadline_ms + 1;
    let mut approved = plan_change(&rec, Event::Succeeded, NOW + 1, "pay S")
        .unwrap()
        .expect("a move");
    mark_sending(&mut approved, NOW + 1);
    assert_eq!(
        store.commit(&approved).await.unwrap(),
        CommitOutcome::Committed
    );
    assert!(
        store
            .due_for_sweep(after_deadline, 10)
            .await
            .unwrap()
            .is_empty(),
        "SENDING is handed over: nothing left for the sweeper"
    );
    let failed = apply(&store, &approved.record, Event::DeliveryFailed).await;
    assert_eq!(failed.delivery, Delivery::Undelivered);
    assert!(
        store
            .due_for_sweep(rec.gateway_deadline_ms - 1, 10)
            .await
            .unwrap()
            .is_empty(),
        "back in the index, due at the gateway deadline and not before"
    );
    assert_eq!(
        store.due_for_sweep(after_deadline, 10).await.unwrap(),
        vec![(rec.tag.clone(), rec.journal_id().to_string())]
    );
}

/// Begins REST payment `n` and commits its approval, handed over, keeping `answer` with it.
async fn approve_rest_keeping(
    store: &RedisStore,
    n: u32,
    answer: &str,
) -> (TransactionRecord, asw_core::record::Change) {
    let mut rec = purchase_record(n);
    rec.origin = Origin::rest("M1", "k1");
    store.begin(&rec).await.unwrap();
    let mut approved = plan_change(&rec, Event::Succeeded, NOW + 1, "pay S")
        .unwrap()
        .expect("a move");
    mark_sending(&mut approved, NOW + 1);
    approved.saved_answer = Some(SavedAnswer {
        text: answer.into(),
    });
    store.commit(&approved).await.unwrap();
    (rec, approved)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_keeps_the_first_answer_in_its_commit_and_an_un_handing_drops_it() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let (rec, approved) = approve_rest_keeping(&store, 32, "first").await;
    let kept = |store: &RedisStore| {
        let (tag, id, key) = (
            rec.tag.clone(),
            rec.journal_id().to_string(),
            rec.dedup_key.clone(),
        );
        let store = store.clone();
        async move { store.load_response(&tag, &id, &key).await.unwrap() }
    };
    assert_eq!(kept(&store).await.as_deref(), Some("first"));
    // In the record hash: no key of its own.
    let shard = store.layout().shard_of(&rec.tag).unwrap();
    let txn = store.layout().txn(shard, rec.journal_id());
    let resp = store.layout().response(shard, &rec.dedup_key);
    let mut conn = raw(&server).await;
    assert_eq!(pttls(&mut conn, std::slice::from_ref(&resp)).await, [-2]);
    let field: Option<String> = redis::cmd("HGET")
        .arg(&txn)
        .arg("a")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(field.as_deref(), Some("first"));
    // Kept once: a later keeping commit never replaces the first answer.
    let mut again = plan_change(&approved.record, Event::DeliveryStarted, NOW + 2, "read")
        .unwrap()
        .expect("a move");
    again.saved_answer = Some(SavedAnswer {
        text: "second".into(),
    });
    store.commit(&again).await.unwrap();
    assert_eq!(kept(&store).await.as_deref(), Some("first"));
    // One of the two hand-overs failed: still handed over, the answer stays.
    let one = apply(&store, &again.record, Event::DeliveryFailed).await;
    assert_eq!(one.delivery, Delivery::Sending);
    assert_eq!(kept(&store).await.as_deref(), Some("first"));
    // Both failed: nobody was told, and what was kept to replay goes with the hand-over.
    let both = apply(&store, &one, Event::DeliveryFailed).await;
    assert_eq!(both.delivery, Delivery::Undelivered);
    assert_eq!(kept(&store).await, None);
}

/// During a rolling upgrade an instance of the earlier release may commit the failure that
/// un-hands an approval this release kept an answer for: it drops only the key it knew. A kept
/// answer whose approval nobody was told (`UNDELIVERED`) is then void: not read, and replaced
/// by the next answer kept, so a retry never replays a success for a payment the sweeper goes
/// on to cancel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_kept_for_an_approval_an_earlier_release_un_handed_is_void() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let mut conn = raw(&server).await;
    let (rec, approved) = approve_rest_keeping(&store, 35, "succeeded").await;
    let (tag, id, key) = (rec.tag.as_str(), rec.journal_id(), rec.dedup_key.as_str());
    assert_eq!(
        store.load_response(tag, id, key).await.unwrap().as_deref(),
        Some("succeeded")
    );

    // The earlier release's un-handing commit: the record moves, field `a` stays.
    let un_handed = plan_change(
        &approved.record,
        Event::DeliveryFailed,
        NOW + 2,
        "write failed",
    )
    .unwrap()
    .expect("a move");
    assert_eq!(un_handed.record.delivery, Delivery::Undelivered);
    let shard = store.layout().shard_of(tag).unwrap();
    let _: i64 = redis::cmd("HSET")
        .arg(store.layout().txn(shard, id))
        .arg("v")
        .arg(un_handed.record.version)
        .arg("d")
        .arg(serde_json::to_string(&un_handed.record).unwrap())
        .query_async(&mut conn)
        .await
        .unwrap();

    assert_eq!(store.load_response(tag, id, key).await.unwrap(), None);
    let standing = store
        .save_first_response(tag, id, key, "cancelled", 60_000)
        .await
        .unwrap();
    assert_eq!(standing, "cancelled");
}

/// A front's own save keeps the first answer in the record (the first one stands); an answer an
/// earlier release kept in a key of its own is read, stands against later ones, and goes when
/// the approval is un-handed; a request whose record is gone keeps it in such a key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_kept_once_in_the_record_and_an_earlier_release_s_key_is_honoured() {
    let server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let mut conn = raw(&server).await;
    let mut rec = purchase_record(33);
    rec.origin = Origin::rest("M1", "k1");
    store.begin(&rec).await.unwrap();
    let (tag, id, key) = (rec.tag.as_str(), rec.journal_id(), rec.dedup_key.as_str());
    let shard = store.layout().shard_of(tag).unwrap();
    let resp = store.layout().response(shard, key);
    assert_eq!(store.load_response(tag, id, key).await.unwrap(), None);
    let first = store
        .save_first_response(tag, id, key, "first", 60_000)
        .await
        .unwrap();
    assert_eq!(first, "first");
    let second = store
        .save_first_response(tag, id, key, "second", 60_000)
        .await
        .unwrap();
    assert_eq!(second, "first", "the first answer stands");
    assert_eq!(pttls(&mut conn, std::slice::from_ref(&resp)).await, [-2]);

    // An answer an earlier release kept beside another record.
    let mut old = purchase_record(34);
    old.origin = Origin::rest("M1", "k1");
    store.begin(&old).await.unwrap();
    let (tag, id, key) = (old.tag.as_str(), old.journal_id(), old.dedup_key.as_str());
    let resp = store.layout().response(shard, key);
    let _: () = redis::cmd("SET")
        .arg(&resp)
        .arg("old")
        .arg("PX")
        .arg(60_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        store.load_response(tag, id, key).await.unwrap().as_deref(),
        Some("old")
    );
    let standing = store
        .save_first_response(tag, id, key, "new", 60_000)
        .await
        .unwrap();
    assert_eq!(standing, "old");
    let mut approved = plan_change(&old, Event::Succeeded, NOW + 1, "pay S")
        .unwrap()
        .expect("a move");
    mark_sending(&mut approved, NOW + 1);
    approved.saved_answer = Some(SavedAnswer { text: "new".into() });
    store.commit(&approved).await.unwrap();
    assert_eq!(
        store.load_response(tag, id, key).await.unwrap().as_deref(),
        Some("old"),
        "the commit does not keep a second answer"
    );
    let failed = apply(&store, &approved.record, Event::DeliveryFailed).await;
    assert_eq!(failed.delivery, Delivery::Undelivered);
    assert_eq!(store.load_response(tag, id, key).await.unwrap(), None);

    // No record to keep it in (expired): a key of its own, for the ttl given.
    let gone = store
        .save_first_response(
            tag,
            "Pnone00000000000000000000000000000",
            "rest|M1|gone",
            "x",
            60_000,
        )
        .await
        .unwrap();
    assert_eq!(gone, "x");
    let ttl = pttls(&mut conn, &[store.layout().response(shard, "rest|M1|gone")]).await[0];
    assert!(ttl > 0 && ttl <= 60_000, "{ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_spread_keys_and_every_operation_visits_them_all() {
    let server = RedisServer::start().unwrap();
    let config = StoreConfig {
        shards: 4,
        key_prefix: "multi".into(),
        ..config(&server)
    };
    let store = RedisStore::connect(config).await.unwrap();
    let mut shards = std::collections::HashSet::new();
    for n in 0..16 {
        let rec = purchase_record(200 + n);
        shards.insert(store.layout().shard_of(&rec.tag).unwrap());
        store.begin(&rec).await.unwrap();
        apply(&store, &rec, Event::CancelRequested(CancelReason::Void)).await;
    }
    assert!(shards.len() > 1);
    let mut seen = 0;
    while seen < 16 {
        let batch = store
            .fetch("c", 5, Duration::from_millis(20))
            .await
            .unwrap();
        assert!(!batch.is_empty());
        for m in &batch {
            store.ack(m).await.unwrap();
        }
        seen += batch.len();
    }
    assert_eq!(store.stats(NOW).await.unwrap().depth, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misconfigured_server_is_reported_and_unsupported_modes_refused() {
    let server = RedisServer::start_with_args(&[
        "--appendonly",
        "no",
        "--appendfsync",
        "everysec",
        "--maxmemory-policy",
        "allkeys-lru",
    ])
    .unwrap();
    let store = connect(&server).await;
    let mut settings: Vec<&str> = store.findings().iter().map(|f| f.setting).collect();
    settings.sort();
    assert_eq!(
        settings,
        vec!["appendfsync", "appendonly", "maxmemory-policy"]
    );

    let waitaof = StoreConfig {
        durability: Durability::Waitaof,
        ..config(&server)
    };
    assert!(matches!(
        RedisStore::connect(waitaof).await,
        Err(ConnectError::UnsupportedDurability {
            mode: "waitaof",
            ..
        })
    ));

    // WAIT for a replica that does not exist: the write happened but is not confirmed durable.
    let replicas = StoreConfig {
        durability: Durability::WaitReplicas { replicas: 1 },
        durability_timeout_ms: 100,
        ..config(&server)
    };
    let store = RedisStore::connect(replicas).await.unwrap();
    let rec = purchase_record(40);
    assert!(matches!(
        store.begin(&rec).await,
        Err(StoreError::Indeterminate(_))
    ));
    // A commit waits too, even without queued work: a SUCCESS about to be told to the
    // merchant must survive a failover as much as a queued cancel.
    let loaded = store
        .load(&rec.tag, rec.journal_id())
        .await
        .unwrap()
        .unwrap();
    let change = plan_change(&loaded, Event::Succeeded, NOW + 1, "test")
        .unwrap()
        .expect("a move");
    assert!(matches!(
        store.commit(&change).await,
        Err(StoreError::Indeterminate(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_is_unavailable_and_the_client_recovers_by_itself() {
    let mut server = RedisServer::start().unwrap();
    let store = connect(&server).await;
    let rec = purchase_record(50);
    store.begin(&rec).await.unwrap();
    store.ping().await.unwrap();

    server.kill().unwrap();
    let started = std::time::Instant::now();
    let err = store.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.load(&rec.tag, rec.journal_id()).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = store.begin(&purchase_record(51)).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Unavailable(_) | StoreError::Indeterminate(_)
        ),
        "{err:?}"
    );
    assert!(matches!(
        store.fetch("c", 1, Duration::from_millis(50)).await,
        Err(StoreError::Unavailable(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "never hang: {:?}",
        started.elapsed()
    );

    server.restart().unwrap();
    let mut ok = false;
    for _ in 0..50 {
        if store.ping().await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "client did not reconnect");
    // The AOF kept the record; scripts are reloaded transparently after the restart.
    assert_eq!(
        store.load(&rec.tag, rec.journal_id()).await.unwrap(),
        Some(rec.clone())
    );
    apply(&store, &rec, Event::Succeeded).await;
    assert_eq!(
        store.begin(&purchase_record(52)).await.unwrap(),
        BeginOutcome::Started
    );
    let _ = Arc::new(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_times_out_after_sending_is_indeterminate_and_may_still_land() {
    let server = RedisServer::start().unwrap();
    let store = RedisStore::connect(StoreConfig {
        command_timeout_ms: 300,
        ..config(&server)
    })
    .await
    .unwrap();
    let rec = purchase_record(60);
    let mut conn = raw(&server).await;
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1_000)
        .arg("WRITE")
        .query_async(&mut conn)
        .await
        .unwrap();
    // Reads still work; the write is sent, then held by the server past our timeout.
    assert_eq!(store.load(&rec.tag, rec.journal_id()).await.unwrap(), None);
    let err = store.begin(&rec).await.unwrap_err();
    assert!(matches!(err, StoreError::Indeterminate(_)), "{err:?}");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    // …and it did happen: callers must re-read before deciding.
    assert_eq!(
        store.load(&rec.tag, rec.journal_id()).await.unwrap(),
        Some(rec)
    );
}

/// Under `wait-replicas` a write the master took but no replica confirmed is not durable: a
/// failover can drop it, so a confirmed read says `Indeterminate`. But the commit loop must not
/// then decide as if the write had not been made: in the common case the master survives and
/// the write stands (a chaos run on a cluster found a `SENDING` mark that stood while the
/// terminal was told 96). It takes what the master holds, after giving the replicas one more
/// chance to confirm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_write_reads_as_unconfirmed_and_the_commit_loop_takes_what_stands() {
    let server = RedisServer::start().unwrap();
    let plain = connect(&server).await;
    let rec = purchase_record(41);
    plain.begin(&rec).await.unwrap();
    let store = RedisStore::connect(StoreConfig {
        durability: Durability::WaitReplicas { replicas: 1 },
        durability_timeout_ms: 100,
        ..config(&server)
    })
    .await
    .unwrap();
    let outcome = asw_core::commit::commit_planned(
        &store,
        || NOW + 1,
        rec.clone(),
        Event::Succeeded,
        "test",
        3,
        |current, now| plan_change(current, Event::Succeeded, now, "test"),
    )
    .await;
    let seen = plain
        .load(&rec.tag, rec.journal_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.state, TxnState::Approved, "the master holds the write");
    match outcome {
        Ok(asw_core::commit::Committed::Unchanged(record)) => assert_eq!(*record, seen),
        other => panic!("the loop must decide on what stands, not {other:?}"),
    }
    assert!(matches!(
        store.load_confirmed(&rec.tag, rec.journal_id()).await,
        Err(StoreError::Indeterminate(_))
    ));
    // On a server that confirms (aof-always), the confirmed read is the plain read.
    assert_eq!(
        plain
            .load_confirmed(&rec.tag, rec.journal_id())
            .await
            .unwrap(),
        Some(seen)
    );
}

/// An idle consumer does not re-read its own pending entries on every poll: once a scan found
/// none, only new entries are read until a fetch hands something out (which may then stay
/// pending). With many shards the pending scan was half of the idle load on Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_consumer_scans_its_pending_entries_once_not_on_every_poll() {
    let server = RedisServer::start().unwrap();
    let shards = 8;
    let store = RedisStore::connect(StoreConfig {
        shards,
        ..config(&server)
    })
    .await
    .unwrap();
    let mut raw = raw(&server).await;
    let xreadgroup_calls = |info: String| {
        info.lines()
            .find_map(|l| l.strip_prefix("cmdstat_xreadgroup:calls="))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    store.fetch("idle", 10, Duration::ZERO).await.unwrap();
    let before: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut raw)
        .await
        .unwrap();
    let polls = 10;
    for _ in 0..polls {
        assert!(
            store
                .fetch("idle", 10, Duration::ZERO)
                .await
                .unwrap()
                .is_empty()
        );
    }
    let after: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut raw)
        .await
        .unwrap();
    let per_poll = (xreadgroup_calls(after) - xreadgroup_calls(before)) / polls;
    assert_eq!(
        per_poll,
        u64::from(shards),
        "one read of new entries per shard"
    );
}

/// A switch restarted while Redis holds writes (a failover, a slow disk: the chaos run's write
/// stall coinciding with a kill) waits for it within `startup_wait_ms` instead of exiting; with
/// no patience it fails at once, as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_waits_for_a_redis_that_holds_writes() {
    let server = RedisServer::start().unwrap();
    let pause = |ms: u64| {
        let server = &server;
        async move {
            let mut conn = raw(server).await;
            let _: () = redis::cmd("CLIENT")
                .arg("PAUSE")
                .arg(ms)
                .arg("WRITE")
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    };
    pause(2_000).await;
    let impatient = RedisStore::connect(StoreConfig {
        command_timeout_ms: 300,
        startup_wait_ms: 0,
        ..config(&server)
    })
    .await;
    assert!(
        matches!(impatient, Err(ConnectError::Unreachable(_))),
        "{:?}",
        impatient.err()
    );
    pause(2_000).await;
    let patient = RedisStore::connect(StoreConfig {
        command_timeout_ms: 300,
        startup_wait_ms: 10_000,
        ..config(&server)
    })
    .await;
    assert!(patient.is_ok(), "{:?}", patient.err());
}
