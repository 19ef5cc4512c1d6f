//! Tags and commits -> module versions, as the go command's modfetch/coderepo.go does: the
//! module at the repository root or in a subdirectory (tags `sub/v1.2.3`), `/vN` major
//! suffixes (as a subdirectory `vN/` or in the module root), `+incompatible`,
//! pseudo-versions from the nearest ancestor tag, and the go.mod of each version.

use std::collections::HashMap;
use std::sync::Arc;

use gomod::module;
use gomod::pseudo::{self, Timestamp};
use gomod::semver;

use super::origin::{self, Origin};
use super::repo::{GitRepo, RevInfo};
use crate::error::Error;
use crate::error::Kind;
use crate::source::retract::{self, Retractions};

/// The version and commit a query resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The canonical module version.
    pub version: String,
    /// The commit hash.
    pub hash: String,
    /// The commit time, Unix seconds.
    pub time: i64,
    /// Where it came from, as the go command records it (VCS and URL are the source's).
    pub origin: Origin,
}

/// The largest go.mod read from a repository.
const MAX_GO_MOD: u64 = gomod::zip::MAX_GO_MOD;

/// One module in one repository (the go command's `codeRepo`).
pub struct CodeRepo {
    /// The module path.
    pub mod_path: String,
    /// The repository.
    pub repo: Arc<GitRepo>,
    /// The import path of the repository root.
    pub code_root: String,
    /// The module's directory in the repository ("" for the root).
    pub code_dir: String,
    /// The module path without its major version suffix.
    pub path_prefix: String,
    /// The major version suffix (`/v2`, `.v2` or "").
    pub path_major: String,
    /// The major version for pseudo-versions (`v2` or "").
    pub pseudo_major: String,
}

fn has_path_prefix(s: &str, prefix: &str) -> bool {
    s == prefix
        || (s.len() > prefix.len()
            && s.starts_with(prefix)
            && (prefix.ends_with('/') || s.as_bytes()[prefix.len()] == b'/'))
}

fn path_join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}/{b}")
    }
}

/// Go's `isMajor`.
fn is_major(mpath: &str, path_major: &str) -> bool {
    if mpath.is_empty() {
        return false;
    }
    let Some((_, mpath_major)) = module::split_path_version(mpath) else {
        return false;
    };
    if path_major.is_empty() {
        return matches!(
            module::path_major_prefix(&mpath_major).as_str(),
            "" | "v0" | "v1"
        );
    }
    if mpath_major.is_empty() {
        return false;
    }
    path_major[1..] == mpath_major[1..]
}

impl CodeRepo {
    /// The module `path` in the repository rooted at import path `code_root`.
    pub fn new(repo: Arc<GitRepo>, code_root: &str, path: &str) -> Result<CodeRepo, Error> {
        if !has_path_prefix(path, code_root) {
            return Err(Error::not_found(format!(
                "mismatched repo: found {code_root} for {path}"
            )));
        }
        let Some((mut path_prefix, path_major)) = module::split_path_version(path) else {
            return Err(Error::invalid(format!("invalid module path {path:?}")));
        };
        if code_root == path {
            path_prefix = path.to_string();
        }
        let pseudo_major = module::path_major_prefix(&path_major);
        let mut code_dir = String::new();
        if code_root != path {
            if !has_path_prefix(&path_prefix, code_root) {
                return Err(Error::not_found(format!(
                    "repository rooted at {code_root} cannot contain module {path}"
                )));
            }
            code_dir = path_prefix[code_root.len()..].trim_matches('/').to_string();
        }
        Ok(CodeRepo {
            mod_path: path.to_string(),
            repo,
            code_root: code_root.to_string(),
            code_dir,
            path_prefix,
            path_major,
            pseudo_major,
        })
    }

    fn tag_prefix(&self) -> String {
        if self.code_dir.is_empty() {
            String::new()
        } else {
            format!("{}/", self.code_dir)
        }
    }

    fn invalid_version(&self, v: &str, msg: impl std::fmt::Display) -> String {
        format!("{}@{v}: invalid version: {msg}", self.mod_path)
    }

