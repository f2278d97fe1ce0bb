//! [`DisconnectReason`].

use crate::engineio::CloseReason;

/// Why a socket left its namespace, named as python-socketio (Flask-SocketIO) names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The client left the namespace (`socket.disconnect()` on the client).
    ClientDisconnect,
    /// The server disconnected the socket.
    ServerDisconnect,
    /// The whole connection closed.
    Transport(CloseReason),
}

impl DisconnectReason {
    /// The reason as python-socketio names it (`"client disconnect"`, `"server disconnect"`,
    /// `"ping timeout"`, `"transport close"`, ...). socket.io (Node) says
    /// `"client namespace disconnect"` and `"server namespace disconnect"` for the first two.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientDisconnect => "client disconnect",
            DisconnectReason::ServerDisconnect => "server disconnect",
            DisconnectReason::Transport(reason) => reason.as_str(),
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
