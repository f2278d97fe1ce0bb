//! The chat example (`examples/chat`), driven by the in-process test client.

#[path = "../../examples/chat/app.rs"]
mod app;

use app::{Joined, Message, Presence, RoomInfo, Typing};
use serde_json::{json, Value};
use socketio::testing::{Received, TestClient};
use socketio::SocketIo;
use tests::http::Conn;
use tests::server::Options;

/// A client that joined `room` as `nick`, with what it received until then dropped.
async fn member(io: &SocketIo, nick: &str, room: &str) -> (TestClient, Joined) {
    let client = TestClient::connect(io).await.unwrap();
    let joined = join(&client, nick, room).await.expect("joined");
    client.get_received().await;
    (client, joined)
}

/// Sends `join`; the answer, or the error it carries.
async fn join(client: &TestClient, nick: &str, room: &str) -> Result<Joined, String> {
    let answer: Value = client
        .emit_with_ack("join", &json!({ "nick": nick, "room": room }))
        .await
        .unwrap()
        .deserialize()
        .unwrap();
    match answer.get("error") {
        Some(error) => Err(error.as_str().unwrap_or_default().to_owned()),
        None => Ok(serde_json::from_value(answer).unwrap()),
    }
}

/// Sends `message`; the error it was answered with, if any.
async fn say(client: &TestClient, text: &str) -> Option<String> {
    let answer = client.emit_with_ack("message", text).await.unwrap();
    answer
        .deserialize::<Value>()
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_owned))
}

fn only<'a>(events: &'a [Received], name: &str) -> Vec<&'a Received> {
    events.iter().filter(|e| e.name() == name).collect()
}

fn texts(events: &[Received]) -> Vec<String> {
    only(events, "message")
        .iter()
        .map(|e| e.data::<Message>().unwrap().text)
        .collect()
}

#[tokio::test]
async fn a_new_client_gets_the_room_list() {
    let io = app::socketio().unwrap();
    let _ann = member(&io, "ann", "rust").await;
    let newcomer = TestClient::connect(&io).await.unwrap();
    let received = newcomer.get_received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].name(), "rooms");
    let rooms: Vec<RoomInfo> = received[0].data().unwrap();
    assert_eq!(
        rooms,
        [RoomInfo {
            name: "rust".into(),
            members: 1
        }]
    );
}

#[tokio::test]
async fn joining_answers_with_members_and_tells_the_room() {
    let io = app::socketio().unwrap();
    let (ann, joined) = member(&io, "ann", "rust").await;
    assert_eq!(joined.members, ["ann"]);
    assert!(joined.history.is_empty());

    let (_bob, joined) = member(&io, "bob", "rust").await;
    assert_eq!(joined.members, ["ann", "bob"]);

    let received = ann.get_received().await;
    let presence: Presence = only(&received, "joined")[0].data().unwrap();
    assert_eq!(presence.nick, "bob");
    assert_eq!(presence.members, ["ann", "bob"]);
    let rooms: Vec<RoomInfo> = only(&received, "rooms")[0].data().unwrap();
    assert_eq!(rooms[0].members, 2);
}

#[tokio::test]
async fn messages_reach_the_room_sender_included_and_no_other_room() {
    let io = app::socketio().unwrap();
    let (ann, _) = member(&io, "ann", "rust").await;
    let (bob, _) = member(&io, "bob", "rust").await;
    let (eve, _) = member(&io, "eve", "python").await;
    ann.get_received().await;

    assert_eq!(say(&bob, "  hello rust  ").await, None);
    for client in [&ann, &bob] {
        let received = client.get_received().await;
        let messages = only(&received, "message");
        assert_eq!(messages.len(), 1);
        let message: Message = messages[0].data().unwrap();
        assert_eq!(
            (message.nick.as_str(), message.text.as_str()),
            ("bob", "hello rust")
        );
        assert!(message.time > 0);
    }
    assert!(texts(&eve.get_received().await).is_empty());
}

#[tokio::test]
async fn each_room_keeps_its_last_messages_for_newcomers() {
    let io = app::socketio().unwrap();
    let (ann, _) = member(&io, "ann", "rust").await;
    let (eve, _) = member(&io, "eve", "python").await;
    for n in 0..app::HISTORY + 5 {
        assert_eq!(say(&ann, &format!("rust {n}")).await, None);
    }
    assert_eq!(say(&eve, "python 0").await, None);

    let (_carl, joined) = member(&io, "carl", "rust").await;
    let history: Vec<String> = joined.history.into_iter().map(|m| m.text).collect();
    let expected: Vec<String> = (5..app::HISTORY + 5).map(|n| format!("rust {n}")).collect();
    assert_eq!(
        history,
        expected,
        "the last {} messages, oldest first",
        app::HISTORY
    );

    let (_dan, joined) = member(&io, "dan", "python").await;
    assert_eq!(joined.history.len(), 1);
    assert_eq!(joined.history[0].text, "python 0");
}

