//! ISO 8583 codec: the dialect as data, zero-copy pack/unpack, field-48 TLV and tokio framing. No I/O.
