//! What the code `#[namespace]` generates calls, beside the registry's `__private`.

use super::Builder;
use crate::registry::{Handler, Role};

/// Installs a method of a class-based namespace, erased by the registry's erasure.
pub fn install(
    builder: Builder,
    namespace: &str,
    role: Role<'_>,
    handler: Handler,
    origin: &str,
) -> Builder {
    builder.install_erased(namespace, role, handler.0, origin)
}