    /// A file at a revision: `Ok(None)` when the revision has no such file.
    async fn read_file(&self, rev: &str, file: &str) -> Result<Option<Vec<u8>>, Error> {
        let info = self.repo.stat(rev).await?;
        self.repo.read_file(&info.name, file, MAX_GO_MOD).await
    }

    /// The tagged versions (`@v/list`), sorted.
    pub async fn versions(&self) -> Result<Vec<String>, Error> {
        if self.mod_path.starts_with("gopkg.in/") && self.mod_path.ends_with("-unstable") {
            return Ok(Vec::new());
        }
        let p = self.tag_prefix();
        let tags = self.repo.tags(&p).await?;
        let mut list = Vec::new();
        let mut incompatible = Vec::new();
        for (name, _) in tags {
            let v = &name[p.len()..];
            if v.is_empty() || v != semver::canonical(v) || pseudo::is_pseudo_version(v) {
                continue;
            }
            if module::check_path_major(v, &self.path_major).is_err() {
                if self.code_dir.is_empty()
                    && self.path_major.is_empty()
                    && semver::compare(&semver::major(v), "v1") == std::cmp::Ordering::Greater
                {
                    incompatible.push(v.to_string());
                }
                continue;
            }
            list.push(v.to_string());
        }
        semver::sort(&mut list);
        semver::sort(&mut incompatible);
        if incompatible.is_empty() || !self.path_major.is_empty() {
            return Ok(list);
        }
        let has_go_mod = async |v: &str| -> Result<bool, Error> {
            match self.read_file(v, "go.mod").await {
                Ok(Some(_)) => Ok(true),
                Ok(None) => Ok(false),
                Err(e) if e.kind() == Kind::NotFound => Ok(false),
                Err(e) => Err(e),
            }
        };
        if let Some(last) = list.last()
            && has_go_mod(last).await?
        {
            return Ok(list);
        }
        let mut last_major = String::new();
        let mut last_major_has_go_mod = false;
        for (i, v) in incompatible.iter().enumerate() {
            let major = semver::major(v);
            if major != last_major {
                let rem = &incompatible[i..];
                let j = rem
                    .iter()
                    .position(|x| semver::major(x) != major)
                    .unwrap_or(rem.len());
                let latest_at_major = &rem[j - 1];
                last_major = major;
                last_major_has_go_mod = has_go_mod(latest_at_major).await?;
            }
            if last_major_has_go_mod {
                continue;
            }
            list.push(format!("{v}+incompatible"));
        }
        Ok(list)
    }

    fn rev_to_rev(&self, rev: &str) -> String {
        if semver::is_valid(rev) {
            if pseudo::is_pseudo_version(rev) {
                return pseudo::pseudo_version_rev(rev).unwrap_or_default();
            }
            let rev = if semver::build(rev) == "+incompatible" {
                &rev[..rev.len() - "+incompatible".len()]
            } else {
                rev
            };
            return path_join(&self.code_dir, rev);
        }
        rev.to_string()
    }

    /// Resolves a query (`@v/<query>.info`).
    pub async fn stat(&self, rev: &str) -> Result<Resolved, Error> {
        if rev == "latest" {
            return self.head_latest().await;
        }
        let code_rev = self.rev_to_rev(rev);
        let info = self
            .repo
            .stat(&code_rev)
            .await
            .map_err(|e| e.map_message(|m| self.invalid_version(rev, m)))?;
        let r = Box::pin(self.convert(&info, rev)).await?;
        let refs = self.repo.refs().await?;
        Ok(self.with_origin(r, origin::stat_ref(&code_rev, &refs)))
    }

