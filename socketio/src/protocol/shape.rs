//! Finding how a value given as "the arguments" spreads into a Socket.IO
//! argument list, from the serde shape of its top-level value (see
//! [`encode_event`](super::encode_event) for the rules).

use std::fmt;

use serde::ser::{Impossible, Serialize, Serializer};

use super::binary::without_collection;

/// How a value spreads into arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// No arguments.
    Empty,
    /// One argument per element.
    List,
    /// One argument.
    Single,
    /// A unit, while probing: no arguments for `()`, one `null` otherwise.
    Unit,
}

/// Finds the [`Shape`] of `args` by serializing it into [`ShapeProbe`], which
/// stops at the first serializer method (with attachment collection
/// suspended, so a top-level [`Binary`](super::Binary) has no side effect).
pub(crate) fn shape_of<T: Serialize + ?Sized>(args: &T) -> Shape {
    let shape = without_collection(|| match args.serialize(ShapeProbe) {
        Ok(shape) | Err(Found(shape)) => shape,
    });
    if shape == Shape::Unit {
        return if std::mem::size_of_val(args) == 0 {
            Shape::Empty
        } else {
            Shape::Single
        };
    }
    shape
}

/// A serializer that only reports which method the value called first.
struct ShapeProbe;

/// Early exit of [`ShapeProbe`] from compound values, carrying the shape.
#[derive(Debug)]
struct Found(Shape);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "argument shape: {:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl serde::ser::Error for Found {
    fn custom<M: fmt::Display>(_: M) -> Self {
        // The real serialization will report the error.
        Found(Shape::Single)
    }
}

macro_rules! single {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, _: $ty) -> Result<Shape, Found> {
            Ok(Shape::Single)
        })*
    };
}

impl Serializer for ShapeProbe {
    type Ok = Shape;
    type Error = Found;
    type SerializeSeq = Impossible<Shape, Found>;
    type SerializeTuple = Impossible<Shape, Found>;
    type SerializeTupleStruct = Impossible<Shape, Found>;
    type SerializeTupleVariant = Impossible<Shape, Found>;
    type SerializeMap = Impossible<Shape, Found>;
    type SerializeStruct = Impossible<Shape, Found>;
    type SerializeStructVariant = Impossible<Shape, Found>;

    single!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_none(self) -> Result<Shape, Found> {
        Ok(Shape::Empty)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Shape, Found> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Shape, Found> {
        // `()` is "no arguments" only as the value itself: `serde_json::Value::Null` also
        // serializes as unit but is one explicit `null` (it is not zero-sized).
        Ok(Shape::Unit)
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Shape, Found> {
        Ok(Shape::Single)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Shape, Found> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Shape, Found> {
        Ok(Shape::Single)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Found> {
        Err(Found(Shape::Single))
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Found> {
        Err(Found(Shape::List))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Found> {
        Err(Found(Shape::Single))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Found> {
        Err(Found(Shape::Single))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Found> {
        Err(Found(Shape::Single))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Found> {
        Err(Found(Shape::Single))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Found> {
        Err(Found(Shape::Single))
    }

    fn collect_str<T: fmt::Display + ?Sized>(self, _: &T) -> Result<Shape, Found> {
        Ok(Shape::Single)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape_of(&()), Shape::Empty);
        assert_eq!(shape_of(&serde_json::Value::Null), Shape::Single);
        assert_eq!(shape_of(&None::<i32>), Shape::Empty);
        assert_eq!(shape_of(&Some((1, 2))), Shape::List);
        assert_eq!(shape_of(&(1,)), Shape::List);
        assert_eq!(shape_of(&vec![1]), Shape::Single);
        assert_eq!(shape_of("x"), Shape::Single);
        assert_eq!(
            shape_of(&std::collections::BTreeMap::<String, i32>::new()),
            Shape::Single
        );
    }
}
