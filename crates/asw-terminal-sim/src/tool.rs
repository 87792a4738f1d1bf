//! `encode` / `decode`: between the JSON view of a message and its wire bytes as hex.
//!
//! The JSON shape is the codec's: `{"t": "0200", "3": "000000", "48": "PC018…"}` — the
//! MTI under `"t"`, field numbers as keys, binary fields as hex. It is **not** masked.

use asw_iso8583::json::{JsonError, from_json, to_json};
use asw_iso8583::{DecodeError, Dialect, EncodeError, decode, encode_to_bytes};
use bytes::Bytes;
use serde_json::Value;

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The input is not JSON.
    #[error("input is not JSON: {0}")]
    Json(serde_json::Error),
    /// The JSON is not a valid message of the dialect.
    #[error("not a message: {0}")]
    Message(JsonError),
    /// The message cannot be encoded.
    #[error("cannot encode: {0}")]
    Encode(EncodeError),
    /// The input is not hexadecimal.
    #[error("input is not hexadecimal: {0}")]
    Hex(hex::FromHexError),
    /// The bytes are not a valid message of the dialect.
    #[error("cannot decode: {0}")]
    Decode(DecodeError),
}

/// JSON text of a message → upper-case hex of its wire bytes (MTI onwards, no length
/// header or TPDU).
pub fn json_to_hex(dialect: &Dialect, json: &str) -> Result<String, ToolError> {
    let value: Value = serde_json::from_str(json).map_err(ToolError::Json)?;
    let message = from_json(dialect, &value).map_err(ToolError::Message)?;
    let wire = encode_to_bytes(dialect, &message).map_err(ToolError::Encode)?;
    Ok(hex::encode_upper(wire))
}

/// Hex of wire bytes (whitespace ignored) → the message's JSON value.
pub fn hex_to_json(dialect: &Dialect, hex_text: &str) -> Result<Value, ToolError> {
    let compact: String = hex_text.split_whitespace().collect();
    let bytes = hex::decode(compact).map_err(ToolError::Hex)?;
    let message = decode(dialect, Bytes::from(bytes)).map_err(ToolError::Decode)?;
    Ok(to_json(dialect, &message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_both_profiles() {
        let json = r#"{"t":"0800","7":"1121063015","11":"000001","41":"T0000001","70":"301"}"#;
        for d in [Dialect::pos_binary().unwrap(), Dialect::ascii().unwrap()] {
            let hex = json_to_hex(&d, json).unwrap();
            let back = hex_to_json(&d, &hex).unwrap();
            assert_eq!(back, serde_json::from_str::<Value>(json).unwrap());
        }
        let d = Dialect::ascii().unwrap();
        assert!(json_to_hex(&d, "{").is_err());
        assert!(hex_to_json(&d, "zz").is_err());
        assert!(hex_to_json(&d, "30323030").is_err());
    }
}
