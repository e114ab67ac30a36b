//! Handles to added services, and the dependencies between them.

use parking_lot::Mutex;
use std::borrow::Borrow;
use std::sync::Arc;

/// Which services each service waits for, by index in the order they were added.
#[derive(Debug, Default)]
pub(crate) struct DependencyGraph {
    depends_on: Vec<Vec<usize>>,
}

impl DependencyGraph {
    /// Registers a new service and returns its index.
    pub(crate) fn add_node(&mut self) -> usize {
        self.depends_on.push(vec![]);
        self.depends_on.len() - 1
    }

    /// The services `node` waits for.
    pub(crate) fn dependencies(&self, node: usize) -> &[usize] {
        self.depends_on.get(node).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `to` is reachable from `from` by following dependencies.
    fn reaches(&self, from: usize, to: usize) -> bool {
        let mut stack = vec![from];
        let mut seen = vec![false; self.depends_on.len()];
        while let Some(node) = stack.pop() {
            if node == to {
                return true;
            }
            if std::mem::replace(&mut seen[node], true) {
                continue;
            }
            stack.extend_from_slice(self.dependencies(node));
        }
        false
    }

    /// Adds `node → dependency` unless it would close a cycle; returns whether it was added.
    fn add_edge(&mut self, node: usize, dependency: usize) -> bool {
        if self.reaches(dependency, node) {
            return false;
        }
        if !self.depends_on[node].contains(&dependency) {
            self.depends_on[node].push(dependency);
        }
        true
    }
}

/// A service added to a [`Server`](crate::server::Server), used to declare what it waits for.
///
/// ```
/// use pingora_core::server::Server;
/// use pingora_core::services::background::{background_service, BackgroundService};
/// use pingora_core::server::ShutdownWatch;
/// use async_trait::async_trait;
///
/// struct Warmup;
/// #[async_trait]
/// impl BackgroundService for Warmup {
///     async fn start(&self, _shutdown: ShutdownWatch) {}
/// }
///
/// let mut server = Server::new(None).unwrap();
/// let cache = server.add_service(background_service("cache", Warmup));
/// let api = server.add_service(background_service("api", Warmup));
/// api.add_dependency(&cache); // api starts once cache is ready
/// assert_eq!(api.name(), "BG api");
/// ```
#[derive(Debug, Clone)]
pub struct ServiceHandle {
    pub(crate) id: usize,
    name: String,
    graph: Arc<Mutex<DependencyGraph>>,
}

impl ServiceHandle {
    pub(crate) fn new(id: usize, name: String, graph: Arc<Mutex<DependencyGraph>>) -> Self {
        ServiceHandle { id, name, graph }
    }

    /// The service's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts this service only after `dependency` is ready. A dependency that would form a
    /// cycle is logged and ignored.
    pub fn add_dependency(&self, dependency: impl Borrow<ServiceHandle>) {
        let dependency = dependency.borrow();
        if !Arc::ptr_eq(&self.graph, &dependency.graph) {
            log::error!(
                "service {} cannot depend on {}: they belong to different servers",
                self.name,
                dependency.name
            );
            return;
        }
        if !self.graph.lock().add_edge(self.id, dependency.id) {
            log::error!(
                "ignoring dependency of service {} on {}: it would form a cycle",
                self.name,
                dependency.name
            );
        }
    }

    /// [`add_dependency`](Self::add_dependency) for each of `dependencies`.
    pub fn add_dependencies<'a, D>(&self, dependencies: impl IntoIterator<Item = D>)
    where
        D: Borrow<ServiceHandle> + 'a,
    {
        for dependency in dependencies {
            self.add_dependency(dependency);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handles(n: usize) -> Vec<ServiceHandle> {
        let graph = Arc::new(Mutex::new(DependencyGraph::default()));
        (0..n)
            .map(|i| {
                let id = graph.lock().add_node();
                ServiceHandle::new(id, format!("s{i}"), graph.clone())
            })
            .collect()
    }

    #[test]
    fn dependencies_are_recorded() {
        let h = handles(3);
        h[2].add_dependencies([&h[0], &h[1]]);
        assert_eq!(h[2].graph.lock().dependencies(2), &[0, 1]);
    }

    #[test]
    fn a_cycle_is_ignored() {
        let h = handles(3);
        h[1].add_dependency(&h[0]);
        h[2].add_dependency(h[1].clone());
        h[0].add_dependency(&h[2]);
        h[0].add_dependency(&h[0]);
        let graph = h[0].graph.lock();
        assert!(graph.dependencies(0).is_empty());
        assert_eq!(graph.dependencies(2), &[1]);
    }
}
