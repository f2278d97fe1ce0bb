//! [`Args`]: the arguments of a received event or acknowledgement, still as raw JSON.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;
use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, SerializeTuple, Serializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::engineio::Str;
use crate::protocol;

/// The arguments of an event or acknowledgement: raw JSON slices of the received packet plus its
/// binary attachments. Nothing is parsed until a handler asks for a type.
///
/// How a type maps onto the arguments: a tuple type takes them positionally
/// (`(String, i32)` for `["a", 1]`); any other type takes the single argument when there is
/// exactly one, and the whole list otherwise (so `Vec<Value>` reads several arguments). A
/// [`Binary`](crate::Binary) anywhere in the type receives the attachment its placeholder names.
#[derive(Clone, Default)]
pub struct Args {
    items: ArgList,
    attachments: SharedList<Bytes>,
}

/// The raw arguments of a message, shared by its copies: the copy an extractor takes, or the
/// one a handler acknowledges with, costs a reference count rather than an allocation.
pub(crate) type ArgList = SharedList<Str>;

/// A list that its copies share (a message's arguments, its binary attachments): cloning it
/// costs a reference count, and an empty list costs no allocation.
#[derive(Clone)]
pub(crate) struct SharedList<T>(Option<Arc<[T]>>);

impl<T> Default for SharedList<T> {
    fn default() -> Self {
        SharedList(None)
    }
}

impl<T> Deref for SharedList<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.0.as_deref().unwrap_or_default()
    }
}

impl<T> FromIterator<T> for SharedList<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let items = items.into_iter();
        if items.size_hint().1 == Some(0) {
            return SharedList(None);
        }
        // One allocation for an iterator of known length (a split packet's arguments).
        let items: Arc<[T]> = items.collect();
        SharedList((!items.is_empty()).then_some(items))
    }
}

impl<T> From<Vec<T>> for SharedList<T> {
    fn from(items: Vec<T>) -> Self {
        SharedList((!items.is_empty()).then(|| items.into()))
    }
}

impl<T: fmt::Debug> fmt::Debug for SharedList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Args {
    pub(crate) fn new(items: ArgList, attachments: Vec<Bytes>) -> Self {
        Args {
            items,
            attachments: attachments.into(),
        }
    }

    /// Splits an ACK payload (a JSON array) into arguments.
    pub(crate) fn from_array(
        payload: &Str,
        attachments: Vec<Bytes>,
    ) -> Result<Self, protocol::DecodeError> {
        let items = protocol::split_args(payload.as_str())?
            .into_iter()
            .map(|raw| payload.slice_ref(raw))
            .collect();
        Ok(Args::new(items, attachments))
    }

    /// Deserializes the arguments into `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        protocol::with_attachments(&self.attachments, || {
            T::deserialize(ArgsDeserializer(&self.items))
        })
    }

    /// Argument `index` as `T` (Flask's positional handler parameters); `None` past the end.
    ///
    /// ```
    /// # fn f(args: socketio::Args) -> Result<(), serde_json::Error> {
    /// let room: Option<String> = args.get(0).transpose()?;
    /// # Ok(()) }
    /// ```
    pub fn get<T: DeserializeOwned>(&self, index: usize) -> Option<Result<T, serde_json::Error>> {
        let item = self.items.get(index)?;
        Some(protocol::with_attachments(&self.attachments, || {
            serde_json::from_str(item.as_str())
        }))
    }

    /// The first argument as `T`; `None` when there is none.
    pub fn first<T: DeserializeOwned>(&self) -> Option<Result<T, serde_json::Error>> {
        self.get(0)
    }

    /// The raw JSON of each argument.
    pub fn raw(&self) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.items.iter().map(Str::as_str)
    }

    /// How many arguments there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The binary attachments, in placeholder order.
    pub fn attachments(&self) -> &[Bytes] {
        &self.attachments
    }
}

