use socketio::{on, Data};

#[on("connect")]
async fn handler(Data(name): Data<String>) {
    let _ = name;
}

fn main() {}
