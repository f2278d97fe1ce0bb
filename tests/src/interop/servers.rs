//! The server of each interop scenario: its handlers, and what they report to the test through a
//! [`Recorder`]. Each test builds its own server from these.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use socketio::{Ack, Auth, Binary, ConnectError, Data, DisconnectReason, Sid, Socket, SocketIo};

use super::Recorder;

/// The auth payload of the `auth` scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Creds {
    pub token: String,
    pub user: String,
    pub n: u32,
}

/// Scenario 1: the connect handler reads the auth payload and answers with `welcome`.
pub fn auth(rec: &Recorder) -> SocketIo {
    let rec = rec.clone();
    SocketIo::builder()
        .on_connect("/", move |socket: Socket, Auth(creds): Auth<Creds>| {
            let rec = rec.clone();
            async move {
                rec.push(
                    "connect",
                    json!({ "auth": creds, "sid": socket.id().as_str() }),
                );
                let welcome =
                    json!({ "user": creds.user, "n": creds.n, "sid": socket.id().as_str() });
                socket.try_emit("welcome", &welcome).expect("emit welcome");
            }
        })
        .build()
        .expect("valid server")
}

/// Scenario 2: the connect handler refuses any token but `s3cret`, with a message and data.
pub fn refused(rec: &Recorder) -> SocketIo {
    let rec = rec.clone();
    SocketIo::builder()
        .on_connect("/", move |Auth(auth): Auth<Value>| {
            let rec = rec.clone();
            async move {
                rec.push("connect", auth.clone());
                if auth["token"] == "s3cret" {
                    Ok(())
                } else {
                    Err(ConnectError::new("not authorized")
                        .data(json!({ "code": 4001, "reason": "bad token" })))
                }
            }
        })
        .build()
        .expect("valid server")
}

/// The typed payload of the `chat` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chat {
    pub room: String,
    pub text: String,
    pub n: u32,
    pub tags: Vec<String>,
}

/// The five arguments of the `multi` event.
type Multi = (String, i64, bool, Option<String>, Vec<i64>);

/// Scenario 3: typed events in, emits out (`chat` → `chat-reply`, `multi` → `multi-reply`).
pub fn events(rec: &Recorder) -> SocketIo {
    let (r1, r2) = (rec.clone(), rec.clone());
    SocketIo::builder()
        .on(
            "/",
            "chat",
            move |socket: Socket, Data(chat): Data<Chat>| {
                let rec = r1.clone();
                async move {
                    rec.push("chat", json!(chat));
                    let reply = json!({ "echo": chat.text.to_uppercase(), "n": chat.n * 2 });
                    socket
                        .try_emit("chat-reply", &(reply, "second", 3))
                        .expect("emit chat-reply");
                }
            },
        )
        .on(
            "/",
            "multi",
            move |socket: Socket, Data(multi): Data<Multi>| {
                let rec = r2.clone();
                async move {
                    let (s, n, b, none, list) = multi;
                    rec.push("multi", json!([s, n, b, none, list]));
                    let sum: i64 = list.iter().sum();
                    socket
                        .try_emit("multi-reply", &(s, n + 1, !b, none, sum))
                        .expect("emit multi-reply");
                }
            },
        )
        .build()
        .expect("valid server")
}

/// Scenario 4: `sum` is acknowledged with three arguments, `void` with none; `ask-me` makes the
/// server ask the client a `question` and report its three-argument answer as `ack-received`.
pub fn acks(rec: &Recorder) -> SocketIo {
    let rec = rec.clone();
    SocketIo::builder()
        .on("/", "sum", |Data((a, b)): Data<(i64, i64)>| async move {
            (a + b, "sum", vec![a, b])
        })
        .on("/", "void", || async {})
        .on("/", "ask-me", move |socket: Socket| {
            let rec = rec.clone();
            async move {
                let answer = socket
                    .emit_with_ack("question", &("6x7", 6, 7))
                    .timeout(Duration::from_secs(10))
                    .await;
                match answer.map(|args| args.deserialize::<(i64, String, Value)>()) {
                    Ok(Ok((product, text, extra))) => {
                        rec.push("answer", json!([product, text, extra]));
                        socket
                            .try_emit("ack-received", &(product, text, extra))
                            .expect("emit ack-received");
                    }
                    Ok(Err(e)) => rec.push("answer-error", json!(e.to_string())),
                    Err(e) => rec.push("answer-error", json!(e.to_string())),
                }
            }
        })
        .build()
        .expect("valid server")
}

