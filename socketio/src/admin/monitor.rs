//! [`Monitor`]: the Admin UI's view of one server. It hears the server (as its
//! [`Observer`]), reports to the admin sockets, logs them in, and sends the server's stats
//! every [`STATS_INTERVAL`].

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::auth::{Credentials, Sessions};
use super::serialize::{transport_name, EventView, SocketView};
use super::{clock, invalid_credentials, AdminUi, Mode};
use crate::adapter::EncodedPacket;
use crate::args::Args;
use crate::dispatch::{Connection, Observer};
use crate::engineio::{CloseReason, Frame, Sid};
use crate::error::ConnectError;
use crate::protocol::{self, PacketKind};
use crate::reason::DisconnectReason;
use crate::server::{SocketIo, WeakSocketIo};
use crate::sync::Mutex;
use crate::Socket;

/// How often the stats go out (socket.io-admin's interval).
const STATS_INTERVAL: Duration = Duration::from_secs(2);

/// The Admin UI's view of one server.
#[derive(Debug)]
pub(super) struct Monitor {
    options: AdminUi,
    /// What the UI may ask for (socket.io-admin's `Feature` names).
    features: Vec<&'static str>,
    server_id: String,
    hostname: String,
    started: Instant,
    /// The server, once built.
    server: OnceLock<WeakSocketIo>,
    /// Whether the server has a message queue: then what this server reports also reaches the
    /// admin sockets of the other servers, so it reports even with none of its own.
    clustered: AtomicBool,
    /// Admin sockets connected to this server.
    admins: AtomicUsize,
    /// Whether the stats task runs.
    ticking: AtomicBool,
    sessions: Sessions,
    traffic: Traffic,
    /// Connections and disconnections, by second (socket.io-admin's `EventBuffer`).
    events: Mutex<BTreeMap<EventKey, u64>>,
}

/// An aggregated count's second (its start, in milliseconds since the epoch), type and subtype.
type EventKey = (u64, &'static str, Option<&'static str>);

/// Engine.IO messages and bytes in each direction since the last stats.
#[derive(Debug, Default)]
struct Traffic {
    packets_in: AtomicU64,
    bytes_in: AtomicU64,
    packets_out: AtomicU64,
    bytes_out: AtomicU64,
}

/// One aggregated count of the stats (socket.io-admin's `NamespaceEvent`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Aggregated {
    timestamp: u64,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_type: Option<&'static str>,
    count: u64,
}

impl Monitor {
    pub(super) fn new(options: AdminUi) -> Self {
        let mut features = Vec::new();
        if !options.readonly {
            features.extend([
                "EMIT",
                "JOIN",
                "LEAVE",
                "DISCONNECT",
                "MJOIN",
                "MLEAVE",
                "MDISCONNECT",
            ]);
        }
        features.push("AGGREGATED_EVENTS");
        if options.mode == Mode::Development {
            features.push("ALL_EVENTS");
        }
        let hostname = hostname();
        Monitor {
            server_id: options
                .server_id
                .clone()
                .unwrap_or_else(|| hostname.clone()),
            hostname,
            features,
            options,
            started: Instant::now(),
            server: OnceLock::new(),
            clustered: AtomicBool::new(false),
            admins: AtomicUsize::new(0),
            ticking: AtomicBool::new(false),
            sessions: Sessions::default(),
            traffic: Traffic::default(),
            events: Mutex::new(BTreeMap::new()),
        }
    }

    pub(super) fn namespace(&self) -> &str {
        &self.options.namespace
    }

    pub(super) fn readonly(&self) -> bool {
        self.options.readonly
    }

    /// The server is built: remember it and, on a runtime, start sending the stats (else the
    /// first admin socket starts them).
    pub(super) fn start(self: &std::sync::Arc<Self>, io: &SocketIo) {
        let _ = self.server.set(io.downgrade());
        self.clustered
            .store(io.queue_stats().is_some(), Ordering::Relaxed);
        if tokio::runtime::Handle::try_current().is_ok() {
            self.tick();
        }
    }

