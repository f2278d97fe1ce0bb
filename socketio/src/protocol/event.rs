//! Splitting EVENT and ACK payloads into an event name and raw argument
//! slices, without building a `serde_json::Value` tree.

use std::borrow::Cow;

use super::error::DecodeError;
use super::json;
use super::packet::PacketKind;

/// Event names that a peer may not send: the JavaScript implementation uses
/// them for its own lifecycle events.
pub const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// An EVENT payload split into its event name and raw arguments.
#[derive(Debug, Clone)]
pub struct EventArgs<'a> {
    /// The event name, unescaped; borrowed from the payload unless it
    /// contained JSON escapes.
    pub name: Cow<'a, str>,
    /// The arguments after the name, each the exact JSON text the peer sent
    /// (without surrounding whitespace), already validated. Deserialize one with
    /// `serde_json::from_str(arg)`, or with
    /// [`deserialize_with_attachments`](super::deserialize_with_attachments)
    /// for binary packets.
    pub args: Vec<&'a str>,
}

/// Splits an EVENT or BINARY_EVENT payload (`["name",arg1,arg2,...]`).
///
/// Applies the same checks as [`decode`](fn@super::decode): a non-empty JSON
/// array whose first element is a string that is not in [`RESERVED_EVENTS`],
/// nesting at most [`MAX_NESTING`](super::MAX_NESTING) deep, no lone
/// surrogates. Numeric event names (which the JavaScript parser tolerates) are
/// refused.
pub fn split_event(payload: &str) -> Result<EventArgs<'_>, DecodeError> {
    let mut args = Vec::new();
    let name = walk_event(payload, PacketKind::Event, Some(&mut args))?;
    Ok(EventArgs { name, args })
}

/// Splits an ACK or BINARY_ACK payload (a JSON array, possibly empty) into
/// raw argument slices (the exact JSON text of each element, validated as
/// [`split_event`] validates).
pub fn split_args(payload: &str) -> Result<Vec<&str>, DecodeError> {
    let mut args = Vec::new();
    walk_args(payload, PacketKind::Ack, Some(&mut args))?;
    Ok(args)
}

/// Validates an event payload; pushes the arguments after the name into
/// `args` when given. Returns the event name.
pub(crate) fn walk_event<'a, A: Extend<&'a str>>(
    payload: &'a str,
    kind: PacketKind,
    mut args: Option<&mut A>,
) -> Result<Cow<'a, str>, DecodeError> {
    if json::first_byte(payload) != Some(b'[') {
        return Err(DecodeError::InvalidPayload {
            kind,
            reason: "expected a JSON array",
        });
    }
    let mut first = None;
    json::for_each_element(payload, |i, element| {
        if i == 0 {
            first = Some(element);
        } else if let Some(args) = args.as_deref_mut() {
            args.extend([element]);
        }
    })?;
    let first = first.ok_or(DecodeError::InvalidPayload {
        kind,
        reason: "expected a non-empty array",
    })?;
    if !first.starts_with('"') {
        return Err(DecodeError::InvalidPayload {
            kind,
            reason: "the event name (first element) must be a string",
        });
    }
    let name = json::string_value(first)?;
    if let Some(reserved) = RESERVED_EVENTS.iter().find(|r| **r == name) {
        return Err(DecodeError::ReservedEventName(reserved));
    }
    Ok(name)
}

/// Validates an ack payload; pushes its elements into `args` when given.
pub(crate) fn walk_args<'a, A: Extend<&'a str>>(
    payload: &'a str,
    kind: PacketKind,
    mut args: Option<&mut A>,
) -> Result<(), DecodeError> {
    if json::first_byte(payload) != Some(b'[') {
        return Err(DecodeError::InvalidPayload {
            kind,
            reason: "expected a JSON array",
        });
    }
    json::for_each_element(payload, |_, element| {
        if let Some(args) = args.as_deref_mut() {
            args.extend([element]);
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_event_borrows_name_and_args() {
        let payload = r#"["message",1,"2",{"3":[true]}]"#;
        let ev = split_event(payload).unwrap();
        assert!(matches!(ev.name, Cow::Borrowed("message")));
        assert_eq!(ev.args, ["1", "\"2\"", r#"{"3":[true]}"#]);
    }

    #[test]
    fn escaped_name_is_unescaped() {
        let ev = split_event(r#"["caf\u00e9 \"x\""]"#).unwrap();
        assert_eq!(ev.name, "café \"x\"");
        assert!(ev.args.is_empty());
        // An escaped reserved name is still reserved.
        assert!(matches!(
            split_event(r#"["\u0063onnect"]"#),
            Err(DecodeError::ReservedEventName("connect"))
        ));
    }

    #[test]
    fn split_event_rejects() {
        for bad in [
            "",
            "{}",
            "[]",
            "[1]",
            "[null]",
            r#"[["x"]]"#,
            r#"["x""#,
            r#"["x"] 1"#,
            r#"["disconnect","123"]"#,
            r#"["removeListener"]"#,
            r#"["\ud800"]"#,
        ] {
            assert!(split_event(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn split_args_works() {
        assert!(split_args("[]").unwrap().is_empty());
        let args = split_args(r#"[1,"2",{"3":[false]}]"#).unwrap();
        assert_eq!(args.len(), 3);
        assert_eq!(args[2], r#"{"3":[false]}"#);
        for bad in ["", "{}", "1", "[", "[1,]"] {
            assert!(split_args(bad).is_err(), "{bad}");
        }
    }
}
