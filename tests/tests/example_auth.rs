//! The auth example (`examples/auth`): a login over plain axum routes, a session cookie, and a
//! namespace only logged-in users can join (the `CurrentUser` extractor).

#[path = "../../examples/auth/app.rs"]
mod app;

use std::sync::Arc;

use socketio::testing::{TestClient, TestError};
use socketio::SocketIo;
use tests::http::Conn;
use tests::server::Options;

fn server() -> (SocketIo, Arc<app::Logins>) {
    let logins = Arc::new(app::Logins::default());
    (app::socketio(logins.clone()).unwrap(), logins)
}

async fn private(io: &SocketIo, token: Option<&str>) -> Result<TestClient, TestError> {
    let mut builder = TestClient::builder(io).namespace("/private");
    if let Some(token) = token {
        builder = builder.cookie(app::COOKIE, token);
    }
    builder.connect().await
}

fn refusal(result: Result<TestClient, TestError>) -> String {
    match result {
        Err(TestError::Refused { message, .. }) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_socket_without_a_session_cookie_is_refused() {
    let (io, _) = server();
    assert!(refusal(private(&io, None).await).contains("not logged in"));
}

#[tokio::test]
async fn a_socket_with_an_unknown_session_is_refused() {
    let (io, _) = server();
    assert!(refusal(private(&io, Some("forged-token")).await).contains("not logged in"));
}

#[tokio::test]
async fn a_wrong_password_opens_no_session() {
    let (_, logins) = server();
    assert_eq!(logins.login("alice", "guess"), None);
    assert_eq!(logins.login("mallory", "wonderland"), None);
}

#[tokio::test]
async fn a_logged_in_user_joins_and_is_greeted_by_name() {
    let (io, logins) = server();
    let token = logins.login("alice", "wonderland").unwrap();
    let alice = private(&io, Some(&token)).await.unwrap();
    let received = alice.get_received().await;
    assert_eq!(received[0].name(), "welcome");
    assert_eq!(
        received[0].data::<String>().unwrap(),
        "Hello alice, you are in."
    );

    let bob_token = logins.login("bob", "builder").unwrap();
    let bob = private(&io, Some(&bob_token)).await.unwrap();
    bob.get_received().await;
    let presence = alice.recv().await.unwrap();
    assert_eq!(presence.data::<String>().unwrap(), "bob has joined");

    bob.emit("message", "hi alice").await.unwrap();
    for client in [&alice, &bob] {
        let said: app::Said = client.recv().await.unwrap().data().unwrap();
        assert_eq!(
            said,
            app::Said {
                user: "bob".into(),
                text: "hi alice".into()
            }
        );
    }
}

#[tokio::test]
async fn an_event_after_logout_disconnects_the_socket() {
    let (io, logins) = server();
    let token = logins.login("alice", "wonderland").unwrap();
    let alice = private(&io, Some(&token)).await.unwrap();
    alice.get_received().await;

    logins.logout(&token);
    alice.emit("message", "still there?").await.unwrap();
    assert!(
        !alice.is_connected(),
        "authenticated_only: the socket was disconnected"
    );
    let why = alice.recv().await.unwrap();
    assert_eq!(why.name(), "unauthorized");
    assert!(why.data::<String>().unwrap().contains("not logged in"));
    assert!(matches!(
        alice.recv().await,
        Err(TestError::NotConnected(_))
    ));
    assert!(refusal(private(&io, Some(&token)).await).contains("not logged in"));
}

#[tokio::test]
async fn the_login_form_sets_the_cookie_the_socket_needs() {
    let (io, logins) = server();
    let server = Options::new()
        .test_runtime()
        .routes(app::pages(logins))
        .start(io.clone());
    let addr = server.addr;

    let anonymous = Conn::open(addr).await.send("GET", "/", &[], None).await;
    assert_eq!(anonymous.status, 303);
    assert_eq!(anonymous.header("location"), Some("/login"));

    let form = [("content-type", "application/x-www-form-urlencoded")];
    let wrong = Conn::open(addr)
        .await
        .send(
            "POST",
            "/login",
            &form,
            Some(b"username=alice&password=nope"),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.header("set-cookie").is_none());

    let ok = Conn::open(addr)
        .await
        .send(
            "POST",
            "/login",
            &form,
            Some(b"username=alice&password=wonderland"),
        )
        .await;
    assert_eq!(ok.status, 303);
    let set_cookie = ok
        .header("set-cookie")
        .expect("a session cookie")
        .to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    let pair = set_cookie.split(';').next().unwrap().to_owned();
    let token = pair.strip_prefix("session=").unwrap().to_owned();

    let page = Conn::open(addr)
        .await
        .send("GET", "/", &[("cookie", &pair)], None)
        .await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Signed in as <strong>alice</strong>"));

    let alice = private(&io, Some(&token)).await.unwrap();
    assert!(alice.is_connected());

    let out = Conn::open(addr)
        .await
        .send("POST", "/logout", &[("cookie", &pair)], None)
        .await;
    assert_eq!(out.status, 303);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert!(refusal(private(&io, Some(&token)).await).contains("not logged in"));

    server.stop().await;
}
