//! The handshake query string: `EIO`, `transport`, `sid`.

/// The `transport` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TransportParam {
    Polling,
    WebSocket,
    /// Missing, repeated or unknown.
    Invalid,
}

/// The parameters the engine reads. A repeated parameter counts as invalid: `EIO=4&EIO=3` is not
/// version 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Query<'a> {
    pub(crate) eio: Option<&'a str>,
    pub(crate) transport: TransportParam,
    pub(crate) sid: Option<&'a str>,
}

impl<'a> Query<'a> {
    pub(crate) fn parse(query: &'a str) -> Self {
        let (mut eio, mut transport, mut sid) = (Field::Absent, Field::Absent, Field::Absent);
        // One pass over the bytes with memchr (this runs on every polling request): `&` ends a pair, its
        // first `=` ends the key. Both are ASCII, so every cut falls on a char boundary.
        let bytes = query.as_bytes();
        let mut start = 0;
        while start <= bytes.len() {
            let end = memchr::memchr(b'&', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let pair = &query[start..end];
            let (key, value) = match memchr::memchr(b'=', pair.as_bytes()) {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, ""),
            };
            match key {
                "EIO" => eio.set(value),
                "transport" => transport.set(value),
                "sid" => sid.set(value),
                _ => {}
            }
            start = end + 1;
        }
        Query {
            eio: eio.get(),
            transport: match transport.get() {
                Some("polling") => TransportParam::Polling,
                Some("websocket") => TransportParam::WebSocket,
                _ => TransportParam::Invalid,
            },
            // A repeated sid can name no session: keep it as an unknown id.
            sid: match sid {
                Field::Absent => None,
                Field::Once(v) => Some(v),
                Field::Repeated => Some(""),
            },
        }
    }
}

enum Field<'a> {
    Absent,
    Once(&'a str),
    Repeated,
}

impl<'a> Field<'a> {
    fn set(&mut self, value: &'a str) {
        *self = match self {
            Field::Absent => Field::Once(value),
            _ => Field::Repeated,
        };
    }

    fn get(&self) -> Option<&'a str> {
        match self {
            Field::Once(v) => Some(v),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_engine_parameters() {
        let q = Query::parse("EIO=4&transport=polling&t=N8hyd6w&sid=abc");
        assert_eq!(q.eio, Some("4"));
        assert_eq!(q.transport, TransportParam::Polling);
        assert_eq!(q.sid, Some("abc"));
    }

    #[test]
    fn repeated_or_odd_parameters_are_invalid() {
        assert_eq!(Query::parse("EIO=4&EIO=3").eio, None);
        assert_eq!(Query::parse("EIO[]=4").eio, None);
        assert_eq!(
            Query::parse("transport[]=polling").transport,
            TransportParam::Invalid
        );
        assert_eq!(
            Query::parse("transport=").transport,
            TransportParam::Invalid
        );
        assert_eq!(
            Query::parse("transport=webtransport").transport,
            TransportParam::Invalid
        );
        assert_eq!(Query::parse("sid=a&sid=b").sid, Some(""));
        assert_eq!(Query::parse("").eio, None);
        assert_eq!(Query::parse("&EIO=4&").eio, Some("4"));
        assert_eq!(Query::parse("EIO=4=5").eio, Some("4=5"));
        assert_eq!(Query::parse("sid").sid, Some(""));
        assert_eq!(Query::parse("x=%C3%A9&sid=é&EIO").sid, Some("é"));
        assert_eq!(Query::parse("x=%C3%A9&sid=é&EIO").eio, Some(""));
    }
}