#[tokio::test]
async fn typing_goes_to_the_others_in_the_room() {
    let io = app::socketio().unwrap();
    let (ann, _) = member(&io, "ann", "rust").await;
    let (bob, _) = member(&io, "bob", "rust").await;
    let (eve, _) = member(&io, "eve", "python").await;
    ann.get_received().await;

    bob.emit("typing", &true).await.unwrap();
    bob.emit("typing", &false).await.unwrap();
    let typing: Vec<Typing> = only(&ann.get_received().await, "typing")
        .iter()
        .map(|e| e.data().unwrap())
        .collect();
    assert_eq!(
        typing,
        [
            Typing {
                nick: "bob".into(),
                typing: true
            },
            Typing {
                nick: "bob".into(),
                typing: false
            }
        ]
    );
    assert!(only(&bob.get_received().await, "typing").is_empty());
    assert!(only(&eve.get_received().await, "typing").is_empty());
}

#[tokio::test]
async fn switching_rooms_leaves_the_old_one_with_a_notice() {
    let io = app::socketio().unwrap();
    let (ann, _) = member(&io, "ann", "rust").await;
    let (bob, _) = member(&io, "bob", "rust").await;
    ann.get_received().await;

    let joined = join(&bob, "bob", "python").await.unwrap();
    assert_eq!(joined.members, ["bob"]);
    let received = ann.get_received().await;
    let left: Presence = only(&received, "left")[0].data().unwrap();
    assert_eq!((left.nick.as_str(), left.room.as_str()), ("bob", "rust"));
    assert_eq!(left.members, ["ann"]);

    assert_eq!(say(&bob, "only python hears this").await, None);
    assert!(texts(&ann.get_received().await).is_empty());

    bob.emit("leave", &()).await.unwrap();
    assert_eq!(
        say(&bob, "nowhere").await.as_deref(),
        Some("join a room first")
    );
}

#[tokio::test]
async fn a_closed_tab_leaves_its_room() {
    let io = app::socketio().unwrap();
    let (ann, _) = member(&io, "ann", "rust").await;
    let (bob, _) = member(&io, "bob", "rust").await;
    ann.get_received().await;

    bob.close().await;
    let received = ann.get_received().await;
    let left: Presence = only(&received, "left")[0].data().unwrap();
    assert_eq!(left.nick, "bob");
    assert_eq!(left.members, ["ann"]);
    let rooms: Vec<RoomInfo> = only(&received, "rooms")[0].data().unwrap();
    assert_eq!(rooms[0].members, 1);
}

#[tokio::test]
async fn a_nickname_is_unique_within_a_room() {
    let io = app::socketio().unwrap();
    let _ann = member(&io, "ann", "rust").await;
    let other = TestClient::connect(&io).await.unwrap();
    let refused = join(&other, "ANN", "rust").await.unwrap_err();
    assert!(refused.contains("taken"), "{refused}");
    // The same nickname in another room is fine.
    assert!(join(&other, "ann", "python").await.is_ok());
}

#[tokio::test]
async fn bad_input_is_refused_in_the_acknowledgement() {
    let io = app::socketio().unwrap();
    let client = TestClient::connect(&io).await.unwrap();
    assert!(join(&client, "   ", "rust")
        .await
        .unwrap_err()
        .contains("empty"));
    let long = "x".repeat(app::MAX_NICK + 1);
    assert!(join(&client, &long, "rust")
        .await
        .unwrap_err()
        .contains("longer"));
    assert!(join(&client, "a\u{7}b", "rust")
        .await
        .unwrap_err()
        .contains("control"));
    let answer: Value = client
        .emit_with_ack("join", &json!({ "nick": 42 }))
        .await
        .unwrap()
        .deserialize()
        .unwrap();
    assert!(answer["error"].is_string(), "{answer}");

    join(&client, "ann", "rust").await.unwrap();
    let too_long = "y".repeat(app::MAX_TEXT + 1);
    assert!(say(&client, &too_long).await.unwrap().contains("longer"));
    assert!(say(&client, " ").await.unwrap().contains("empty"));
    assert!(client.is_connected(), "refusals do not disconnect");
}

#[tokio::test]
async fn the_page_and_its_scripts_are_served() {
    let io = app::socketio().unwrap();
    let server = Options::new().test_runtime().routes(app::pages()).start(io);
    let addr = server.addr;
    for (path, content_type, marker) in [
        ("/", "text/html", "socket.io.min.js"),
        ("/static/chat.js", "text/javascript", "socket.emit(\"join\""),
        ("/static/chat.css", "text/css", "#messages"),
    ] {
        let mut conn = Conn::open(addr).await;
        let response = conn.send("GET", path, &[], None).await;
        assert_eq!(response.status, 200, "{path}");
        assert!(
            response
                .header("content-type")
                .unwrap_or_default()
                .starts_with(content_type),
            "{path}: {:?}",
            response.header("content-type")
        );
        assert!(response.text().contains(marker), "{path}");
    }
    server.stop().await;
}
