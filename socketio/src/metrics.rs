//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (cargo feature `metrics`),
//! and a Prometheus endpoint (feature `prometheus`).
//!
//! With the feature off every recording below compiles to nothing. With it on, the server
//! records into whatever recorder the application installed (Prometheus, StatsD, OpenTelemetry,
//! ... through their `metrics` exporters); with none installed the calls cost a check.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `socketio_connections` | gauge | | Engine.IO connections open now |
//! | `socketio_connections_total` | counter | `transport` | connections opened (`polling`, `websocket`) |
//! | `socketio_disconnections_total` | counter | `reason` | connections closed, by reason (`transport close`, `ping timeout`, ...) |
//! | `socketio_sockets` | gauge | `namespace` | sockets connected now, per namespace |
//! | `socketio_events_received_total` | counter | `namespace`, `event` | events handed to a handler |
//! | `socketio_handler_duration_seconds` | histogram | `namespace`, `event` | time from an event's arrival to its handler's end |
//! | `socketio_events_sent_total` | counter | `namespace` | emits (one per `emit` call, whatever the number of recipients) |
//! | `socketio_acks_received_total` | counter | | acknowledgements received for the server's `emit_with_ack` |
//! | `socketio_ack_timeouts_total` | counter | | `emit_with_ack` waits that timed out |
//! | `socketio_bytes_received_total` | counter | | Engine.IO message bytes received (both transports) |
//! | `socketio_bytes_sent_total` | counter | | Engine.IO message bytes sent (both transports) |
//! | `socketio_refusals_total` | counter | `limit` | refusals by an operator limit (`max_connections`, `max_events_per_second`, ...) |
//! | `socketio_queue_publish_failures_total` | counter | | message-queue publications that failed |
//!
//! The `event` label is bounded: it is the event's name when a handler is registered for that
//! name, and `*` otherwise (the catch-all, or no handler), so a client cannot create series.
//! `namespace` is bounded by the declared namespaces and `max_dynamic_namespaces`.

#[cfg(feature = "prometheus")]
mod prometheus;

#[cfg(feature = "prometheus")]
pub use prometheus::{prometheus_router, PrometheusError};

#[cfg(feature = "metrics")]
mod record {
    use std::collections::HashMap;
    use std::sync::Arc;

    use metrics::{counter, gauge, Key, Label, Level, Metadata};

    /// Where the server's own series come from, for recorders that filter by it.
    static METADATA: Metadata<'static> =
        Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

    /// The `socketio_events_received_total` and `socketio_handler_duration_seconds` series of
    /// one event of one namespace, their keys built once: recording an event allocates
    /// nothing (the `counter!` macro would copy both labels into a new key each time).
    pub(crate) struct EventSeries {
        received: Key,
        duration: Key,
    }

    impl EventSeries {
        fn new(namespace: &str, event: &str) -> Self {
            let labels = || {
                vec![
                    Label::new("namespace", namespace.to_owned()),
                    Label::new("event", event.to_owned()),
                ]
            };
            EventSeries {
                received: Key::from_parts("socketio_events_received_total", labels()),
                duration: Key::from_parts("socketio_handler_duration_seconds", labels()),
            }
        }

        pub(crate) fn received(&self) {
            metrics::with_recorder(|r| r.register_counter(&self.received, &METADATA)).increment(1);
        }

        pub(crate) fn finished(&self, seconds: f64) {
            metrics::with_recorder(|r| r.register_histogram(&self.duration, &METADATA))
                .record(seconds);
        }
    }

    /// The series of an event, shared with the handler run it times.
    pub(crate) type SharedEventSeries = Arc<EventSeries>;

    /// A namespace's [`EventSeries`] by event label (bounded: the names handlers are
    /// registered for, and `*`).
    #[derive(Default)]
    pub(crate) struct EventSeriesCache(crate::sync::Mutex<HashMap<Box<str>, Arc<EventSeries>>>);

    impl EventSeriesCache {
        pub(crate) fn get(&self, namespace: &str, event: &str) -> SharedEventSeries {
            let mut series = self.0.lock();
            if let Some(found) = series.get(event) {
                return found.clone();
            }
            let made = Arc::new(EventSeries::new(namespace, event));
            series.insert(event.into(), made.clone());
            made
        }
    }

    pub(crate) fn connection_opened(transport: &'static str) {
        counter!("socketio_connections_total", "transport" => transport).increment(1);
        gauge!("socketio_connections").increment(1.0);
    }

    pub(crate) fn connection_closed(reason: &'static str) {
        counter!("socketio_disconnections_total", "reason" => reason).increment(1);
        gauge!("socketio_connections").decrement(1.0);
    }

    pub(crate) fn socket_connected(namespace: &str) {
        gauge!("socketio_sockets", "namespace" => namespace.to_owned()).increment(1.0);
    }

    pub(crate) fn socket_disconnected(namespace: &str) {
        gauge!("socketio_sockets", "namespace" => namespace.to_owned()).decrement(1.0);
    }

    pub(crate) fn event_sent(namespace: &str) {
        counter!("socketio_events_sent_total", "namespace" => namespace.to_owned()).increment(1);
    }

    pub(crate) fn ack_received() {
        counter!("socketio_acks_received_total").increment(1);
    }

    pub(crate) fn ack_timed_out() {
        counter!("socketio_ack_timeouts_total").increment(1);
    }

    pub(crate) fn bytes_received(n: usize) {
        counter!("socketio_bytes_received_total").increment(n as u64);
    }

    pub(crate) fn bytes_sent(n: usize) {
        counter!("socketio_bytes_sent_total").increment(n as u64);
    }

    pub(crate) fn refused(limit: &'static str) {
        counter!("socketio_refusals_total", "limit" => limit).increment(1);
    }

    pub(crate) fn publish_failed(n: u64) {
        counter!("socketio_queue_publish_failures_total").increment(n);
    }
}

#[cfg(not(feature = "metrics"))]
#[allow(clippy::missing_const_for_fn)]
mod record {
    #[inline(always)]
    pub(crate) fn connection_opened(_: &'static str) {}
    #[inline(always)]
    pub(crate) fn connection_closed(_: &'static str) {}
    #[inline(always)]
    pub(crate) fn socket_connected(_: &str) {}
    #[inline(always)]
    pub(crate) fn socket_disconnected(_: &str) {}

    /// Without the feature: records nothing, costs nothing.
    pub(crate) struct EventSeries;

    impl EventSeries {
        #[inline(always)]
        pub(crate) fn received(&self) {}
        #[inline(always)]
        pub(crate) fn finished(&self, _: f64) {}
    }

    pub(crate) type SharedEventSeries = EventSeries;

    #[derive(Default)]
    pub(crate) struct EventSeriesCache;

    impl EventSeriesCache {
        #[inline(always)]
        pub(crate) fn get(&self, _: &str, _: &str) -> SharedEventSeries {
            EventSeries
        }
    }
    #[inline(always)]
    pub(crate) fn event_sent(_: &str) {}
    #[inline(always)]
    pub(crate) fn ack_received() {}
    #[inline(always)]
    pub(crate) fn ack_timed_out() {}
    #[inline(always)]
    pub(crate) fn bytes_received(_: usize) {}
    #[inline(always)]
    pub(crate) fn bytes_sent(_: usize) {}
    #[inline(always)]
    pub(crate) fn refused(_: &'static str) {}
    #[inline(always)]
    pub(crate) fn publish_failed(_: u64) {}
}

pub(crate) use record::*;

/// Whether handler durations are measured (the `metrics` feature).
pub(crate) const TIMED: bool = cfg!(feature = "metrics");
