//! The one error type of the proxy's path (sources, git, upstream fetches, the cache,
//! the checksum database): a [`Kind`] that decides what happens next (a chain moves on,
//! the cache remembers a miss, the HTTP layer picks a status) and a message for people
//! that says what failed, where, and what to do. Code decides on the kind, never on the
//! message's text.

/// What kind of failure, as the go command's proxy protocol and our callers tell them
/// apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The module or version does not exist there (an upstream's 404 or 410, an unknown
    /// revision in git): the go command's `fs.ErrNotExist`. A `,` chain moves on; HTTP 404.
    NotFound,
    /// The request is invalid for this module (a version not valid for the path's major
    /// version, and the like): HTTP 404 with the message, as the go command expects.
    Invalid,
    /// Refused by policy (a private module asked of a public source): HTTP 404; a chain
    /// moves on as for `NotFound`.
    Refused,
    /// The source failed (refused connection, 5xx, garbage, a git error). A `,` chain
    /// stops; a `|` chain moves on. HTTP 502.
    Failed,
    /// No answer in time: connect, first byte, a stalled or overlong transfer, a git
    /// command over its bound. A failure like `Failed` for the chain rules; HTTP 504.
    Timeout,
    /// Our own failure (storage, a task): HTTP 500.
    Internal,
    /// The local disk (or the quota) is full: a local fault, not an upstream's. HTTP 507
    /// naming the directory and its free bytes; what is stored is still served.
    StorageFull,
}

/// Whether `e` says the disk (or the quota) is full.
pub fn is_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

/// An error: its kind and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: Kind,
    message: String,
}

impl Error {
    /// An error of `kind` saying `message`.
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// A [`Kind::NotFound`] error.
    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(Kind::NotFound, message)
    }

    /// A [`Kind::Invalid`] error.
    pub fn invalid(message: impl Into<String>) -> Error {
        Error::new(Kind::Invalid, message)
    }

    /// A [`Kind::Refused`] error.
    pub fn refused(message: impl Into<String>) -> Error {
        Error::new(Kind::Refused, message)
    }

    /// A [`Kind::Failed`] error.
    pub fn failed(message: impl Into<String>) -> Error {
        Error::new(Kind::Failed, message)
    }

    /// A [`Kind::Timeout`] error.
    pub fn timeout(message: impl Into<String>) -> Error {
        Error::new(Kind::Timeout, message)
    }

    /// A [`Kind::Internal`] error.
    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(Kind::Internal, message)
    }

    /// An error of writing `path` (the file being written, the directory being filled):
    /// [`Kind::StorageFull`] when its disk or quota is full, with the directory and its
    /// free bytes; else [`Kind::Internal`].
    pub fn storage(e: &std::io::Error, path: &std::path::Path) -> Error {
        if !is_full(e) {
            return Error::internal(e.to_string());
        }
        let mut dir = path.to_path_buf();
        while !dir.is_dir() && dir.pop() {}
        let free = crate::platform::disk::space(&dir)
            .map(|s| format!("{} bytes free", s.avail))
            .unwrap_or_else(|_| "free space unknown".into());
        Error::new(
            Kind::StorageFull,
            format!(
                "insufficient storage: {e} ({} has {free}); modgate still serves what it stored: free space there or move --data-dir to a larger disk",
                dir.display()
            ),
        )
    }

    /// Its kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Its message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Its kind and message, taken apart (for `let`/`match` on both).
    pub fn into_parts(self) -> (Kind, String) {
        (self.kind, self.message)
    }

    /// The same kind with the message `f` makes of this one.
    pub fn map_message(self, f: impl FnOnce(&str) -> String) -> Error {
        Error::new(self.kind, f(&self.message))
    }

    /// True where a `,` chain falls through to the next entry (the go command's
    /// `errors.Is(err, fs.ErrNotExist)`): not found, or refused by policy.
    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, Kind::NotFound | Kind::Refused)
    }

    /// True for an answer that says "no such thing here", which the cache remembers for
    /// the negative-cache lifetime: not found, invalid, refused.
    pub fn is_absent(&self) -> bool {
        matches!(self.kind, Kind::NotFound | Kind::Invalid | Kind::Refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_decides_and_the_message_is_kept() {
        let e = Error::refused("private");
        assert!(e.is_not_found() && e.is_absent());
        let e = Error::invalid("bad version");
        assert!(!e.is_not_found() && e.is_absent());
        for e in [
            Error::failed("x"),
            Error::timeout("x"),
            Error::internal("x"),
        ] {
            assert!(!e.is_not_found() && !e.is_absent(), "{e:?}");
        }
        let e = Error::timeout("git ls-remote").map_message(|m| format!("example.com/a: {m}"));
        assert_eq!(e.kind(), Kind::Timeout);
        assert_eq!(e.to_string(), "example.com/a: git ls-remote");
    }
}
