use socketio::on;

struct Chat;

impl Chat {
    #[on("chat")]
    async fn handler(&self) {}
}

fn main() {}
