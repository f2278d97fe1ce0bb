//! The namespace's side of connection state recovery: what a client claims in its CONNECT, and
//! which disconnections leave a session to recover. The sessions and packets themselves are
//! the adapter's (`adapter/recovery.rs`).

use std::borrow::Cow;

use serde::Deserialize;

use crate::engineio::{CloseReason, Sid};
use crate::reason::DisconnectReason;

/// A client's claim to a lost session: the private id and the last offset it received, which
/// socket.io's client merges into its CONNECT auth (`{"pid": .., "offset": .., ...auth}`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Claim<'a> {
    pub(crate) pid: Sid,
    pub(crate) offset: Cow<'a, str>,
}

/// The auth fields recovery reads; the others are skipped.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(borrow)]
    pid: Option<Cow<'a, str>>,
    #[serde(borrow)]
    offset: Option<Cow<'a, str>>,
}

impl<'a> Claim<'a> {
    /// The claim in a CONNECT's auth payload (untrusted JSON, already validated and bounded by
    /// the decoder): `None` unless it is an object with a string `pid` shaped like an id and a
    /// string `offset`.
    pub(crate) fn parse(auth: &'a str) -> Option<Self> {
        let fields: Fields<'a> = serde_json::from_str(auth).ok()?;
        Some(Claim {
            pid: fields.pid?.parse().ok()?,
            offset: fields.offset?,
        })
    }
}

/// Whether a socket that left for `reason` is kept for recovery: only when its connection was
/// lost without either side asking for it (socket.io's `RECOVERABLE_DISCONNECT_REASONS`), not
/// when the client or the server disconnected it, nor when the client broke the protocol.
pub(crate) fn is_recoverable(reason: DisconnectReason) -> bool {
    match reason {
        DisconnectReason::ClientDisconnect | DisconnectReason::ServerDisconnect => false,
        DisconnectReason::Transport(reason) => match reason {
            CloseReason::TransportClose
            | CloseReason::TransportError
            | CloseReason::PingTimeout
            | CloseReason::ForcedClose
            | CloseReason::ServerShutdown => true,
            CloseReason::ParseError => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_need_a_pid_and_a_string_offset() {
        let pid = Sid::random();
        let auth = format!(r#"{{"token":[1,{{"a":2}}],"pid":"{pid}","offset":"12"}}"#);
        assert_eq!(
            Claim::parse(&auth),
            Some(Claim {
                pid,
                offset: "12".into()
            })
        );
        let escaped = format!(r#"{{"pid":"{pid}","offset":"1\u0032"}}"#);
        assert_eq!(Claim::parse(&escaped).map(|c| c.offset), Some("12".into()));
        for refused in [
            String::from("null"),
            String::from(r#""pid""#),
            String::from(r#"[1]"#),
            String::from(r#"{"offset":"1"}"#),
            format!(r#"{{"pid":"{pid}"}}"#),
            format!(r#"{{"pid":"{pid}","offset":1}}"#),
            format!(r#"{{"pid":"{pid}x","offset":"1"}}"#),
            String::from(r#"{"pid":"short","offset":"1"}"#),
            format!(r#"{{"pid":"{pid}","pid":"{pid}","offset":"1"}}"#),
        ] {
            assert_eq!(Claim::parse(&refused), None, "{refused}");
        }
    }

    #[test]
    fn only_lost_connections_are_recoverable() {
        assert!(is_recoverable(DisconnectReason::Transport(
            CloseReason::PingTimeout
        )));
        assert!(is_recoverable(DisconnectReason::Transport(
            CloseReason::TransportClose
        )));
        assert!(!is_recoverable(DisconnectReason::Transport(
            CloseReason::ParseError
        )));
        assert!(!is_recoverable(DisconnectReason::ClientDisconnect));
        assert!(!is_recoverable(DisconnectReason::ServerDisconnect));
    }
}
