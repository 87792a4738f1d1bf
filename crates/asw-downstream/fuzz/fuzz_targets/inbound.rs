//! Everything the server does with bytes from a terminal before a handler sees them:
//! framing (both header variants, TPDU on), classification, partial recovery of the keys
//! and the local answers. Must never panic; every local answer must encode.

#![no_main]

use asw_downstream::inbound::{Inbound, classify};
use asw_downstream::peek::{ECHO_ON_FORMAT_ERROR, recover};
use asw_iso8583::{Dialect, Frame, FrameCodec, LengthPrefix, encode_to_bytes};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tokio_util::codec::Decoder;

// Loading a dialect parses TOML; do it once, not per input.
static POS_BINARY: OnceLock<Option<Dialect>> = OnceLock::new();
static ASCII: OnceLock<Option<Dialect>> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let dialect = if selector & 1 == 0 {
        POS_BINARY.get_or_init(|| Dialect::pos_binary().ok())
    } else {
        ASCII.get_or_init(|| Dialect::ascii().ok())
    };
    let Some(dialect) = dialect else { return };
    let prefix = if selector & 2 == 0 {
        LengthPrefix::BinaryExclusive
    } else {
        LengthPrefix::Ascii4
    };
    let mut codec = FrameCodec::new(prefix, selector & 4 == 0, 4096);
    let mut buf = BytesMut::from(rest);
    while let Ok(Some(frame)) = codec.decode(&mut buf) {
        let Frame::Message { payload, .. } = frame else {
            continue;
        };
        let _ = recover(dialect, &payload, &ECHO_ON_FORMAT_ERROR);
        if let Inbound::Answer { answer, .. } = classify(dialect, payload) {
            assert!(encode_to_bytes(dialect, &answer).is_ok());
        }
    }
});
