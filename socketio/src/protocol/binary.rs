//! [`Binary`]: a byte buffer that can appear anywhere in user payload types and
//! becomes a Socket.IO binary attachment, through a thread-local scope set for
//! the duration of one synchronous serialization/deserialization.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;
use std::thread::LocalKey;

use bytes::Bytes;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeStruct, Serializer};

thread_local! {
    /// Attachments collected by the innermost active [`serialize_with_attachments`].
    static SINK: Cell<Option<Vec<Bytes>>> = const { Cell::new(None) };
    /// Attachments offered by the innermost active [`deserialize_with_attachments`].
    static SOURCE: Cell<Option<Rc<[Bytes]>>> = const { Cell::new(None) };
}

/// Binary data inside a Socket.IO payload.
///
/// - Serialized inside [`serialize_with_attachments`] (which the
///   [`encode_event`](super::encode_event)/[`encode_ack`](super::encode_ack)
///   encoders use), the bytes become the next attachment and the JSON gets a
///   placeholder `{"_placeholder":true,"num":<index>}`. Anywhere else they
///   are serialized with `serialize_bytes` (an array of numbers in JSON).
/// - Deserialized inside [`deserialize_with_attachments`], a placeholder
///   object is replaced by the attachment it points to (an out-of-range `num`
///   is an error). A byte array (sequence of `u8`, or serde bytes) is
///   accepted in both modes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Binary(pub Bytes);

impl From<Bytes> for Binary {
    fn from(bytes: Bytes) -> Self {
        Self(bytes)
    }
}

impl From<Vec<u8>> for Binary {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Bytes::from(bytes))
    }
}

impl AsRef<[u8]> for Binary {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Serializes `value` as compact JSON appended to `out`, turning every
/// [`Binary`] inside it into a placeholder; returns the collected attachments
/// in placeholder order.
///
/// Nested calls (e.g. from inside a `Serialize` impl) each collect their own
/// attachments; the outer scope is restored afterwards, also on error and on
/// panic. On error `out` is truncated back to its original length.
pub fn serialize_with_attachments<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<Vec<Bytes>, serde_json::Error> {
    let start = out.len();
    let scope = Scope::enter(&SINK, Some(Vec::new()));
    match serde_json::to_writer(&mut *out, value) {
        Ok(()) => Ok(scope.exit().unwrap_or_default()),
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Deserializes `json` with `serde_json`, resolving the binary placeholders
/// met by [`Binary`] fields against `attachments`.
///
/// The previous scope (if this is a nested call) is restored afterwards, also
/// on error and on panic.
pub fn deserialize_with_attachments<'de, T: Deserialize<'de>>(
    json: &'de str,
    attachments: &[Bytes],
) -> Result<T, serde_json::Error> {
    let _scope = Scope::enter(&SOURCE, Some(Rc::from(attachments)));
    serde_json::from_str(json)
}

/// Runs `f` (a deserialization) with `attachments` offered to the [`Binary`] values it meets,
/// like [`deserialize_with_attachments`] for deserializers other than `serde_json::from_str`.
pub(crate) fn with_attachments<R>(attachments: &[Bytes], f: impl FnOnce() -> R) -> R {
    if attachments.is_empty() {
        return f();
    }
    let _scope = Scope::enter(&SOURCE, Some(Rc::from(attachments)));
    f()
}

/// Runs `f` with attachment collection suspended (used to probe a value's
/// shape without side effects).
pub(crate) fn without_collection<R>(f: impl FnOnce() -> R) -> R {
    let _scope = Scope::enter(&SINK, None);
    f()
}

/// Sets a thread-local for a scope and restores the previous value on exit,
/// error or panic. If the thread-local is no longer accessible (thread
/// teardown), the scope does nothing and [`Binary`] behaves as outside any scope.
struct Scope<T: 'static> {
    key: &'static LocalKey<Cell<Option<T>>>,
    /// `Some(previous)` while the scope is active.
    prev: Option<Option<T>>,
}

impl<T: 'static> Scope<T> {
    fn enter(key: &'static LocalKey<Cell<Option<T>>>, value: Option<T>) -> Self {
        let prev = key.try_with(|cell| cell.replace(value)).ok();
        Self { key, prev }
    }

    /// Ends the scope, returning the value it held.
    fn exit(mut self) -> Option<T> {
        let prev = self.prev.take()?;
        self.key.try_with(|cell| cell.replace(prev)).ok().flatten()
    }
}

impl<T: 'static> Drop for Scope<T> {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            // Nothing to restore if the thread-local is being torn down.
            let _ = self.key.try_with(|cell| cell.set(prev));
        }
    }
}

