use socketio::namespace;

struct Chat;

#[namespace("/chat")]
impl Chat {
    async fn on_number(&self, _n: u32) {}

    async fn on_connect(&self) -> String {
        String::new()
    }
}

fn main() {}
