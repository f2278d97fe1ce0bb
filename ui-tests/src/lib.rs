//! A library crate whose handlers a binary finds through the registry, as long as the binary
//! links it (`use ui_tests as _;`): the trybuild pass case `cross_crate.rs` proves it.

use socketio::{on, Data};

/// Lives in a library; registered by the attribute alone.
#[on("from-lib", namespace = "/lib")]
pub async fn from_lib(Data(text): Data<String>) -> String {
    text.to_uppercase()
}
