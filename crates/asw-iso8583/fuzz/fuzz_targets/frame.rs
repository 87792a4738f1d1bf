//! Framing fuzz target: any byte stream, cut anywhere, gives frames or a framing error,
//! never a panic, and the decoder never waits on more than one maximum frame.
#![no_main]

use asw_iso8583::{FrameCodec, LengthPrefix};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&config, rest)) = data.split_first() else { return };
    let Some((&chunk, stream)) = rest.split_first() else { return };
    let prefix = match config & 3 {
        0 => LengthPrefix::BinaryExclusive,
        1 => LengthPrefix::BinaryInclusive,
        2 => LengthPrefix::Ascii4,
        _ => LengthPrefix::Bcd2,
    };
    let max = [0usize, 7, 64, 4096][usize::from(config >> 2 & 3)];
    let mut codec = FrameCodec::new(prefix, config & 0x10 != 0, max);
    let limit = prefix.header_len() + codec.max_frame();
    let chunk = usize::from(chunk).max(1);
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    assert!(buf.len() < limit.max(prefix.header_len()));
                    break;
                }
                Err(_) => return,
            }
        }
    }
});