/// Adds `bytes` to the active collection; returns its index, or `None` if no
/// collection is active.
fn collect(bytes: &Bytes) -> Option<usize> {
    SINK.try_with(|cell| {
        let mut current = cell.take();
        let num = current.as_mut().map(|list| {
            list.push(bytes.clone());
            list.len() - 1
        });
        cell.set(current);
        num
    })
    .ok()
    .flatten()
}

/// The attachment that `raw`, a whole argument, names when it is a placeholder
/// (`{"_placeholder":true,"num":n}`), inside a deserialization scope.
pub(crate) fn placeholder_attachment(raw: &str) -> Option<Bytes> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Placeholder {
        #[serde(rename = "_placeholder")]
        placeholder: bool,
        num: usize,
    }
    if !raw.contains("_placeholder") {
        return None;
    }
    let placeholder: Placeholder = serde_json::from_str(raw).ok()?;
    if !placeholder.placeholder {
        return None;
    }
    source()?.get(placeholder.num).cloned()
}

/// The attachments of the active deserialization scope, if any.
fn source() -> Option<Rc<[Bytes]>> {
    SOURCE
        .try_with(|cell| {
            let current = cell.take();
            let copy = current.clone();
            cell.set(current);
            copy
        })
        .ok()
        .flatten()
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match collect(&self.0) {
            Some(num) => {
                let mut placeholder = serializer.serialize_struct("Placeholder", 2)?;
                placeholder.serialize_field("_placeholder", &true)?;
                placeholder.serialize_field("num", &num)?;
                placeholder.end()
            }
            None => serializer.serialize_bytes(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match source() {
            Some(source) => deserializer.deserialize_any(BinaryVisitor {
                source: Some(source),
            }),
            None => deserializer.deserialize_byte_buf(BinaryVisitor { source: None }),
        }
    }
}

struct BinaryVisitor {
    source: Option<Rc<[Bytes]>>,
}

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.source.is_some() {
            f.write_str("a binary placeholder or a byte array")
        } else {
            f.write_str("a byte array")
        }
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Binary, E> {
        Ok(Binary(Bytes::copy_from_slice(v)))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Binary, E> {
        Ok(Binary(Bytes::from(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element::<u8>()? {
            out.push(byte);
        }
        Ok(Binary(Bytes::from(out)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Binary, A::Error> {
        let Some(source) = self.source else {
            return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
        };
        let mut placeholder = None;
        let mut num = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "_placeholder" if placeholder.is_none() => {
                    placeholder = Some(map.next_value::<bool>()?)
                }
                "num" if num.is_none() => num = Some(map.next_value::<u64>()?),
                "_placeholder" | "num" => {
                    return Err(de::Error::custom(format_args!(
                        "duplicate field `{key}` in binary placeholder"
                    )))
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if placeholder != Some(true) {
            return Err(de::Error::custom(
                "expected a binary placeholder ({\"_placeholder\":true,\"num\":n})",
            ));
        }
        let num = num.ok_or_else(|| de::Error::missing_field("num"))?;
        usize::try_from(num)
            .ok()
            .and_then(|i| source.get(i))
            .map(|bytes| Binary(bytes.clone()))
            .ok_or_else(|| {
                de::Error::custom(format_args!(
                    "binary placeholder index {num} out of range ({} attachments)",
                    source.len()
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Upload {
        name: String,
        data: Binary,
        more: Vec<Binary>,
    }

    fn upload() -> Upload {
        Upload {
            name: "f".into(),
            data: Binary::from(vec![1, 2, 3]),
            more: vec![Binary::from(vec![4]), Binary::from(vec![])],
        }
    }

    #[test]
    fn round_trip_through_attachments() {
        let mut out = b"prefix".to_vec();
        let attachments = serialize_with_attachments(&upload(), &mut out).unwrap();
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"prefix{"name":"f","data":{"_placeholder":true,"num":0},"more":[{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]}"#
        );
        assert_eq!(attachments, [vec![1, 2, 3], vec![4], vec![]]);
        let back: Upload =
            deserialize_with_attachments(std::str::from_utf8(&out[6..]).unwrap(), &attachments)
                .unwrap();
        assert_eq!(back, upload());
        assert_eq!(SINK.with(|c| c.take()), None);
        assert!(source().is_none());
    }

    #[test]
    fn outside_a_scope_binary_is_a_byte_array() {
        let json = serde_json::to_string(&upload()).unwrap();
        assert_eq!(json, r#"{"name":"f","data":[1,2,3],"more":[[4],[]]}"#);
        let back: Upload = serde_json::from_str(&json).unwrap();
        assert_eq!(back, upload());
        // Byte arrays are also accepted inside a scope.
        let back: Upload = deserialize_with_attachments(&json, &[]).unwrap();
        assert_eq!(back, upload());
        // Placeholders are refused outside a scope.
        assert!(serde_json::from_str::<Binary>(r#"{"_placeholder":true,"num":0}"#).is_err());
    }

    #[test]
    fn bad_placeholders_are_refused() {
        let one = [Bytes::from_static(b"x")];
        assert_eq!(
            deserialize_with_attachments::<Binary>(
                r#"{"num":0,"_placeholder":true,"x":[1]}"#,
                &one
            )
            .unwrap(),
            Binary(Bytes::from_static(b"x"))
        );
        for bad in [
            r#"{"_placeholder":true,"num":1}"#,
            r#"{"_placeholder":true,"num":-1}"#,
            r#"{"_placeholder":true,"num":1.5}"#,
            r#"{"_placeholder":true,"num":1e400}"#,
            r#"{"_placeholder":true,"num":"splice"}"#,
            r#"{"_placeholder":true,"num":"0"}"#,
            r#"{"_placeholder":true}"#,
            r#"{"_placeholder":"true","num":0}"#,
            r#"{"_placeholder":false,"num":0}"#,
            r#"{"num":0}"#,
            r#"{"_placeholder":true,"num":0,"num":0}"#,
            r#""abc""#,
            r#"[256]"#,
        ] {
            assert!(
                deserialize_with_attachments::<Binary>(bad, &one).is_err(),
                "{bad}"
            );
        }
    }

    /// Serializes a `Binary` of its own around a nested, independent collection.
    struct Nested;

    impl Serialize for Nested {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut inner = Vec::new();
            let inner_attachments =
                serialize_with_attachments(&(Binary::from(vec![9]),), &mut inner)
                    .map_err(serde::ser::Error::custom)?;
            assert_eq!(inner_attachments, [vec![9]]);
            assert_eq!(inner, br#"[{"_placeholder":true,"num":0}]"#);
            (Binary::from(vec![1]), Binary::from(vec![2])).serialize(s)
        }
    }

    #[test]
    fn nested_scopes_are_independent() {
        let mut out = Vec::new();
        let attachments =
            serialize_with_attachments(&(Binary::from(vec![0]), Nested), &mut out).unwrap();
        assert_eq!(attachments, [vec![0], vec![1], vec![2]]);
        assert_eq!(
            out,
            br#"[{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]]"#
        );
    }

    struct Fails;

    impl Serialize for Fails {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("nope"))
        }
    }

    struct Panics;

    impl Serialize for Panics {
        fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            panic!("boom")
        }
    }

    #[test]
    fn scope_is_restored_on_error_and_panic() {
        let mut out = b"keep".to_vec();
        assert!(serialize_with_attachments(&(Binary::from(vec![1]), Fails), &mut out).is_err());
        assert_eq!(out, b"keep");
        assert_eq!(SINK.with(|c| c.take()), None);

        let result = std::panic::catch_unwind(|| {
            let mut out = Vec::new();
            let _ = serialize_with_attachments(&(Binary::from(vec![1]), Panics), &mut out);
        });
        assert!(result.is_err());
        assert_eq!(SINK.with(|c| c.take()), None);
        // Binary behaves normally afterwards.
        assert_eq!(
            serde_json::to_string(&Binary::from(vec![7])).unwrap(),
            "[7]"
        );

        let one = [Bytes::from_static(b"x")];
        assert!(deserialize_with_attachments::<(Binary, u8)>(
            r#"[{"_placeholder":true,"num":0},"no"]"#,
            &one
        )
        .is_err());
        assert!(source().is_none());
    }
}
