//! The metrics example (`examples/metrics`): a client's connection, events, acknowledgements
//! both ways and a refused connection show in the Prometheus text a scrape of `/metrics` gets.

#[path = "../../examples/metrics/app.rs"]
mod app;

use socketio::SocketIo;
use tests::eio::{P, W};
use tests::http;
use tests::raw_ws::RawWs;
use tests::server::{Options, Server};
use tests::wait::WAIT;
use tests::ws::Client;

/// The value of the sample `series` (name and labels, as Prometheus writes them).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(srv: &Server) -> String {
    let response = http::get(srv.addr, "/metrics").await;
    assert_eq!(response.status, 200, "{response:?}");
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{response:?}"
    );
    response.text()
}

/// Scrapes until every `(series, value)` reads as expected.
async fn assert_samples(srv: &Server, expected: &[(&str, f64)]) -> String {
    let mut last = String::new();
    let deadline = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < deadline {
        last = scrape(srv).await;
        if expected
            .iter()
            .all(|(series, value)| sample(&last, series) == Some(*value))
        {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let got: Vec<_> = expected
        .iter()
        .map(|(series, want)| (series, want, sample(&last, series)))
        .collect();
    panic!("metrics not as expected (series, wanted, got): {got:?}\n{last}");
}

#[tokio::test]
async fn a_scrape_shows_connections_events_acks_and_refusals() {
    let routes = app::metrics().expect("the recorder installs once");
    let srv = Options::new()
        .routes(routes)
        .start(app::socketio().expect("valid server"));

    let (mut client, _) = Client::connected(srv.addr, "/").await;
    // The connect handler asks the client's name with an acknowledgement.
    let ask = client.text().await;
    let id: String = ask
        .strip_prefix("42")
        .expect("an event")
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(ask.ends_with(r#"["name?"]"#), "{ask}");
    client.send(&format!(r#"43{id}["ann"]"#)).await;
    client.send(r#"427["echo","hi"]"#).await;
    assert_eq!(client.text().await, r#"437["hi"]"#);
    client.send(r#"42["join","lobby"]"#).await;
    assert_eq!(client.text().await, r#"42["joined","lobby"]"#);
    // No handler for it: it makes no series.
    client.send(r#"42["made-up-42"]"#).await;
    client.send(r#"428["echo","after"]"#).await;
    assert_eq!(client.text().await, r#"438["after"]"#);

    let text = assert_samples(
        &srv,
        &[
            ("socketio_connections", 1.0),
            (r#"socketio_connections_total{transport="websocket"}"#, 1.0),
            (r#"socketio_sockets{namespace="/"}"#, 1.0),
            (
                r#"socketio_events_received_total{namespace="/",event="echo"}"#,
                2.0,
            ),
            (
                r#"socketio_events_received_total{namespace="/",event="join"}"#,
                1.0,
            ),
            (r#"socketio_events_sent_total{namespace="/"}"#, 2.0),
            ("socketio_acks_received_total", 1.0),
            (
                r#"socketio_handler_duration_seconds_count{namespace="/",event="echo"}"#,
                2.0,
            ),
        ],
    )
    .await;
    assert!(
        !text.contains("made-up-42"),
        "an unhandled event made a series"
    );
    assert!(sample(&text, "socketio_bytes_received_total").is_some_and(|n| n > 0.0));
    assert!(sample(&text, "socketio_bytes_sent_total").is_some_and(|n| n > 0.0));

    client.close().await;
    assert_samples(
        &srv,
        &[
            ("socketio_connections", 0.0),
            (r#"socketio_sockets{namespace="/"}"#, 0.0),
            (
                r#"socketio_disconnections_total{reason="transport close"}"#,
                1.0,
            ),
        ],
    )
    .await;

    // A second server in the same process records into the same recorder: its refusal shows.
    let limited = Server::start(SocketIo::builder().max_connections(1));
    let (_kept, _) = RawWs::open(limited.addr).await;
    let refused = http::get(limited.addr, P).await;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_samples(
        &srv,
        &[(r#"socketio_refusals_total{limit="max_connections"}"#, 1.0)],
    )
    .await;

    // A session's open packet counts among the bytes sent, on either transport: the counter
    // grows by exactly its length (nothing else is sent meanwhile).
    let mut sent = sample(&scrape(&srv).await, "socketio_bytes_sent_total").expect("bytes sent");
    let mut ws = RawWs::connect(srv.addr, W).await.expect("a websocket");
    let open = ws.next().await.expect("the open packet").text();
    assert!(open.starts_with("0{"), "{open}");
    sent += open.len() as f64;
    assert_samples(&srv, &[("socketio_bytes_sent_total", sent)]).await;
    let open = http::get(srv.addr, P).await.text();
    assert!(open.starts_with("0{"), "{open}");
    sent += open.len() as f64;
    assert_samples(&srv, &[("socketio_bytes_sent_total", sent)]).await;
}
