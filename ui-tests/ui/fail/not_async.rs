use socketio::on;

#[on("chat")]
fn handler() {}

fn main() {}
