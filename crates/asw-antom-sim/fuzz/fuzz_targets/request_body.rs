//! Request-body fuzz target: any bytes sent to any API must give a result code (a typed
//! PARAM_ILLEGAL or a business answer), never a panic, and the ledger must stay usable.
//! The first byte picks the API; the rest is the body. Run: `cargo fuzz run request_body`.
#![no_main]

use std::sync::LazyLock;

use asw_antom::Api;
use asw_antom_sim::SimConfig;
use asw_antom_sim::fuzzing::Harness;
use libfuzzer_sys::fuzz_target;

// Throwaway test-only key.
const ANTOM_KEY: &str = include_str!("../../testdata/antom_private_pkcs8.pem");

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    Harness::new(SimConfig::from_antom_private_key(ANTOM_KEY).expect("test key parses"))
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let api = Api::ALL[usize::from(selector) % Api::ALL.len()];
    let code = HARNESS.feed(api, body);
    assert!(!code.is_empty());
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = Harness::request_time_parses(text);
    }
});
