//! Decoder fuzz target: arbitrary bytes must give a message or a typed error, never a
//! panic; whatever decodes must re-encode and decode to the same message.
#![no_main]

use std::sync::LazyLock;

use asw_iso8583::{Dialect, decode, encode_to_bytes};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

static DIALECTS: LazyLock<Vec<Dialect>> = LazyLock::new(|| {
    let v12 = "name = \"v12\"\nextends = \"pos-binary\"\n[fields]\n\
        35 = { format = \"z\", length = \"ll\", max = 37, encoding = \"bcd\", prefix = \"bcd\", counts = \"nibbles-with-pad\", pad = \"right-f\" }\n\
        55 = { format = \"b\", length = \"lll\", max = 999, encoding = \"binary\", prefix = \"bcd\" }\n";
    vec![
        Dialect::pos_binary().unwrap(),
        Dialect::ascii().unwrap(),
        Dialect::from_toml(v12).unwrap(),
    ]
});

fuzz_target!(|data: &[u8]| {
    let Some((selector, body)) = data.split_first() else { return };
    let dialect = &DIALECTS[usize::from(*selector) % DIALECTS.len()];
    if let Ok(message) = decode(dialect, Bytes::copy_from_slice(body)) {
        let wire = encode_to_bytes(dialect, &message).expect("a decoded message re-encodes");
        let again = decode(dialect, wire).expect("our own encoding decodes");
        assert_eq!(again, message);
        let _ = format!("{message:?} {message}");
    }
});
