use socketio::{on_error, Event};

#[on_error]
async fn handler(event: Event) {
    let _ = event;
}

fn main() {}
