//! Small JSON helpers that never build a value tree: a single-pass validating
//! splitter ([`split`]) that also enforces nesting depth and refuses lone
//! surrogates, and a JSON string escaper that appends to a `String`.

mod split;

pub(crate) use split::{check, for_each_element, string_value};

/// The deepest nesting of arrays/objects accepted in a payload (the outer
/// array or object counts as one level).
///
/// This is the deepest nesting that `serde_json`'s default recursion limit
/// (128) accepts, so anything that passes the decoder can also be deserialized
/// by `serde_json` into a user type or a `serde_json::Value`. The decoder's own
/// splitter counts the depth as it validates the payload.
pub const MAX_NESTING: usize = 127;

/// The first byte of `json` that is not JSON whitespace.
pub(crate) fn first_byte(json: &str) -> Option<u8> {
    json.bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
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
