//! A source that can be replaced while serving (the chain rebuilt by a settings reload,
//! SIGHUP): each call takes the source current when it starts and keeps it to its end,
//! so a request under way finishes on the chain it began with.

use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;

use super::{Info, Source};
use crate::error::Error;

/// The current source.
pub struct Swappable {
    current: ArcSwap<Arc<dyn Source>>,
}

impl Swappable {
    /// Starts with `source`.
    pub fn new(source: Arc<dyn Source>) -> Swappable {
        Swappable {
            current: ArcSwap::from_pointee(source),
        }
    }

    /// Calls from now on go to `source`.
    pub fn set(&self, source: Arc<dyn Source>) {
        self.current.store(Arc::new(source));
    }

    fn now(&self) -> Arc<dyn Source> {
        Arc::clone(&self.current.load())
    }
}

#[async_trait]
impl Source for Swappable {
    fn describe(&self) -> String {
        self.now().describe()
    }
    fn upstreams(&self) -> Vec<super::UpstreamState> {
        self.now().upstreams()
    }
    fn fetches(&self) -> bool {
        self.now().fetches()
    }
    async fn list(&self, module: &str) -> Result<bytes::Bytes, Error> {
        self.now().list(module).await
    }
    async fn stat(&self, module: &str, query: &str) -> Result<Info, Error> {
        self.now().stat(module, query).await
    }
    async fn latest(&self, module: &str) -> Result<Info, Error> {
        self.now().latest(module).await
    }
    async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, Error> {
        self.now().go_mod(module, version).await
    }
    async fn zip(&self, module: &str, version: &str, dest: &Path) -> Result<u64, Error> {
        self.now().zip(module, version, dest).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::offline::Offline;

    struct Named(&'static str);

    #[async_trait]
    impl Source for Named {
        fn describe(&self) -> String {
            self.0.into()
        }
        async fn list(&self, _: &str) -> Result<bytes::Bytes, Error> {
            Ok(bytes::Bytes::from_static(self.0.as_bytes()))
        }
        async fn stat(&self, m: &str, q: &str) -> Result<Info, Error> {
            Offline.stat(m, q).await
        }
        async fn latest(&self, m: &str) -> Result<Info, Error> {
            Offline.latest(m).await
        }
        async fn go_mod(&self, m: &str, v: &str) -> Result<Vec<u8>, Error> {
            Offline.go_mod(m, v).await
        }
        async fn zip(&self, m: &str, v: &str, d: &Path) -> Result<u64, Error> {
            Offline.zip(m, v, d).await
        }
    }

    #[tokio::test]
    async fn calls_go_to_the_current_source() {
        let s = Swappable::new(Arc::new(Named("one")));
        assert_eq!(s.list("m").await.unwrap(), "one");
        s.set(Arc::new(Named("two")));
        assert_eq!(s.list("m").await.unwrap(), "two");
        assert_eq!(s.describe(), "two");
    }
}
