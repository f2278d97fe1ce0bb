use socketio::on;

#[on()]
async fn handler() {}

fn main() {}