    /// `r` with its Origin as the go command's direct fetch records it (coderepo.go's
    /// `convert`, then cache.go's `writeDiskStat`): the commit, the module's directory,
    /// and the ref it was found through unless it is a pseudo-version.
    fn with_origin(&self, mut r: Resolved, found_through: String) -> Resolved {
        r.origin = Origin {
            subdir: self.code_dir.clone(),
            hash: r.hash.clone(),
            r#ref: match pseudo::is_pseudo_version(&r.version) {
                true => String::new(),
                false => found_through,
            },
            ..Origin::default()
        };
        r
    }

    /// The HEAD commit as a version (the go command's `codeRepo.Latest`).
    pub async fn head_latest(&self) -> Result<Resolved, Error> {
        let refs = self.repo.refs().await?;
        let Some(head) = refs.get("HEAD").cloned() else {
            return Err(Error::not_found(format!(
                "{}: no commits in {}",
                self.mod_path,
                self.repo.url()
            )));
        };
        let info = self.repo.stat(&head).await?;
        let r = Box::pin(self.convert(&info, "")).await?;
        Ok(self.with_origin(r, "HEAD".into()))
    }

    async fn can_use_incompatible(
        &self,
        memo: &mut HashMap<String, bool>,
        info: &RevInfo,
        v: &str,
        stat_vers: &str,
    ) -> bool {
        if !self.code_dir.is_empty() || !self.path_major.is_empty() {
            return false;
        }
        let ok = match memo.get("") {
            Some(ok) => *ok,
            None => {
                let ok = !matches!(
                    self.repo.read_file(&info.name, "go.mod", MAX_GO_MOD).await,
                    Ok(Some(_))
                );
                memo.insert(String::new(), ok);
                ok
            }
        };
        if !ok {
            return false;
        }
        if !v.is_empty() && !stat_vers.ends_with("+incompatible") {
            let major = semver::major(v);
            let ok = match memo.get(&major) {
                Some(ok) => *ok,
                None => {
                    let ok = !matches!(
                        self.repo
                            .read_file(&info.name, &format!("{major}/go.mod"), MAX_GO_MOD)
                            .await,
                        Ok(Some(_))
                    );
                    memo.insert(major, ok);
                    ok
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }

    async fn check_canonical(
        &self,
        memo: &mut HashMap<String, bool>,
        info: &RevInfo,
        v: &str,
        stat_vers: &str,
    ) -> Result<Resolved, Error> {
        if let Err(e) = Box::pin(self.find_dir(v)).await {
            return Err(Error::not_found(self.invalid_version(v, e.message())));
        }
        let mut v = v.to_string();
        if v == stat_vers.strip_suffix("+incompatible").unwrap_or(stat_vers) {
            v = stat_vers.to_string();
        }
        let base = v.strip_suffix("+incompatible").unwrap_or(&v).to_string();
        let mut err_incompatible = None;
        if !module::match_path_major(&base, &self.path_major) {
            if self
                .can_use_incompatible(memo, info, &base, stat_vers)
                .await
            {
                v = format!("{base}+incompatible");
            } else if !self.path_major.is_empty() {
                err_incompatible = Some(self.invalid_version(
                    &v,
                    "module path includes a major version suffix, so major version must match",
                ));
            } else {
                err_incompatible = Some(self.invalid_version(
                    &v,
                    format!(
                        "module contains a go.mod file, so module path must match major version (\"{}/{}\")",
                        self.path_prefix,
                        semver::major(&v)
                    ),
                ));
            }
        } else if v.ends_with("+incompatible") {
            err_incompatible = Some(self.invalid_version(
                &v,
                format!(
                    "+incompatible suffix not allowed: major version {} is compatible",
                    semver::major(&v)
                ),
            ));
        }
        if !stat_vers.is_empty() && stat_vers == module::canonical_version(stat_vers) {
            let stat_base = stat_vers.strip_suffix("+incompatible").unwrap_or(stat_vers);
            if stat_base != base {
                return Err(Error::not_found(self.invalid_version(
                    stat_vers,
                    format!("resolves to version {v} ({stat_base} is not a tag)"),
                )));
            }
        }
        if let Some(e) = err_incompatible {
            return Err(Error::invalid(e));
        }
        Ok(Resolved {
            version: v,
            hash: info.name.clone(),
            time: info.time,
            origin: Origin::default(),
        })
    }

    /// `tagToVersion`: the canonical version of a tag, and whether the tag is canonical.
    fn tag_to_version(&self, tag: &str) -> (String, bool) {
        let prefix = self.tag_prefix();
        let Some(trimmed) = tag.strip_prefix(&prefix) else {
            return (String::new(), false);
        };
        if pseudo::is_pseudo_version(tag) {
            return (String::new(), false);
        }
        let v = semver::canonical(trimmed);
        if v.is_empty() || !trimmed.starts_with(&v) {
            return (String::new(), false);
        }
        let canonical = v == trimmed;
        (v, canonical)
    }

    async fn convert(&self, info: &RevInfo, stat_vers: &str) -> Result<Resolved, Error> {
        let mut memo = HashMap::new();
        if pseudo::is_pseudo_version(stat_vers) {
            let r = self
                .check_canonical(&mut memo, info, stat_vers, stat_vers)
                .await?;
            self.validate_pseudo_version(info, stat_vers)
                .await
                .map_err(|e| e.into_error(&self.mod_path, stat_vers))?;
            return Ok(r);
        }
        let (v, canonical) = self.tag_to_version(&info.version);
        if canonical && let Ok(r) = self.check_canonical(&mut memo, info, &v, stat_vers).await {
            return Ok(r);
        }
        // Read only now: a canonical tag (the common case) needs no retractions.
        let retracted = self.retracted().await;
        let is_retracted = |v: &str| retracted.covers(v);
        let mut highest = String::new();
        let mut pseudo_base = String::new();
        for tag in &info.tags {
            let (v, canonical) = self.tag_to_version(tag);
            if !stat_vers.is_empty() && semver::compare(&v, stat_vers) == std::cmp::Ordering::Equal
            {
                if canonical {
                    return self.check_canonical(&mut memo, info, &v, stat_vers).await;
                }
                pseudo_base = v.clone();
            }
            if canonical
                && semver::compare(&highest, &v) == std::cmp::Ordering::Less
                && !is_retracted(&v)
                && (module::match_path_major(&v, &self.path_major)
                    || self
                        .can_use_incompatible(&mut memo, info, &v, stat_vers)
                        .await)
            {
                highest = v;
            }
        }
        if !highest.is_empty() {
            return self
                .check_canonical(&mut memo, info, &highest, stat_vers)
                .await;
        }
        if pseudo_base.is_empty() {
            // tagAllowed needs can_use_incompatible, which is async: precompute it for
            // every major version among the merged tags.
            let prefix = self.tag_prefix();
            let all_tags = self.repo.tags(&prefix).await?;
            let mut allowed_majors: HashMap<String, bool> = HashMap::new();
            for (t, _) in &all_tags {
                let (v, _) = self.tag_to_version(t);
                if v.is_empty() {
                    continue;
                }
                let major = semver::major(&v);
                if let std::collections::hash_map::Entry::Vacant(slot) = allowed_majors.entry(major)
                {
                    let ok = self
                        .can_use_incompatible(&mut memo, info, &v, stat_vers)
                        .await;
                    slot.insert(ok);
                }
            }
            let tag = self
                .repo
                .recent_tag(&info.name, &prefix, |tag| {
                    let (v, _) = self.tag_to_version(tag);
                    if v.is_empty() {
                        return false;
                    }
                    if !module::match_path_major(&v, &self.path_major)
                        && !allowed_majors
                            .get(&semver::major(&v))
                            .copied()
                            .unwrap_or(false)
                    {
                        return false;
                    }
                    !is_retracted(&v)
                })
                .await?;
            if !tag.is_empty() {
                pseudo_base = self.tag_to_version(&tag).0;
            }
        }
        let pv = pseudo::pseudo_version(
            &self.pseudo_major,
            &pseudo_base,
            Timestamp::from_unix(info.time),
            &info.short,
        );
        self.check_canonical(&mut memo, info, &pv, stat_vers).await
    }

    async fn validate_pseudo_version(
        &self,
        info: &RevInfo,
        version: &str,
    ) -> Result<(), PseudoError> {
        let invalid = PseudoError::Invalid;
        let rev = pseudo::pseudo_version_rev(version).map_err(|e| invalid(e.to_string()))?;
        if rev != info.short {
            return Err(invalid(if rev.starts_with(&info.short) {
                format!(
                    "revision is longer than canonical (expected {})",
                    info.short
                )
            } else if info.short.starts_with(&rev) {
                format!(
                    "revision is shorter than canonical (expected {})",
                    info.short
                )
            } else {
                format!(
                    "does not match short name of revision (expected {})",
                    info.short
                )
            }));
        }
        let t = pseudo::pseudo_version_time(version).map_err(|e| invalid(e.to_string()))?;
        if t.unix != info.time {
            return Err(invalid(format!(
                "does not match version-control timestamp (expected {})",
                Timestamp::from_unix(info.time).format_pseudo()
            )));
        }
        let tag_prefix = self.tag_prefix();
        let base =
            pseudo::pseudo_version_base(version.strip_suffix("+incompatible").unwrap_or(version))
                .map_err(|e| invalid(e.to_string()))?;
        if base.is_empty() {
            if self.pseudo_major.is_empty() && semver::major(version) == "v1" {
                return Err(invalid(
                    "major version without preceding tag must be v0, not v1".into(),
                ));
            }
            return Ok(());
        }
        for tag in &info.tags {
            if tag.strip_prefix(&tag_prefix).unwrap_or(tag) == base {
                return Err(invalid(format!(
                    "tag ({tag}) found on revision {rev} is already canonical, so should not be replaced with a pseudo-version derived from that tag"
                )));
            }
        }
        let tags = self
            .repo
            .tags(&format!("{tag_prefix}{base}"))
            .await
            .map_err(PseudoError::Git)?;
        let mut last_tag = String::new();
        let mut found = false;
        for (name, _) in &tags {
            let version_only = name.strip_prefix(&tag_prefix).unwrap_or(name);
            if semver::compare(version_only, &base) == std::cmp::Ordering::Equal {
                last_tag = name.clone();
                found = self
                    .repo
                    .descends_from(&info.name, name)
                    .await
                    .map_err(PseudoError::Git)?;
                if found {
                    break;
                }
            }
        }
        if last_tag.is_empty() {
            return Err(invalid(format!("preceding tag ({base}) not found")));
        }
        if !found {
            return Err(invalid(format!(
                "revision {rev} is not a descendent of preceding tag ({last_tag})"
            )));
        }
        Ok(())
    }

    /// `findDir`: the revision, module directory and go.mod (when read) of `version`. Its
    /// errors do not name the module and version; the caller prefixes them.
    pub async fn find_dir(
        &self,
        version: &str,
    ) -> Result<(String, String, Option<Vec<u8>>), Error> {
        if !semver::is_valid(version) {
            // Without the `module@version: ` prefix, as every error of this function.
            return Err(Error::invalid("invalid version: syntax error"));
        }
        let rev = self.rev_to_rev(version);
        let file1 = path_join(&self.code_dir, "go.mod");
        let (gomod1, mpath1) = self.read_go_mod(&rev, &file1).await?;
        let found1 = gomod1.is_some()
            && (is_major(&mpath1, &self.path_major)
                || (self.path_major.is_empty() && mpath1.starts_with("gopkg.in/")));
        let mut file2 = String::new();
        if !self.path_major.is_empty()
            && self.code_root != self.mod_path
            && !self.path_major.starts_with('.')
        {
            let dir2 = path_join(&self.code_dir, &self.path_major[1..]);
            file2 = path_join(&dir2, "go.mod");
            let (gomod2, mpath2) = self.read_go_mod(&rev, &file2).await?;
            let found2 = gomod2.is_some() && is_major(&mpath2, &self.path_major);
            if found1 && found2 {
                return Err(Error::failed(format!(
                    "{}/{file1} and ...{}/go.mod both have ...{} module paths at revision {rev}",
                    self.path_prefix, self.path_major, self.path_major
                )));
            }
            if found2 {
                return Ok((rev, dir2, gomod2));
            }
            if gomod2.is_some() {
                if mpath2.is_empty() {
                    return Err(Error::failed(format!(
                        "{}/{file2} is missing module path at revision {rev}",
                        self.code_root
                    )));
                }
                return Err(Error::failed(format!(
                    "{}/{file2} has non-...{} module path \"{mpath2}\" at revision {rev}",
                    self.code_root, self.path_major
                )));
            }
        }
        if found1 {
            return Ok((rev, self.code_dir.clone(), gomod1));
        }
        if gomod1.is_some() {
            let suffix = if file2.is_empty() {
                String::new()
            } else {
                format!(" (and ...{}/go.mod does not exist)", self.path_major)
            };
            let at = format!("{suffix} at revision {rev}");
            return Err(self.wrong_module_path(&file1, &mpath1, &at, version));
        }
        if self.code_dir.is_empty()
            && (self.path_major.is_empty() || self.path_major.starts_with('.'))
        {
            return Ok((rev, String::new(), None));
        }
        if !file2.is_empty() {
            return Err(Error::failed(format!(
                "missing {}/go.mod and ...{}/go.mod at revision {rev}",
                self.path_prefix, self.path_major
            )));
        }
        Err(Error::failed(format!(
            "missing {}/go.mod at revision {rev}",
            self.path_prefix
        )))
    }

    /// The go.mod `file` at `rev`, if there is one, and its module path (empty when none).
    async fn read_go_mod(&self, rev: &str, file: &str) -> Result<(Option<Vec<u8>>, String), Error> {
        let data = self.read_file(rev, file).await.map_err(|e| {
            e.map_message(|m| format!("reading {}/{file} at revision {rev}: {m}", self.code_root))
        })?;
        let path = data
            .as_deref()
            .map(gomod::modfile::module_path)
            .unwrap_or_default();
        Ok((data, path))
    }

    /// Why the go.mod `file`, whose module path is `mpath`, is not this module's at
    /// `version` (`at` ends the message: where it was read).
    fn wrong_module_path(&self, file: &str, mpath: &str, at: &str, version: &str) -> Error {
        Error::failed(if mpath.is_empty() {
            format!("{file} is missing module path{at}")
        } else if !self.path_major.is_empty() {
            format!(
                "{file} has non-...{} module path \"{mpath}\"{at}",
                self.path_major
            )
        } else if module::split_path_version(mpath).is_none() {
            format!("{file} has malformed module path \"{mpath}\"{at}")
        } else {
            format!(
                "{file} has post-{} module path \"{mpath}\"{at}",
                semver::major(version)
            )
        })
    }

    fn check_canonical_arg(&self, version: &str) -> Result<(), Error> {
        if version != module::canonical_version(version) {
            return Err(Error::invalid(format!(
                "version {version} is not canonical"
            )));
        }
        Ok(())
    }

    /// The go.mod of `version` (canonical).
    pub async fn go_mod(&self, version: &str) -> Result<Vec<u8>, Error> {
        self.check_canonical_arg(version)?;
        if pseudo::is_pseudo_version(version) {
            self.stat(version).await?;
        }
        let (rev, dir, gomod) = self
            .find_dir(version)
            .await
            .map_err(|e| self.wrap(version, e))?;
        if let Some(g) = gomod {
            return Ok(g);
        }
        match self.read_file(&rev, &path_join(&dir, "go.mod")).await {
            Ok(Some(g)) => Ok(g),
            Ok(None) => Ok(gomod::modfile::legacy_go_mod(&self.mod_path)),
            Err(e) => Err(e),
        }
    }

    /// `find_dir`'s error, prefixed with `module@version: ` as the go command says it.
    fn wrap(&self, version: &str, e: Error) -> Error {
        e.map_message(|m| format!("{}@{version}: {m}", self.mod_path))
    }

    /// Resolves `version` (canonical) for a zip: (commit hash, module directory).
    pub async fn zip_source(&self, version: &str) -> Result<(String, String), Error> {
        self.check_canonical_arg(version)?;
        if pseudo::is_pseudo_version(version) {
            self.stat(version).await?;
        }
        let (rev, dir, _) = self
            .find_dir(version)
            .await
            .map_err(|e| self.wrap(version, e))?;
        let info = self.repo.stat(&rev).await?;
        Ok((info.name, dir))
    }

    /// The retractions declared by the go.mod of the highest tagged version.
    async fn retracted(&self) -> Retractions {
        let Ok(versions) = Box::pin(self.versions()).await else {
            return Retractions::default();
        };
        let Some(highest) = retract::authority(&versions) else {
            return Retractions::default();
        };
        match Box::pin(self.go_mod(highest)).await {
            Ok(data) => Retractions::of_go_mod(&data),
            Err(_) => Retractions::default(),
        }
    }

    /// The highest allowed tagged version starting with `prefix` (release, else
    /// prerelease), as the go command's `queryProxy` picks it: retracted versions are left
    /// out, and `+incompatible` ones too once a compatible version has a go.mod (unless
    /// `need_incompatible`).
    async fn pick(
        &self,
        prefix: &str,
        need_incompatible: bool,
        matches: impl Fn(&str) -> bool,
    ) -> Result<Option<String>, Error> {
        let versions = self.versions().await?;
        let retracted = self.retracted().await;
        let mut releases = Vec::new();
        let mut prereleases = Vec::new();
        let mut last_compatible = String::new();
        for v in &versions {
            if !v.starts_with(prefix) || !matches(v) {
                continue;
            }
            if retracted.covers(v) {
                continue;
            }
            if !need_incompatible {
                if !v.ends_with("+incompatible") {
                    last_compatible = v.clone();
                } else if !last_compatible.is_empty() {
                    let has = match self.find_dir(&last_compatible).await {
                        Ok((rev, dir, g)) => {
                            g.is_some()
                                || matches!(
                                    self.read_file(&rev, &path_join(&dir, "go.mod")).await,
                                    Ok(Some(_))
                                )
                        }
                        Err(_) => false,
                    };
                    if has {
                        break;
                    }
                }
            }
            if semver::prerelease(v).is_empty() {
                releases.push(v.clone());
            } else {
                prereleases.push(v.clone());
            }
        }
        Ok(releases.last().or(prereleases.last()).cloned())
    }

    /// The version `module@latest` means to the go command: the highest non-retracted
    /// release, else prerelease, of the tagged versions (leaving out `+incompatible` ones
    /// once a compatible version has a go.mod), else the HEAD commit.
    pub async fn latest(&self) -> Result<Resolved, Error> {
        match self.pick("", false, |_| true).await? {
            Some(v) => self.stat(&v).await,
            None => self.head_latest().await,
        }
    }

    /// Resolves any query the go command accepts for one version, as its `modload.Query`
    /// does: `latest`; a semver prefix (`v1`, `v1.2`) is the highest matching tagged
    /// version; another semantic version is a tag (or a listed version equal to it); a
    /// branch, tag or commit hash is resolved in the repository.
    pub async fn query(&self, q: &str) -> Result<Resolved, Error> {
        if q == "latest" {
            return self.latest().await;
        }
        if !semver::is_valid(q) {
            return self.stat(q).await;
        }
        let need_incompatible = !module::match_path_major(q, &self.path_major);
        let is_prefix = !q.contains(['-', '+']) && q.matches('.').count() < 2;
        if is_prefix {
            let prefix = format!("{q}.");
            let at_least = |v: &str| semver::compare(v, q) != std::cmp::Ordering::Less;
            return match self.pick(&prefix, need_incompatible, at_least).await? {
                Some(v) => self.stat(&v).await,
                None => Err(Error::not_found(format!(
                    "module {}: no matching versions for query \"{q}\"",
                    self.mod_path
                ))),
            };
        }
        match self.stat(q).await {
            Err(e) if e.kind() == Kind::NotFound => {
                let m = e.message();
                let prefix = semver::canonical(q);
                let found = self
                    .pick(&prefix, need_incompatible, |v| {
                        semver::compare(v, q) == std::cmp::Ordering::Equal
                    })
                    .await?;
                match found {
                    Some(v) if v != q => self.stat(&v).await,
                    _ => Err(Error::not_found(m)),
                }
            }
            other => other,
        }
    }
}

/// Why a pseudo-version is not this revision's.
#[derive(Debug, thiserror::Error)]
enum PseudoError {
    /// It is not (the go command's words).
    #[error("{0}")]
    Invalid(String),
    /// The repository could not say (its tags, or their ancestry).
    #[error("{0}")]
    Git(Error),
}

impl PseudoError {
    /// The error of `module@version`: an invalid version in the go command's words, or
    /// the repository's failure with its kind (not remembered as an invalid version).
    fn into_error(self, module: &str, version: &str) -> Error {
        let m = format!("{module}@{version}: invalid pseudo-version: {self}");
        match self {
            PseudoError::Invalid(_) => Error::invalid(m),
            PseudoError::Git(e) => Error::new(e.kind(), m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::git::cmd::Runner;
    use std::time::Duration;

    fn code(root: &str, path: &str) -> Result<CodeRepo, Error> {
        let runner = Runner::new(Duration::from_secs(1), Vec::new());
        let repo = Arc::new(GitRepo::new(
            Path::new("/nonexistent"),
            "https://example.com/r",
            runner,
            Duration::ZERO,
            1,
            Arc::default(),
        ));
        CodeRepo::new(repo, root, path)
    }

    use std::path::Path;

    #[test]
    fn module_directories_and_majors() {
        let c = code("github.com/a/b", "github.com/a/b/sub/v2").unwrap();
        assert_eq!(
            (
                c.code_dir.as_str(),
                c.path_prefix.as_str(),
                c.path_major.as_str()
            ),
            ("sub", "github.com/a/b/sub", "/v2")
        );
        assert_eq!(c.pseudo_major, "v2");
        assert_eq!(c.rev_to_rev("v2.1.0"), "sub/v2.1.0");
        assert_eq!(c.rev_to_rev("master"), "master");
        assert_eq!(
            c.rev_to_rev("v2.0.1-0.20200101000000-abcdefabcdef"),
            "abcdefabcdef"
        );
        assert_eq!(c.tag_to_version("sub/v2.1.0"), ("v2.1.0".into(), true));
        assert_eq!(c.tag_to_version("sub/v2.1"), (String::new(), false));
        assert_eq!(c.tag_to_version("v2.1.0"), (String::new(), false));

        let c = code("github.com/a/b", "github.com/a/b").unwrap();
        assert_eq!((c.code_dir.as_str(), c.path_major.as_str()), ("", ""));
        assert_eq!(c.rev_to_rev("v2.0.0+incompatible"), "v2.0.0");

        let c = code("nanomsg.org/go/mangos/v2", "nanomsg.org/go/mangos/v2").unwrap();
        assert_eq!(
            (
                c.code_dir.as_str(),
                c.path_prefix.as_str(),
                c.path_major.as_str()
            ),
            ("", "nanomsg.org/go/mangos/v2", "/v2")
        );
        let c = code("gopkg.in/yaml.v2", "gopkg.in/yaml.v2").unwrap();
        assert_eq!((c.code_dir.as_str(), c.pseudo_major.as_str()), ("", "v2"));

        assert_eq!(
            code("github.com/a/b", "github.com/x/y").err(),
            Some(Error::not_found(
                "mismatched repo: found github.com/a/b for github.com/x/y"
            ))
        );
        let c = code("github.com/a/b/v2", "github.com/a/b/v2/c/v3").unwrap();
        assert_eq!((c.code_dir.as_str(), c.path_major.as_str()), ("c", "/v3"));
    }

    #[test]
    fn is_major_matches_go() {
        assert!(is_major("github.com/a/b", ""));
        assert!(!is_major("github.com/a/b/v2", ""));
        assert!(is_major("github.com/a/b/v2", "/v2"));
        assert!(!is_major("github.com/a/b/v3", "/v2"));
        assert!(!is_major("github.com/a/b", "/v2"));
        assert!(is_major("gopkg.in/yaml.v2", ".v2"));
        assert!(!is_major("", ""));
    }
}
