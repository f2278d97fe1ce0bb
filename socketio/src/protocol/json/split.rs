//! A single-pass validating JSON splitter: strict RFC 8259 syntax (what `serde_json` accepts),
//! the nesting limit and the surrogate rule of this crate, and the top-level elements of an
//! array as slices of the input, all in one walk over the bytes without building anything.
//!
//! The walk is iterative (a depth counter and one bit per open container, no recursion and
//! no allocation) and linear; string bodies are skipped eight bytes at a time, then, past
//! their first 32 bytes, with a vectorised search.

use std::borrow::Cow;

use super::MAX_NESTING;
use crate::protocol::error::DecodeError;

/// Checks that `json` is exactly one JSON value (surrounding whitespace allowed), nesting at
/// most [`MAX_NESTING`] levels deep, with no lone surrogate escape.
pub(crate) fn check(json: &str) -> Result<(), DecodeError> {
    let mut cursor = Cursor::new(json);
    cursor.skip_whitespace();
    cursor.value(0)?;
    cursor.end()
}

/// Walks the JSON array `payload`, calling `f(index, element)` for each element as a slice of
/// `payload` (surrounding whitespace excluded: the text `serde_json`'s `RawValue` would hold),
/// and returns the number of elements. Fails unless `payload` is exactly one valid JSON array
/// (surrounding whitespace allowed) that passes the rules of [`check`].
///
/// Elements are reported as they are read: on error, `f` may already have been called.
pub(crate) fn for_each_element<'a, F>(payload: &'a str, mut f: F) -> Result<usize, DecodeError>
where
    F: FnMut(usize, &'a str),
{
    let mut cursor = Cursor::new(payload);
    cursor.skip_whitespace();
    cursor.expect(b'[', "'['")?;
    cursor.skip_whitespace();
    let mut n = 0;
    if !cursor.eat(b']') {
        loop {
            let start = cursor.at;
            // The array itself is the first level.
            cursor.value(1)?;
            // A value starts and ends on an ASCII byte: both ends are char boundaries.
            let element = payload
                .get(start..cursor.at)
                .ok_or_else(|| cursor.error("a value"))?;
            f(n, element);
            n += 1;
            cursor.skip_whitespace();
            match cursor.peek() {
                Some(b',') => {
                    cursor.at += 1;
                    cursor.skip_whitespace();
                }
                Some(b']') => {
                    cursor.at += 1;
                    break;
                }
                _ => return Err(cursor.error("',' or ']'")),
            }
        }
    }
    cursor.end()?;
    Ok(n)
}

/// The text of a JSON string literal (quotes included) that [`check`] accepts, unescaped;
/// borrowed from `literal` when it holds no escape.
pub(crate) fn string_value(literal: &str) -> Result<Cow<'_, str>, DecodeError> {
    let invalid = || DecodeError::InvalidJson {
        at: 0,
        expected: "a string",
    };
    let body = literal
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .ok_or_else(invalid)?;
    if memchr::memchr(b'\\', body.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(body));
    }
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let b = rest.as_bytes();
        let (c, len) = match b.get(at + 1) {
            Some(b'"') => ('"', 2),
            Some(b'\\') => ('\\', 2),
            Some(b'/') => ('/', 2),
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'n') => ('\n', 2),
            Some(b'r') => ('\r', 2),
            Some(b't') => ('\t', 2),
            Some(b'u') => {
                let unit = hex4(b, at + 2).ok_or_else(invalid)?;
                if (0xD800..0xDC00).contains(&unit) {
                    let low = match b.get(at + 6..at + 8) {
                        Some(b"\\u") => hex4(b, at + 8),
                        _ => None,
                    }
                    .filter(|low| (0xDC00..0xE000).contains(low))
                    .ok_or_else(invalid)?;
                    let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                    (char::from_u32(code).ok_or_else(invalid)?, 12)
                } else {
                    (char::from_u32(unit).ok_or_else(invalid)?, 6)
                }
            }
            _ => return Err(invalid()),
        };
        out.push(c);
        // Every escape is ASCII: `at + len` is a char boundary.
        rest = rest.get(at + len..).ok_or_else(invalid)?;
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

/// Reads four hex digits at `b[at..at + 4]`.
fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at.checked_add(4)?)?;
    digits
        .iter()
        .try_fold(0u32, |acc, &d| Some(acc * 16 + char::from(d).to_digit(16)?))
}

