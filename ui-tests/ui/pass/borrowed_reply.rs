//! A handler may reply with borrowed literals without writing `'static`, as a Python handler
//! returns a tuple of literals.

use socketio::{on, Data};

#[on("my event")]
async fn my_event(Data(_json): Data<serde_json::Value>) -> (&str, i32) {
    ("one", 2)
}

#[on("maybe")]
async fn maybe() -> Option<&str> {
    Some("yes")
}

fn main() {
    socketio::SocketIo::builder().build().unwrap();
}
