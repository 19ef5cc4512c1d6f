//! The AWS shared files, read as the AWS CLI and SDKs read them, for what `object_store`
//! does not read: the credentials file (`AWS_SHARED_CREDENTIALS_FILE`, else
//! `~/.aws/credentials`; section `[NAME]`) and the config file (`AWS_CONFIG_FILE`, else
//! `~/.aws/config`; section `[profile NAME]`, or `[default]`) of a profile (`AWS_PROFILE`,
//! else the one given, else `default`). Only static keys and the region are taken; SSO,
//! `credential_process` and role chains are left to the environment.
//!
//! Written by hand: the INI subset is a few lines, and the crates that read these files
//! come with a whole AWS SDK.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A profile's static credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `aws_access_key_id`.
    pub key_id: String,
    /// `aws_secret_access_key`.
    pub secret: String,
    /// `aws_session_token`, if any.
    pub token: Option<String>,
    /// The file they came from, for messages.
    pub file: PathBuf,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("key_id", &self.key_id)
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

/// The sections of an INI text: name → keys → values (keys lower-cased; the last one
/// wins; `#` and `;` start comment lines).
fn sections(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            out.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        let (Some(section), Some((k, v))) = (&current, line.split_once('=')) else {
            continue;
        };
        out.entry(section.clone())
            .or_default()
            .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    out
}

/// The profile to read: `AWS_PROFILE`, else `given`, else `default`.
pub fn profile_name(env: &dyn Fn(&str) -> Option<String>, given: Option<&str>) -> String {
    env("AWS_PROFILE")
        .or_else(|| given.map(str::to_string))
        .unwrap_or_else(|| "default".to_string())
}

fn file_of(env: &dyn Fn(&str) -> Option<String>, var: &str, name: &str) -> Option<PathBuf> {
    env(var).map(PathBuf::from).or_else(|| {
        env(crate::platform::path::HOME_VAR).map(|h| Path::new(&h).join(".aws").join(name))
    })
}

/// A profile of the credentials file without static keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}: profile [{profile}] has no aws_access_key_id and aws_secret_access_key (modgate reads static keys only; give them there, in [s3] or in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
    file.display()
)]
pub struct IncompleteProfile {
    /// The credentials file.
    pub file: PathBuf,
    /// The profile.
    pub profile: String,
}

/// The static credentials of `profile` in the credentials file: `Ok(None)` when the file
/// or the profile is missing, an error when the profile is there but incomplete.
pub fn credentials(
    env: &dyn Fn(&str) -> Option<String>,
    profile: &str,
) -> Result<Option<Credentials>, IncompleteProfile> {
    let Some(file) = file_of(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials") else {
        return Ok(None);
    };
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Ok(None);
    };
    let all = sections(&text);
    let Some(s) = all.get(profile) else {
        return Ok(None);
    };
    match (s.get("aws_access_key_id"), s.get("aws_secret_access_key")) {
        (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Ok(Some(Credentials {
            key_id: id.clone(),
            secret: secret.clone(),
            token: s
                .get("aws_session_token")
                .filter(|t| !t.is_empty())
                .cloned(),
            file,
        })),
        _ => Err(IncompleteProfile {
            file,
            profile: profile.to_string(),
        }),
    }
}

/// The region of `profile` in the config file, if it names one.
pub fn region(env: &dyn Fn(&str) -> Option<String>, profile: &str) -> Option<String> {
    let file = file_of(env, "AWS_CONFIG_FILE", "config")?;
    let text = std::fs::read_to_string(file).ok()?;
    let all = sections(&text);
    let name = if profile == "default" {
        "default".to_string()
    } else {
        format!("profile {profile}")
    };
    all.get(&name)?
        .get("region")
        .filter(|r| !r.is_empty())
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with(pairs: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn credentials_and_region_of_a_profile() {
        let d = tempfile::tempdir().unwrap();
        let aws = d.path().join(".aws");
        std::fs::create_dir(&aws).unwrap();
        std::fs::write(
            aws.join("credentials"),
            "# comment\n[default]\naws_access_key_id = AKDEF\naws_secret_access_key = sdef\n\n[  ci  ]\nAWS_ACCESS_KEY_ID=AKCI\naws_secret_access_key= sci \naws_session_token = tok\n[broken]\naws_access_key_id = AKB\n",
        )
        .unwrap();
        std::fs::write(
            aws.join("config"),
            "[default]\nregion = us-west-2\n[profile ci]\nregion=eu-central-1\n",
        )
        .unwrap();
        let home = d.path().display().to_string();
        let env = env_with(vec![("HOME", home.clone())]);
        let c = credentials(&env, "default").unwrap().unwrap();
        assert_eq!(
            (c.key_id.as_str(), c.secret.as_str(), c.token),
            ("AKDEF", "sdef", None)
        );
        let c = credentials(&env, "ci").unwrap().unwrap();
        assert_eq!(
            (c.key_id.as_str(), c.secret.as_str(), c.token.as_deref()),
            ("AKCI", "sci", Some("tok"))
        );
        assert_eq!(credentials(&env, "nope"), Ok(None));
        assert_eq!(
            credentials(&env, "broken").unwrap_err().to_string(),
            format!(
                "{}: profile [broken] has no aws_access_key_id and aws_secret_access_key (modgate reads static keys only; give them there, in [s3] or in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                aws.join("credentials").display()
            )
        );
        assert_eq!(region(&env, "default").as_deref(), Some("us-west-2"));
        assert_eq!(region(&env, "ci").as_deref(), Some("eu-central-1"));
        assert_eq!(region(&env, "nope"), None);
        // AWS_PROFILE over the given name; the files' variables over HOME.
        let env = env_with(vec![
            ("HOME", "/nowhere".into()),
            ("AWS_PROFILE", "ci".into()),
            (
                "AWS_SHARED_CREDENTIALS_FILE",
                aws.join("credentials").display().to_string(),
            ),
        ]);
        assert_eq!(profile_name(&env, Some("other")), "ci");
        assert_eq!(
            credentials(&env, &profile_name(&env, None))
                .unwrap()
                .unwrap()
                .key_id,
            "AKCI"
        );
        assert_eq!(profile_name(&env_with(vec![]), Some("x")), "x");
        assert_eq!(profile_name(&env_with(vec![]), None), "default");
        // No file: nothing.
        assert_eq!(credentials(&env_with(vec![]), "default"), Ok(None));
    }
}
