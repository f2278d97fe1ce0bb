//! Structured values built from the fuzzer's bytes (through [`arbitrary::Unstructured`]) for the
//! encode-then-decode round trips: JSON values, namespaces, event names.

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Number, Value};

use crate::protocol::RESERVED_EVENTS;

/// Nesting of the generated JSON values (the decoders' own limit is tested separately, by
/// wrapping a value in a chosen number of arrays).
const MAX_DEPTH: usize = 6;

/// A string: usually arbitrary Unicode (control characters, quotes, escapes, `\u{2028}`
/// included), sometimes one of the words the protocols give a meaning to.
pub(crate) fn string(u: &mut Unstructured<'_>) -> Result<String> {
    const WORDS: [&str; 8] = [
        "",
        "_placeholder",
        "num",
        "probe",
        "/",
        "\u{1e}",
        "\"\\\n\u{0}",
        "\u{1F600}",
    ];
    if u.ratio(1, 8)? {
        return Ok((*u.choose(&WORDS)?).to_owned());
    }
    u.arbitrary()
}

/// A JSON value at most [`MAX_DEPTH`] deep. Numbers are integers or eighths (exact in binary
/// and printed exactly, so they survive a text round trip); no object has a `_placeholder`
/// key (a binary placeholder is not data).
pub(crate) fn json(u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
    let leaf = depth >= MAX_DEPTH || u.is_empty();
    let kind = if leaf {
        u.int_in_range(0..=5)?
    } else {
        u.int_in_range(0..=7)?
    };
    Ok(match kind {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Value::from(u.arbitrary::<u64>()?),
        4 => Number::from_f64(f64::from(u.arbitrary::<i32>()?) / 8.0)
            .map_or(Value::Null, Value::Number),
        5 => Value::String(string(u)?),
        6 => {
            let mut items = Vec::new();
            u.arbitrary_loop(Some(0), Some(8), |u| {
                items.push(json(u, depth + 1)?);
                Ok(std::ops::ControlFlow::Continue(()))
            })?;
            Value::Array(items)
        }
        _ => {
            let mut map = Map::new();
            u.arbitrary_loop(Some(0), Some(8), |u| {
                let key = string(u)?.replace("_placeholder", "_place_holder");
                map.insert(key, json(u, depth + 1)?);
                Ok(std::ops::ControlFlow::Continue(()))
            })?;
            Value::Object(map)
        }
    })
}

/// How deep `value` nests arrays and objects (a scalar is 0, `[]` is 1).
pub(crate) fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A namespace as the encoders take it: `/` (written as nothing), or `/` and a name without `,`.
pub(crate) fn namespace(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 3)? {
        return Ok("/".to_owned());
    }
    Ok(format!("/{}", string(u)?.replace(',', ";")))
}

/// An event name: arbitrary, or (sometimes) one of the reserved names a peer may not send.
pub(crate) fn event_name(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 16)? {
        return Ok((*u.choose(&RESERVED_EVENTS)?).to_owned());
    }
    string(u)
}

/// An acknowledgement id, or none.
pub(crate) fn ack_id(u: &mut Unstructured<'_>) -> Result<Option<u64>> {
    Ok(if u.arbitrary()? {
        Some(u.arbitrary()?)
    } else {
        None
    })
}
