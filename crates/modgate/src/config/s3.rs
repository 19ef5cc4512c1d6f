//! The settings file's `[s3]` table: how `--storage s3://BUCKET/PREFIX` reaches its
//! storage, for what the standard AWS environment does not say (the environment wins
//! where both do, as for every other setting):
//!
//! ```toml
//! [s3]
//! endpoint = "http://minio.lan:9000"   # AWS_ENDPOINT_URL; default: AWS itself
//! region = "eu-west-1"                 # AWS_REGION; else the AWS config file's, else us-east-1
//! allow_http = true                    # AWS_ALLOW_HTTP: a plain-http endpoint
//! virtual_hosted_style = false         # AWS_VIRTUAL_HOSTED_STYLE_REQUEST; default: path-style
//! access_key_id = "AKIA..."            # AWS_ACCESS_KEY_ID; else the shared credentials file
//! secret_access_key_file = "/run/secrets/s3-secret"   # or secret_access_key = "..."
//! profile = "modgate"                  # AWS_PROFILE: the credentials file's section
//! redirect_zips = 300                  # seconds: answer zip downloads with a redirect to
//!                                      # a presigned URL valid this long; 0 (default): off
//! ```

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

pub use crate::storage::{S3Settings, Secret};

#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub(super) struct FileS3 {
    endpoint: Option<String>,
    region: Option<String>,
    allow_http: Option<bool>,
    virtual_hosted_style: Option<bool>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    secret_access_key_file: Option<PathBuf>,
    profile: Option<String>,
    redirect_zips: Option<super::FileDuration>,
    connect_timeout: Option<super::FileDuration>,
    read_timeout: Option<super::FileDuration>,
    timeout: Option<super::FileDuration>,
    retries: Option<usize>,
}

/// What is wrong with `[s3]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3Error {
    /// `endpoint` is not an http(s) URL.
    #[error("endpoint {endpoint:?}: want an http:// or https:// URL")]
    Endpoint {
        /// The endpoint given.
        endpoint: String,
    },
    /// Both `secret_access_key` and `secret_access_key_file`.
    #[error("want one of secret_access_key and secret_access_key_file, not both")]
    TwoSecrets,
    /// `access_key_id` without a secret, or a secret without it.
    #[error("access_key_id and a secret (secret_access_key or secret_access_key_file) go together")]
    HalfCredentials,
    /// `redirect_zips` longer than a presigned URL may live.
    #[error(
        "redirect_zips = {}: a presigned URL lives at most 604800 seconds (7 days, 168h)",
        super::file_duration::format(*redirect_zips)
    )]
    RedirectTooLong {
        /// The duration given.
        redirect_zips: Duration,
    },
    /// A timeout of 0.
    #[error("{key} = 0: want a duration over 0")]
    ZeroTimeout {
        /// The key: `connect_timeout`, `read_timeout` or `timeout`.
        key: &'static str,
    },
}

/// The longest a presigned URL lives (SigV4): 7 days.
const PRESIGNED_MAX: Duration = Duration::from_secs(7 * 24 * 3600);