    /// Starts the stats task, once. It ends with the server.
    fn tick(self: &std::sync::Arc<Self>) {
        if self.ticking.swap(true, Ordering::AcqRel) {
            return;
        }
        let monitor = std::sync::Arc::downgrade(self);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(STATS_INTERVAL);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                interval.tick().await;
                let Some(monitor) = monitor.upgrade() else {
                    return;
                };
                let Some(io) = monitor.server() else {
                    return;
                };
                let aggregated = monitor.take_aggregated();
                if monitor.listening() {
                    let stats = monitor.stats(&io, aggregated);
                    io.of(monitor.namespace()).emit("server_stats", &stats);
                }
            }
        });
    }

    pub(super) fn server(&self) -> Option<SocketIo> {
        self.server.get()?.upgrade()
    }

    /// Whether anyone hears what this server reports: an admin connected here, or, with a
    /// message queue, the admins of the other servers while the broker connection is up
    /// (before it, or during an outage, a publication could only fail).
    fn listening(&self) -> bool {
        self.admins.load(Ordering::Relaxed) > 0
            || (self.clustered.load(Ordering::Relaxed)
                && self.server().is_some_and(|io| io.queue_connected()))
    }

    /// Whether each socket, room and event is reported, and someone hears it.
    fn verbose(&self) -> bool {
        self.options.mode == Mode::Development && self.listening()
    }

    /// Sends `event` to the admin sockets (of every server, with a message queue).
    fn report<T: Serialize + ?Sized>(&self, event: &str, data: &T) {
        if let Some(io) = self.server() {
            io.of(self.namespace()).emit(event, data);
        }
    }

    /// The connect handler of the admin namespace: checks the login, then sends the UI what
    /// it starts from (its session, the features, the stats, the sockets).
    pub(super) async fn admit(
        self: std::sync::Arc<Self>,
        socket: Socket,
        auth: Option<Value>,
    ) -> Result<(), ConnectError> {
        let auth = auth.unwrap_or(Value::Null);
        if let Credentials::Basic { .. } = &self.options.credentials {
            let session = auth.get("sessionId").and_then(Value::as_str);
            if !session.is_some_and(|id| self.sessions.contains(id)) {
                if !self.options.credentials.verify(&auth).await {
                    tracing::warn!(
                        namespace = %self.namespace(),
                        client = ?socket.client_addr(),
                        "Admin UI login refused: invalid credentials"
                    );
                    return Err(invalid_credentials());
                }
                socket.emit("session", &self.sessions.open());
            }
        }
        tracing::info!(
            namespace = %self.namespace(),
            sid = %socket.id(),
            client = ?socket.client_addr(),
            readonly = self.readonly(),
            "Admin UI connected"
        );
        self.tick();
        socket.emit("config", &json!({ "supportedFeatures": self.features }));
        if let Some(io) = self.server() {
            socket.emit("server_stats", &self.stats(&io, Vec::new()));
            if self.options.mode == Mode::Development {
                self.send_all_sockets(&io, &socket);
            }
        }
        Ok(())
    }

    /// Sends `socket` every socket of this server; with a message queue, then every socket of
    /// the cluster once the other servers answered.
    fn send_all_sockets(&self, io: &SocketIo, socket: &Socket) {
        let here: Vec<SocketView> = io
            .namespaces()
            .iter()
            .flat_map(|ns| io.sockets(ns))
            .map(|s| SocketView::of(&s))
            .collect();
        socket.emit("all_sockets", &here);
        if !self.clustered.load(Ordering::Relaxed) {
            return;
        }
        let (io, socket) = (io.clone(), socket.clone());
        tokio::spawn(async move {
            let mut all = Vec::new();
            for ns in io.namespaces() {
                match io.of(&ns).fetch_sockets().await {
                    Ok(found) => all.extend(found.into_items().into_iter().map(|remote| {
                        match remote.is_local().then(|| io.socket(remote.id())).flatten() {
                            Some(local) => SocketView::of(&local),
                            None => SocketView::remote(&remote),
                        }
                    })),
                    Err(e) => {
                        tracing::debug!(namespace = %ns, error = %e, "Admin UI: sockets of the cluster not listed")
                    }
                }
            }
            socket.emit("all_sockets", &all);
        });
    }

    /// The stats the UI's dashboard and servers page show.
    fn stats(&self, io: &SocketIo, aggregated: Vec<Aggregated>) -> Value {
        let mut polling = HashSet::new();
        let namespaces: Vec<Value> = io
            .namespaces()
            .into_iter()
            .map(|name| {
                let sockets = io.sockets(&name);
                for socket in &sockets {
                    let connection = socket.connection();
                    if transport_name(connection.transport()) == "polling" {
                        polling.insert(connection.sid());
                    }
                }
                json!({ "name": name, "socketsCount": sockets.len() })
            })
            .collect();
        json!({
            "serverId": self.server_id,
            "hostname": self.hostname,
            "pid": std::process::id(),
            "uptime": self.started.elapsed().as_secs_f64(),
            "clientsCount": io.connection_count(),
            "pollingClientsCount": polling.len(),
            "aggregatedEvents": aggregated,
            "namespaces": namespaces,
        })
    }

    /// The counts since the last stats, and clears them.
    fn take_aggregated(&self) -> Vec<Aggregated> {
        let events = std::mem::take(&mut *self.events.lock());
        let mut out: Vec<Aggregated> = events
            .into_iter()
            .map(|((timestamp, kind, sub_type), count)| Aggregated {
                timestamp,
                kind,
                sub_type,
                count,
            })
            .collect();
        let now = second(SystemTime::now());
        let traffic = &self.traffic;
        for (kind, counter) in [
            ("packetsIn", &traffic.packets_in),
            ("bytesIn", &traffic.bytes_in),
            ("packetsOut", &traffic.packets_out),
            ("bytesOut", &traffic.bytes_out),
        ] {
            let count = counter.swap(0, Ordering::Relaxed);
            if count > 0 {
                out.push(Aggregated {
                    timestamp: now,
                    kind,
                    sub_type: None,
                    count,
                });
            }
        }
        out
    }

    fn count(&self, kind: &'static str, sub_type: Option<&'static str>) {
        let key = (second(SystemTime::now()), kind, sub_type);
        *self.events.lock().entry(key).or_insert(0) += 1;
    }

    /// Whether `socket` is one of the admin namespace's (its own traffic is not reported as
    /// events, or each report would report itself).
    fn is_admin(&self, socket: &Socket) -> bool {
        socket.namespace() == self.namespace()
    }
}

