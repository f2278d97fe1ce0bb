//! Small JSON helpers that never build a value tree: a linear pre-scan for
//! nesting depth and lone surrogates, a walker over the elements of a JSON
//! array as raw slices, and a JSON string escaper that appends to a `String`.

use std::fmt;

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::error::DecodeError;

/// The deepest nesting of arrays/objects accepted in a payload (the outer
/// array or object counts as one level).
///
/// This is the deepest nesting that `serde_json`'s default recursion limit
/// (128) accepts, so anything that passes the decoder can also be deserialized
/// by `serde_json` into a user type or a `serde_json::Value`. The limit is
/// checked by a linear scan because `serde_json` parses `RawValue`s
/// iteratively, without applying its recursion limit.
pub const MAX_NESTING: usize = 127;

/// Checks, in one linear pass over the bytes, that `json` nests at most
/// [`MAX_NESTING`] levels deep and that every `\uXXXX` escape of a UTF-16
/// surrogate is part of a well-formed pair.
///
/// The scan does not validate JSON syntax (serde_json does that); on invalid
/// JSON it may return `Ok`, but it never panics and never reads past the end.
pub(crate) fn scan(json: &str) -> Result<(), DecodeError> {
    let b = json.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = skip_string(b, i + 1)?;
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(DecodeError::TooDeep);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Skips a JSON string body starting just after its opening quote; returns
/// the index just after the closing quote (or `b.len()` if unterminated).
fn skip_string(b: &[u8], mut i: usize) -> Result<usize, DecodeError> {
    // Only a quote or a backslash matters inside a string: jump from one to the next (a
    // vectorised search, so a long string costs a fraction of a byte-by-byte walk).
    while let Some(offset) = b
        .get(i..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        i += offset;
        if b[i] == b'"' {
            return Ok(i + 1);
        }
        // A backslash.
        if b.get(i + 1) == Some(&b'u') {
            if let Some(unit) = hex4(b, i + 2) {
                i += 6;
                if (0xD800..0xDC00).contains(&unit) {
                    let low = if b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
                        hex4(b, i + 2)
                    } else {
                        None
                    };
                    match low {
                        Some(low) if (0xDC00..0xE000).contains(&low) => i += 6,
                        _ => return Err(DecodeError::LoneSurrogate),
                    }
                } else if (0xDC00..0xE000).contains(&unit) {
                    return Err(DecodeError::LoneSurrogate);
                }
                continue;
            }
        }
        // Any other escape is two bytes long; a bad one is reported by serde_json.
        i += 2;
    }
    Ok(b.len())
}

/// Reads four hex digits at `b[at..at + 4]`.
fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at.checked_add(4)?)?;
    digits
        .iter()
        .try_fold(0u32, |acc, &d| Some(acc * 16 + char::from(d).to_digit(16)?))
}

/// The first byte of `json` that is not JSON whitespace.
pub(crate) fn first_byte(json: &str) -> Option<u8> {
    json.bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Walks the JSON array `payload`, calling `f(index, element)` for each
/// element as a raw slice of `payload` (surrounding whitespace excluded).
/// Returns the number of elements. Fails if `payload` is not exactly one
/// valid JSON array (trailing whitespace allowed).
///
/// The caller should [`scan`] first: raw values are parsed without a depth limit.
pub(crate) fn for_each_element<'de, F>(payload: &'de str, f: F) -> Result<usize, serde_json::Error>
where
    F: FnMut(usize, &'de RawValue),
{
    let mut de = serde_json::Deserializer::from_str(payload);
    let n = (&mut de).deserialize_seq(Elements(f))?;
    de.end()?;
    Ok(n)
}

struct Elements<F>(F);

impl<'de, F> Visitor<'de> for Elements<F>
where
    F: FnMut(usize, &'de RawValue),
{
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<usize, A::Error> {
        let mut n = 0;
        while let Some(element) = seq.next_element::<&'de RawValue>()? {
            (self.0)(n, element);
            n += 1;
        }
        Ok(n)
    }
}

/// Appends `s` to `buf` as a JSON string literal, escaped exactly like
/// `serde_json` does (`"`, `\`, `\b`, `\f`, `\n`, `\r`, `\t`, other control
/// characters as `\u00xx`; everything else verbatim).
pub(crate) fn push_json_string(buf: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    buf.reserve(s.len() + 2);
    buf.push('"');
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is the index of an ASCII byte, hence a char boundary.
        buf.push_str(&s[start..i]);
        if escape.is_empty() {
            buf.push_str("\\u00");
            buf.push(char::from(HEX[usize::from(b >> 4)]));
            buf.push(char::from(HEX[usize::from(b & 0xf)]));
        } else {
            buf.push_str(escape);
        }
        start = i + 1;
    }
    buf.push_str(&s[start..]);
    buf.push('"');
}

