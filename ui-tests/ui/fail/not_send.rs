use std::rc::Rc;

use socketio::on;

async fn yield_now() {}

#[on("chat")]
async fn handler() {
    let shared = Rc::new(1);
    yield_now().await;
    let _ = shared;
}

fn main() {}
