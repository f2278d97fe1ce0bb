//! What the Admin UI asks the server to do: emit to a namespace or room, make sockets join or
//! leave a room, disconnect them. Each names a namespace and, optionally, a room (or socket id)
//! that narrows the sockets; refused when the UI is read-only.

use serde_json::Value;

use super::monitor::Monitor;
use super::serialize::RawArgs;
use crate::engineio::CloseReason;
use crate::extract::Event;
use crate::{Args, BroadcastOperator, SocketIo};

/// The events the UI sends (socket.io-admin's `ClientEvents`).
pub(super) const NAMES: [&str; 4] = ["emit", "join", "leave", "_disconnect"];

impl Monitor {
    /// Runs the UI's request `event`; a malformed or refused one is logged.
    pub(super) fn command(&self, event: &Event) {
        let name = event.name();
        if self.readonly() {
            tracing::warn!(
                command = name,
                "Admin UI request refused: the Admin UI is read-only"
            );
            return;
        }
        let Some(io) = self.server() else {
            return;
        };
        if let Err(why) = run(&io, name, event.args()) {
            tracing::warn!(command = name, "Admin UI request ignored: {why}");
        }
    }
}

/// The string argument `index`; `null` or absent reads as `None`.
fn text(args: &Args, index: usize, what: &str) -> Result<Option<String>, String> {
    match args.get::<Value>(index).transpose() {
        Ok(None | Some(Value::Null)) => Ok(None),
        Ok(Some(Value::String(s))) => Ok(Some(s)),
        _ => Err(format!(
            "the {what} (argument {}) is not a string",
            index + 1
        )),
    }
}

fn required(args: &Args, index: usize, what: &str) -> Result<String, String> {
    text(args, index, what)?.ok_or_else(|| format!("the {what} is missing"))
}

/// The sockets of namespace `nsp`, narrowed to room (or socket id) `filter`.
fn select(io: &SocketIo, nsp: &str, filter: Option<String>) -> BroadcastOperator {
    let all = io.of(nsp);
    match filter {
        Some(room) => all.to(room),
        None => all,
    }
}

fn run(io: &SocketIo, name: &str, args: &Args) -> Result<(), String> {
    let nsp = required(args, 0, "namespace")?;
    if !io.namespaces().contains(&nsp) {
        return Err(format!("no namespace {nsp:?}"));
    }
    match name {
        // emit(nsp, filter, event, ...args)
        "emit" => {
            let filter = text(args, 1, "room")?;
            let event = required(args, 2, "event name")?;
            if !args.attachments().is_empty() {
                return Err("binary arguments are not forwarded".into());
            }
            let rest = RawArgs(args.raw().skip(3).collect());
            select(io, &nsp, filter)
                .try_emit(&event, &rest)
                .map_err(|e| e.to_string())
        }
        // join(nsp, room, filter) / leave(nsp, room, filter)
        "join" | "leave" => {
            let room = required(args, 1, "room")?;
            let sockets = select(io, &nsp, text(args, 2, "socket filter")?);
            if name == "join" {
                sockets.join(room);
            } else {
                sockets.leave(room);
            }
            Ok(())
        }
        // _disconnect(nsp, close, filter): `close` ends the whole connection, not only the
        // namespace (socket.io's `disconnectSockets(true)`).
        "_disconnect" => {
            let close = args.get::<bool>(1).and_then(Result::ok).unwrap_or(false);
            let sockets = select(io, &nsp, text(args, 2, "socket filter")?);
            if close {
                for socket in sockets.sockets() {
                    socket.connection().close(CloseReason::ForcedClose);
                }
            }
            // The sockets of the other processes (and, without `close`, those of this one).
            sockets.disconnect();
            Ok(())
        }
        _ => Err("unknown request".into()),
    }
}
