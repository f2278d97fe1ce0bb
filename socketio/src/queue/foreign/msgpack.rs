//! MessagePack values, as notepack.io (Node's redis-emitter) encodes JavaScript values, read
//! into [`rmpv::Value`]s and written as the JSON text a Socket.IO packet carries, binary values
//! becoming attachments behind placeholders, as socket.io-parser does for `Buffer`s.

use bytes::Bytes;
use rmpv::Value;

use crate::protocol::MAX_NESTING;
use crate::queue::wire::WireError;

/// Levels above the event arguments: `[uid, {data: [event, args...]}, ...]`.
const ENVELOPE_DEPTH: usize = 3;

/// At most this many attachments in one event.
const MAX_ATTACHMENTS: usize = 1024;

/// Reads one value, nested at most as deep as a Socket.IO payload may be.
pub(crate) fn read(mut payload: &[u8]) -> Result<Value, WireError> {
    rmpv::decode::read_value_with_max_depth(&mut payload, MAX_NESTING + ENVELOPE_DEPTH)
        .map_err(|e| WireError(format!("bad msgpack: {e}")))
}

/// The value of `key` in `map`, if `map` is a map that has it.
pub(crate) fn get<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    match map {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// The strings of an array (absent: none).
pub(crate) fn strings(value: Option<&Value>, what: &str) -> Result<Vec<String>, WireError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let bad = || WireError(format!("{what} is not a list of strings"));
    let Value::Array(items) = value else {
        return Err(bad());
    };
    items
        .iter()
        .map(|item| item.as_str().map(str::to_owned).ok_or_else(bad))
        .collect()
}

/// Appends `value` to `out` as JSON, as `JSON.stringify` would write it, except that binary
/// values become `{"_placeholder":true,"num":n}` and are pushed to `attachments`.
pub(crate) fn to_json(
    value: &Value,
    out: &mut String,
    attachments: &mut Vec<Bytes>,
) -> Result<(), WireError> {
    match value {
        Value::Nil => out.push_str("null"), // also JavaScript's `undefined`
        Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Integer(i) => out.push_str(&i.to_string()),
        Value::F32(f) => push_float(out, f64::from(*f)),
        Value::F64(f) => push_float(out, *f),
        Value::String(s) => {
            let s = s
                .as_str()
                .ok_or_else(|| WireError("a string that is not UTF-8".into()))?;
            push_string(out, s);
        }
        Value::Binary(bytes) => {
            if attachments.len() == MAX_ATTACHMENTS {
                return Err(WireError("too many binary values".into()));
            }
            out.push_str("{\"_placeholder\":true,\"num\":");
            out.push_str(&attachments.len().to_string());
            out.push('}');
            attachments.push(Bytes::copy_from_slice(bytes));
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(item, out, attachments)?;
            }
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (key, item)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let key = key
                    .as_str()
                    .ok_or_else(|| WireError("a map key that is not a string".into()))?;
                push_string(out, key);
                out.push(':');
                to_json(item, out, attachments)?;
            }
            out.push('}');
        }
        Value::Ext(-1, _) => {
            return Err(WireError(
                "a msgpack timestamp (a JavaScript Date): send date.toISOString() instead".into(),
            ))
        }
        Value::Ext(kind, _) => {
            return Err(WireError(format!("msgpack extension type {kind}")));
        }
    }
    Ok(())
}

/// A finite number as serde_json writes it; NaN and infinities as `null`, as `JSON.stringify`.
fn push_float(out: &mut String, f: f64) {
    match serde_json::Number::from_f64(f) {
        Some(n) => out.push_str(&n.to_string()),
        None => out.push_str("null"),
    }
}

fn push_string(out: &mut String, s: &str) {
    // A string always serializes.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: &Value) -> (String, Vec<Bytes>) {
        let mut out = String::new();
        let mut attachments = Vec::new();
        to_json(value, &mut out, &mut attachments).unwrap();
        (out, attachments)
    }

    #[test]
    fn values_become_json_and_binaries_attachments() {
        let value = Value::Array(vec![
            Value::from("tick"),
            Value::Map(vec![
                (Value::from("n"), Value::from(-3)),
                (Value::from("q\""), Value::F64(0.5)),
            ]),
            Value::Binary(vec![1, 2]),
            Value::Nil,
            Value::F64(f64::NAN),
            Value::Boolean(true),
            Value::Binary(vec![]),
        ]);
        let (text, attachments) = json(&value);
        assert_eq!(
            text,
            r#"["tick",{"n":-3,"q\"":0.5},{"_placeholder":true,"num":0},null,null,true,{"_placeholder":true,"num":1}]"#
        );
        assert_eq!(attachments, [Bytes::from_static(&[1, 2]), Bytes::new()]);
    }

    #[test]
    fn what_json_cannot_say_is_refused() {
        for value in [
            Value::Map(vec![(Value::from(1), Value::Nil)]),
            Value::Ext(-1, vec![0; 4]),
            Value::Ext(5, vec![]),
        ] {
            assert!(to_json(&value, &mut String::new(), &mut Vec::new()).is_err());
        }
        // 100,000 nested arrays: refused by the depth limit, no stack overflow.
        let deep = [vec![0x91u8; 100_000], vec![0xc0]].concat();
        assert!(read(&deep).is_err());
        assert!(
            read(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err(),
            "huge announced array"
        );
    }
}