/// Sends the arguments on unchanged: `socket.emit("echo", event.args())` forwards what arrived,
/// byte for byte, binary attachments included.
impl Serialize for Args {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A tuple: the arguments stay several arguments when sent on (see `encode_event`).
        let mut tuple = serializer.serialize_tuple(self.items.len())?;
        for item in self.items.iter() {
            if self.attachments.is_empty() {
                let raw: &RawValue =
                    serde_json::from_str(item.as_str()).map_err(ser::Error::custom)?;
                tuple.serialize_element(raw)?;
            } else {
                let value: Value =
                    serde_json::from_str(item.as_str()).map_err(ser::Error::custom)?;
                tuple.serialize_element(&WithAttachments(&value, &self.attachments))?;
            }
        }
        tuple.end()
    }
}

/// A JSON value whose binary placeholders become [`Binary`](crate::Binary) values again.
struct WithAttachments<'a>(&'a Value, &'a [Bytes]);

impl Serialize for WithAttachments<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let attachments = self.1;
        match self.0 {
            Value::Object(map) => {
                if let Some(bytes) = placeholder(map).and_then(|n| attachments.get(n)) {
                    return crate::Binary(bytes.clone()).serialize(serializer);
                }
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    out.serialize_entry(key, &WithAttachments(value, attachments))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&WithAttachments(item, attachments))?;
                }
                out.end()
            }
            other => other.serialize(serializer),
        }
    }
}

fn placeholder(map: &serde_json::Map<String, Value>) -> Option<usize> {
    if map.len() != 2 || map.get("_placeholder") != Some(&Value::Bool(true)) {
        return None;
    }
    usize::try_from(map.get("num")?.as_u64()?).ok()
}

impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Args")
            .field("items", &self.items)
            .field("attachments", &self.attachments.len())
            .finish()
    }
}

/// Presents a list of raw JSON arguments to serde as described on [`Args`]. Targets are
/// `DeserializeOwned`, so the borrow of the argument list is the deserializer's lifetime.
struct ArgsDeserializer<'a>(&'a [Str]);

impl<'a> Deserializer<'a> for ArgsDeserializer<'a> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            [one] => single(one, |de| de::Deserializer::deserialize_any(de, visitor)),
            items => visitor.visit_seq(RawSeq(items.iter())),
        }
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            [] => visitor.visit_none(),
            [one] if one.as_str().trim() == "null" => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// A tuple takes the arguments positionally, and exactly as many as it has elements: a
    /// handler for two arguments refuses three, as a Python function would.
    fn deserialize_tuple<V: Visitor<'a>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if self.0.len() > len {
            return Err(de::Error::custom(format_args!(
                "{} arguments, expected {len}",
                self.0.len()
            )));
        }
        visitor.visit_seq(RawSeq(self.0.iter()))
    }

    fn deserialize_unit<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            [one] => single(one, |de| {
                de::Deserializer::deserialize_newtype_struct(de, name, visitor)
            }),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            [one] => single(one, |de| {
                de::Deserializer::deserialize_struct(de, name, fields, visitor)
            }),
            items => visitor.visit_seq(RawSeq(items.iter())),
        }
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            [one] => single(one, |de| {
                de::Deserializer::deserialize_enum(de, name, variants, visitor)
            }),
            _ => Err(de::Error::custom("expected a single argument")),
        }
    }

    /// A single binary attachment fills a byte list (`Vec<u8>`), as a list of numbers does.
    fn deserialize_seq<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.attachment() {
            Some(bytes) => {
                visitor.visit_seq(de::value::SeqDeserializer::new(bytes.iter().copied()))
            }
            None => self.deserialize_any(visitor),
        }
    }

    /// A single binary attachment fills a byte buffer (`bytes::Bytes`, `serde_bytes`).
    fn deserialize_bytes<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.attachment() {
            Some(bytes) => visitor.visit_bytes(&bytes),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.attachment() {
            Some(bytes) => visitor.visit_byte_buf(bytes.to_vec()),
            None => self.deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'a>>
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit_struct tuple_struct map identifier ignored_any
    }
}