/// The index of the first byte at or after `b[i]` that ends a run of plain string bytes: a
/// quote, a backslash or a control character; `None` if there is none.
fn special_byte(b: &[u8], i: usize) -> Option<usize> {
    // Event names, object keys and short values end within a few bytes: eight bytes at a
    // time in a register cost less there than setting up a vectorised search.
    let short_end = b.len().min(i.checked_add(SHORT_STRING)?);
    let mut at = i;
    while let Some(word) = b.get(at..at + 8).filter(|_| at + 8 <= short_end) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let found = special_bytes(u64::from_le_bytes(bytes));
        if found != 0 {
            // Little-endian: the lowest flagged byte comes first.
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let special = |c: u8| c == b'"' || c == b'\\' || c < 0x20;
    if let Some(p) = b.get(at..short_end)?.iter().position(|&c| special(c)) {
        return Some(at + p);
    }
    // A longer run: jump to the next quote or backslash (a vectorised search, so a long string
    // costs a fraction of a byte-by-byte walk), then check the bytes jumped over for a control
    // character (a branch-free minimum, vectorised too).
    let start = short_end;
    let tail = &b[start..];
    let run = memchr::memchr2(b'"', b'\\', tail).unwrap_or(tail.len());
    let skipped = &tail[..run];
    if skipped.iter().fold(u8::MAX, |m, &c| m.min(c)) < 0x20 {
        return skipped.iter().position(|&c| c < 0x20).map(|at| start + at);
    }
    (run < tail.len()).then_some(start + run)
}

/// Bytes of a string looked at a word at a time before [`special_byte`] switches to `memchr`.
const SHORT_STRING: usize = 32;

/// The high bit of each byte of `word` (eight bytes, little-endian) that is a quote, a
/// backslash or a control character. A flagged byte can be wrong only above a right one (a
/// borrow carries upwards), so the lowest flag is always exact.
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero_byte = |w: u64| w.wrapping_sub(ONES) & !w;
    (zero_byte(quote) | zero_byte(backslash) | (word.wrapping_sub(ONES * 0x20) & !word)) & HIGHS
}

