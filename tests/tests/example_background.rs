//! The background example (`examples/background`): one task, started once, ticks to every
//! client every second. Run in virtual time (`start_paused`): no test waits for real seconds.

#[path = "../../examples/background/app.rs"]
mod app;

use std::time::Duration;

use app::Tick;
use socketio::testing::TestClient;

#[tokio::test(start_paused = true)]
async fn every_client_gets_a_tick_every_second() {
    let io = app::socketio().unwrap();
    let ticker = app::start_ticker(io.clone(), Duration::from_secs(1));
    let started = tokio::time::Instant::now();

    let ann = TestClient::connect(&io).await.unwrap();
    let bob = TestClient::connect(&io).await.unwrap();
    for client in [&ann, &bob] {
        let status = client.recv().await.unwrap();
        assert_eq!(status.name(), "status");
    }
    for count in 1..=3 {
        for client in [&ann, &bob] {
            let tick = client.recv().await.unwrap();
            assert_eq!(tick.name(), "tick");
            assert_eq!(tick.data::<Tick>().unwrap(), Tick { count, clients: 2 });
        }
        assert_eq!(started.elapsed(), Duration::from_secs(count));
    }
    ticker.abort();
}

#[tokio::test(start_paused = true)]
async fn the_ticker_runs_once_however_many_clients_connect() {
    let io = app::socketio().unwrap();
    let ticker = app::start_ticker(io.clone(), Duration::from_secs(1));
    let first = TestClient::connect(&io).await.unwrap();
    first.recv().await.unwrap(); // status
    assert_eq!(first.recv().await.unwrap().data::<Tick>().unwrap().count, 1);

    let mut late = Vec::new();
    for _ in 0..5 {
        late.push(TestClient::connect(&io).await.unwrap());
    }
    let tick: Tick = first.recv().await.unwrap().data().unwrap();
    assert_eq!(
        tick,
        Tick {
            count: 2,
            clients: 6
        },
        "one tick per second, not one per client"
    );
    for client in &late {
        let received = client.get_received().await;
        let ticks: Vec<Tick> = received
            .iter()
            .filter(|e| e.name() == "tick")
            .map(|e| e.data().unwrap())
            .collect();
        assert_eq!(
            ticks,
            [Tick {
                count: 2,
                clients: 6
            }]
        );
    }
    ticker.abort();
}

#[tokio::test(start_paused = true)]
async fn a_client_that_leaves_stops_getting_ticks() {
    let io = app::socketio().unwrap();
    let ticker = app::start_ticker(io.clone(), Duration::from_secs(1));
    let ann = TestClient::connect(&io).await.unwrap();
    let bob = TestClient::connect(&io).await.unwrap();
    ann.get_received().await;
    bob.disconnect().await;
    let tick: Tick = ann.recv().await.unwrap().data().unwrap();
    assert_eq!(
        tick,
        Tick {
            count: 1,
            clients: 1
        }
    );
    assert!(bob.get_received().await.iter().all(|e| e.name() != "tick"));
    ticker.abort();
}
