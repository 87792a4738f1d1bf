//! The journal of a switch that "dies" just before or just after its N-th write, and every
//! such crash point of a run.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use asw_core::ports::{
    BeginOutcome, CommitOutcome, Journal, StoreError, Tombstone, TombstoneOutcome,
};
use asw_core::record::{Change, SafEntry, TransactionRecord};
use asw_store::RedisStore;
use async_trait::async_trait;

/// Which side of the write the switch dies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// The write never reaches Redis.
    Before,
    /// The write is in Redis; the switch dies before it learns so.
    After,
    /// The switch lives on, but this write and every later one fail (Redis refuses them);
    /// reads still work.
    Refused,
}

/// Every crash point of a run that made `writes` writes: both sides of each, numbered from
/// `first` on (each case gets its own number, so its own keys).
pub fn crash_points(writes: usize, first: u32) -> Vec<(u32, usize, When)> {
    let mut n = first;
    let mut points = Vec::new();
    for at in 1..=writes {
        for when in [When::Before, When::After] {
            points.push((n, at, when));
            n += 1;
        }
    }
    points
}

/// The journal of a switch that dies at its `at`-th write: from then on nothing it asks
/// returns (the process is gone), whatever it asks. With [`When::Refused`] it does not die:
/// from its `at`-th write on every write fails.
pub struct Dying {
    inner: RedisStore,
    writes: AtomicUsize,
    at: usize,
    when: When,
    dead: AtomicBool,
}

impl Dying {
    /// Dies at write `at` (`When`); never when `at` is 0.
    pub fn new(inner: RedisStore, at: usize, when: When) -> Self {
        Self {
            inner,
            writes: AtomicUsize::new(0),
            at,
            when,
            dead: AtomicBool::new(false),
        }
    }

    /// Whether the switch has died.
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    /// The writes it made (or was about to make when it died).
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }

    async fn die<T>(&self) -> T {
        self.dead.store(true, Ordering::SeqCst);
        std::future::pending().await
    }

    async fn write<T>(
        &self,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if self.is_dead() {
            return self.die().await;
        }
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if self.when == When::Refused {
            if self.at != 0 && n >= self.at {
                return Err(StoreError::Unavailable("refused by the test".into()));
            }
            return op.await;
        }
        if n == self.at && self.when == When::Before {
            return self.die().await;
        }
        let out = op.await;
        if n == self.at {
            return self.die().await;
        }
        out
    }

    async fn read<T>(&self, op: impl Future<Output = T>) -> T {
        if self.is_dead() {
            return self.die().await;
        }
        op.await
    }
}

#[async_trait]
impl Journal for Dying {
    async fn begin(&self, record: &TransactionRecord) -> Result<BeginOutcome, StoreError> {
        self.write(self.inner.begin(record)).await
    }
    async fn load(&self, tag: &str, id: &str) -> Result<Option<TransactionRecord>, StoreError> {
        self.read(self.inner.load(tag, id)).await
    }
    async fn load_confirmed(
        &self,
        tag: &str,
        id: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        self.read(self.inner.load_confirmed(tag, id)).await
    }
    async fn order_attempts(
        &self,
        tag: &str,
        order: &str,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        self.read(self.inner.order_attempts(tag, order)).await
    }
    async fn merchant_payments(
        &self,
        merchant_id: &str,
        before: Option<(i64, String)>,
        created_after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<TransactionRecord>, StoreError> {
        self.read(
            self.inner
                .merchant_payments(merchant_id, before, created_after, limit),
        )
        .await
    }
    async fn load_by_dedup_key(
        &self,
        tag: &str,
        key: &str,
    ) -> Result<Option<TransactionRecord>, StoreError> {
        self.read(self.inner.load_by_dedup_key(tag, key)).await
    }
    async fn commit(&self, change: &Change) -> Result<CommitOutcome, StoreError> {
        self.write(self.inner.commit(change)).await
    }
    async fn reverse_unseen(
        &self,
        t: &Tombstone,
        c: &SafEntry,
    ) -> Result<TombstoneOutcome, StoreError> {
        self.write(self.inner.reverse_unseen(t, c)).await
    }
    async fn due_for_sweep(
        &self,
        now: i64,
        max: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.read(self.inner.due_for_sweep(now, max)).await
    }
}

/// Runs `flow` on a switch whose journal is `dying` until the flow ends or the switch dies,
/// then stops it like a `kill -9` (whatever it was doing stops there); returns the writes the
/// switch made.
pub async fn run_until_crash(
    dying: &Dying,
    flow: impl Future<Output = ()> + Send + 'static,
) -> usize {
    let running = tokio::spawn(flow);
    let start = Instant::now();
    while !running.is_finished() && !dying.is_dead() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the flow never ended"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.abort();
    let _ = running.await;
    dying.writes()
}
