//! [`NamespaceTable`]: the server's namespaces, the declared ones and the ones created on
//! demand from patterns (python-socketio's `namespace='*'`, socket.io's `io.of(/regex/)`).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use super::namespace::{Namespace, NamespaceHandlers};
use super::server_core::ServerCore;
use super::socket::Socket;
use crate::adapter::AdapterFactory;
use crate::sync::Mutex;

/// A namespace pattern and the handlers of the namespaces it creates.
pub(crate) struct Pattern {
    /// `*` (any namespace) or `/prefix*` (any namespace starting with `/prefix`).
    pub(crate) pattern: String,
    pub(crate) handlers: Arc<dyn NamespaceHandlers>,
}

impl Pattern {
    /// How specifically the pattern matches `name`: the length of its literal prefix; `None`
    /// when it does not match.
    fn matches(&self, name: &str) -> Option<usize> {
        let prefix = self.pattern.strip_suffix('*')?;
        name.starts_with(prefix).then_some(prefix.len())
    }
}

/// The dynamic namespaces alive now, by name.
type Dynamic = Mutex<HashMap<String, Arc<Namespace>>>;

/// The server's namespaces.
pub(crate) struct NamespaceTable {
    fixed: HashMap<String, Arc<Namespace>>,
    patterns: Vec<Pattern>,
    dynamic: Arc<Dynamic>,
    adapter: AdapterFactory,
    core: Arc<ServerCore>,
}

impl NamespaceTable {
    pub(crate) fn new(
        fixed: HashMap<String, Arc<Namespace>>,
        patterns: Vec<Pattern>,
        adapter: AdapterFactory,
        core: Arc<ServerCore>,
    ) -> Self {
        NamespaceTable {
            fixed,
            patterns,
            dynamic: Arc::new(Mutex::new(HashMap::new())),
            adapter,
            core,
        }
    }

    /// The namespace `name`, declared or alive.
    pub(crate) fn get(&self, name: &str) -> Option<Arc<Namespace>> {
        self.fixed
            .get(name)
            .cloned()
            .or_else(|| self.dynamic.lock().get(name).cloned())
    }

    /// Every namespace alive now.
    pub(crate) fn all(&self) -> Vec<Arc<Namespace>> {
        let mut all: Vec<Arc<Namespace>> = self.fixed.values().cloned().collect();
        all.extend(self.dynamic.lock().values().cloned());
        all
    }

    /// The namespace a client asks to join, with the socket `enter` made a member of it: a
    /// declared one, or a dynamic one, created from the most specific matching pattern if need
    /// be. `None` when no namespace or pattern accepts the name, or when the limit of dynamic
    /// namespaces is reached.
    pub(crate) fn admit(
        &self,
        name: &str,
        enter: impl FnOnce(&Arc<Namespace>) -> Socket,
    ) -> Option<(Arc<Namespace>, Socket)> {
        if let Some(ns) = self.fixed.get(name) {
            let socket = enter(ns);
            return Some((ns.clone(), socket));
        }
        let pattern = self
            .patterns
            .iter()
            .filter_map(|p| Some((p.matches(name)?, p)))
            .max_by_key(|(specificity, _)| *specificity)?
            .1;
        // Admitting under the table's lock: an empty dynamic namespace is removed under the
        // same lock, so it cannot vanish between being found and getting its socket.
        let mut dynamic = self.dynamic.lock();
        let ns = match dynamic.get(name) {
            Some(ns) => ns.clone(),
            None => {
                let limit = self.core.config.max_dynamic_namespaces;
                if dynamic.len() >= limit {
                    tracing::warn!(namespace = name, limit, "dynamic namespace refused: the limit of live dynamic namespaces is reached (Builder::max_dynamic_namespaces)");
                    return None;
                }
                let ns = self.create(name, pattern);
                dynamic.insert(name.to_owned(), ns.clone());
                tracing::debug!(namespace = name, pattern = %pattern.pattern, "dynamic namespace created");
                ns
            }
        };
        let socket = enter(&ns);
        Some((ns, socket))
    }

    /// A dynamic namespace for `name`, removed from the table when its last socket leaves.
    fn create(&self, name: &str, pattern: &Pattern) -> Arc<Namespace> {
        let dynamic: Weak<Dynamic> = Arc::downgrade(&self.dynamic);
        let on_empty = Box::new(move |name: &str| {
            let Some(dynamic) = dynamic.upgrade() else {
                return;
            };
            let mut dynamic = dynamic.lock();
            if dynamic.get(name).is_some_and(|ns| ns.is_empty()) {
                dynamic.remove(name);
                tracing::debug!(
                    namespace = name,
                    "dynamic namespace removed: no socket left"
                );
            }
        });
        Namespace::new(
            name.to_owned(),
            pattern.handlers.clone(),
            (self.adapter)(name),
            self.core.clone(),
            Some(on_empty),
        )
    }
}