/// Appends the decimal digits of `n` to `buf`.
pub(crate) fn push_decimal(buf: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        buf.push(char::from(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn depth_limit_matches_serde_json() {
        let ok = nested(MAX_NESTING);
        assert!(scan(&ok).is_ok());
        assert!(serde_json::from_str::<serde_json::Value>(&ok).is_ok());
        let too_deep = nested(MAX_NESTING + 1);
        assert!(matches!(scan(&too_deep), Err(DecodeError::TooDeep)));
        assert!(serde_json::from_str::<serde_json::Value>(&too_deep).is_err());
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let s = format!("[\"{}\\\"{}\"]", "[".repeat(500), "{".repeat(500));
        assert!(scan(&s).is_ok());
    }

    #[test]
    fn surrogates() {
        assert!(scan(r#"["\ud83d\ude00"]"#).is_ok());
        assert!(scan(r#"["\uD83D\uDE00", "\u00e9", "\\ud800"]"#).is_ok());
        for bad in [
            r#"["\ud800"]"#,
            r#"["\ud800x"]"#,
            r#"["\ud800\n"]"#,
            r#"["\ud800\ud800"]"#,
            r#"["\udc00"]"#,
            r#"{"\udfff":1}"#,
            r#""\ud800\u"#,
        ] {
            assert!(
                matches!(scan(bad), Err(DecodeError::LoneSurrogate)),
                "{bad}"
            );
        }
        // Truncated input: no panic.
        for s in [
            r#""\"#,
            r#""\u"#,
            r#""\ud8"#,
            r#""\ud800\"#,
            r#""\ud800\udc"#,
        ] {
            let _ = scan(s);
        }
    }

    #[test]
    fn elements_are_raw_slices() {
        let mut seen = Vec::new();
        let n = for_each_element(r#" [ 1 , "2",{"3" : [true]} ] "#, |i, v| {
            seen.push((i, v.get().to_owned()))
        })
        .unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            seen,
            [
                (0, "1".to_owned()),
                (1, "\"2\"".to_owned()),
                (2, "{\"3\" : [true]}".to_owned())
            ]
        );
        assert!(for_each_element("[1] x", |_, _| {}).is_err());
        assert!(for_each_element("{}", |_, _| {}).is_err());
        assert!(for_each_element("[1,", |_, _| {}).is_err());
    }

    #[test]
    fn escaping_matches_serde_json() {
        let mut all = String::new();
        for c in (0u32..0x80).filter_map(char::from_u32) {
            all.push(c);
        }
        all.push_str("é€😀\u{2028}\u{7f}");
        for s in ["", "plain", "a\"b\\c/d", &all] {
            let mut buf = String::from("4");
            push_json_string(&mut buf, s);
            assert_eq!(buf, format!("4{}", serde_json::to_string(s).unwrap()));
        }
    }

    #[test]
    fn decimal() {
        for n in [0, 7, 10, 12, 456, 789, u64::MAX] {
            let mut buf = String::from("x");
            push_decimal(&mut buf, n);
            assert_eq!(buf, format!("x{n}"));
        }
    }
}
