//! The settings file's `[warm]` table: warm jobs and their callbacks.
//!
//! ```toml
//! [warm]
//! jobs = 2                  # warm jobs run at once by each replica
//! fetches = 8               # module versions a job fetches at once
//! lease = "30s"             # with --redis: a job whose replica gives no sign of life
//!                           # this long is taken over by another
//! callback_allow = ["https://ci.example.com/hooks/*"]   # where callbacks may go
//! secret_file = "/run/secrets/warm"   # or secret = "..." (MODGATE_WARM_SECRET): the
//!                                     # callbacks' HMAC-SHA256 key
//! callback_within = "10m"   # how long a callback is retried
//! bundles_keep = "168h"     # bundles made on request kept this long after they were
//!                           # made (a tagged one for good); 0: for good
//! ```

use std::path::PathBuf;

use serde::Deserialize;

pub use crate::fleet::WarmSettings;

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct FileWarm {
    jobs: Option<usize>,
    fetches: Option<usize>,
    lease: Option<super::FileDuration>,
    callback_allow: Option<Vec<String>>,
    secret: Option<String>,
    secret_file: Option<PathBuf>,
    callback_within: Option<super::FileDuration>,
    bundles_keep: Option<super::FileDuration>,
}

/// What is wrong with `[warm]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarmError {
    /// Both secrets.
    #[error("want one of secret and secret_file, not both")]
    TwoSecrets,
    /// The secret file cannot be read, or is empty.
    #[error("secret_file {}: {why}", file.display())]
    SecretFile {
        /// The file.
        file: PathBuf,
        /// Why.
        why: String,
    },
    /// Callbacks allowed without a secret to sign them.
    #[error(
        "callback_allow is set but there is no secret to sign the callbacks with: set secret_file (or MODGATE_WARM_SECRET)"
    )]
    NoSecret,
    /// A count of 0.
    #[error("{0} = 0: want 1 or more")]
    Zero(&'static str),
    /// A duration of 0.
    #[error("{0} = 0: want a duration over 0")]
    ZeroDuration(&'static str),
}

/// Checks `[warm]` (the secret file read).
pub(super) fn warm_settings(f: FileWarm) -> Result<WarmSettings, WarmError> {
    let d = WarmSettings::default();
    let secret = match (f.secret, f.secret_file) {
        (Some(_), Some(_)) => return Err(WarmError::TwoSecrets),
        (Some(v), None) => v.into_bytes(),
        (None, Some(p)) => {
            let text = std::fs::read_to_string(&p).map_err(|e| WarmError::SecretFile {
                file: p.clone(),
                why: e.to_string(),
            })?;
            if text.trim().is_empty() {
                return Err(WarmError::SecretFile {
                    file: p,
                    why: "it is empty".into(),
                });
            }
            text.trim().as_bytes().to_vec()
        }
        (None, None) => Vec::new(),
    };
    let callback_allow = f.callback_allow.unwrap_or_default();
    if !callback_allow.is_empty() && secret.is_empty() {
        return Err(WarmError::NoSecret);
    }
    let count = |v: Option<usize>, key, default| match v {
        Some(0) => Err(WarmError::Zero(key)),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    let duration = |v: Option<super::FileDuration>, key, default| match v {
        Some(v) if v.0.is_zero() => Err(WarmError::ZeroDuration(key)),
        Some(v) => Ok(v.0),
        None => Ok(default),
    };
    Ok(WarmSettings {
        jobs: count(f.jobs, "jobs", d.jobs)?,
        fetches: count(f.fetches, "fetches", d.fetches)?,
        lease: duration(f.lease, "lease", d.lease)?,
        callback_within: duration(f.callback_within, "callback_within", d.callback_within)?,
        callback_allow,
        secret,
        bundles_keep: match f.bundles_keep {
            Some(d) if d.0.is_zero() => None,
            Some(d) => Some(d.0),
            None => d.bundles_keep,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WarmSettings, WarmError> {
        warm_settings(toml::from_str(text).unwrap())
    }

    #[test]
    fn defaults_and_checks() {
        let d = parse("").unwrap();
        assert_eq!(d, WarmSettings::default());
        assert_eq!(d.lease, std::time::Duration::from_secs(30));
        assert_eq!(
            parse("callback_allow = [\"http://127.0.0.1:*/h\"]").unwrap_err(),
            WarmError::NoSecret
        );
        let s =
            parse("callback_allow = [\"http://127.0.0.1:*/h\"]\nsecret = \"k\"\nlease = \"5s\"")
                .unwrap();
        assert_eq!(s.secret, b"k");
        assert_eq!(s.lease, std::time::Duration::from_secs(5));
        assert_eq!(parse("jobs = 0").unwrap_err(), WarmError::Zero("jobs"));
        assert_eq!(parse("bundles_keep = 0").unwrap().bundles_keep, None);
        assert_eq!(
            parse("bundles_keep = \"1h\"").unwrap().bundles_keep,
            Some(std::time::Duration::from_secs(3600))
        );
        assert_eq!(
            d.bundles_keep,
            Some(std::time::Duration::from_secs(7 * 24 * 3600))
        );
        assert_eq!(
            parse("secret = \"a\"\nsecret_file = \"/x\"").unwrap_err(),
            WarmError::TwoSecrets
        );
        let missing = parse("secret_file = \"/nonexistent/warm\"").unwrap_err();
        assert!(matches!(missing, WarmError::SecretFile { .. }));
    }
}
