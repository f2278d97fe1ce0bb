use socketio::on;

#[on("chat", room = "lobby")]
async fn handler() {}

fn main() {}
