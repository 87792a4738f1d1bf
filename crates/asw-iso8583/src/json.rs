//! JSON form of a message for tools (terminal simulator, debugging):
//! `{"t": "0200", "3": "000000", "52": "0102030405060708", …}`.
//!
//! **Not masked, on purpose**: it exists to show and edit exact values. Never log it in
//! production paths; use the message's `Debug`/`Display` there.

use serde_json::{Map, Value};

use crate::dialect::{Dialect, Format};
use crate::message::{BuildError, Message};
use crate::mti::Mti;

/// Why a JSON object is not a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The JSON value is not an object.
    #[error("a message must be a JSON object")]
    NotAnObject,
    /// `"t"` is missing or not a four-digit MTI string.
    #[error("\"t\" must be a four-digit MTI string")]
    BadMti,
    /// A key is neither `"t"` nor a field number 2–128.
    #[error("key {0:?} is not \"t\" or a field number 2-128")]
    BadKey(String),
    /// A field value is not a string.
    #[error("field {0} must be a string")]
    NotAString(u8),
    /// A binary field is not hexadecimal.
    #[error("field {0} is binary and must be hexadecimal")]
    BadHex(u8),
    /// The value does not fit the dialect.
    #[error(transparent)]
    Field(#[from] BuildError),
}

fn is_binary(dialect: &Dialect, n: u8) -> bool {
    dialect.field(n).is_some_and(|s| s.format == Format::B)
}

/// The message as a JSON object; `b` fields as upper-case hex, others as text.
pub fn to_json(dialect: &Dialect, message: &Message) -> Value {
    let mut map = Map::new();
    map.insert("t".into(), Value::String(message.mti().to_string()));
    for (n, value) in message.fields() {
        let text = if is_binary(dialect, n) {
            hex::encode_upper(value)
        } else {
            String::from_utf8_lossy(value).into_owned()
        };
        map.insert(n.to_string(), Value::String(text));
    }
    Value::Object(map)
}

/// A message from its JSON object; every field is validated against the dialect.
/// The keys `"p"`, `"1"` and `"h"` (bitmaps and header as shown by pyiso8583) are
/// ignored, since they are derived.
pub fn from_json(dialect: &Dialect, value: &Value) -> Result<Message, JsonError> {
    let map = value.as_object().ok_or(JsonError::NotAnObject)?;
    let mti = map
        .get("t")
        .and_then(Value::as_str)
        .and_then(|t| Mti::new(t).ok())
        .ok_or(JsonError::BadMti)?;
    let mut message = Message::new(mti);
    for (key, value) in map {
        if matches!(key.as_str(), "t" | "p" | "1" | "h") {
            continue;
        }
        let n = match key.parse::<u8>() {
            Ok(n) if (2..=128).contains(&n) => n,
            _ => return Err(JsonError::BadKey(key.clone())),
        };
        let text = value.as_str().ok_or(JsonError::NotAString(n))?;
        if is_binary(dialect, n) {
            let bytes = hex::decode(text).map_err(|_| JsonError::BadHex(n))?;
            message.set(dialect, n, bytes)?;
        } else {
            message.set(dialect, n, text.to_owned())?;
        }
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_roundtrip() {
        let d = Dialect::ascii().unwrap();
        let v: Value = serde_json::json!({"t": "0200", "3": "000000", "52": "0102030405060708", "p": "ignored"});
        let m = from_json(&d, &v).unwrap();
        assert_eq!(m.get(52), Some(&[1u8, 2, 3, 4, 5, 6, 7, 8][..]));
        let back = to_json(&d, &m);
        assert_eq!(back["52"], "0102030405060708");
        assert_eq!(back["t"], "0200");
        assert!(back.get("p").is_none());
        assert_eq!(
            from_json(&d, &serde_json::json!({"t": "0200", "x": "1"})),
            Err(JsonError::BadKey("x".into()))
        );
        assert_eq!(
            from_json(&d, &serde_json::json!({"t": "02000"})),
            Err(JsonError::BadMti)
        );
        assert!(matches!(
            from_json(&d, &serde_json::json!({"t": "0200", "3": "12"})),
            Err(JsonError::Field(_))
        ));
    }
}
