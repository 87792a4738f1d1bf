//! The Redis store as a subject of the store contract (asw-testkit), whichever deployment it
//! runs on: one server kept alive by the subject, or a cluster owned by the test.

use std::time::Duration;

use asw_store::RedisStore;
use asw_testkit::contract::ContractSubject;
use asw_testkit::fakes::DeadLetter;
use async_trait::async_trait;

/// A store and whatever must live as long as it (`K`: its server, or `()`).
pub struct StoreSubject<K> {
    /// The store under contract.
    pub store: RedisStore,
    /// Kept alive with the store (a server stops when dropped); never read.
    #[allow(dead_code)]
    pub keep: K,
}

#[async_trait]
impl<K: Send + Sync> ContractSubject for StoreSubject<K> {
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
