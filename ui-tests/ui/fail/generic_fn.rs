use socketio::on;

#[on("chat")]
async fn handler<T: Default>() {}

fn main() {}
