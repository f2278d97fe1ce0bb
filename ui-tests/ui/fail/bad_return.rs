use socketio::on;

struct Report {
    total: u32,
}

#[on("chat")]
async fn handler() -> Report {
    Report { total: 1 }
}

fn main() {}