impl Observer for Monitor {
    fn connection_opened(&self, _connection: &Connection) {
        self.count("rawConnection", None);
    }

    fn connection_upgraded(&self, connection: &Connection) {
        if !self.verbose() {
            return;
        }
        for socket in connection.data().sockets() {
            self.report(
                "socket_updated",
                &json!({ "id": socket.id(), "nsp": socket.namespace(), "transport": "websocket" }),
            );
        }
    }

    fn connection_closed(&self, _connection: &Connection, reason: CloseReason) {
        self.count("rawDisconnection", Some(reason.as_str()));
    }

    fn message_received(&self, bytes: usize) {
        self.traffic.packets_in.fetch_add(1, Ordering::Relaxed);
        self.traffic
            .bytes_in
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn socket_connected(&self, socket: &Socket) {
        if self.is_admin(socket) {
            self.admins.fetch_add(1, Ordering::Relaxed);
        }
        if self.verbose() {
            let now = clock::iso8601(SystemTime::now());
            self.report("socket_connected", &(SocketView::of(socket), now));
        }
    }

    fn socket_disconnected(&self, socket: &Socket, reason: DisconnectReason) {
        if self.is_admin(socket) {
            self.admins.fetch_sub(1, Ordering::Relaxed);
        }
        if self.verbose() {
            let now = clock::iso8601(SystemTime::now());
            let id = socket.id();
            self.report(
                "socket_disconnected",
                &(socket.namespace(), id, node_reason(reason), now),
            );
        }
    }

    fn event_received(&self, socket: &Socket, event: &str, args: &Args) {
        if self.is_admin(socket) || !self.verbose() {
            return;
        }
        let now = clock::iso8601(SystemTime::now());
        let view = EventView { name: event, args };
        self.report(
            "event_received",
            &(socket.namespace(), socket.id(), view, now),
        );
    }

    fn packet_sent(&self, socket: &Socket, packet: &EncodedPacket) {
        let frames = packet.frames();
        let bytes: usize = frames.iter().map(Frame::len).sum();
        self.traffic
            .packets_out
            .fetch_add(frames.len() as u64, Ordering::Relaxed);
        self.traffic
            .bytes_out
            .fetch_add(bytes as u64, Ordering::Relaxed);
        if self.is_admin(socket) || !self.verbose() {
            return;
        }
        let Some(payload) = event_payload(packet) else {
            return;
        };
        let now = clock::iso8601(SystemTime::now());
        self.report(
            "event_sent",
            &(socket.namespace(), socket.id(), payload, now),
        );
    }

    fn room_joined(&self, namespace: &str, room: &str, sid: Sid) {
        if self.verbose() {
            let now = clock::iso8601(SystemTime::now());
            self.report("room_joined", &(namespace, room, sid, now));
        }
    }

    fn room_left(&self, namespace: &str, room: &str, sid: Sid) {
        if self.verbose() {
            let now = clock::iso8601(SystemTime::now());
            self.report("room_left", &(namespace, room, sid, now));
        }
    }
}

/// The arguments of an EVENT packet, its name first, as the JSON array it carries; `None`
/// for other packets.
fn event_payload(packet: &EncodedPacket) -> Option<Box<RawValue>> {
    let Some(Frame::Text(text)) = packet.frames().first() else {
        return None;
    };
    let text = text.as_str().strip_prefix('4')?;
    let limits = protocol::Limits {
        max_attachments: usize::MAX,
    };
    let decoded = protocol::decode(text, &limits).ok()?;
    if !matches!(decoded.kind, PacketKind::Event | PacketKind::BinaryEvent) {
        return None;
    }
    RawValue::from_string(decoded.payload?.trim_start().to_owned()).ok()
}

/// `reason` as socket.io (Node) names it, which is what the UI's users know.
fn node_reason(reason: DisconnectReason) -> &'static str {
    match reason {
        DisconnectReason::ClientDisconnect => "client namespace disconnect",
        DisconnectReason::ServerDisconnect => "server namespace disconnect",
        DisconnectReason::Transport(close) => close.as_str(),
    }
}

