//! The store contract (asw-testkit) against the Redis store: the same cases the in-memory
//! fake passes, so flow tests on the fake test what production runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use asw_store::{RedisStore, StoreConfig};
use asw_testkit::RedisServer;

mod common;

use common::StoreSubject;

/// A fresh redis-server and a store on it; the server stops when the case ends.
async fn redis() -> StoreSubject<RedisServer> {
    let server = RedisServer::start().unwrap();
    let store = RedisStore::connect(StoreConfig {
        url: server.url(),
        command_timeout_ms: 1_000,
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    StoreSubject {
        store,
        keep: server,
    }
}

asw_testkit::store_contract_tests!(redis);