/// Checks `[s3]`.
pub(super) fn s3_settings(f: FileS3) -> Result<S3Settings, S3Error> {
    if let Some(e) = &f.endpoint
        && !(e.starts_with("http://") || e.starts_with("https://"))
    {
        return Err(S3Error::Endpoint {
            endpoint: e.clone(),
        });
    }
    let secret = match (f.secret_access_key, f.secret_access_key_file) {
        (Some(_), Some(_)) => return Err(S3Error::TwoSecrets),
        (Some(v), None) => Some(Secret::Value(v)),
        (None, Some(p)) => Some(Secret::File(p)),
        (None, None) => None,
    };
    if secret.is_some() != f.access_key_id.is_some() {
        return Err(S3Error::HalfCredentials);
    }
    if let Some(d) = f.redirect_zips
        && d.0 > PRESIGNED_MAX
    {
        return Err(S3Error::RedirectTooLong { redirect_zips: d.0 });
    }
    let d = S3Settings::default();
    let nonzero = |v: Option<super::FileDuration>, key: &'static str, default: Duration| match v {
        Some(v) if v.0.is_zero() => Err(S3Error::ZeroTimeout { key }),
        Some(v) => Ok(v.0),
        None => Ok(default),
    };
    Ok(S3Settings {
        connect_timeout: nonzero(f.connect_timeout, "connect_timeout", d.connect_timeout)?,
        read_timeout: nonzero(f.read_timeout, "read_timeout", d.read_timeout)?,
        timeout: nonzero(f.timeout, "timeout", d.timeout)?,
        retries: f.retries.unwrap_or(d.retries),
        endpoint: f.endpoint,
        region: f.region,
        allow_http: f.allow_http,
        virtual_hosted_style: f.virtual_hosted_style,
        access_key_id: f.access_key_id,
        secret,
        profile: f.profile,
        redirect_zips: f.redirect_zips.map(|d| d.0).filter(|d| !d.is_zero()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{env_of, file};
    use crate::config::{ServeArgs, Settings};

    fn s3_of(text: &str) -> Result<S3Settings, String> {
        let (_d, p) = file(text);
        let args = ServeArgs {
            config: Some(p.clone()),
            ..Default::default()
        };
        Settings::resolve(&args, &env_of(&[]))
            .map(|s| s.s3)
            .map_err(|e| e.0.replace(&p.display().to_string(), "FILE"))
    }

    #[test]
    fn the_table() {
        assert_eq!(s3_of(""), Ok(S3Settings::default()));
        let got = s3_of(
            "[s3]\nendpoint = \"http://127.0.0.1:9000\"\nregion = \"eu-west-1\"\nallow_http = true\nvirtual_hosted_style = false\naccess_key_id = \"AK\"\nsecret_access_key_file = \"/run/s\"\nprofile = \"p\"\nredirect_zips = 300\nconnect_timeout = \"1s\"\nread_timeout = \"2s\"\ntimeout = \"1m\"\nretries = 0\n",
        );
        assert_eq!(
            got,
            Ok(S3Settings {
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: Some("eu-west-1".into()),
                allow_http: Some(true),
                virtual_hosted_style: Some(false),
                access_key_id: Some("AK".into()),
                secret: Some(Secret::File("/run/s".into())),
                profile: Some("p".into()),
                redirect_zips: Some(Duration::from_secs(300)),
                connect_timeout: Duration::from_secs(1),
                read_timeout: Duration::from_secs(2),
                timeout: Duration::from_secs(60),
                retries: 0,
            })
        );
        assert_eq!(
            s3_of("[s3]\ntimeout = 0\n"),
            Err("FILE: [s3]: timeout = 0: want a duration over 0".into())
        );
        // 0: off.
        assert_eq!(
            s3_of("[s3]\nredirect_zips = 0\n").map(|s| s.redirect_zips),
            Ok(None)
        );
        let shown = format!(
            "{:?}",
            s3_of("[s3]\naccess_key_id = \"AK\"\nsecret_access_key = \"hush\"\n")
        );
        assert!(!shown.contains("hush"), "{shown}");
    }

    #[test]
    fn mistakes() {
        for (text, want) in [
            ("[s3]\nendpont = \"x\"\n", "FILE:2: unknown field `endpont`"),
            (
                "[s3]\nendpoint = \"minio:9000\"\n",
                "FILE: [s3]: endpoint \"minio:9000\": want an http:// or https:// URL",
            ),
            (
                "[s3]\naccess_key_id = \"AK\"\n",
                "FILE: [s3]: access_key_id and a secret (secret_access_key or secret_access_key_file) go together",
            ),
            (
                "[s3]\naccess_key_id = \"AK\"\nsecret_access_key = \"s\"\nsecret_access_key_file = \"/f\"\n",
                "FILE: [s3]: want one of secret_access_key and secret_access_key_file, not both",
            ),
            (
                "[s3]\nredirect_zips = 999999\n",
                "FILE: [s3]: redirect_zips = 277h46m39s: a presigned URL lives at most 604800 seconds (7 days, 168h)",
            ),
        ] {
            let got = s3_of(text).unwrap_err();
            assert!(got.starts_with(want), "{text}\ngot:  {got}\nwant: {want}");
        }
    }
}
