//! The chat server: rooms, nicknames, join/leave notices, a typing indicator and the last
//! messages of each room kept in memory. Shared by `main.rs` and the tests
//! (`tests/tests/example_chat.rs`, `tests/tests/browser_chat.rs`).
//!
//! What travels (namespace `/`):
//!
//! | client → server | data | acknowledgement |
//! |---|---|---|
//! | `join` | `{"nick": "ann", "room": "rust"}` | [`Joined`] (members and history), or `{"error": ".."}` |
//! | `message` | `"text"` | none, or `{"error": ".."}` |
//! | `typing` | `true` / `false` | |
//! | `leave` | | |
//!
//! | server → client | data | to |
//! |---|---|---|
//! | `rooms` | `[{"name": "rust", "members": 2}, ..]` ([`RoomInfo`]) | everyone, when it changes; the new client on connect |
//! | `joined`, `left` | [`Presence`] | the room, when someone joins or leaves |
//! | `message` | [`Message`] | the room, sender included |
//! | `typing` | [`Typing`] | the room, sender excluded |

#![allow(dead_code)] // each test binary that includes this module uses a part of it

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socketio::{on, on_error_default, Ack, Data, Error, Session, Sid, Socket, SocketIo, State};

/// Messages kept per room.
pub const HISTORY: usize = 50;
/// Longest nickname, in characters.
pub const MAX_NICK: usize = 24;
/// Longest room name, in characters.
pub const MAX_ROOM: usize = 32;
/// Longest message, in characters.
pub const MAX_TEXT: usize = 500;

/// A chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Who wrote it.
    pub nick: String,
    /// What they wrote.
    pub text: String,
    /// When the server received it, in milliseconds since the Unix epoch.
    pub time: u64,
}

/// The answer to `join`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    /// The room joined.
    pub room: String,
    /// The nickname in it.
    pub nick: String,
    /// Everyone in the room, sorted.
    pub members: Vec<String>,
    /// The room's last messages, oldest first.
    pub history: Vec<Message>,
}

/// Someone joined or left a room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// Who.
    pub nick: String,
    /// Which room.
    pub room: String,
    /// Everyone in the room now, sorted.
    pub members: Vec<String>,
}

/// Someone started or stopped typing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typing {
    /// Who.
    pub nick: String,
    /// Whether they are typing.
    pub typing: bool,
}

/// One line of the room list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    /// The room name.
    pub name: String,
    /// How many people are in it.
    pub members: usize,
}

/// A request the chat refuses; its message goes back in the acknowledgement.
#[derive(Debug)]
pub struct ChatError(String);

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ChatError {}

/// Every room, in memory.
#[derive(Debug, Default)]
pub struct Chat {
    rooms: Mutex<BTreeMap<String, Room>>,
}

#[derive(Debug, Default)]
struct Room {
    members: BTreeMap<Sid, String>,
    history: VecDeque<Message>,
}

impl Room {
    fn nicks(&self) -> Vec<String> {
        let mut nicks: Vec<String> = self.members.values().cloned().collect();
        nicks.sort();
        nicks
    }
}

impl Chat {
    fn rooms(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Room>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `sid` in `room` as `nick`, unless someone else there has that nickname.
    fn join(&self, room: &str, sid: Sid, nick: &str) -> Result<Joined, ChatError> {
        let mut rooms = self.rooms();
        let entry = rooms.entry(room.to_owned()).or_default();
        if entry
            .members
            .iter()
            .any(|(other, name)| *other != sid && name.eq_ignore_ascii_case(nick))
        {
            return Err(ChatError(format!(
                "the nickname {nick:?} is taken in {room:?}"
            )));
        }
        entry.members.insert(sid, nick.to_owned());
        Ok(Joined {
            room: room.to_owned(),
            nick: nick.to_owned(),
            members: entry.nicks(),
            history: entry.history.iter().cloned().collect(),
        })
    }

    /// Takes `sid` out of `room`; returns who is left.
    fn leave(&self, room: &str, sid: Sid) -> Vec<String> {
        let mut rooms = self.rooms();
        match rooms.get_mut(room) {
            Some(entry) => {
                entry.members.remove(&sid);
                entry.nicks()
            }
            None => Vec::new(),
        }
    }

    /// Keeps `message` in the room's history.
    fn record(&self, room: &str, message: Message) {
        let mut rooms = self.rooms();
        let history = &mut rooms.entry(room.to_owned()).or_default().history;
        if history.len() == HISTORY {
            history.pop_front();
        }
        history.push_back(message);
    }

    /// The room list.
    pub fn list(&self) -> Vec<RoomInfo> {
        self.rooms()
            .iter()
            .map(|(name, room)| RoomInfo {
                name: name.clone(),
                members: room.members.len(),
            })
            .collect()
    }
}

/// Where a socket is, kept in its [`Session`].
#[derive(Debug, Clone)]
struct Member {
    nick: String,
    room: String,
}

#[derive(Debug, Deserialize)]
struct JoinRequest {
    nick: String,
    room: String,
}

/// Trims `text` and checks it is 1 to `max` printable characters.
fn clean(text: &str, max: usize, what: &str) -> Result<String, ChatError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ChatError(format!("the {what} is empty")));
    }
    if text.chars().count() > max {
        return Err(ChatError(format!(
            "the {what} is longer than {max} characters"
        )));
    }
    if text.chars().any(char::is_control) {
        return Err(ChatError(format!("the {what} contains control characters")));
    }
    Ok(text.to_owned())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Sends the room list to everyone (the sender included).
