//! [`Str`]: a cheaply cloneable, shareable UTF-8 string slice.

use std::fmt;
use std::ops::Range;

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;

/// An immutable UTF-8 string that shares its buffer with the message it came from.
///
/// Cloning is a reference-count increment; slicing never copies. Engine.IO hands every received
/// text message to the layer above as a `Str` pointing into the WebSocket frame or the polling
/// request body, so reading a message never copies it.
///
/// ```
/// use socketio::engineio::Str;
///
/// let s = Str::from("4hello");
/// assert_eq!(s.slice(1..).as_str(), "hello");
/// ```
#[derive(Clone, Default)]
pub struct Str {
    buf: Utf8Bytes,
    range: Range<usize>,
}

impl Str {
    /// Validates `bytes` as UTF-8 and wraps them without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        Ok(Self::whole(Utf8Bytes::try_from(bytes)?))
    }

    pub(crate) fn whole(buf: Utf8Bytes) -> Self {
        let range = 0..buf.len();
        Self { buf, range }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // `range` always lies on char boundaries of `buf` (checked where it is built), so `get`
        // never fails; the fallback keeps this free of panics all the same.
        self.buf
            .as_str()
            .get(self.range.clone())
            .unwrap_or_default()
    }

    /// A sub-slice sharing the same buffer. Out-of-range or non-boundary indices yield an empty
    /// string rather than a panic.
    pub fn slice(&self, range: impl std::ops::RangeBounds<usize>) -> Self {
        match self.sub_range(range) {
            Some(range) => Self {
                buf: self.buf.clone(),
                range,
            },
            None => Self::default(),
        }
    }

    /// [`slice`](Self::slice), taking `self`: the buffer moves instead of being shared, which
    /// spares a first sharing its bookkeeping allocation.
    pub(crate) fn into_slice(self, range: impl std::ops::RangeBounds<usize>) -> Self {
        match self.sub_range(range) {
            Some(range) => Self {
                buf: self.buf,
                range,
            },
            None => Self::default(),
        }
    }

    /// `range` (relative to this string) in `buf`, if it lies on char boundaries within it.
    fn sub_range(&self, range: impl std::ops::RangeBounds<usize>) -> Option<Range<usize>> {
        use std::ops::Bound;
        let len = self.range.len();
        let start = match range.start_bound() {
            Bound::Included(&n) => n,
            Bound::Excluded(&n) => n.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&n) => n.saturating_add(1),
            Bound::Excluded(&n) => n,
            Bound::Unbounded => len,
        };
        let s = self.as_str();
        if start > end || end > len || !s.is_char_boundary(start) || !s.is_char_boundary(end) {
            return None;
        }
        Some(self.range.start + start..self.range.start + end)
    }

    /// The slice of `self` that `sub` occupies, when `sub` was borrowed from `self.as_str()`.
    ///
    /// This lets a parser that works on `&str` hand back owned, zero-copy pieces.
    pub fn slice_ref(&self, sub: &str) -> Self {
        let base = self.as_str().as_ptr() as usize;
        let start = (sub.as_ptr() as usize).wrapping_sub(base);
        self.slice(start..start.saturating_add(sub.len()))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.range.len()
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.range.is_empty()
    }
}

impl std::ops::Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Str {}

impl std::hash::Hash for Str {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Self::whole(Utf8Bytes::from(s))
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Self::whole(Utf8Bytes::from(s))
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slicing_never_panics_on_bad_bounds() {
        let s = Str::from("héllo");
        assert_eq!(s.slice(0..2).as_str(), "");
        assert_eq!(s.slice(10..).as_str(), "");
        assert_eq!(s.slice(1..3).as_str(), "é");
        assert_eq!(s.slice(1..).slice(2..).as_str(), "llo");
    }

    #[test]
    fn slice_ref_finds_the_sub_slice() {
        let s = Str::from("4hello");
        let sub = &s.as_str()[1..3];
        assert_eq!(s.slice_ref(sub).as_str(), "he");
        assert_eq!(s.slice_ref("elsewhere").as_str(), "");
    }
}
