//! The part of a `session` message: a lost socket's session as the server that held it saved
//! it (described in the [module docs](super#connection-state-recovery)). Pure functions; what
//! comes off the bus is checked (ids, and the bounds of each list).

use serde::{Deserialize, Serialize};

use super::wire::WireError;
use crate::adapter::{LostSession, PersistedSession, MAX_ORIGINS, MAX_TAIL};
use crate::engineio::Sid;

/// One session on the wire.
#[derive(Debug, Serialize, Deserialize)]
struct Described {
    sid: String,
    pid: String,
    #[serde(default)]
    rooms: Vec<String>,
    #[serde(default)]
    frontier: Vec<(String, u64)>,
    #[serde(default)]
    tail: Vec<(String, u64)>,
    #[serde(default)]
    whole: bool,
}

/// Encodes `lost` as the JSON part of a `session` message.
pub(crate) fn encode(lost: &LostSession) -> Vec<u8> {
    let described = Described {
        sid: lost.session.sid.as_str().to_owned(),
        pid: lost.session.pid.as_str().to_owned(),
        rooms: lost.session.rooms.clone(),
        frontier: lost.frontier.clone(),
        tail: lost.tail.clone(),
        whole: lost.whole,
    };
    // Strings, integers and lists always serialize.
    serde_json::to_vec(&described).unwrap_or_default()
}

/// Decodes the JSON part of a `session` message.
pub(crate) fn decode(json: &[u8]) -> Result<LostSession, WireError> {
    let d: Described =
        serde_json::from_slice(json).map_err(|e| WireError(format!("bad session: {e}")))?;
    let id = |s: &str| {
        s.parse::<Sid>()
            .map_err(|_| WireError(format!("bad session id {s:?}")))
    };
    if d.frontier.len() > MAX_ORIGINS || d.tail.len() > MAX_TAIL {
        return Err(WireError("session: too many offsets".into()));
    }
    Ok(LostSession {
        session: PersistedSession {
            sid: id(&d.sid)?,
            pid: id(&d.pid)?,
            rooms: d.rooms,
        },
        frontier: d.frontier,
        tail: d.tail,
        whole: d.whole,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_round_trip_and_bad_ones_are_refused() {
        let sid = Sid::random();
        let lost = LostSession {
            session: PersistedSession {
                sid,
                pid: Sid::random(),
                rooms: vec![sid.to_string(), "room".into()],
            },
            frontier: vec![("a1".into(), 7), ("b2".into(), 0)],
            tail: vec![("a1".into(), 6), ("b2".into(), 0)],
            whole: true,
        };
        assert_eq!(decode(&encode(&lost)).unwrap(), lost);
        let pid = Sid::random();
        for bad in [
            String::from("[]"),
            format!(r#"{{"sid":"x","pid":"{pid}"}}"#),
            format!(r#"{{"sid":"{sid}","pid":"{pid}","tail":[["a",-1]]}}"#),
            format!(
                r#"{{"sid":"{sid}","pid":"{pid}","tail":[{}]}}"#,
                vec![r#"["a",1]"#; MAX_TAIL + 1].join(",")
            ),
        ] {
            assert!(decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
