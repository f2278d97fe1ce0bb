//! Session ids.

use std::fmt;

use base64::Engine as _;
use rand::RngCore;

const LEN: usize = 22;

/// Which bytes belong to the base64url alphabet.
const BASE64URL: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_';
        b += 1;
    }
    table
};

/// An Engine.IO session id: 128 bits from a CSPRNG, base64url-encoded
/// (22 characters).
///
/// ```
/// use socketio::engineio::Sid;
///
/// let sid = Sid::random();
/// assert_eq!(sid.as_str().len(), 22);
/// assert_eq!(sid.as_str().parse::<Sid>().unwrap(), sid);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid([u8; LEN]);

impl Sid {
    /// A fresh id from `rand`'s thread-local CSPRNG (ChaCha12, seeded and periodically reseeded
    /// from the operating system). With 128 random bits a collision is not a practical concern,
    /// and the engine also refuses to insert an id that is live.
    pub fn random() -> Self {
        let mut raw = [0u8; 16];
        rand::rng().fill_bytes(&mut raw);
        let mut out = [0u8; LEN];
        let written = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode_slice(raw, &mut out)
            .unwrap_or(0);
        debug_assert_eq!(written, LEN);
        Sid(out)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only base64url characters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The text was not a well-formed session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidSid;

impl fmt::Display for InvalidSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a session id")
    }
}

impl std::error::Error for InvalidSid {}

/// A socket's id is also the name of its own room: `io.to(sid)` addresses one socket.
impl From<Sid> for String {
    fn from(sid: Sid) -> String {
        sid.as_str().to_owned()
    }
}

impl std::str::FromStr for Sid {
    type Err = InvalidSid;

    fn from_str(s: &str) -> Result<Self, InvalidSid> {
        let bytes: [u8; LEN] = s.as_bytes().try_into().map_err(|_| InvalidSid)?;
        // Every byte looked up, without a branch per byte: this runs on every polling request.
        if !bytes
            .iter()
            .fold(true, |ok, &b| ok & BASE64URL[usize::from(b)])
        {
            return Err(InvalidSid);
        }
        Ok(Sid(bytes))
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

impl serde::Serialize for Sid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let ids: HashSet<Sid> = (0..10_000).map(|_| Sid::random()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in ids.iter().take(10) {
            assert_eq!(id.as_str().parse::<Sid>(), Ok(*id));
        }
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "short",
            "AAAAAAAAAAAAAAAAAAAAA=",
            "%00",
            "__proto__",
            &"A".repeat(100_000),
        ] {
            assert!(bad.parse::<Sid>().is_err(), "{bad:.20}");
        }
    }
}
