//! [`DisconnectReason`].

use crate::engineio::CloseReason;

/// Why a socket left its namespace, named as socket.io names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The client left the namespace (`socket.disconnect()` on the client).
    ClientNamespaceDisconnect,
    /// The server disconnected the socket.
    ServerNamespaceDisconnect,
    /// The whole connection closed.
    Transport(CloseReason),
}

impl DisconnectReason {
    /// The reason as socket.io names it (`"client namespace disconnect"`, `"ping timeout"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::Transport(reason) => reason.as_str(),
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