/// The start of the second of `time`, in milliseconds since the epoch.
fn second(time: SystemTime) -> u64 {
    let ms = clock::millis(time);
    ms - ms % 1_000
}

/// The machine's host name (`/proc/sys/kernel/hostname`, or `$HOSTNAME`), else `"localhost"`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_payload_is_the_event_array() {
        let event = crate::packet::event("/chat", "hi", &("a", 1), None).unwrap();
        assert_eq!(event_payload(&event).unwrap().get(), r#"["hi","a",1]"#);
        let ack = crate::packet::ack("/", 3, &()).unwrap();
        assert!(event_payload(&ack).is_none());
    }

    #[test]
    fn connections_are_counted_by_second_and_traffic_by_direction() {
        let monitor = Monitor::new(AdminUi::without_auth());
        monitor.count("rawConnection", None);
        monitor.count("rawConnection", None);
        monitor.count("rawDisconnection", Some("transport close"));
        monitor.message_received(10);
        let json = serde_json::to_value(monitor.take_aggregated()).unwrap();
        let find = |kind: &str| {
            json.as_array()
                .unwrap()
                .iter()
                .filter(|e| e["type"] == kind)
                .map(|e| e["count"].as_u64().unwrap())
                .sum::<u64>()
        };
        assert_eq!(find("rawConnection"), 2);
        assert_eq!(find("rawDisconnection"), 1);
        assert_eq!(find("packetsIn"), 1);
        assert_eq!(find("bytesIn"), 10);
        assert_eq!(find("bytesOut"), 0);
        assert!(json
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["timestamp"].as_u64().unwrap() % 1000 == 0));
        assert!(monitor.take_aggregated().is_empty(), "taken means cleared");
    }
}