fn announce_rooms(socket: &Socket, chat: &Chat) {
    let list = (chat.list(),); // a 1-tuple: one argument that is an array
    socket.broadcast().emit("rooms", &list);
    socket.emit("rooms", &list);
}

/// Takes the socket out of its room and tells the room.
fn leave(socket: &Socket, chat: &Chat, member: &Member) {
    let members = chat.leave(&member.room, socket.id());
    socket.leave(&member.room);
    let presence = Presence {
        nick: member.nick.clone(),
        room: member.room.clone(),
        members,
    };
    socket.to(&member.room).emit("left", &presence);
}

#[on("connect")]
async fn connect(socket: Socket, State(chat): State<Arc<Chat>>) {
    socket.emit("rooms", &(chat.list(),));
}

#[on("join")]
async fn join(
    socket: Socket,
    State(chat): State<Arc<Chat>>,
    me: Session<Member>,
    Data(request): Data<JoinRequest>,
) -> Result<Ack<Joined>, ChatError> {
    let nick = clean(&request.nick, MAX_NICK, "nickname")?;
    let room = clean(&request.room, MAX_ROOM, "room name")?;
    let previous = me.get();
    let joined = chat.join(&room, socket.id(), &nick)?;
    if let Some(previous) = previous.filter(|p| p.room != room) {
        leave(&socket, &chat, &previous);
    }
    socket.join(&room);
    me.set(Member {
        nick: nick.clone(),
        room: room.clone(),
    });
    let presence = Presence {
        nick,
        room: room.clone(),
        members: joined.members.clone(),
    };
    socket.to(&room).emit("joined", &presence);
    announce_rooms(&socket, &chat);
    Ok(Ack(joined))
}

#[on("leave")]
async fn leave_room(socket: Socket, State(chat): State<Arc<Chat>>, me: Session<Member>) {
    if let Some(member) = me.take() {
        leave(&socket, &chat, &member);
        announce_rooms(&socket, &chat);
    }
}

#[on("message")]
async fn message(
    socket: Socket,
    State(chat): State<Arc<Chat>>,
    me: Session<Member>,
    Data(text): Data<String>,
) -> Result<(), ChatError> {
    let member = me
        .get()
        .ok_or_else(|| ChatError("join a room first".into()))?;
    let message = Message {
        nick: member.nick,
        text: clean(&text, MAX_TEXT, "message")?,
        time: now_ms(),
    };
    chat.record(&member.room, message.clone());
    socket.to(&member.room).emit("message", &message);
    socket.emit("message", &message);
    Ok(())
}

#[on("typing")]
async fn typing(socket: Socket, me: Session<Member>, Data(typing): Data<bool>) {
    if let Some(member) = me.get() {
        let typing = Typing {
            nick: member.nick,
            typing,
        };
        socket.to(&member.room).emit("typing", &typing);
    }
}

#[on("disconnect")]
async fn disconnect(socket: Socket, State(chat): State<Arc<Chat>>, me: Session<Member>) {
    if let Some(member) = me.take() {
        leave(&socket, &chat, &member);
        announce_rooms(&socket, &chat);
    }
}

/// Every failure (a refused join, a malformed payload) answers the client's acknowledgement
/// with `{"error": message}`.
#[on_error_default]
async fn on_error(error: Error) -> Value {
    tracing::debug!(%error, "chat request refused");
    json!({ "error": error.source_error().to_string() })
}

/// The Socket.IO server, with an empty chat.
pub fn socketio() -> Result<SocketIo, socketio::BuildError> {
    SocketIo::builder().state(Arc::new(Chat::default())).build()
}

const INDEX_HTML: &str = include_str!("index.html");
const CHAT_CSS: &str = include_str!("chat.css");
const CHAT_JS: &str = include_str!("chat.js");

/// The web page: `/`, `/static/chat.css`, `/static/chat.js` (the Socket.IO client itself is
/// served by `support/client_js.rs`).
pub fn pages() -> Router {
    Router::new()
        .route("/", get(|| async { Html(INDEX_HTML) }))
        .route(
            "/static/chat.css",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                    CHAT_CSS,
                )
                    .into_response()
            }),
        )
        .route(
            "/static/chat.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    CHAT_JS,
                )
                    .into_response()
            }),
        )
}