/// An upload with binary nested in objects and arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upload {
    pub file: Binary,
    pub meta: Meta,
}

/// The nested part of an [`Upload`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub name: String,
    pub parts: Vec<Binary>,
}

/// What the server sends back as the `download` event of scenario 5.
pub fn download() -> Upload {
    Upload {
        file: Binary::from(vec![0xde, 0xad, 0xbe, 0xef]),
        meta: Meta {
            name: "from-server".into(),
            parts: vec![Binary::from(vec![9u8; 1000]), Binary::from(Vec::new())],
        },
    }
}

/// The acknowledgement of an upload: the file reversed, the name upper-cased, the parts in
/// reverse order.
pub fn upload_reply(upload: &Upload) -> Upload {
    Upload {
        file: Binary::from(upload.file.0.iter().rev().copied().collect::<Vec<u8>>()),
        meta: Meta {
            name: upload.meta.name.to_uppercase(),
            parts: upload.meta.parts.iter().rev().cloned().collect(),
        },
    }
}

/// An [`Upload`] as JSON with byte arrays, for comparisons.
pub fn describe(upload: &Upload) -> Value {
    json!({
        "file": upload.file.0.to_vec(),
        "name": upload.meta.name,
        "parts": upload.meta.parts.iter().map(|p| p.0.to_vec()).collect::<Vec<_>>(),
    })
}

/// Scenario 5: `upload` (binary nested in objects) is acknowledged with binary, and answered
/// with a `download` event carrying binary too.
pub fn binary(rec: &Recorder) -> SocketIo {
    let rec = rec.clone();
    SocketIo::builder()
        .on(
            "/",
            "upload",
            move |socket: Socket, Data(upload): Data<Upload>| {
                let rec = rec.clone();
                async move {
                    rec.push("upload", describe(&upload));
                    socket
                        .try_emit("download", &download())
                        .expect("emit download");
                    Ack(upload_reply(&upload))
                }
            },
        )
        .build()
        .expect("valid server")
}

/// A broadcast request of scenario 6.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomMsg {
    pub room: String,
    pub fence: String,
}

/// Scenario 6: `join` joins a room (acknowledged with the socket's rooms); `to-room-all`
/// broadcasts to the room sender included (`io.to(room)`), `to-room-others` sender excluded
/// (`socket.to(room)`); each is followed by a `fence` event to every socket.
pub fn rooms(_rec: &Recorder) -> SocketIo {
    let cell: Arc<OnceLock<SocketIo>> = Arc::default();
    let (c1, c2) = (cell.clone(), cell.clone());
    let io = SocketIo::builder()
        .on(
            "/",
            "join",
            |socket: Socket, Data(room): Data<String>| async move {
                socket.join(&room);
                socket.rooms()
            },
        )
        .on("/", "to-room-all", move |Data(msg): Data<RoomMsg>| {
            let cell = c1.clone();
            async move {
                let io = cell.get().expect("server set");
                io.to(msg.room.clone())
                    .try_emit("room-msg", &json!({ "kind": "all", "room": msg.room }))
                    .expect("broadcast");
                io.try_emit("fence", &msg.fence).expect("fence");
            }
        })
        .on(
            "/",
            "to-room-others",
            move |socket: Socket, Data(msg): Data<RoomMsg>| {
                let cell = c2.clone();
                async move {
                    socket
                        .to(msg.room.clone())
                        .try_emit("room-msg", &json!({ "kind": "others", "room": msg.room }))
                        .expect("broadcast");
                    cell.get()
                        .expect("server set")
                        .try_emit("fence", &msg.fence)
                        .expect("fence");
                }
            },
        )
        .build()
        .expect("valid server");
    cell.set(io.clone()).expect("set once");
    io
}

