//! The source of `--offline`: it asks no upstream and answers every question "not found",
//! saying why, so that what is stored is served and everything else gets a clear 404.

use std::path::Path;

use async_trait::async_trait;

use super::{Info, Source};
use crate::error::Error;

/// No upstream at all.
#[derive(Debug, Default)]
pub struct Offline;

fn not_stored(what: String) -> Error {
    Error::not_found(format!(
        "{what}: not stored here, and modgate serves --offline (it asks no upstream)"
    ))
}

#[async_trait]
impl Source for Offline {
    fn describe(&self) -> String {
        "offline".to_string()
    }

    fn fetches(&self) -> bool {
        false
    }

    async fn list(&self, module: &str) -> Result<bytes::Bytes, Error> {
        Err(not_stored(format!("{module}/@v/list")))
    }

    async fn stat(&self, module: &str, query: &str) -> Result<Info, Error> {
        Err(not_stored(format!("{module}@{query}")))
    }

    async fn latest(&self, module: &str) -> Result<Info, Error> {
        Err(not_stored(format!("{module}@latest")))
    }

    async fn go_mod(&self, module: &str, version: &str) -> Result<Vec<u8>, Error> {
        Err(not_stored(format!("{module}@{version}: go.mod")))
    }

    async fn zip(&self, module: &str, version: &str, _dest: &Path) -> Result<u64, Error> {
        Err(not_stored(format!("{module}@{version}: zip")))
    }
}
