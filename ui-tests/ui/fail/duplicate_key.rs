use socketio::on;

#[on("chat", namespace = "/a", namespace = "/b")]
async fn handler() {}

fn main() {}
