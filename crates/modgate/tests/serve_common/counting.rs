//! A file source that counts its calls and takes a fixed delay over each: for the cache's
//! single-flight and prefetch tests.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use modgate::error::Error;
use modgate::source::file::FileSource;
use modgate::source::{Info, Source};

/// A file source that counts its calls and takes `delay` over each (so that concurrent
/// requests overlap).
pub struct Counting {
    inner: FileSource,
    delay: Duration,
    calls: Mutex<HashMap<String, usize>>,
}

impl Counting {
    pub fn new(root: &Path, delay: Duration) -> Arc<Counting> {
        Arc::new(Counting {
            inner: FileSource::new(root.to_path_buf()),
            delay,
            calls: Mutex::new(HashMap::new()),
        })
    }
    async fn count(&self, what: String) {
        *self.calls.lock().unwrap().entry(what).or_default() += 1;
        tokio::time::sleep(self.delay).await;
    }
    pub fn calls(&self) -> Vec<(String, usize)> {
        let mut v: Vec<_> = self.calls.lock().unwrap().clone().into_iter().collect();
        v.sort();
        v
    }
}

#[async_trait]
impl Source for Counting {
    fn describe(&self) -> String {
        "counting".into()
    }
    async fn list(&self, module: &str) -> Result<bytes::Bytes, Error> {
        self.count(format!("list {module}")).await;
        self.inner.list(module).await
    }
    async fn stat(&self, module: &str, query: &str) -> Result<Info, Error> {
        self.count(format!("stat {module}@{query}")).await;
        self.inner.stat(module, query).await
    }
    async fn latest(&self, module: &str) -> Result<Info, Error> {
        self.count(format!("latest {module}")).await;
        self.inner.latest(module).await
    }
    async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, Error> {
        self.count(format!("mod {module}@{version}")).await;
        self.inner.go_mod(module, version).await
    }
    async fn zip(&self, module: &str, version: &str, dest: &Path) -> Result<u64, Error> {
        self.count(format!("zip {module}@{version}")).await;
        self.inner.zip(module, version, dest).await
    }
}