/// A position in the bytes being validated.
struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(json: &'a str) -> Self {
        Cursor {
            b: json.as_bytes(),
            at: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.at).copied()
    }

    /// Consumes `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.at += usize::from(found);
        found
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), DecodeError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn error(&self, expected: &'static str) -> DecodeError {
        DecodeError::InvalidJson {
            at: self.at,
            expected,
        }
    }

    /// JSON whitespace: space, tab, line feed, carriage return.
    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Nothing but whitespace up to the end.
    fn end(&mut self) -> Result<(), DecodeError> {
        self.skip_whitespace();
        if self.at == self.b.len() {
            Ok(())
        } else {
            Err(self.error("the end of the JSON text"))
        }
    }

    /// Reads one value starting at the cursor (whitespace already skipped), inside `base`
    /// open containers; stops just after it.
    fn value(&mut self, base: usize) -> Result<(), DecodeError> {
        let mut depth = base;
        // Bit `depth - base - 1` is set when the container open at `depth` is an object. At
        // most `MAX_NESTING` = 127 containers are open, so 128 bits are enough.
        let mut objects: u128 = 0;
        loop {
            // A value is expected here.
            match self.peek() {
                Some(b'"') => self.string()?,
                Some(open @ (b'[' | b'{')) => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(DecodeError::TooDeep);
                    }
                    let bit = 1u128 << (depth - base - 1);
                    self.at += 1;
                    self.skip_whitespace();
                    if open == b'{' {
                        objects |= bit;
                        if !self.eat(b'}') {
                            self.key()?;
                            continue;
                        }
                    } else {
                        objects &= !bit;
                        if !self.eat(b']') {
                            continue;
                        }
                    }
                    // An empty container: a complete value.
                    depth -= 1;
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                Some(b'-' | b'0'..=b'9') => self.number()?,
                _ => return Err(self.error("a value")),
            }
            // A value is complete: close the containers it ends, or go on to the next member.
            loop {
                if depth == base {
                    return Ok(());
                }
                self.skip_whitespace();
                let in_object = objects & (1u128 << (depth - base - 1)) != 0;
                match (self.peek(), in_object) {
                    (Some(b','), _) => {
                        self.at += 1;
                        self.skip_whitespace();
                        if in_object {
                            self.key()?;
                        }
                        break;
                    }
                    (Some(b']'), false) | (Some(b'}'), true) => {
                        self.at += 1;
                        depth -= 1;
                    }
                    (_, false) => return Err(self.error("',' or ']'")),
                    (_, true) => return Err(self.error("',' or '}'")),
                }
            }
        }
    }

    /// An object key and its colon (whitespace before the key already skipped, after the
    /// colon skipped).
    fn key(&mut self) -> Result<(), DecodeError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("a string key"));
        }
        self.string()?;
        self.skip_whitespace();
        self.expect(b':', "':'")?;
        self.skip_whitespace();
        Ok(())
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<(), DecodeError> {
        if self.b.get(self.at..self.at + word.len()) == Some(word) {
            self.at += word.len();
            Ok(())
        } else {
            Err(self.error(match word {
                b"true" => "'true'",
                b"false" => "'false'",
                _ => "'null'",
            }))
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<(), DecodeError> {
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("a digit")),
        }
        if self.eat(b'.') {
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.error("a digit after the decimal point"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Err(self.error("a digit in the exponent"));
            }
            self.digits();
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
    }

    /// A string, the cursor on its opening quote.
    fn string(&mut self) -> Result<(), DecodeError> {
        let b = self.b;
        let mut i = self.at + 1;
        loop {
            let Some(special) = special_byte(b, i) else {
                self.at = b.len();
                return Err(self.error("'\"' closing the string"));
            };
            i = special;
            match (b.get(i), b.get(i + 1)) {
                (Some(b'"'), _) => {
                    self.at = i + 1;
                    return Ok(());
                }
                (Some(b'\\'), Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't')) => {
                    i += 2
                }
                (Some(b'\\'), Some(b'u')) => i = self.unicode_escape(i)?,
                (Some(b'\\'), _) => {
                    self.at = i + 1;
                    return Err(self.error("an escape: one of \"\\/bfnrtu"));
                }
                _ => {
                    self.at = i;
                    return Err(self.error("no control character in a string"));
                }
            }
        }
    }

    /// A `\uXXXX` escape at `b[i..]`, and its low surrogate when it is a high one; returns the
    /// index after it. A surrogate escape that is not part of a pair is refused: Rust strings
    /// cannot hold it.
    fn unicode_escape(&mut self, i: usize) -> Result<usize, DecodeError> {
        let b = self.b;
        let Some(unit) = hex4(b, i + 2) else {
            self.at = i + 2;
            return Err(self.error("four hex digits after '\\u'"));
        };
        if (0xD800..0xDC00).contains(&unit) {
            let low = match b.get(i + 6..i + 8) {
                Some(b"\\u") => hex4(b, i + 8),
                _ => None,
            };
            match low {
                Some(low) if (0xDC00..0xE000).contains(&low) => Ok(i + 12),
                _ => Err(DecodeError::LoneSurrogate),
            }
        } else if (0xDC00..0xE000).contains(&unit) {
            Err(DecodeError::LoneSurrogate)
        } else {
            Ok(i + 6)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::*;

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    fn elements(payload: &str) -> Result<Vec<&str>, DecodeError> {
        let mut seen = Vec::new();
        let n = for_each_element(payload, |i, element| {
            assert_eq!(i, seen.len());
            seen.push(element);
        })?;
        assert_eq!(n, seen.len());
        Ok(seen)
    }

    #[test]
    fn depth_limit_matches_serde_json() {
        let ok = nested(MAX_NESTING);
        assert!(check(&ok).is_ok());
        assert!(elements(&ok).is_ok());
        assert!(serde_json::from_str::<serde_json::Value>(&ok).is_ok());
        let too_deep = nested(MAX_NESTING + 1);
        assert!(matches!(check(&too_deep), Err(DecodeError::TooDeep)));
        assert!(matches!(elements(&too_deep), Err(DecodeError::TooDeep)));
        assert!(serde_json::from_str::<serde_json::Value>(&too_deep).is_err());
        let objects = format!(
            "[{}1{}]",
            "{\"a\":".repeat(MAX_NESTING - 1),
            "}".repeat(MAX_NESTING - 1)
        );
        assert!(elements(&objects).is_ok());
        let objects = format!("[{objects}]");
        assert!(matches!(elements(&objects), Err(DecodeError::TooDeep)));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let s = format!("[\"{}\\\"{}\"]", "[".repeat(500), "{".repeat(500));
        assert_eq!(elements(&s).unwrap().len(), 1);
    }

    #[test]
    fn surrogates() {
        assert!(check(r#"["\ud83d\ude00"]"#).is_ok());
        assert!(check(r#"["\uD83D\uDE00", "\u00e9", "\\ud800"]"#).is_ok());
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
                matches!(check(bad), Err(DecodeError::LoneSurrogate)),
                "{bad}"
            );
        }
        for truncated in [
            r#""\"#,
            r#""\u"#,
            r#""\ud8"#,
            r#""\ud800\"#,
            r#""\ud800\udc"#,
        ] {
            assert!(check(truncated).is_err(), "{truncated}");
        }
    }

    #[test]
    fn elements_are_raw_slices() {
        assert_eq!(
            elements(" [ 1 , \"2\",{\"3\" : [true]}\n]\t").unwrap(),
            ["1", "\"2\"", "{\"3\" : [true]}"]
        );
        assert!(elements("[]").unwrap().is_empty());
        assert!(elements(" [ ] ").unwrap().is_empty());
        for bad in ["[1] x", "{}", "[1,", "[1,]", "[,1]", "", " ", "[", "[1 2]"] {
            assert!(elements(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_byte_and_what_was_expected() {
        let error = |json: &str| match elements(json) {
            Err(DecodeError::InvalidJson { at, expected }) => (at, expected),
            other => panic!("{json}: {other:?}"),
        };
        assert_eq!(error("[1,]"), (3, "a value"));
        assert_eq!(error("[01]"), (2, "',' or ']'"));
        assert_eq!(error("[1.]"), (3, "a digit after the decimal point"));
        assert_eq!(error("[{\"a\" 1}]"), (6, "':'"));
        assert_eq!(error("[{1:1}]"), (2, "a string key"));
        assert_eq!(error("[\"a\tb\"]"), (3, "no control character in a string"));
        assert_eq!(error("[\"\\x\"]"), (3, "an escape: one of \"\\/bfnrtu"));
        assert_eq!(error("[\"ab"), (4, "'\"' closing the string"));
        let long = "x".repeat(40);
        assert_eq!(
            error(&format!("[\"{long}\u{1}{long}\"]")),
            (42, "no control character in a string")
        );
        assert_eq!(
            error(&format!("[\"{long}\u{1}")),
            (42, "no control character in a string")
        );
        assert_eq!(
            error(&format!("[\"{long}")),
            (42, "'\"' closing the string")
        );
        assert_eq!(error("[tru]"), (1, "'true'"));
        assert_eq!(error("[1] 2"), (4, "the end of the JSON text"));
        assert_eq!(
            DecodeError::InvalidJson {
                at: 3,
                expected: "a value"
            }
            .to_string(),
            "invalid JSON payload at byte 3: expected a value"
        );
    }

    #[test]
    fn word_search_flags_the_first_special_byte() {
        for at in 0..8 {
            for c in 0..=u8::MAX {
                let special = c == b'"' || c == b'\\' || c < 0x20;
                let mut word = *b"abcdefgh";
                word[at] = c;
                let found = special_bytes(u64::from_le_bytes(word));
                assert_eq!(found != 0, special, "{c:#x} at {at}");
                // Special bytes above the first one change nothing.
                word[at + 1..].fill(0);
                let found = special_bytes(u64::from_le_bytes(word));
                if special {
                    assert_eq!(found.trailing_zeros() / 8, at as u32, "{c:#x} at {at}");
                }
            }
        }
    }

    #[test]
    fn string_values_are_unescaped() {
        assert!(matches!(string_value("\"abc\""), Ok(Cow::Borrowed("abc"))));
        assert_eq!(
            string_value(r#""caf\u00e9 \"x\" \\ \/ \b\f\n\r\t \ud83d\ude00""#).unwrap(),
            "café \"x\" \\ / \u{8}\u{c}\n\r\t 😀"
        );
        assert!(string_value("abc").is_err());
    }

    /// The depth and surrogate pre-scan the decoder ran before this splitter, kept as an
    /// oracle: it checks nothing else (it may accept invalid JSON).
    fn old_scan(json: &str) -> Result<(), DecodeError> {
        let b = json.as_bytes();
        let mut depth = 0usize;
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    i = old_skip_string(b, i + 1)?;
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

    fn old_skip_string(b: &[u8], mut i: usize) -> Result<usize, DecodeError> {
        while let Some(offset) = b
            .get(i..)
            .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
        {
            i += offset;
            if b[i] == b'"' {
                return Ok(i + 1);
            }
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
            i += 2;
        }
        Ok(b.len())
    }

    /// xorshift64*: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    const NUMBERS: &[&str] = &[
        "0",
        "-0",
        "1",
        "-1",
        "7",
        "12",
        "-907",
        "1.5",
        "-0.0",
        "0.25",
        "1e5",
        "1E+2",
        "1e-3",
        "2.5E10",
        "-12.75e-2",
        "1e400",
        "123456789012345678901234567890",
        "0e0",
        "9.99E-0",
    ];

    const STRING_PIECES: &[&str] = &[
        "a",
        "echo",
        "é",
        "😀",
        "\\n",
        "\\\"",
        "\\\\",
        "\\/",
        "\\b",
        "\\f",
        "\\r",
        "\\t",
        "\\u00e9",
        "\\u0000",
        "\\ud83d\\ude00",
        "\\uD83D\\uDE00",
        "\\uDBFF\\uDFFF",
        "[",
        "{",
        "]",
        "}",
        ",",
        ":",
        " ",
        "\u{7f}",
        "\u{2028}",
        "x y z",
        // Longer than `SHORT_STRING`: the vectorised search.
        "0123456789abcdef0123456789abcdef0123456789",
        "a long run with é, 😀 and \u{2028} past the first sixteen bytes",
    ];

    /// What mutations insert: JSON punctuation, bad and good escapes, control characters,
    /// number fragments, literal fragments.
    const INSERTS: &[&str] = &[
        "\"",
        "\\",
        "\\u",
        "\\ud800",
        "\\udc00",
        "\\udbff",
        "\\ud83d\\ude00",
        "\\u12",
        "\\x",
        "\\'",
        "\u{0}",
        "\u{1f}",
        "\u{b}",
        "\u{c}",
        "\n",
        "\t",
        "\r",
        " ",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "-",
        "+",
        "0",
        "01",
        "1.",
        "1e",
        ".5",
        "1E+2",
        "-0",
        "e",
        "E",
        ".",
        "t",
        "true",
        "nul",
        "fals",
        "é",
        "\u{7f}",
        "[[",
        "]]",
        "\"\"",
        "{}",
        "[]",
    ];

    fn whitespace(rng: &mut Rng, out: &mut String) {
        while rng.below(4) == 0 {
            out.push_str(rng.pick(&[" ", "\t", "\n", "\r"]));
        }
    }

    fn string(rng: &mut Rng, out: &mut String) {
        out.push('"');
        for _ in 0..rng.below(4) {
            out.push_str(rng.pick(STRING_PIECES));
        }
        out.push('"');
    }

    fn value(rng: &mut Rng, out: &mut String, depth: usize) {
        match rng.below(if depth > 3 { 6 } else { 9 }) {
            0 => out.push_str(rng.pick(&["true", "false", "null"])),
            1 | 2 => out.push_str(rng.pick(NUMBERS)),
            3..=5 => string(rng, out),
            6 | 7 => {
                out.push('[');
                whitespace(rng, out);
                for i in 0..rng.below(4) {
                    if i > 0 {
                        out.push(',');
                        whitespace(rng, out);
                    }
                    value(rng, out, depth + 1);
                    whitespace(rng, out);
                }
                out.push(']');
            }
            _ => {
                out.push('{');
                whitespace(rng, out);
                for i in 0..rng.below(4) {
                    if i > 0 {
                        out.push(',');
                        whitespace(rng, out);
                    }
                    string(rng, out);
                    whitespace(rng, out);
                    out.push(':');
                    whitespace(rng, out);
                    value(rng, out, depth + 1);
                    whitespace(rng, out);
                }
                out.push('}');
            }
        }
    }

    /// A valid JSON array; some of its elements nested near the depth limit.
    fn array(rng: &mut Rng) -> String {
        const NESTS: &[(&str, &str)] = &[
            ("[", "]"),
            ("{\"k\":", "}"),
            ("[1, ", "]"),
            ("{\"\\u0041\" : ", "}"),
        ];
        let mut out = String::new();
        whitespace(rng, &mut out);
        out.push('[');
        for i in 0..rng.below(5) {
            if i > 0 {
                out.push(',');
            }
            whitespace(rng, &mut out);
            // The outer array is the first level; the value may add a few more.
            let deep = if rng.below(6) == 0 {
                MAX_NESTING - 5 + rng.below(6)
            } else {
                0
            };
            let mut closers = Vec::with_capacity(deep);
            for _ in 0..deep {
                let (open, close) = NESTS[rng.below(NESTS.len())];
                out.push_str(open);
                closers.push(close);
            }
            value(rng, &mut out, 0);
            for close in closers.iter().rev() {
                out.push_str(close);
            }
            whitespace(rng, &mut out);
        }
        out.push(']');
        whitespace(rng, &mut out);
        out
    }

    /// One to three byte-level edits of `json`: truncation, deletion, insertion, replacement.
    fn mutate(rng: &mut Rng, json: &str) -> String {
        let mut bytes = json.as_bytes().to_vec();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(4) {
                0 => bytes.truncate(at),
                1 => {
                    let end = (at + 1 + rng.below(3)).min(bytes.len());
                    bytes.drain(at.min(end)..end);
                }
                2 => {
                    let insert = rng.pick(INSERTS).as_bytes();
                    bytes.splice(at..at, insert.iter().copied());
                }
                _ => {
                    if at < bytes.len() {
                        bytes[at] = rng.pick(INSERTS).as_bytes()[0];
                    }
                }
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The decoder's rules as they were: `serde_json` for the syntax and the elements, the
    /// old pre-scan for depth and surrogates.
    fn oracle(json: &str) -> Result<Vec<&str>, String> {
        let elements = serde_json::from_str::<Vec<&RawValue>>(json).map_err(|e| e.to_string())?;
        old_scan(json).map_err(|e| e.to_string())?;
        Ok(elements.into_iter().map(RawValue::get).collect())
    }

    fn single_oracle(json: &str) -> bool {
        serde_json::from_str::<&RawValue>(json).is_ok() && old_scan(json).is_ok()
    }

    /// The splitter accepts exactly what `serde_json` and the old pre-scan accepted together,
    /// with the same element slices, on thousands of generated and mutated arrays.
    #[test]
    fn differential_against_serde_json() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let (mut accepted, mut refused, mut too_deep, mut lone) = (0, 0, 0, 0);
        for round in 0..12_000 {
            let valid = array(&mut rng);
            let json = if round % 3 == 0 {
                valid
            } else {
                mutate(&mut rng, &valid)
            };
            let ours = elements(&json);
            match (oracle(&json), &ours) {
                (Ok(expected), Ok(split)) => {
                    assert_eq!(split, &expected, "{json:?}");
                    accepted += 1;
                    for element in split {
                        assert!(check(element).is_ok(), "{element:?} in {json:?}");
                        if element.starts_with('"') {
                            let expected: String = serde_json::from_str(element).unwrap();
                            assert_eq!(string_value(element).unwrap(), expected, "{json:?}");
                        }
                    }
                }
                (Err(_), Err(error)) => {
                    refused += 1;
                    // Valid JSON refused for its depth or a surrogate: the same reason as
                    // the old pre-scan gave.
                    if serde_json::from_str::<Vec<&RawValue>>(&json).is_ok() {
                        let old = old_scan(&json).unwrap_err();
                        assert_eq!(error.to_string(), old.to_string(), "{json:?}");
                    }
                    match error {
                        DecodeError::TooDeep => too_deep += 1,
                        DecodeError::LoneSurrogate => lone += 1,
                        _ => {}
                    }
                }
                (expected, ours) => panic!("{json:?}: expected {expected:?}, got {ours:?}"),
            }
            assert_eq!(check(&json).is_ok(), single_oracle(&json), "{json:?}");
        }
        // The generator reaches both sides of every rule.
        assert!(
            accepted > 3_000 && refused > 3_000,
            "{accepted} / {refused}"
        );
        assert!(too_deep > 100 && lone > 100, "{too_deep} / {lone}");
    }

    /// Single values, and the number and literal grammar edge cases one by one.
    #[test]
    fn single_values_agree_with_serde_json() {
        let mut rng = Rng(7);
        let mut cases: Vec<String> = [
            "-0",
            "01",
            "1.",
            "1e",
            ".5",
            "1E+2",
            "-",
            "--1",
            "+1",
            "1e+",
            "1.e5",
            "0.0e-0",
            "-01",
            "00",
            "1 2",
            "tru",
            "truee",
            "nulll",
            "NaN",
            "Infinity",
            "\"\\u00G0\"",
            "\"\\uDC00\"",
            "\"\u{0}\"",
            "\"\u{7f}\"",
            "{\"a\":1,}",
            "{,}",
            "{\"a\"}",
            "[1,]",
            "\u{a0}1",
            "1\u{c}",
            " \t\r\n1 \t\r\n",
            "\"",
            "[",
            "{",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..3_000 {
            let mut one = String::new();
            value(&mut rng, &mut one, 0);
            cases.push(mutate(&mut rng, &one));
            cases.push(one);
        }
        for json in &cases {
            assert_eq!(check(json).is_ok(), single_oracle(json), "{json:?}");
        }
    }
}
