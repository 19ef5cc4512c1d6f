//! Routes by module path (`[[routes]]`): each module goes to the chain of the first route
//! whose pattern (GOPRIVATE syntax) matches it, else to the default chain
//! (`--upstream`).

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::chain::Chain;
use super::{Info, Source};
use crate::error::Error;

/// The chains of the routes, in order, and the default.
pub struct Routed {
    routes: Vec<(String, Arc<Chain>)>,
    default: Arc<Chain>,
}

impl Routed {
    /// `routes` (pattern, chain) before `default`.
    pub fn new(routes: Vec<(String, Arc<Chain>)>, default: Arc<Chain>) -> Routed {
        Routed { routes, default }
    }

    /// The chain that serves `module`.
    pub fn chain_for(&self, module: &str) -> &Arc<Chain> {
        self.routes
            .iter()
            .find(|(p, _)| gomod::module::match_prefix_patterns(p, module))
            .map_or(&self.default, |(_, c)| c)
    }
}

#[async_trait]
impl Source for Routed {
    fn upstreams(&self) -> Vec<super::UpstreamState> {
        super::distinct(
            self.routes
                .iter()
                .map(|(_, c)| c)
                .chain([&self.default])
                .flat_map(|c| c.upstreams()),
        )
    }

    fn describe(&self) -> String {
        let mut s = String::new();
        for (p, c) in &self.routes {
            s.push_str(&format!("{p} -> {}; ", c.describe()));
        }
        s.push_str(&format!("else {}", self.default.describe()));
        s
    }

    fn fetches(&self) -> bool {
        self.default.fetches() || self.routes.iter().any(|(_, c)| c.fetches())
    }
    async fn list(&self, module: &str) -> Result<bytes::Bytes, Error> {
        self.chain_for(module).list(module).await
    }
    async fn stat(&self, module: &str, query: &str) -> Result<Info, Error> {
        self.chain_for(module).stat(module, query).await
    }
    async fn latest(&self, module: &str) -> Result<Info, Error> {
        self.chain_for(module).latest(module).await
    }
    async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, Error> {
        self.chain_for(module).go_mod(module, version).await
    }
    async fn zip(&self, module: &str, version: &str, dest: &Path) -> Result<u64, Error> {
        self.chain_for(module).zip(module, version, dest).await
    }
}
