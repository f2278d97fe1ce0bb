//! Handlers declared in another crate of the workspace are found once that crate is linked.
//! A crate the binary never names is not linked at all, hence the `use ... as _;`.

use ui_tests as _;

use socketio::{on, SocketIo};

#[on("renamed", crate = socketio)]
async fn renamed() {}

fn main() {
    let io = SocketIo::builder().build().expect("the registry is consistent");
    assert_eq!(io.namespaces(), ["/", "/lib"]);
    assert_eq!(io.handled_events("/lib"), ["from-lib"]);
    assert_eq!(io.handled_events("/"), ["renamed"]);
}
