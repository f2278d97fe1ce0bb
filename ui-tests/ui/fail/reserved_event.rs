use socketio::on;

#[on("connect_error")]
async fn a() {}

#[on("disconnecting")]
async fn b() {}

#[on("newListener")]
async fn c() {}

#[on("removeListener")]
async fn d() {}

fn main() {}
