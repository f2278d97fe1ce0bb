use socketio::{on_error, Error};

struct Verdict;

#[on_error(namespace = "/chat")]
async fn handler(error: Error) -> Verdict {
    let _ = error;
    Verdict
}

fn main() {}
