//! The rules for namespace and event names, as `const fn`s: the runtime checks registrations
//! with them, and the attribute macros evaluate them at compile time on the user's literal.

use super::RESERVED_EVENTS;

/// Checks a namespace as a server declares it: a path that starts with `/` and contains no `,`
/// (the packet format uses `,` to end the namespace), or a pattern: `*` (any namespace) or a
/// path ending in `*` (any namespace with that prefix).
///
/// ```
/// use socketio::protocol::check_namespace;
///
/// assert!(check_namespace("/chat").is_ok());
/// assert!(check_namespace("*").is_ok());
/// assert!(check_namespace("/game-*").is_ok());
/// assert!(check_namespace("chat").is_err());
/// assert!(check_namespace("/a*b").is_err());
/// ```
pub const fn check_namespace(namespace: &str) -> Result<(), &'static str> {
    let bytes = namespace.as_bytes();
    if bytes.len() == 1 && bytes[0] == b'*' {
        return Ok(());
    }
    if bytes.is_empty() || bytes[0] != b'/' {
        return Err("a namespace starts with '/': write \"/\" before its name");
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b',' {
            return Err("a namespace cannot contain ','");
        }
        if bytes[i] == b'*' && i + 1 != bytes.len() {
            return Err("'*' may only end a namespace pattern (\"/prefix*\")");
        }
        i += 1;
    }
    Ok(())
}

/// Whether a declared namespace is a pattern (see [`check_namespace`]).
pub fn is_namespace_pattern(namespace: &str) -> bool {
    namespace.ends_with('*')
}

/// Checks the name of an event a handler is registered for: not empty, and not one of the
/// [`RESERVED_EVENTS`] (no client can send those; `connect` and `disconnect` have handlers of
/// their own).
///
/// ```
/// use socketio::protocol::check_event_name;
///
/// assert!(check_event_name("chat").is_ok());
/// assert!(check_event_name("newListener").is_err());
/// ```
pub const fn check_event_name(event: &str) -> Result<(), &'static str> {
    if event.is_empty() {
        return Err("the event name is empty");
    }
    let mut i = 0;
    while i < RESERVED_EVENTS.len() {
        if str_eq(RESERVED_EVENTS[i], event) {
            return Err("this event name is reserved by Socket.IO: no client can send it");
        }
        i += 1;
    }
    Ok(())
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
