//! The store contract against the in-memory store: what the Redis store passes in
//! `crates/asw-store/tests/contract.rs`, the fake must pass too.

use asw_testkit::contract::MemorySubject;

async fn memory() -> MemorySubject {
    MemorySubject::new()
}

asw_testkit::store_contract_tests!(memory);
