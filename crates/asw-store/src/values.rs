//! Small readers of raw Redis replies (script results, stream entries) that never panic.

use asw_core::ports::StoreError;
use redis::Value;

/// A reply as text, when it is a string.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Okay => Some("OK".to_string()),
        Value::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// A reply as an integer (integers and numeric strings).
pub fn int(value: &Value) -> Option<i64> {
    match value {
        Value::Int(i) => Some(*i),
        other => text(other)?.parse().ok(),
    }
}

/// A reply as a list (`Nil` is an empty list).
pub fn list(value: &Value) -> &[Value] {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        _ => &[],
    }
}

/// A hash's field/value pairs (`HGETALL` in RESP2 or RESP3); entries that are not text are
/// left out.
pub fn pairs(value: &Value) -> Vec<(String, String)> {
    match value {
        Value::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| Some((text(k)?, text(v)?)))
            .collect(),
        other => list(other)
            .chunks_exact(2)
            .filter_map(|kv| Some((text(&kv[0])?, text(&kv[1])?)))
            .collect(),
    }
}

/// A script's tagged reply: its first element as text plus the rest.
pub fn tagged(value: &Value, op: &str) -> Result<(String, Vec<Value>), StoreError> {
    let items = list(value);
    let (first, rest) = items
        .split_first()
        .ok_or_else(|| StoreError::Corrupt(format!("{op}: empty script reply")))?;
    let tag = text(first).ok_or_else(|| StoreError::Corrupt(format!("{op}: bad script reply")))?;
    Ok((tag, rest.to_vec()))
}

/// One stream entry: id and field map (fields are `None` for an entry deleted while pending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEntry {
    /// Stream id.
    pub id: String,
    /// Field/value pairs, or `None` when the entry body is gone.
    pub fields: Option<Vec<(String, String)>>,
}

impl StreamEntry {
    /// Value of one field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .as_ref()?
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `[[id, [f, v, ...]], ...]` (XRANGE, the entries of XREADGROUP and XAUTOCLAIM).
pub fn stream_entries(value: &Value) -> Vec<StreamEntry> {
    list(value)
        .iter()
        .filter_map(|item| {
            let parts = list(item);
            let id = text(parts.first()?)?;
            let fields = match parts.get(1) {
                None | Some(Value::Nil) => None,
                Some(body) => {
                    let flat = list(body);
                    let mut pairs = Vec::with_capacity(flat.len() / 2);
                    for pair in flat.chunks(2) {
                        if let [k, v] = pair {
                            pairs.push((text(k).unwrap_or_default(), text(v).unwrap_or_default()));
                        }
                    }
                    Some(pairs)
                }
            };
            Some(StreamEntry { id, fields })
        })
        .collect()
}

/// Parses an XREADGROUP reply (`[[stream, entries], ...]` or nil) into the entries.
pub fn xread_entries(value: &Value) -> Vec<StreamEntry> {
    let mut out = Vec::new();
    match value {
        Value::Map(pairs) => {
            for (_, entries) in pairs {
                out.extend(stream_entries(entries));
            }
        }
        other => {
            for stream in list(other) {
                if let Some(entries) = list(stream).get(1) {
                    out.extend(stream_entries(entries));
                }
            }
        }
    }
    out
}

/// Milliseconds part of a stream id `ms-seq`.
pub fn stream_id_ms(id: &str) -> Option<i64> {
    id.split('-').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    #[test]
    fn parses_stream_replies_including_deleted_entries() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("asw:{0}:saf"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk("1-0"),
                    Value::Array(vec![bulk("e"), bulk("{}"), bulk("a"), bulk("2")]),
                ]),
                Value::Array(vec![bulk("2-0"), Value::Nil]),
            ]),
        ])]);
        let entries = xread_entries(&reply);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].field("a"), Some("2"));
        assert_eq!(entries[1].fields, None);
        assert_eq!(stream_id_ms("1700000000000-3"), Some(1_700_000_000_000));
        assert!(tagged(&Value::Nil, "x").is_err());
    }
}
