//! What the cache checks in the source's answers before it stores them.

use gomod::module;

use super::Inner;
use crate::error::Error;
use crate::source::Info;

/// Checks the `.info` answer for a canonical `query` before it is stored under that
/// name: proxy.go's rule, that a proxy asked for a correct, appropriate version (canonical
/// and valid for the module path) answers exactly that version. Asked `v2.0.0` of a path
/// without `/v2`, any version may come back (`v2.0.0+incompatible`, a pseudo-version).
pub(super) fn check_info(
    inner: &Inner,
    module: &str,
    query: &str,
    info: &Info,
) -> Result<(), Error> {
    if info.version != query && module::check(module, query).is_ok() {
        return Err(Error::failed(format!(
            "{}: {module}@{query}: invalid .info (the upstream returned version {} instead of the requested {query}); not stored",
            inner.source.describe(),
            info.version
        )));
    }
    Ok(())
}
