use socketio::on;

async fn takes_a_number(_n: u32) -> bool {
    true
}

#[on("chat", guard = takes_a_number)]
async fn chat() {}

async fn fine() -> bool {
    true
}

#[on("disconnect", guard = fine)]
async fn gone() {}

fn main() {}
