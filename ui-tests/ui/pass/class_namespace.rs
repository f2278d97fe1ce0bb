//! A class-based namespace compiles with every role and with helper methods beside the
//! handlers, and registers its handlers with the builder.

use socketio::{namespace, Data, DisconnectReason, Error, Socket, SocketIo};

struct Chat {
    greeting: &'static str,
}

#[namespace("/chat")]
impl Chat {
    async fn on_connect(&self, socket: Socket) -> bool {
        socket.emit("welcome", self.greeting);
        true
    }

    async fn on_say(&self, Data(text): Data<String>) -> (&str, String) {
        (self.prefix(), text)
    }

    async fn on_disconnect(&self, _reason: DisconnectReason) {}

    fn prefix(&self) -> &'static str {
        "said"
    }
}

#[socketio::on_error(namespace = "/chat")]
async fn chat_error(_error: Error) {}

fn main() {
    let io = SocketIo::builder()
        .on_namespace(Chat { greeting: "hi" })
        .build()
        .unwrap();
    assert_eq!(
        io.handled_events("/chat"),
        ["connect", "disconnect", "error", "say"]
    );
}