impl ArgsDeserializer<'_> {
    /// The attachment the only argument names, when it is a binary placeholder.
    fn attachment(&self) -> Option<Bytes> {
        match self.0 {
            [one] => protocol::placeholder_attachment(one.as_str()),
            _ => None,
        }
    }
}

fn single<'a, T>(
    raw: &'a Str,
    f: impl FnOnce(
        &mut serde_json::Deserializer<serde_json::de::StrRead<'a>>,
    ) -> Result<T, serde_json::Error>,
) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(raw.as_str());
    let value = f(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The items of an argument list, each deserialized from its own raw JSON.
struct RawSeq<'a>(std::slice::Iter<'a, Str>);

impl<'a> SeqAccess<'a> for RawSeq<'a> {
    type Error = serde_json::Error;

    fn next_element_seed<T: DeserializeSeed<'a>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Self::Error> {
        let Some(raw) = self.0.next() else {
            return Ok(None);
        };
        single(raw, |de| seed.deserialize(de)).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::Value;

    fn args(items: &[&str]) -> Args {
        Args::new(items.iter().map(|s| Str::from(*s)).collect(), Vec::new())
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Join {
        room: String,
    }

    #[test]
    fn one_argument_maps_to_any_type() {
        assert_eq!(args(&[r#""hi""#]).deserialize::<String>().unwrap(), "hi");
        assert_eq!(
            args(&[r#"{"room":"a"}"#]).deserialize::<Join>().unwrap(),
            Join { room: "a".into() }
        );
        assert_eq!(
            args(&["[1,2]"]).deserialize::<Vec<i32>>().unwrap(),
            vec![1, 2]
        );
        assert_eq!(args(&["5"]).deserialize::<(i32,)>().unwrap(), (5,));
    }

    #[test]
    fn tuples_take_arguments_positionally() {
        let a = args(&[r#""a""#, "1", r#"{"room":"x"}"#]);
        let (s, n, j): (String, u8, Join) = a.deserialize().unwrap();
        assert_eq!((s.as_str(), n, j.room.as_str()), ("a", 1, "x"));
        assert_eq!(a.deserialize::<Vec<Value>>().unwrap().len(), 3);
    }

    #[test]
    fn missing_arguments_are_none_or_unit() {
        assert_eq!(args(&[]).deserialize::<Option<String>>().unwrap(), None);
        args(&[]).deserialize::<()>().unwrap();
        assert!(args(&[]).deserialize::<String>().is_err());
        assert!(args(&["1"]).deserialize::<(i32, i32)>().is_err());
    }

    #[test]
    fn a_binary_attachment_fills_a_byte_list_or_buffer() {
        let args = Args::new(
            vec![Str::from(r#"{"_placeholder":true,"num":0}"#)].into(),
            vec![Bytes::from_static(&[1, 2, 3])],
        );
        assert_eq!(args.deserialize::<Vec<u8>>().unwrap(), [1, 2, 3]);
        assert_eq!(
            args.deserialize::<Bytes>().unwrap(),
            Bytes::from_static(&[1, 2, 3])
        );
        assert_eq!(
            args.deserialize::<crate::Binary>().unwrap().0,
            Bytes::from_static(&[1, 2, 3])
        );
        assert!(args.deserialize::<Value>().unwrap().is_object());
        assert_eq!(
            super::tests::args(&["[4,5]"])
                .deserialize::<Vec<u8>>()
                .unwrap(),
            [4, 5]
        );
    }

    #[test]
    fn extra_arguments_are_refused() {
        assert!(args(&["1", "2", "3"]).deserialize::<(i32, i32)>().is_err());
        assert_eq!(
            args(&["1", "2"]).deserialize::<(i32, i32)>().unwrap(),
            (1, 2)
        );
    }
}
