//! The store contract (asw-testkit) against the Redis store: the same cases the in-memory
//! fake passes, so flow tests on the fake test what production runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;
use asw_testkit::contract::ContractSubject;
use asw_testkit::fakes::DeadLetter;
use async_trait::async_trait;

/// A fresh redis-server and a store on it; the server stops when the case ends.
struct RedisSubject {
    store: RedisStore,
    _server: RedisServer,
}

async fn redis() -> RedisSubject {
    let server = RedisServer::start().unwrap();
    let store = RedisStore::connect(StoreConfig {
        url: server.url(),
        command_timeout_ms: 1_000,
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    RedisSubject {
        store,
        _server: server,
    }
}

#[async_trait]
impl ContractSubject for RedisSubject {
    type Store = RedisStore;

    fn store(&self) -> &RedisStore {
        &self.store
    }

    fn sweep_lease_ms(&self) -> i64 {
        self.store.config().sweep_lease_ms as i64
    }

    /// Redis measures idle time on its own wall clock: real waiting.
    async fn let_time_pass(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    async fn dead_letters(&self) -> Vec<DeadLetter> {
        self.store
            .list_dead(100)
            .await
            .unwrap()
            .into_iter()
            .map(|d| DeadLetter {
                qualified_id: d.qualified_id(),
                entry: d.entry.expect("readable dead letter"),
                attempts: d.attempts,
                reason: d.reason,
                dead_at_ms: d.dead_at_ms,
            })
            .collect()
    }

    async fn replay_dead(&self, qualified_id: &str) -> bool {
        self.store.replay_dead(qualified_id).await.unwrap()
    }
}

asw_testkit::store_contract_tests!(redis);
