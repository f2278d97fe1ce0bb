use socketio::on;

#[on("chat", namespace = "chat")]
async fn handler() {}

fn main() {}
