//! Field 48 TLV fuzz target: any bytes parse or give a typed error, never a panic.
#![no_main]

use asw_iso8583::{PrivateData, PrivateDataBuilder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = PrivateData::parse(data) {
        let _ = format!("{parsed:?}");
        let mut rebuilt = PrivateDataBuilder::new();
        for (tag, value) in parsed.iter() {
            rebuilt.push(tag, value).expect("parsed values are valid");
        }
        let bytes = rebuilt.build();
        assert_eq!(PrivateData::parse(&bytes).expect("rebuilt parses"), parsed);
    }
});
