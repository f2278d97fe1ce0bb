use socketio::{namespace, Data};

struct Chat;

#[namespace("/chat")]
impl Chat {
    fn on_plain(&self) {}


    async fn on_owned(self, Data(_text): Data<String>) {}

    async fn helper(&self) {}
}

fn main() {}
