//! The store on a real Redis Cluster (3 masters + 3 replicas) and a real Sentinel group
//! (1 master, 2 replicas, 3 sentinels), started by asw-testkit on free ports in temp dirs:
//! every script runs on one slot (no `CROSSSLOT`), keys spread over every master, and no
//! acknowledged write is lost when a master is killed, fails over by hand or rejoins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::StoreSubject;

use std::time::Duration;

use asw_core::ports::{BeginOutcome, Journal};
use asw_core::record::TransactionRecord;
use asw_store::{Durability, RedisStore, SentinelConfig, StoreConfig};
use asw_testkit::contract;
use asw_testkit::fixtures::purchase_record;
use asw_testkit::{RedisCluster, SentinelGroup};

fn cluster_config(cluster: &RedisCluster, prefix: &str) -> StoreConfig {
    StoreConfig {
        cluster_nodes: cluster.urls(),
        key_prefix: prefix.to_string(),
        shards: 16,
        command_timeout_ms: 2_000,
        // Each acknowledged write is on the master's replica too: a failover keeps it.
        durability: Durability::WaitReplicas { replicas: 1 },
        durability_timeout_ms: 2_000,
        ..StoreConfig::default()
    }
}

/// Runs one contract case on a fresh key prefix of the shared cluster.
macro_rules! on_cluster {
    ($cluster:expr, $($case:ident),* $(,)?) => {
        let mut case = 0;
        $(
            case += 1;
            let prefix = format!("case{case}");
            // One shard, as in the single-server contract run: the cases check orders (sweep
            // deadlines) that hold within a shard, not across shards.
            let store = RedisStore::connect(StoreConfig {
                shards: 1,
                ..cluster_config(&$cluster, &prefix)
            })
            .await
            .unwrap();
            contract::$case(&StoreSubject { store, keep: () }).await;
        )*
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_contract_holds_on_a_redis_cluster_and_spreads_over_every_master() {
    let cluster = RedisCluster::start().unwrap();
    on_cluster!(
        cluster,
        begin_takes_a_duplicate_key_once,
        loads_by_journal_id_and_by_duplicate_key,
        a_tombstone_and_begin_exclude_each_other,
        begin_keeps_one_live_attempt_per_merchant_order,
        commit_is_compare_and_set,
        a_commit_queues_its_saf_entry_with_the_state,
        the_deadline_index_follows_keep_stop_resume,
        due_for_sweep_leases_entries_in_deadline_order,
        fetch_rereads_own_pending_entries_first,
        a_held_entry_goes_to_nobody_else_until_stale,
        release_hands_entries_back_for_an_immediate_claim,
        retry_at_hides_the_entry_until_promoted,
        dead_letters_leave_the_queue_and_replay_puts_them_back,
        stats_count_depth_age_and_dead_letters,
        a_blocking_fetch_on_an_empty_queue_returns_nothing,
        ack_removes_the_entry_and_is_idempotent,
    );
    let store = RedisStore::connect(cluster_config(&cluster, "spread"))
        .await
        .unwrap();
    for n in 0..64 {
        assert_eq!(
            store.begin(&purchase_record(n)).await.unwrap(),
            BeginOutcome::Started
        );
    }
    let spread = cluster.keys_per_master();
    assert_eq!(spread.len(), 3, "three masters: {spread:?}");
    assert!(
        spread.iter().all(|(_, keys)| *keys > 0),
        "every master holds keys: {spread:?}"
    );
}

/// Begins `records` one by one, retrying each until the store takes it (a failover answers
/// errors for a few seconds); returns how many attempts failed before service resumed.
async fn begin_through_failover(store: &RedisStore, records: &[TransactionRecord]) -> usize {
    let mut failures = 0;
    for record in records {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            match store.begin(record).await {
                // `Existing` is our own earlier attempt whose answer was lost: it was written.
                Ok(BeginOutcome::Started | BeginOutcome::Existing(_)) => break,
                Ok(other) => panic!("unexpected {other:?}"),
                Err(e) => {
                    failures += 1;
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "service did not resume within 60 s: {e}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
    failures
}

async fn assert_all_present(store: &RedisStore, records: &[TransactionRecord]) {
    for record in records {
        let loaded = store.load(&record.tag, record.journal_id()).await.unwrap();
        assert_eq!(
            loaded.as_ref().map(|r| &r.payment_request_id),
            Some(&record.payment_request_id),
            "an acknowledged write was lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_write_is_lost_when_a_cluster_master_is_killed_fails_over_or_rejoins() {
    let mut cluster = RedisCluster::start().unwrap();
    let store = RedisStore::connect(cluster_config(&cluster, "failover"))
        .await
        .unwrap();
    let batch = |from: u32| (from..from + 48).map(purchase_record).collect::<Vec<_>>();

    let before = batch(0);
    begin_through_failover(&store, &before).await;

    // SIGKILL a master while writes go on: its replica takes over. Until the killed node
    // rejoins as that replica's replica, the promoted master has no replica to confirm a
    // write, so writes to its shards are refused (never acknowledged) rather than acknowledged
    // without the configured durability; the writer keeps retrying through all of it.
    let victim = cluster.masters()[0];
    let writes = tokio::spawn({
        let store = store.clone();
        async move { begin_through_failover(&store, &batch(1_000)).await }
    });
    cluster.kill(victim).unwrap();
    cluster.wait_failed_over(Duration::from_secs(30)).unwrap();
    cluster.rejoin(victim).unwrap();
    cluster.wait_ok(Duration::from_secs(30)).unwrap();
    cluster.wait_replicated(Duration::from_secs(30)).unwrap();
    writes.await.unwrap();
    assert_all_present(&store, &before).await;
    assert_all_present(&store, &batch(1_000)).await;
    begin_through_failover(&store, &batch(2_000)).await;

    // A manual, graceful failover: a replica takes over from a live master.
    let replica = cluster.replicas()[0];
    cluster.manual_failover(replica).unwrap();
    cluster.wait_replicated(Duration::from_secs(30)).unwrap();
    begin_through_failover(&store, &batch(3_000)).await;
    for from in [0, 1_000, 2_000, 3_000] {
        assert_all_present(&store, &batch(from)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_follows_a_sentinel_failover_without_losing_an_acknowledged_write() {
    let mut group = SentinelGroup::start().unwrap();
    let store = RedisStore::connect(StoreConfig {
        sentinel: Some(SentinelConfig {
            master_name: group.master_name.clone(),
            nodes: group.sentinel_urls(),
            username: None,
            password: None,
            db: 0,
        }),
        shards: 4,
        command_timeout_ms: 1_000,
        // Both replicas: whichever the sentinels promote holds every acknowledged write.
        durability: Durability::WaitReplicas { replicas: 2 },
        durability_timeout_ms: 1_000,
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    let batch = |from: u32| (from..from + 32).map(purchase_record).collect::<Vec<_>>();
    begin_through_failover(&store, &batch(0)).await;

    let old = group.kill_master_and_wait_failover().unwrap();
    assert_ne!(group.master_port(), Some(old));
    // Writes fail from the kill (the old master is gone, then the new one has one replica of
    // the two required) until the old master is back, demoted to a replica by the sentinels;
    // the store follows the sentinels to the new master by itself, without a restart.
    let writes = tokio::spawn({
        let store = store.clone();
        async move { begin_through_failover(&store, &batch(1_000)).await }
    });
    tokio::task::block_in_place(|| group.server_on(old).unwrap().restart().unwrap());
    writes.await.unwrap();
    assert_all_present(&store, &batch(0)).await;
    assert_all_present(&store, &batch(1_000)).await;
    store.ping().await.unwrap();
}