/// Scenario 7: namespaces `/`, `/a`, `/b` and `/chat`, each greeting with `hello` (its name) and
/// answering `where` with its name, the argument and the socket id.
pub fn namespaces(rec: &Recorder) -> SocketIo {
    let mut builder = SocketIo::builder();
    for ns in ["/", "/a", "/b", "/chat"] {
        let rec = rec.clone();
        builder = builder
            .on_connect(ns, move |socket: Socket| {
                let rec = rec.clone();
                async move {
                    rec.push(
                        "connect",
                        json!({ "ns": socket.namespace(), "sid": socket.id().as_str() }),
                    );
                    socket
                        .try_emit("hello", socket.namespace())
                        .expect("emit hello");
                }
            })
            .on(
                ns,
                "where",
                |socket: Socket, Data(text): Data<String>| async move {
                    (
                        socket.namespace().to_owned(),
                        text,
                        socket.id().as_str().to_owned(),
                    )
                },
            );
    }
    builder.build().expect("valid server")
}

/// Scenario 8: `kick-me` makes the server disconnect the socket.
pub fn kick(rec: &Recorder) -> SocketIo {
    let rec = rec.clone();
    SocketIo::builder()
        .on("/", "kick-me", |socket: Socket| async move {
            socket.disconnect()
        })
        .on_disconnect("/", move |reason: DisconnectReason| {
            let rec = rec.clone();
            async move { rec.push("disconnect", json!(reason.as_str())) }
        })
        .build()
        .expect("valid server")
}

/// Scenario 9: `seq` numbers are recorded in arrival order (`seq-end` acknowledges with their
/// count). A client whose auth payload is `{"seq": n}` is sent `seq` 0..n then `seq-end` by the
/// connect handler: all queued at once (with the default `max_queued_packets`, 1,024) before the
/// CONNECT answer goes out, so in upgrade mode they cross the polling → WebSocket switch.
pub fn order(rec: &Recorder) -> (SocketIo, Arc<Mutex<Vec<u32>>>) {
    let seen: Arc<Mutex<Vec<u32>>> = Arc::default();
    let (s1, s2) = (seen.clone(), seen.clone());
    let rec = rec.clone();
    let io = SocketIo::builder()
        .on_connect("/", move |socket: Socket, Auth(auth): Auth<Value>| {
            let rec = rec.clone();
            async move {
                let n = auth["seq"].as_u64().unwrap_or(0);
                for i in 0..n {
                    if let Err(e) = socket.try_emit("seq", &i) {
                        rec.push("emit-error", json!([i, e.to_string()]));
                        return;
                    }
                }
                socket.try_emit("seq-end", &n).expect("emit seq-end");
            }
        })
        .on("/", "seq", move |Data(i): Data<u32>| {
            let seen = s1.clone();
            async move { seen.lock().unwrap().push(i) }
        })
        .on("/", "seq-end", move || {
            let seen = s2.clone();
            async move { seen.lock().unwrap().len() }
        })
        .build()
        .expect("valid server");
    (io, seen)
}

/// The payload limit of scenario 10.
pub const LIMIT: usize = 100_000;

/// Scenario 10: `max_http_buffer_size` is [`LIMIT`]; `big` acknowledges with the length it got,
/// `ping` with `pong: <text>`. Connections and disconnections are recorded with their sid.
pub fn limit(rec: &Recorder) -> SocketIo {
    let (r1, r2, r3) = (rec.clone(), rec.clone(), rec.clone());
    SocketIo::builder()
        .max_http_buffer_size(LIMIT)
        .on_connect("/", move |sid: Sid| {
            let rec = r1.clone();
            async move { rec.push("connect", json!(sid.as_str())) }
        })
        .on("/", "big", move |sid: Sid, Data(text): Data<String>| {
            let rec = r2.clone();
            async move {
                rec.push("big", json!({ "sid": sid.as_str(), "len": text.len() }));
                text.len()
            }
        })
        .on("/", "ping", |Data(text): Data<String>| async move {
            format!("pong: {text}")
        })
        .on_disconnect("/", move |sid: Sid, reason: DisconnectReason| {
            let rec = r3.clone();
            async move {
                rec.push(
                    "disconnect",
                    json!({ "sid": sid.as_str(), "reason": reason.as_str() }),
                )
            }
        })
        .build()
        .expect("valid server")
}
