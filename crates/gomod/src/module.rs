//! Module paths and versions (golang.org/x/mod/module): path checks, `!` case
//! escaping, major-version suffixes and `GOPRIVATE`-style pattern matching.
//!
//! Error texts are those of the go command (`ModuleError`, `InvalidVersionError`,
//! `InvalidPathError`), including Go's `%q` quoting.

use crate::gostr::{self, quote, quote_rune};
use crate::semver;
use std::fmt;

/// A module path and version pair, in plain (unescaped) form.
///
/// `version` is usually a canonical semantic version, but may be `""` (main module,
/// filesystem replacement) or `"none"` (MVS decision to take no version).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// The module path, like `golang.org/x/text` or `rsc.io/quote/v2`.
    pub path: String,
    /// The version, like `v1.2.3`, or `""`.
    pub version: String,
}

impl Version {
    /// Builds a `Version` from a path and a version.
    pub fn new(path: impl Into<String>, version: impl Into<String>) -> Self {
        Version {
            path: path.into(),
            version: version.into(),
        }
    }
}

impl fmt::Display for Version {
    /// `path@version`, or just `path` when the version is empty (Go's `String()`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.version.is_empty() {
            f.write_str(&self.path)
        } else {
            write!(f, "{}@{}", self.path, self.version)
        }
    }
}

/// Which kind of path a [`Error::InvalidPath`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PathKind {
    /// A module path ([`check_path`]).
    Module,
    /// A package import path ([`check_import_path`]).
    Import,
    /// A slash-separated file path ([`check_file_path`]).
    File,
}

impl fmt::Display for PathKind {
    /// `module`, `import` or `file`, as in Go's `InvalidPathError.Kind`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathKind::Module => "module",
            PathKind::Import => "import",
            PathKind::File => "file",
        })
    }
}

/// An error about a module, a version or a path; its `Display` is the text of the
/// corresponding Go error's `Error()`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Go's `*ModuleError`: an error specific to a module (and maybe a version).
    Module {
        /// The module path.
        path: String,
        /// The version, or `""`.
        version: String,
        /// The underlying error.
        #[source]
        err: Box<Error>,
    },
    /// Go's `*InvalidVersionError`: an error specific to a version.
    InvalidVersion {
        /// The offending version.
        version: String,
        /// Whether the version is (meant to be) a pseudo-version; changes the noun.
        pseudo: bool,
        /// The underlying error.
        #[source]
        err: Box<Error>,
    },
    /// Go's `*InvalidPathError`: a module, import or file path breaks a naming rule.
    InvalidPath {
        /// Which kind of path was checked.
        kind: PathKind,
        /// The offending path.
        path: String,
        /// The underlying error.
        #[source]
        err: Box<Error>,
    },
    /// A plain error message (Go's `errors.New` / `fmt.Errorf` without wrapping).
    Msg(String),
}

impl Error {
    /// A plain message error.
    pub fn msg(msg: impl Into<String>) -> Self {
        Error::Msg(msg.into())
    }

    /// Go's `&ModuleError{Path, Version, Err}`.
    pub fn module(path: impl Into<String>, version: impl Into<String>, err: Error) -> Self {
        Error::Module {
            path: path.into(),
            version: version.into(),
            err: Box::new(err),
        }
    }

    /// Go's `&InvalidVersionError{Version, Pseudo, Err}`.
    pub fn invalid_version(version: impl Into<String>, pseudo: bool, err: Error) -> Self {
        Error::InvalidVersion {
            version: version.into(),
            pseudo,
            err: Box::new(err),
        }
    }

    /// Go's `&InvalidPathError{Kind, Path, Err}`.
    pub fn invalid_path(kind: PathKind, path: impl Into<String>, err: Error) -> Self {
        Error::InvalidPath {
            kind,
            path: path.into(),
            err: Box::new(err),
        }
    }

    /// The wrapped error, as Go's `Unwrap()` (`None` for [`Error::Msg`]).
    pub fn inner(&self) -> Option<&Error> {
        match self {
            Error::Module { err, .. }
            | Error::InvalidVersion { err, .. }
            | Error::InvalidPath { err, .. } => Some(err),
            Error::Msg(_) => None,
        }
    }
}

fn noun(pseudo: bool) -> &'static str {
    if pseudo { "pseudo-version" } else { "version" }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Module { path, version, err } => {
                if let Error::InvalidVersion {
                    version: v,
                    pseudo,
                    err: verr,
                } = &**err
                {
                    write!(f, "{path}@{v}: invalid {}: {verr}", noun(*pseudo))
                } else if !version.is_empty() {
                    write!(f, "{path}@{version}: {err}")
                } else {
                    write!(f, "module {path}: {err}")
                }
            }
            Error::InvalidVersion {
                version,
                pseudo,
                err,
            } => write!(f, "{} {} invalid: {err}", noun(*pseudo), quote(version)),
            Error::InvalidPath { kind, path, err } => {
                write!(f, "malformed {kind} path {}: {err}", quote(path))
            }
            Error::Msg(m) => f.write_str(m),
        }
    }
}

/// Go's `VersionError`: wraps `err` in a [`Error::Module`] for `v`, unless the first
/// module error in its chain is already about exactly `v` (then `err` is returned).
pub fn version_error(v: &Version, err: Error) -> Error {
    let mut cur = Some(&err);
    while let Some(e) = cur {
        if let Error::Module { path, version, .. } = e {
            if *path == v.path && *version == v.version {
                return err;
            }
            break;
        }
        cur = e.inner();
    }
    Error::module(v.path.clone(), v.version.clone(), err)
}

/// Checks that `path`, `version` is a valid module path / version pair: a valid
/// module path, a valid semantic version, and a version matching the path's major
/// version suffix (`/vN`, or `.vN` for gopkg.in).
pub fn check(path: &str, version: &str) -> Result<(), Error> {
    check_path(path)?;
    if !semver::is_valid(version) {
        return Err(Error::module(
            path,
            "",
            Error::invalid_version(version, false, Error::msg("not a semantic version")),
        ));
    }
    let path_major = split_path_version(path).map(|(_, m)| m).unwrap_or_default();
    check_path_major(version, &path_major).map_err(|e| Error::module(path, "", e))
}

/// Can `c` appear in the first element (the domain-like part) of a module path?
fn first_path_ok(c: char) -> bool {
    c == '-' || c == '.' || c.is_ascii_digit() || c.is_ascii_lowercase()
}

/// Can `c` appear in a module path element?
fn mod_path_ok(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// Can `c` appear in a package import path element?
fn import_path_ok(c: char) -> bool {
    mod_path_ok(c) || c == '+'
}

/// Can `c` appear in a file name?
fn file_name_ok(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || "!#$%&()+,-.=@[]^_{}~ ".contains(c)
    } else {
        gostr::is_letter(c)
    }
}

/// Checks that `path` is a valid module path: a valid import path whose first element
/// is a lower-case domain-like name containing a dot (and not starting with a dash),
/// with no element starting with a dot, and whose major version suffix is well formed
/// (`/vN` with N ≥ 2 and no leading zero or dot; gopkg.in's `.vN` conventions).
pub fn check_path(path: &str) -> Result<(), Error> {
    check_module_path(path).map_err(|m| Error::invalid_path(PathKind::Module, path, Error::Msg(m)))
}

fn check_module_path(path: &str) -> Result<(), String> {
    check_path_kind(path, PathKind::Module)?;
    let i = path.find('/').unwrap_or(path.len());
    if i == 0 {
        return Err("leading slash".into());
    }
    let first = &path[..i];
    if !first.contains('.') {
        return Err("missing dot in first path element".into());
    }
    if path.starts_with('-') {
        return Err("leading dash in first path element".into());
    }
    if let Some(c) = first.chars().find(|&c| !first_path_ok(c)) {
        return Err(format!(
            "invalid char {} in first path element",
            quote_rune(c)
        ));
    }
    if split_path_version(path).is_none() {
        return Err("invalid version".into());
    }
    Ok(())
}

/// Checks that `path` is a valid import path: non-empty slash-separated elements made
/// of ASCII letters, digits and `-._~+`, none all dots or ending in a dot, none a
/// reserved Windows name before its first dot, none ending in `~` and digits.
pub fn check_import_path(path: &str) -> Result<(), Error> {
    check_path_kind(path, PathKind::Import)
        .map_err(|m| Error::invalid_path(PathKind::Import, path, Error::Msg(m)))
}

/// Checks that `path` is a valid slash-separated file path: like an import path but
/// allowing any Unicode letter, the space and ``!#$%&()+,-.=@[]^_{}~`` (and allowing a
/// leading dash and `~digits` suffixes).
pub fn check_file_path(path: &str) -> Result<(), Error> {
    check_path_kind(path, PathKind::File)
        .map_err(|m| Error::invalid_path(PathKind::File, path, Error::Msg(m)))
}

/// The checks shared by module, import and file paths. (Go's "invalid UTF-8" case
/// cannot arise: a `&str` is always valid UTF-8.)
fn check_path_kind(path: &str, kind: PathKind) -> Result<(), String> {
    if path.is_empty() {
        return Err("empty string".into());
    }
    if path.starts_with('-') && kind != PathKind::File {
        return Err("leading dash".into());
    }
    if path.contains("//") {
        return Err("double slash".into());
    }
    if path.ends_with('/') {
        return Err("trailing slash".into());
    }
    for elem in path.split('/') {
        check_elem(elem, kind)?;
    }
    Ok(())
}

/// Reserved file names on Windows (compared case-insensitively).
const BAD_WINDOWS_NAMES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Checks one path element.
fn check_elem(elem: &str, kind: PathKind) -> Result<(), String> {
    if elem.is_empty() {
        return Err("empty path element".into());
    }
    if elem.bytes().all(|b| b == b'.') {
        return Err(format!("invalid path element {}", quote(elem)));
    }
    if elem.starts_with('.') && kind == PathKind::Module {
        return Err("leading dot in path element".into());
    }
    if elem.ends_with('.') {
        return Err("trailing dot in path element".into());
    }
    let ok = match kind {
        PathKind::Module => mod_path_ok,
        PathKind::Import => import_path_ok,
        PathKind::File => file_name_ok,
    };
    if let Some(c) = elem.chars().find(|&c| !ok(c)) {
        return Err(format!("invalid char {}", quote_rune(c)));
    }

    let short = elem.split('.').next().unwrap_or(elem);
    // The reserved names are ASCII and none contains K or S (the only ASCII letters
    // with non-ASCII case-fold partners), so ASCII case folding equals Go's EqualFold.
    if BAD_WINDOWS_NAMES
        .iter()
        .any(|bad| bad.eq_ignore_ascii_case(short))
    {
        return Err(format!(
            "{} disallowed as path element component on Windows",
            quote(short)
        ));
    }
    if kind == PathKind::File {
        return Ok(());
    }
    // Windows short names end in a tilde followed by one or more digits.
    if let Some(t) = short.rfind('~') {
        let suffix = &short[t + 1..];
        if !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()) {
            return Err("trailing tilde and digits in path element".into());
        }
    }
    Ok(())
}

/// Splits `path` into `(prefix, path_major)` with `prefix + path_major == path` and
/// `path_major` either `""` or `/vN` (N ≥ 2). gopkg.in paths are split at `.vN` (any
/// N, optionally followed by `-unstable`). Returns `None` where Go's `ok` is false:
/// a final element that looks like a bad major version, such as `/v1`, `/v0`, `/v02`
/// or `/v1.2`, or a gopkg.in path without a `.vN` suffix.
pub fn split_path_version(path: &str) -> Option<(String, String)> {
    if path.starts_with("gopkg.in/") {
        return split_gopkg_in(path);
    }
    let b = path.as_bytes();
    let mut i = b.len();
    let mut dot = false;
    while i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.') {
        if b[i - 1] == b'.' {
            dot = true;
        }
        i -= 1;
    }
    if i <= 1 || i == b.len() || b[i - 1] != b'v' || b[i - 2] != b'/' {
        return Some((path.to_string(), String::new()));
    }
    // b[i-2] is '/', so i-2 is a char boundary.
    let (prefix, path_major) = path.split_at(i - 2);
    if dot || path_major.len() <= 2 || path_major.as_bytes()[2] == b'0' || path_major == "/v1" {
        return None;
    }
    Some((prefix.to_string(), path_major.to_string()))
}

fn split_gopkg_in(path: &str) -> Option<(String, String)> {
    let b = path.as_bytes();
    let mut i = b.len();
    if path.ends_with("-unstable") {
        i -= "-unstable".len();
    }
    while i > 0 && b[i - 1].is_ascii_digit() {
        i -= 1;
    }
    if i <= 1 || b[i - 1] != b'v' || b[i - 2] != b'.' {
        return None;
    }
    let (prefix, path_major) = path.split_at(i - 2);
    if path_major.len() <= 2 || (path_major.as_bytes()[2] == b'0' && path_major != ".v0") {
        return None;
    }
    Some((prefix.to_string(), path_major.to_string()))
}

/// Reports whether version `v` matches the path major version suffix `path_major`
/// (exactly when [`check_path_major`] succeeds).
pub fn match_path_major(v: &str, path_major: &str) -> bool {
    check_path_major(v, path_major).is_ok()
}

/// Checks that version `v` matches the path major version suffix `path_major` (`""`,
/// `/vN`, `.vN` or `.vN-unstable`): `""` accepts v0, v1 and any `+incompatible`
/// version; `.v1` also accepts the historical `v0.0.0-` pseudo-versions.
pub fn check_path_major(v: &str, path_major: &str) -> Result<(), Error> {
    let mut pm = path_major;
    if pm.starts_with(".v") {
        pm = pm.strip_suffix("-unstable").unwrap_or(pm);
    }
    if v.starts_with("v0.0.0-") && pm == ".v1" {
        return Ok(());
    }
    let m = semver::major(v);
    let want: &str = if pm.is_empty() {
        if m == "v0" || m == "v1" || semver::build(v) == "+incompatible" {
            return Ok(());
        }
        "v0 or v1"
    } else if pm.starts_with('/') || pm.starts_with('.') {
        if m == pm[1..] {
            return Ok(());
        }
        &pm[1..]
    } else {
        pm
    };
    Err(Error::invalid_version(
        v,
        false,
        Error::Msg(format!("should be {want}, not {m}")),
    ))
}

/// Returns the major-version tag prefix implied by `path_major` (`"v2"` for `"/v2"`,
/// `".v2"` or `".v2-unstable"`; `""` for `""`, meaning v0 or v1).
///
/// Where Go panics (no leading `/` or `.`, or not a valid major version) this returns
/// `""` instead.
pub fn path_major_prefix(path_major: &str) -> String {
    if path_major.is_empty() || !(path_major.starts_with('/') || path_major.starts_with('.')) {
        return String::new();
    }
    let mut pm = path_major;
    if pm.starts_with(".v") {
        pm = pm.strip_suffix("-unstable").unwrap_or(pm);
    }
    let m = &pm[1..];
    if m != semver::major(m) {
        return String::new();
    }
    m.to_string()
}

/// Is `v` a canonical version: not empty and its own [`canonical_version`] (what the
/// go command requires of the versions it asks `.mod` and `.zip` files for, and stores).
pub fn is_canonical(v: &str) -> bool {
    !v.is_empty() && canonical_version(v) == v
}

/// Like [`semver::canonical`], but keeps a `+incompatible` build suffix.
pub fn canonical_version(v: &str) -> String {
    let mut cv = semver::canonical(v);
    if semver::build(v) == "+incompatible" {
        cv.push_str("+incompatible");
    }
    cv
}

/// Sorts by path, then by version: the part of the version before any `/` by
/// [`semver::compare`], then the `/…` suffix (as in `v1.2.3/go.mod`) by string order.
///
/// Where Go's ordering leaves two entries unordered (equal paths, versions that are
/// distinct strings but compare equal, e.g. two invalid versions or `v1` and `v1.0.0`),
/// this breaks the tie by string order so the comparison is a total order; Go's
/// unstable sort leaves such entries in an unspecified order.
pub fn sort(list: &mut [Version]) {
    list.sort_by(|a, b| {
        a.path.cmp(&b.path).then_with(|| {
            let (vi, fi) = split_version_file(&a.version);
            let (vj, fj) = split_version_file(&b.version);
            if vi == vj {
                return fi.cmp(fj);
            }
            semver::compare(vi, vj)
                .then_with(|| vi.cmp(vj))
                .then_with(|| fi.cmp(fj))
        })
    });
}

fn split_version_file(v: &str) -> (&str, &str) {
    match v.find('/') {
        Some(k) => v.split_at(k),
        None => (v, ""),
    }
}

/// Returns the escaped form of module path `path` (each upper-case letter becomes `!`
/// and its lower-case form), failing if the path is not a valid module path.
pub fn escape_path(path: &str) -> Result<String, Error> {
    check_path(path)?;
    escape_string(path)
}

/// Returns the escaped form of version `v`. Versions need not be semantic versions, but
/// must be valid file path elements without `!`.
pub fn escape_version(v: &str) -> Result<String, Error> {
    if check_elem(v, PathKind::File).is_err() || v.contains('!') {
        return Err(Error::invalid_version(
            v,
            false,
            Error::msg("disallowed version string"),
        ));
    }
    escape_string(v)
}

fn escape_string(s: &str) -> Result<String, Error> {
    if s.bytes().any(|b| b == b'!' || b >= 0x80) {
        return Err(Error::msg("internal error: inconsistency in EscapePath"));
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

/// Returns the module path whose escaped form is `escaped`, failing if the escaping is
/// malformed or the result is not a valid module path.
pub fn unescape_path(escaped: &str) -> Result<String, Error> {
    let Some(path) = unescape_string(escaped) else {
        return Err(Error::Msg(format!(
            "invalid escaped module path {}",
            quote(escaped)
        )));
    };
    if let Err(e) = check_path(&path) {
        return Err(Error::Msg(format!(
            "invalid escaped module path {}: {e}",
            quote(escaped)
        )));
    }
    Ok(path)
}

/// Returns the version whose escaped form is `escaped`, failing if the escaping is
/// malformed or the result is not a valid file path element.
pub fn unescape_version(escaped: &str) -> Result<String, Error> {
    let Some(v) = unescape_string(escaped) else {
        return Err(Error::Msg(format!(
            "invalid escaped version {}",
            quote(escaped)
        )));
    };
    if let Err(e) = check_elem(&v, PathKind::File) {
        // Go quotes the unescaped version here, not the escaped one.
        return Err(Error::Msg(format!(
            "invalid escaped version {}: {e}",
            quote(&v)
        )));
    }
    Ok(v)
}

fn unescape_string(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut bang = false;
    for c in escaped.chars() {
        if !c.is_ascii() {
            return None;
        }
        if bang {
            bang = false;
            if !c.is_ascii_lowercase() {
                return None;
            }
            out.push(c.to_ascii_uppercase());
            continue;
        }
        if c == '!' {
            bang = true;
            continue;
        }
        if c.is_ascii_uppercase() {
            return None;
        }
        out.push(c);
    }
    if bang { None } else { Some(out) }
}

/// Reports whether some path prefix of `target` matches one of the comma-separated
/// glob patterns in `globs` (Go's `path.Match` syntax, matched against as many leading
/// elements of `target` as the pattern has), as for `GOPRIVATE`, `GONOPROXY` and
/// `GONOSUMDB`. Empty and malformed patterns are ignored; trailing slashes on patterns
/// are ignored.
pub fn match_prefix_patterns(globs: &str, target: &str) -> bool {
    for glob in globs.split(',') {
        let glob = glob.strip_suffix('/').unwrap_or(glob);
        if glob.is_empty() {
            continue;
        }
        // A glob with n slashes is matched against the first n+1 elements of target.
        let mut n = glob.bytes().filter(|&b| b == b'/').count();
        let mut prefix = target;
        for (i, b) in target.bytes().enumerate() {
            if b == b'/' {
                if n == 0 {
                    prefix = &target[..i];
                    break;
                }
                n -= 1;
            }
        }
        if n > 0 {
            continue;
        }
        if path_match(glob.as_bytes(), prefix.as_bytes()) == Ok(true) {
            return true;
        }
    }
    false
}

/// Go's `utf8.DecodeRuneInString`: the first rune of `s` and its length, or
/// (U+FFFD, 1) for an invalid encoding, or (U+FFFD, 0) for an empty input.
fn decode_rune(s: &[u8]) -> (u32, usize) {
    let Some(&b0) = s.first() else {
        return (0xFFFD, 0);
    };
    let n = match b0 {
        0x00..=0x7F => return (u32::from(b0), 1),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (0xFFFD, 1),
    };
    match s.get(..n).and_then(|p| std::str::from_utf8(p).ok()) {
        Some(p) => match p.chars().next() {
            Some(c) => (u32::from(c), n),
            None => (0xFFFD, 1),
        },
        None => (0xFFFD, 1),
    }
}

/// Go's `path.ErrBadPattern`.
#[derive(Debug, PartialEq, Eq)]
struct BadPattern;

/// Go's `path.Match`, on bytes.
fn path_match(mut pattern: &[u8], mut name: &[u8]) -> Result<bool, BadPattern> {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // Trailing * matches the rest of the element.
            return Ok(!name.contains(&b'/'));
        }
        let (t, ok, err) = match_chunk(chunk, name);
        // A match of the chunk is only useful if it consumes the name or
        // more pattern remains.
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if let Some(e) = err {
            return Err(e);
        }
        if star {
            // Look for a match skipping i+1 bytes; no skipping past '/'.
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                let (t, ok, err) = match_chunk(chunk, &name[i + 1..]);
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'pattern;
                }
                if let Some(e) = err {
                    return Err(e);
                }
                i += 1;
            }
        }
        // Before failing, check the rest of the pattern is well formed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            if let (_, _, Some(e)) = match_chunk(chunk, b"") {
                return Err(e);
            }
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let [b'*', rest @ ..] = pattern {
        pattern = rest;
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    let (chunk, rest) = pattern.split_at(i);
    (star, chunk, rest)
}

type ChunkResult<'a> = (&'a [u8], bool, Option<BadPattern>);

fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> ChunkResult<'a> {
    // failed records a mismatch while the rest of chunk is still checked for
    // syntax errors.
    let mut failed = false;
    while let Some(&c0) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c0 {
            b'[' => {
                let mut r = 0u32;
                if !failed {
                    let (rr, n) = decode_rune(s);
                    r = rr;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&b'^') {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = match get_esc(chunk) {
                        Ok(x) => x,
                        Err(e) => return (b"", false, Some(e)),
                    };
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = match get_esc(&chunk[1..]) {
                            Ok(x) => x,
                            Err(e) => return (b"", false, Some(e)),
                        };
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s.first() == Some(&b'/') {
                        failed = true;
                    }
                    let (_, n) = decode_rune(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if c0 == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return (b"", false, Some(BadPattern));
                    }
                }
                if !failed {
                    if chunk.first() != s.first() {
                        failed = true;
                    }
                    s = s.get(1..).unwrap_or(b"");
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed {
        return (b"", false, None);
    }
    (s, true, None)
}

/// Go's `getEsc`: one possibly escaped character of a `[...]` class and the rest.
fn get_esc(mut chunk: &[u8]) -> Result<(u32, &[u8]), BadPattern> {
    match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(BadPattern);
            }
        }
        Some(_) => {}
    }
    let (r, n) = decode_rune(chunk);
    if r == 0xFFFD && n == 1 {
        return Err(BadPattern);
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Expect = Option<&'static str>;
    type Outcome = Result<&'static str, &'static str>;

    fn err_text<T>(r: Result<T, Error>) -> Option<String> {
        r.err().map(|e| e.to_string())
    }

    fn outcome(r: Result<String, Error>) -> Result<String, String> {
        r.map_err(|e| e.to_string())
    }

    fn owned(o: Outcome) -> Result<String, String> {
        o.map(str::to_string).map_err(str::to_string)
    }

    /// `checkTests` from x/mod module_test.go, with the exact error text of
    /// `Check(path, version)` (`None`: ok) as printed by go 1.23.
    #[rustfmt::skip]
    const CHECK_TESTS: &[(&str, &str, Expect)] = &[
        ("rsc.io/quote", "0.1.0", Some("rsc.io/quote@0.1.0: invalid version: not a semantic version")),
        ("rsc io/quote", "v1.0.0", Some("malformed module path \"rsc io/quote\": invalid char ' '")),
        ("github.com/go-yaml/yaml", "v0.8.0", None),
        ("github.com/go-yaml/yaml", "v1.0.0", None),
        ("github.com/go-yaml/yaml", "v2.0.0", Some("github.com/go-yaml/yaml@v2.0.0: invalid version: should be v0 or v1, not v2")),
        ("github.com/go-yaml/yaml", "v2.1.5", Some("github.com/go-yaml/yaml@v2.1.5: invalid version: should be v0 or v1, not v2")),
        ("github.com/go-yaml/yaml", "v3.0.0", Some("github.com/go-yaml/yaml@v3.0.0: invalid version: should be v0 or v1, not v3")),
        ("github.com/go-yaml/yaml/v2", "v1.0.0", Some("github.com/go-yaml/yaml/v2@v1.0.0: invalid version: should be v2, not v1")),
        ("github.com/go-yaml/yaml/v2", "v2.0.0", None),
        ("github.com/go-yaml/yaml/v2", "v2.1.5", None),
        ("github.com/go-yaml/yaml/v2", "v3.0.0", Some("github.com/go-yaml/yaml/v2@v3.0.0: invalid version: should be v2, not v3")),
        ("gopkg.in/yaml.v0", "v0.8.0", None),
        ("gopkg.in/yaml.v0", "v1.0.0", Some("gopkg.in/yaml.v0@v1.0.0: invalid version: should be v0, not v1")),
        ("gopkg.in/yaml.v0", "v2.0.0", Some("gopkg.in/yaml.v0@v2.0.0: invalid version: should be v0, not v2")),
        ("gopkg.in/yaml.v0", "v2.1.5", Some("gopkg.in/yaml.v0@v2.1.5: invalid version: should be v0, not v2")),
        ("gopkg.in/yaml.v0", "v3.0.0", Some("gopkg.in/yaml.v0@v3.0.0: invalid version: should be v0, not v3")),
        ("gopkg.in/yaml.v1", "v0.8.0", Some("gopkg.in/yaml.v1@v0.8.0: invalid version: should be v1, not v0")),
        ("gopkg.in/yaml.v1", "v1.0.0", None),
        ("gopkg.in/yaml.v1", "v2.0.0", Some("gopkg.in/yaml.v1@v2.0.0: invalid version: should be v1, not v2")),
        ("gopkg.in/yaml.v1", "v2.1.5", Some("gopkg.in/yaml.v1@v2.1.5: invalid version: should be v1, not v2")),
        ("gopkg.in/yaml.v1", "v3.0.0", Some("gopkg.in/yaml.v1@v3.0.0: invalid version: should be v1, not v3")),
        ("gopkg.in/check.v1", "v0.0.0", Some("gopkg.in/check.v1@v0.0.0: invalid version: should be v1, not v0")),
        ("gopkg.in/check.v1", "v0.0.0-20160102150405-abcdef123456", None),
        ("gopkg.in/yaml.v2", "v1.0.0", Some("gopkg.in/yaml.v2@v1.0.0: invalid version: should be v2, not v1")),
        ("gopkg.in/yaml.v2", "v2.0.0", None),
        ("gopkg.in/yaml.v2", "v2.1.5", None),
        ("gopkg.in/yaml.v2", "v3.0.0", Some("gopkg.in/yaml.v2@v3.0.0: invalid version: should be v2, not v3")),
        ("rsc.io/quote", "v17.0.0", Some("rsc.io/quote@v17.0.0: invalid version: should be v0 or v1, not v17")),
        ("rsc.io/quote", "v17.0.0+incompatible", None),
    ];

    /// More `check` cases: +incompatible, gopkg.in -unstable, empty versions.
    #[rustfmt::skip]
    const CHECK_EXTRA: &[(&str, &str, Expect)] = &[
        ("rsc.io/quote", "", Some("rsc.io/quote@: invalid version: not a semantic version")),
        ("rsc.io/quote", "v1", None),
        ("rsc.io/quote", "v1.0.0+incompatible", None),
        ("rsc.io/quote/v2", "v2.0.0+incompatible", None),
        ("rsc.io/quote/v2", "v3.0.0+incompatible", Some("rsc.io/quote/v2@v3.0.0+incompatible: invalid version: should be v2, not v3")),
        ("rsc.io/quote/v3", "v3.0.0-20220223184802-12d19af20458", None),
        ("rsc.io/quote/v3", "v3.0.0-20220223184802-12d19af20458+incompatible", None),
        ("rsc.io/quote", "v3.0.0-20220223184802-12d19af20458+incompatible", None),
        ("gopkg.in/yaml.v3-unstable", "v3.0.0", None),
        ("gopkg.in/yaml.v3-unstable", "v2.0.0", Some("gopkg.in/yaml.v3-unstable@v2.0.0: invalid version: should be v3, not v2")),
        ("gopkg.in/yaml", "v1.0.0", Some("malformed module path \"gopkg.in/yaml\": invalid version")),
        ("example.com/v1", "v1.0.0", Some("malformed module path \"example.com/v1\": invalid version")),
        ("rsc io/quote", "bad", Some("malformed module path \"rsc io/quote\": invalid char ' '")),
        ("gopkg.in/check.v1", "v0.0.0-bad", None),
        ("gopkg.in/check.v1", "v0.1.0", Some("gopkg.in/check.v1@v0.1.0: invalid version: should be v1, not v0")),
    ];

    /// `checkPathTests` from x/mod module_test.go, with the exact errors of
    /// (`CheckPath`, `CheckImportPath`, `CheckFilePath`); `None`: ok.
    #[rustfmt::skip]
    const CHECK_PATH_TESTS: &[(&str, Expect, Expect, Expect)] = &[
        ("x.y/z", None, None, None),
        ("x.y", None, None, None),
        // "x.y/\xffz": not representable as &str
        ("/x.y/z", Some("malformed module path \"/x.y/z\": empty path element"), Some("malformed import path \"/x.y/z\": empty path element"), Some("malformed file path \"/x.y/z\": empty path element")),
        ("x./z", Some("malformed module path \"x./z\": trailing dot in path element"), Some("malformed import path \"x./z\": trailing dot in path element"), Some("malformed file path \"x./z\": trailing dot in path element")),
        (".x/z", Some("malformed module path \".x/z\": leading dot in path element"), None, None),
        ("-x/z", Some("malformed module path \"-x/z\": leading dash"), Some("malformed import path \"-x/z\": leading dash"), None),
        ("x..y/z", None, None, None),
        ("x.y/z/../../w", Some("malformed module path \"x.y/z/../../w\": invalid path element \"..\""), Some("malformed import path \"x.y/z/../../w\": invalid path element \"..\""), Some("malformed file path \"x.y/z/../../w\": invalid path element \"..\"")),
        ("x.y//z", Some("malformed module path \"x.y//z\": double slash"), Some("malformed import path \"x.y//z\": double slash"), Some("malformed file path \"x.y//z\": double slash")),
        ("x.y/z//w", Some("malformed module path \"x.y/z//w\": double slash"), Some("malformed import path \"x.y/z//w\": double slash"), Some("malformed file path \"x.y/z//w\": double slash")),
        ("x.y/z/", Some("malformed module path \"x.y/z/\": trailing slash"), Some("malformed import path \"x.y/z/\": trailing slash"), Some("malformed file path \"x.y/z/\": trailing slash")),
        ("x.y/z/v0", Some("malformed module path \"x.y/z/v0\": invalid version"), None, None),
        ("x.y/z/v1", Some("malformed module path \"x.y/z/v1\": invalid version"), None, None),
        ("x.y/z/v2", None, None, None),
        ("x.y/z/v2.0", Some("malformed module path \"x.y/z/v2.0\": invalid version"), None, None),
        ("X.y/z", Some("malformed module path \"X.y/z\": invalid char 'X' in first path element"), None, None),
        ("!x.y/z", Some("malformed module path \"!x.y/z\": invalid char '!'"), Some("malformed import path \"!x.y/z\": invalid char '!'"), None),
        ("_x.y/z", Some("malformed module path \"_x.y/z\": invalid char '_' in first path element"), None, None),
        ("x.y!/z", Some("malformed module path \"x.y!/z\": invalid char '!'"), Some("malformed import path \"x.y!/z\": invalid char '!'"), None),
        ("x.y\"/z", Some("malformed module path \"x.y\\\"/z\": invalid char '\"'"), Some("malformed import path \"x.y\\\"/z\": invalid char '\"'"), Some("malformed file path \"x.y\\\"/z\": invalid char '\"'")),
        ("x.y#/z", Some("malformed module path \"x.y#/z\": invalid char '#'"), Some("malformed import path \"x.y#/z\": invalid char '#'"), None),
        ("x.y$/z", Some("malformed module path \"x.y$/z\": invalid char '$'"), Some("malformed import path \"x.y$/z\": invalid char '$'"), None),
        ("x.y%/z", Some("malformed module path \"x.y%/z\": invalid char '%'"), Some("malformed import path \"x.y%/z\": invalid char '%'"), None),
        ("x.y&/z", Some("malformed module path \"x.y&/z\": invalid char '&'"), Some("malformed import path \"x.y&/z\": invalid char '&'"), None),
        ("x.y'/z", Some("malformed module path \"x.y'/z\": invalid char '\\''"), Some("malformed import path \"x.y'/z\": invalid char '\\''"), Some("malformed file path \"x.y'/z\": invalid char '\\''")),
        ("x.y(/z", Some("malformed module path \"x.y(/z\": invalid char '('"), Some("malformed import path \"x.y(/z\": invalid char '('"), None),
        ("x.y)/z", Some("malformed module path \"x.y)/z\": invalid char ')'"), Some("malformed import path \"x.y)/z\": invalid char ')'"), None),
        ("x.y*/z", Some("malformed module path \"x.y*/z\": invalid char '*'"), Some("malformed import path \"x.y*/z\": invalid char '*'"), Some("malformed file path \"x.y*/z\": invalid char '*'")),
        ("x.y+/z", Some("malformed module path \"x.y+/z\": invalid char '+'"), None, None),
        ("x.y,/z", Some("malformed module path \"x.y,/z\": invalid char ','"), Some("malformed import path \"x.y,/z\": invalid char ','"), None),
        ("x.y-/z", None, None, None),
        ("x.y./zt", Some("malformed module path \"x.y./zt\": trailing dot in path element"), Some("malformed import path \"x.y./zt\": trailing dot in path element"), Some("malformed file path \"x.y./zt\": trailing dot in path element")),
        ("x.y:/z", Some("malformed module path \"x.y:/z\": invalid char ':'"), Some("malformed import path \"x.y:/z\": invalid char ':'"), Some("malformed file path \"x.y:/z\": invalid char ':'")),
        ("x.y;/z", Some("malformed module path \"x.y;/z\": invalid char ';'"), Some("malformed import path \"x.y;/z\": invalid char ';'"), Some("malformed file path \"x.y;/z\": invalid char ';'")),
        ("x.y</z", Some("malformed module path \"x.y</z\": invalid char '<'"), Some("malformed import path \"x.y</z\": invalid char '<'"), Some("malformed file path \"x.y</z\": invalid char '<'")),
        ("x.y=/z", Some("malformed module path \"x.y=/z\": invalid char '='"), Some("malformed import path \"x.y=/z\": invalid char '='"), None),
        ("x.y>/z", Some("malformed module path \"x.y>/z\": invalid char '>'"), Some("malformed import path \"x.y>/z\": invalid char '>'"), Some("malformed file path \"x.y>/z\": invalid char '>'")),
        ("x.y?/z", Some("malformed module path \"x.y?/z\": invalid char '?'"), Some("malformed import path \"x.y?/z\": invalid char '?'"), Some("malformed file path \"x.y?/z\": invalid char '?'")),
        ("x.y@/z", Some("malformed module path \"x.y@/z\": invalid char '@'"), Some("malformed import path \"x.y@/z\": invalid char '@'"), None),
        ("x.y[/z", Some("malformed module path \"x.y[/z\": invalid char '['"), Some("malformed import path \"x.y[/z\": invalid char '['"), None),
        ("x.y\\/z", Some("malformed module path \"x.y\\\\/z\": invalid char '\\\\'"), Some("malformed import path \"x.y\\\\/z\": invalid char '\\\\'"), Some("malformed file path \"x.y\\\\/z\": invalid char '\\\\'")),
        ("x.y]/z", Some("malformed module path \"x.y]/z\": invalid char ']'"), Some("malformed import path \"x.y]/z\": invalid char ']'"), None),
        ("x.y^/z", Some("malformed module path \"x.y^/z\": invalid char '^'"), Some("malformed import path \"x.y^/z\": invalid char '^'"), None),
        ("x.y_/z", Some("malformed module path \"x.y_/z\": invalid char '_' in first path element"), None, None),
        ("x.y`/z", Some("malformed module path \"x.y`/z\": invalid char '`'"), Some("malformed import path \"x.y`/z\": invalid char '`'"), Some("malformed file path \"x.y`/z\": invalid char '`'")),
        ("x.y{/z", Some("malformed module path \"x.y{/z\": invalid char '{'"), Some("malformed import path \"x.y{/z\": invalid char '{'"), None),
        ("x.y}/z", Some("malformed module path \"x.y}/z\": invalid char '}'"), Some("malformed import path \"x.y}/z\": invalid char '}'"), None),
        ("x.y~/z", Some("malformed module path \"x.y~/z\": invalid char '~' in first path element"), None, None),
        ("x.y/z!", Some("malformed module path \"x.y/z!\": invalid char '!'"), Some("malformed import path \"x.y/z!\": invalid char '!'"), None),
        ("x.y/z\"", Some("malformed module path \"x.y/z\\\"\": invalid char '\"'"), Some("malformed import path \"x.y/z\\\"\": invalid char '\"'"), Some("malformed file path \"x.y/z\\\"\": invalid char '\"'")),
        ("x.y/z#", Some("malformed module path \"x.y/z#\": invalid char '#'"), Some("malformed import path \"x.y/z#\": invalid char '#'"), None),
        ("x.y/z$", Some("malformed module path \"x.y/z$\": invalid char '$'"), Some("malformed import path \"x.y/z$\": invalid char '$'"), None),
        ("x.y/z%", Some("malformed module path \"x.y/z%\": invalid char '%'"), Some("malformed import path \"x.y/z%\": invalid char '%'"), None),
        ("x.y/z&", Some("malformed module path \"x.y/z&\": invalid char '&'"), Some("malformed import path \"x.y/z&\": invalid char '&'"), None),
        ("x.y/z'", Some("malformed module path \"x.y/z'\": invalid char '\\''"), Some("malformed import path \"x.y/z'\": invalid char '\\''"), Some("malformed file path \"x.y/z'\": invalid char '\\''")),
        ("x.y/z(", Some("malformed module path \"x.y/z(\": invalid char '('"), Some("malformed import path \"x.y/z(\": invalid char '('"), None),
        ("x.y/z)", Some("malformed module path \"x.y/z)\": invalid char ')'"), Some("malformed import path \"x.y/z)\": invalid char ')'"), None),
        ("x.y/z*", Some("malformed module path \"x.y/z*\": invalid char '*'"), Some("malformed import path \"x.y/z*\": invalid char '*'"), Some("malformed file path \"x.y/z*\": invalid char '*'")),
        ("x.y/z++", Some("malformed module path \"x.y/z++\": invalid char '+'"), None, None),
        ("x.y/z,", Some("malformed module path \"x.y/z,\": invalid char ','"), Some("malformed import path \"x.y/z,\": invalid char ','"), None),
        ("x.y/z-", None, None, None),
        ("x.y/z.t", None, None, None),
        ("x.y/z/t", None, None, None),
        ("x.y/z:", Some("malformed module path \"x.y/z:\": invalid char ':'"), Some("malformed import path \"x.y/z:\": invalid char ':'"), Some("malformed file path \"x.y/z:\": invalid char ':'")),
        ("x.y/z;", Some("malformed module path \"x.y/z;\": invalid char ';'"), Some("malformed import path \"x.y/z;\": invalid char ';'"), Some("malformed file path \"x.y/z;\": invalid char ';'")),
        ("x.y/z<", Some("malformed module path \"x.y/z<\": invalid char '<'"), Some("malformed import path \"x.y/z<\": invalid char '<'"), Some("malformed file path \"x.y/z<\": invalid char '<'")),
        ("x.y/z=", Some("malformed module path \"x.y/z=\": invalid char '='"), Some("malformed import path \"x.y/z=\": invalid char '='"), None),
        ("x.y/z>", Some("malformed module path \"x.y/z>\": invalid char '>'"), Some("malformed import path \"x.y/z>\": invalid char '>'"), Some("malformed file path \"x.y/z>\": invalid char '>'")),
        ("x.y/z?", Some("malformed module path \"x.y/z?\": invalid char '?'"), Some("malformed import path \"x.y/z?\": invalid char '?'"), Some("malformed file path \"x.y/z?\": invalid char '?'")),
        ("x.y/z@", Some("malformed module path \"x.y/z@\": invalid char '@'"), Some("malformed import path \"x.y/z@\": invalid char '@'"), None),
        ("x.y/z[", Some("malformed module path \"x.y/z[\": invalid char '['"), Some("malformed import path \"x.y/z[\": invalid char '['"), None),
        ("x.y/z\\", Some("malformed module path \"x.y/z\\\\\": invalid char '\\\\'"), Some("malformed import path \"x.y/z\\\\\": invalid char '\\\\'"), Some("malformed file path \"x.y/z\\\\\": invalid char '\\\\'")),
        ("x.y/z]", Some("malformed module path \"x.y/z]\": invalid char ']'"), Some("malformed import path \"x.y/z]\": invalid char ']'"), None),
        ("x.y/z^", Some("malformed module path \"x.y/z^\": invalid char '^'"), Some("malformed import path \"x.y/z^\": invalid char '^'"), None),
        ("x.y/z_", None, None, None),
        ("x.y/z`", Some("malformed module path \"x.y/z`\": invalid char '`'"), Some("malformed import path \"x.y/z`\": invalid char '`'"), Some("malformed file path \"x.y/z`\": invalid char '`'")),
        ("x.y/z{", Some("malformed module path \"x.y/z{\": invalid char '{'"), Some("malformed import path \"x.y/z{\": invalid char '{'"), None),
        ("x.y/z}", Some("malformed module path \"x.y/z}\": invalid char '}'"), Some("malformed import path \"x.y/z}\": invalid char '}'"), None),
        ("x.y/z~", None, None, None),
        ("x.y/x.foo", None, None, None),
        ("x.y/aux.foo", Some("malformed module path \"x.y/aux.foo\": \"aux\" disallowed as path element component on Windows"), Some("malformed import path \"x.y/aux.foo\": \"aux\" disallowed as path element component on Windows"), Some("malformed file path \"x.y/aux.foo\": \"aux\" disallowed as path element component on Windows")),
        ("x.y/prn", Some("malformed module path \"x.y/prn\": \"prn\" disallowed as path element component on Windows"), Some("malformed import path \"x.y/prn\": \"prn\" disallowed as path element component on Windows"), Some("malformed file path \"x.y/prn\": \"prn\" disallowed as path element component on Windows")),
        ("x.y/prn2", None, None, None),
        ("x.y/com", None, None, None),
        ("x.y/com1", Some("malformed module path \"x.y/com1\": \"com1\" disallowed as path element component on Windows"), Some("malformed import path \"x.y/com1\": \"com1\" disallowed as path element component on Windows"), Some("malformed file path \"x.y/com1\": \"com1\" disallowed as path element component on Windows")),
        ("x.y/com1.txt", Some("malformed module path \"x.y/com1.txt\": \"com1\" disallowed as path element component on Windows"), Some("malformed import path \"x.y/com1.txt\": \"com1\" disallowed as path element component on Windows"), Some("malformed file path \"x.y/com1.txt\": \"com1\" disallowed as path element component on Windows")),
        ("x.y/calm1", None, None, None),
        ("x.y/z~", None, None, None),
        ("x.y/z~0", Some("malformed module path \"x.y/z~0\": trailing tilde and digits in path element"), Some("malformed import path \"x.y/z~0\": trailing tilde and digits in path element"), None),
        ("x.y/z~09", Some("malformed module path \"x.y/z~09\": trailing tilde and digits in path element"), Some("malformed import path \"x.y/z~09\": trailing tilde and digits in path element"), None),
        ("x.y/z09", None, None, None),
        ("x.y/z09~", None, None, None),
        ("x.y/z09~09z", None, None, None),
        ("x.y/z09~09z~09", Some("malformed module path \"x.y/z09~09z~09\": trailing tilde and digits in path element"), Some("malformed import path \"x.y/z09~09z~09\": trailing tilde and digits in path element"), None),
        ("github.com/!123/logrus", Some("malformed module path \"github.com/!123/logrus\": invalid char '!'"), Some("malformed import path \"github.com/!123/logrus\": invalid char '!'"), None),
        ("github.com/user/unicode/испытание", Some("malformed module path \"github.com/user/unicode/испытание\": invalid char 'и'"), Some("malformed import path \"github.com/user/unicode/испытание\": invalid char 'и'"), None),
        ("../x", Some("malformed module path \"../x\": invalid path element \"..\""), Some("malformed import path \"../x\": invalid path element \"..\""), Some("malformed file path \"../x\": invalid path element \"..\"")),
        ("./y", Some("malformed module path \"./y\": invalid path element \".\""), Some("malformed import path \"./y\": invalid path element \".\""), Some("malformed file path \"./y\": invalid path element \".\"")),
        ("x:y", Some("malformed module path \"x:y\": invalid char ':'"), Some("malformed import path \"x:y\": invalid char ':'"), Some("malformed file path \"x:y\": invalid char ':'")),
        ("\\temp\\foo", Some("malformed module path \"\\\\temp\\\\foo\": invalid char '\\\\'"), Some("malformed import path \"\\\\temp\\\\foo\": invalid char '\\\\'"), Some("malformed file path \"\\\\temp\\\\foo\": invalid char '\\\\'")),
        (".gitignore", Some("malformed module path \".gitignore\": leading dot in path element"), None, None),
        (".github/ISSUE_TEMPLATE", Some("malformed module path \".github/ISSUE_TEMPLATE\": leading dot in path element"), None, None),
        ("x☺y", Some("malformed module path \"x☺y\": invalid char '☺'"), Some("malformed import path \"x☺y\": invalid char '☺'"), Some("malformed file path \"x☺y\": invalid char '☺'")),
    ];

    /// More path cases: gopkg.in, major suffixes, Windows names and short names,
    /// dots, non-ASCII (letters, non-letters, non-printables) and punctuation.
    #[rustfmt::skip]
    const CHECK_PATH_EXTRA: &[(&str, Expect, Expect, Expect)] = &[
        ("gopkg.in/yaml.v2", None, None, None),
        ("gopkg.in/yaml.v0", None, None, None),
        ("gopkg.in/yaml.v01", Some("malformed module path \"gopkg.in/yaml.v01\": invalid version"), None, None),
        ("gopkg.in/yaml", Some("malformed module path \"gopkg.in/yaml\": invalid version"), None, None),
        ("gopkg.in/yaml.v1-unstable", None, None, None),
        ("gopkg.in/yaml.v-unstable", None, None, None),
        ("gopkg.in/yaml.v0-unstable", Some("malformed module path \"gopkg.in/yaml.v0-unstable\": invalid version"), None, None),
        ("gopkg.in/v2", Some("malformed module path \"gopkg.in/v2\": invalid version"), None, None),
        ("example.com/v02", Some("malformed module path \"example.com/v02\": invalid version"), None, None),
        ("example.com/v2.1", Some("malformed module path \"example.com/v2.1\": invalid version"), None, None),
        ("example.com/pkg/v10", None, None, None),
        ("example.com/v2", None, None, None),
        ("example.com/x/v", None, None, None),
        ("example.com/vv2", None, None, None),
        ("v2", Some("malformed module path \"v2\": missing dot in first path element"), None, None),
        ("Example.com", Some("malformed module path \"Example.com\": invalid char 'E' in first path element"), None, None),
        ("example-.com", None, None, None),
        ("-example.com", Some("malformed module path \"-example.com\": leading dash"), Some("malformed import path \"-example.com\": leading dash"), None),
        ("example.com:8080/x", Some("malformed module path \"example.com:8080/x\": invalid char ':'"), Some("malformed import path \"example.com:8080/x\": invalid char ':'"), Some("malformed file path \"example.com:8080/x\": invalid char ':'")),
        ("exa_mple.com/x", Some("malformed module path \"exa_mple.com/x\": invalid char '_' in first path element"), None, None),
        ("ex~ample.com", Some("malformed module path \"ex~ample.com\": invalid char '~' in first path element"), None, None),
        ("example.com/CON", Some("malformed module path \"example.com/CON\": \"CON\" disallowed as path element component on Windows"), Some("malformed import path \"example.com/CON\": \"CON\" disallowed as path element component on Windows"), Some("malformed file path \"example.com/CON\": \"CON\" disallowed as path element component on Windows")),
        ("example.com/con.txt", Some("malformed module path \"example.com/con.txt\": \"con\" disallowed as path element component on Windows"), Some("malformed import path \"example.com/con.txt\": \"con\" disallowed as path element component on Windows"), Some("malformed file path \"example.com/con.txt\": \"con\" disallowed as path element component on Windows")),
        ("example.com/Lpt9", Some("malformed module path \"example.com/Lpt9\": \"Lpt9\" disallowed as path element component on Windows"), Some("malformed import path \"example.com/Lpt9\": \"Lpt9\" disallowed as path element component on Windows"), Some("malformed file path \"example.com/Lpt9\": \"Lpt9\" disallowed as path element component on Windows")),
        ("example.com/lpt0", None, None, None),
        ("example.com/COM10", None, None, None),
        ("example.com/nul.tar.gz", Some("malformed module path \"example.com/nul.tar.gz\": \"nul\" disallowed as path element component on Windows"), Some("malformed import path \"example.com/nul.tar.gz\": \"nul\" disallowed as path element component on Windows"), Some("malformed file path \"example.com/nul.tar.gz\": \"nul\" disallowed as path element component on Windows")),
        ("example.com/a~1", Some("malformed module path \"example.com/a~1\": trailing tilde and digits in path element"), Some("malformed import path \"example.com/a~1\": trailing tilde and digits in path element"), None),
        ("example.com/a~", None, None, None),
        ("example.com/~1", Some("malformed module path \"example.com/~1\": trailing tilde and digits in path element"), Some("malformed import path \"example.com/~1\": trailing tilde and digits in path element"), None),
        ("example.com/a~1.txt", Some("malformed module path \"example.com/a~1.txt\": trailing tilde and digits in path element"), Some("malformed import path \"example.com/a~1.txt\": trailing tilde and digits in path element"), None),
        ("example.com/a.b~1", None, None, None),
        ("example.com/...", Some("malformed module path \"example.com/...\": invalid path element \"...\""), Some("malformed import path \"example.com/...\": invalid path element \"...\""), Some("malformed file path \"example.com/...\": invalid path element \"...\"")),
        ("example.com/.", Some("malformed module path \"example.com/.\": invalid path element \".\""), Some("malformed import path \"example.com/.\": invalid path element \".\""), Some("malformed file path \"example.com/.\": invalid path element \".\"")),
        ("example.com/a..", Some("malformed module path \"example.com/a..\": trailing dot in path element"), Some("malformed import path \"example.com/a..\": trailing dot in path element"), Some("malformed file path \"example.com/a..\": trailing dot in path element")),
        ("example.com/.hidden", Some("malformed module path \"example.com/.hidden\": leading dot in path element"), None, None),
        ("example.com/a b", Some("malformed module path \"example.com/a b\": invalid char ' '"), Some("malformed import path \"example.com/a b\": invalid char ' '"), None),
        ("example.com/a", None, None, None),
        ("example.com/é", Some("malformed module path \"example.com/é\": invalid char 'é'"), Some("malformed import path \"example.com/é\": invalid char 'é'"), None),
        ("example.com/ ", Some("malformed module path \"example.com/ \": invalid char ' '"), Some("malformed import path \"example.com/ \": invalid char ' '"), None),
        ("example.com/Ⅻ", Some("malformed module path \"example.com/Ⅻ\": invalid char 'Ⅻ'"), Some("malformed import path \"example.com/Ⅻ\": invalid char 'Ⅻ'"), Some("malformed file path \"example.com/Ⅻ\": invalid char 'Ⅻ'")),
        ("example.com/日本語", Some("malformed module path \"example.com/日本語\": invalid char '日'"), Some("malformed import path \"example.com/日本語\": invalid char '日'"), None),
        ("example.com/a😀", Some("malformed module path \"example.com/a😀\": invalid char '😀'"), Some("malformed import path \"example.com/a😀\": invalid char '😀'"), Some("malformed file path \"example.com/a😀\": invalid char '😀'")),
        ("example.com/a'b", Some("malformed module path \"example.com/a'b\": invalid char '\\''"), Some("malformed import path \"example.com/a'b\": invalid char '\\''"), Some("malformed file path \"example.com/a'b\": invalid char '\\''")),
        ("example.com", None, None, None),
        ("com", Some("malformed module path \"com\": missing dot in first path element"), None, None),
        ("a.b.c", None, None, None),
        ("localhost/x", Some("malformed module path \"localhost/x\": missing dot in first path element"), None, None),
        ("foo.bar/baz+qux", Some("malformed module path \"foo.bar/baz+qux\": invalid char '+'"), None, None),
        ("x.y/-z", None, None, None),
        (".", Some("malformed module path \".\": invalid path element \".\""), Some("malformed import path \".\": invalid path element \".\""), Some("malformed file path \".\": invalid path element \".\"")),
        ("..", Some("malformed module path \"..\": invalid path element \"..\""), Some("malformed import path \"..\": invalid path element \"..\""), Some("malformed file path \"..\": invalid path element \"..\"")),
        ("./x", Some("malformed module path \"./x\": invalid path element \".\""), Some("malformed import path \"./x\": invalid path element \".\""), Some("malformed file path \"./x\": invalid path element \".\"")),
        ("a/./b", Some("malformed module path \"a/./b\": invalid path element \".\""), Some("malformed import path \"a/./b\": invalid path element \".\""), Some("malformed file path \"a/./b\": invalid path element \".\"")),
        ("-", Some("malformed module path \"-\": leading dash"), Some("malformed import path \"-\": leading dash"), None),
        ("x.y/z.", Some("malformed module path \"x.y/z.\": trailing dot in path element"), Some("malformed import path \"x.y/z.\": trailing dot in path element"), Some("malformed file path \"x.y/z.\": trailing dot in path element")),
        ("x.y/.z", Some("malformed module path \"x.y/.z\": leading dot in path element"), None, None),
        ("example.com/a!b", Some("malformed module path \"example.com/a!b\": invalid char '!'"), Some("malformed import path \"example.com/a!b\": invalid char '!'"), None),
        ("x.y/z\x01", Some("malformed module path \"x.y/z\\x01\": invalid char '\\x01'"), Some("malformed import path \"x.y/z\\x01\": invalid char '\\x01'"), Some("malformed file path \"x.y/z\\x01\": invalid char '\\x01'")),
        ("example.com/a\u{a0}b", Some("malformed module path \"example.com/a\\u00a0b\": invalid char '\\u00a0'"), Some("malformed import path \"example.com/a\\u00a0b\": invalid char '\\u00a0'"), Some("malformed file path \"example.com/a\\u00a0b\": invalid char '\\u00a0'")),
        ("example.com/\u{200b}", Some("malformed module path \"example.com/\\u200b\": invalid char '\\u200b'"), Some("malformed import path \"example.com/\\u200b\": invalid char '\\u200b'"), Some("malformed file path \"example.com/\\u200b\": invalid char '\\u200b'")),
        ("", Some("malformed module path \"\": empty string"), Some("malformed import path \"\": empty string"), Some("malformed file path \"\": empty string")),
    ];

    /// `splitPathVersionTests` from x/mod module_test.go: (prefix, path major).
    #[rustfmt::skip]
    const SPLIT_PATH_VERSION_TESTS: &[(&str, &str)] = &[
        ("x.y/z", ""),
        ("x.y/z", "/v2"),
        ("x.y/z", "/v3"),
        ("x.y/v", ""),
        ("gopkg.in/yaml", ".v0"),
        ("gopkg.in/yaml", ".v1"),
        ("gopkg.in/yaml", ".v2"),
        ("gopkg.in/yaml", ".v3"),
    ];

    /// More `split_path_version` cases: (path, Some((prefix, path_major)) or None).
    #[rustfmt::skip]
    const SPLIT_EXTRA: &[(&str, Option<(&str, &str)>)] = &[
        ("x.y/z/v2", Some(("x.y/z", "/v2"))),
        ("x.y/z/v1", None),
        ("x.y/z/v0", None),
        ("x.y/z/v02", None),
        ("x.y/z/v2.0", None),
        ("x.y/z/v", Some(("x.y/z/v", ""))),
        ("x.y/v2", Some(("x.y", "/v2"))),
        ("/v2", Some(("", "/v2"))),
        ("v2", Some(("v2", ""))),
        ("x/v2x", Some(("x/v2x", ""))),
        ("x.y/z/v10", Some(("x.y/z", "/v10"))),
        ("x.y/z/v2/", Some(("x.y/z/v2/", ""))),
        ("x.y/z/v.2", None),
        ("gopkg.in/yaml.v2", Some(("gopkg.in/yaml", ".v2"))),
        ("gopkg.in/yaml.v0", Some(("gopkg.in/yaml", ".v0"))),
        ("gopkg.in/yaml.v02", None),
        ("gopkg.in/yaml.v2-unstable", Some(("gopkg.in/yaml", ".v2-unstable"))),
        ("gopkg.in/yaml.v-unstable", Some(("gopkg.in/yaml", ".v-unstable"))),
        ("gopkg.in/yaml.v0-unstable", None),
        ("gopkg.in/yaml", None),
        ("gopkg.in/yaml/v2", None),
        ("gopkg.in/v2", None),
        ("gopkg.in/.v2", Some(("gopkg.in/", ".v2"))),
        ("gopkg.in/-unstable", None),
        ("gopkg.in/", None),
        ("//v2", Some(("/", "/v2"))),
        ("a/v2", Some(("a", "/v2"))),
        ("", Some(("", ""))),
    ];

    /// `escapeTests` from x/mod module_test.go: (path, escaped; "" means same as path).
    #[rustfmt::skip]
    const ESCAPE_TESTS: &[(&str, &str)] = &[
        ("ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789", ""),
        ("github.com/GoogleCloudPlatform/omega", "github.com/!google!cloud!platform/omega"),
    ];

    /// More `escape_path` cases with exact results.
    #[rustfmt::skip]
    const ESCAPE_PATH_EXTRA: &[(&str, Outcome)] = &[
        ("ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789", Ok("ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789")),
        ("github.com/GoogleCloudPlatform/omega", Ok("github.com/!google!cloud!platform/omega")),
        ("github.com/Azure/azure-sdk-for-go", Ok("github.com/!azure/azure-sdk-for-go")),
        ("github.com/GoogleCloudPlatform/cloudsql-proxy", Ok("github.com/!google!cloud!platform/cloudsql-proxy")),
        ("github.com/Sirupsen/logrus", Ok("github.com/!sirupsen/logrus")),
        ("rsc.io/QUOTE", Ok("rsc.io/!q!u!o!t!e")),
        ("x.y/Z", Ok("x.y/!z")),
        ("gopkg.in/Yaml.v2", Ok("gopkg.in/!yaml.v2")),
        ("X.y/z", Err("malformed module path \"X.y/z\": invalid char 'X' in first path element")),
        ("x.y/é", Err("malformed module path \"x.y/é\": invalid char 'é'")),
        ("x.y/a!b", Err("malformed module path \"x.y/a!b\": invalid char '!'")),
        ("", Err("malformed module path \"\": empty string")),
    ];

    /// `badUnescape` from x/mod module_test.go, with the exact errors.
    #[rustfmt::skip]
    const BAD_UNESCAPE: &[(&str, Outcome)] = &[
        ("github.com/GoogleCloudPlatform/omega", Err("invalid escaped module path \"github.com/GoogleCloudPlatform/omega\"")),
        ("github.com/!google!cloud!platform!/omega", Err("invalid escaped module path \"github.com/!google!cloud!platform!/omega\"")),
        ("github.com/!0google!cloud!platform/omega", Err("invalid escaped module path \"github.com/!0google!cloud!platform/omega\"")),
        ("github.com/!_google!cloud!platform/omega", Err("invalid escaped module path \"github.com/!_google!cloud!platform/omega\"")),
        ("github.com/!!google!cloud!platform/omega", Err("invalid escaped module path \"github.com/!!google!cloud!platform/omega\"")),
        ("", Err("invalid escaped module path \"\": malformed module path \"\": empty string")),
    ];

    /// `unescape_path` of every invalid path of `checkPathTests` (x/mod's
    /// TestUnescapePath only requires an error; these are go 1.23's texts).
    #[rustfmt::skip]
    const UNESCAPE_INVALID_PATHS: &[(&str, Outcome)] = &[
        // "x.y/\xffz": not representable as &str
        ("/x.y/z", Err("invalid escaped module path \"/x.y/z\": malformed module path \"/x.y/z\": empty path element")),
        ("x./z", Err("invalid escaped module path \"x./z\": malformed module path \"x./z\": trailing dot in path element")),
        (".x/z", Err("invalid escaped module path \".x/z\": malformed module path \".x/z\": leading dot in path element")),
        ("-x/z", Err("invalid escaped module path \"-x/z\": malformed module path \"-x/z\": leading dash")),
        ("x.y/z/../../w", Err("invalid escaped module path \"x.y/z/../../w\": malformed module path \"x.y/z/../../w\": invalid path element \"..\"")),
        ("x.y//z", Err("invalid escaped module path \"x.y//z\": malformed module path \"x.y//z\": double slash")),
        ("x.y/z//w", Err("invalid escaped module path \"x.y/z//w\": malformed module path \"x.y/z//w\": double slash")),
        ("x.y/z/", Err("invalid escaped module path \"x.y/z/\": malformed module path \"x.y/z/\": trailing slash")),
        ("x.y/z/v0", Err("invalid escaped module path \"x.y/z/v0\": malformed module path \"x.y/z/v0\": invalid version")),
        ("x.y/z/v1", Err("invalid escaped module path \"x.y/z/v1\": malformed module path \"x.y/z/v1\": invalid version")),
        ("x.y/z/v2.0", Err("invalid escaped module path \"x.y/z/v2.0\": malformed module path \"x.y/z/v2.0\": invalid version")),
        ("X.y/z", Err("invalid escaped module path \"X.y/z\"")),
        ("!x.y/z", Err("invalid escaped module path \"!x.y/z\": malformed module path \"X.y/z\": invalid char 'X' in first path element")),
        ("_x.y/z", Err("invalid escaped module path \"_x.y/z\": malformed module path \"_x.y/z\": invalid char '_' in first path element")),
        ("x.y!/z", Err("invalid escaped module path \"x.y!/z\"")),
        ("x.y\"/z", Err("invalid escaped module path \"x.y\\\"/z\": malformed module path \"x.y\\\"/z\": invalid char '\"'")),
        ("x.y#/z", Err("invalid escaped module path \"x.y#/z\": malformed module path \"x.y#/z\": invalid char '#'")),
        ("x.y$/z", Err("invalid escaped module path \"x.y$/z\": malformed module path \"x.y$/z\": invalid char '$'")),
        ("x.y%/z", Err("invalid escaped module path \"x.y%/z\": malformed module path \"x.y%/z\": invalid char '%'")),
        ("x.y&/z", Err("invalid escaped module path \"x.y&/z\": malformed module path \"x.y&/z\": invalid char '&'")),
        ("x.y'/z", Err("invalid escaped module path \"x.y'/z\": malformed module path \"x.y'/z\": invalid char '\\''")),
        ("x.y(/z", Err("invalid escaped module path \"x.y(/z\": malformed module path \"x.y(/z\": invalid char '('")),
        ("x.y)/z", Err("invalid escaped module path \"x.y)/z\": malformed module path \"x.y)/z\": invalid char ')'")),
        ("x.y*/z", Err("invalid escaped module path \"x.y*/z\": malformed module path \"x.y*/z\": invalid char '*'")),
        ("x.y+/z", Err("invalid escaped module path \"x.y+/z\": malformed module path \"x.y+/z\": invalid char '+'")),
        ("x.y,/z", Err("invalid escaped module path \"x.y,/z\": malformed module path \"x.y,/z\": invalid char ','")),
        ("x.y./zt", Err("invalid escaped module path \"x.y./zt\": malformed module path \"x.y./zt\": trailing dot in path element")),
        ("x.y:/z", Err("invalid escaped module path \"x.y:/z\": malformed module path \"x.y:/z\": invalid char ':'")),
        ("x.y;/z", Err("invalid escaped module path \"x.y;/z\": malformed module path \"x.y;/z\": invalid char ';'")),
        ("x.y</z", Err("invalid escaped module path \"x.y</z\": malformed module path \"x.y</z\": invalid char '<'")),
        ("x.y=/z", Err("invalid escaped module path \"x.y=/z\": malformed module path \"x.y=/z\": invalid char '='")),
        ("x.y>/z", Err("invalid escaped module path \"x.y>/z\": malformed module path \"x.y>/z\": invalid char '>'")),
        ("x.y?/z", Err("invalid escaped module path \"x.y?/z\": malformed module path \"x.y?/z\": invalid char '?'")),
        ("x.y@/z", Err("invalid escaped module path \"x.y@/z\": malformed module path \"x.y@/z\": invalid char '@'")),
        ("x.y[/z", Err("invalid escaped module path \"x.y[/z\": malformed module path \"x.y[/z\": invalid char '['")),
        ("x.y\\/z", Err("invalid escaped module path \"x.y\\\\/z\": malformed module path \"x.y\\\\/z\": invalid char '\\\\'")),
        ("x.y]/z", Err("invalid escaped module path \"x.y]/z\": malformed module path \"x.y]/z\": invalid char ']'")),
        ("x.y^/z", Err("invalid escaped module path \"x.y^/z\": malformed module path \"x.y^/z\": invalid char '^'")),
        ("x.y_/z", Err("invalid escaped module path \"x.y_/z\": malformed module path \"x.y_/z\": invalid char '_' in first path element")),
        ("x.y`/z", Err("invalid escaped module path \"x.y`/z\": malformed module path \"x.y`/z\": invalid char '`'")),
        ("x.y{/z", Err("invalid escaped module path \"x.y{/z\": malformed module path \"x.y{/z\": invalid char '{'")),
        ("x.y}/z", Err("invalid escaped module path \"x.y}/z\": malformed module path \"x.y}/z\": invalid char '}'")),
        ("x.y~/z", Err("invalid escaped module path \"x.y~/z\": malformed module path \"x.y~/z\": invalid char '~' in first path element")),
        ("x.y/z!", Err("invalid escaped module path \"x.y/z!\"")),
        ("x.y/z\"", Err("invalid escaped module path \"x.y/z\\\"\": malformed module path \"x.y/z\\\"\": invalid char '\"'")),
        ("x.y/z#", Err("invalid escaped module path \"x.y/z#\": malformed module path \"x.y/z#\": invalid char '#'")),
        ("x.y/z$", Err("invalid escaped module path \"x.y/z$\": malformed module path \"x.y/z$\": invalid char '$'")),
        ("x.y/z%", Err("invalid escaped module path \"x.y/z%\": malformed module path \"x.y/z%\": invalid char '%'")),
        ("x.y/z&", Err("invalid escaped module path \"x.y/z&\": malformed module path \"x.y/z&\": invalid char '&'")),
        ("x.y/z'", Err("invalid escaped module path \"x.y/z'\": malformed module path \"x.y/z'\": invalid char '\\''")),
        ("x.y/z(", Err("invalid escaped module path \"x.y/z(\": malformed module path \"x.y/z(\": invalid char '('")),
        ("x.y/z)", Err("invalid escaped module path \"x.y/z)\": malformed module path \"x.y/z)\": invalid char ')'")),
        ("x.y/z*", Err("invalid escaped module path \"x.y/z*\": malformed module path \"x.y/z*\": invalid char '*'")),
        ("x.y/z++", Err("invalid escaped module path \"x.y/z++\": malformed module path \"x.y/z++\": invalid char '+'")),
        ("x.y/z,", Err("invalid escaped module path \"x.y/z,\": malformed module path \"x.y/z,\": invalid char ','")),
        ("x.y/z:", Err("invalid escaped module path \"x.y/z:\": malformed module path \"x.y/z:\": invalid char ':'")),
        ("x.y/z;", Err("invalid escaped module path \"x.y/z;\": malformed module path \"x.y/z;\": invalid char ';'")),
        ("x.y/z<", Err("invalid escaped module path \"x.y/z<\": malformed module path \"x.y/z<\": invalid char '<'")),
        ("x.y/z=", Err("invalid escaped module path \"x.y/z=\": malformed module path \"x.y/z=\": invalid char '='")),
        ("x.y/z>", Err("invalid escaped module path \"x.y/z>\": malformed module path \"x.y/z>\": invalid char '>'")),
        ("x.y/z?", Err("invalid escaped module path \"x.y/z?\": malformed module path \"x.y/z?\": invalid char '?'")),
        ("x.y/z@", Err("invalid escaped module path \"x.y/z@\": malformed module path \"x.y/z@\": invalid char '@'")),
        ("x.y/z[", Err("invalid escaped module path \"x.y/z[\": malformed module path \"x.y/z[\": invalid char '['")),
        ("x.y/z\\", Err("invalid escaped module path \"x.y/z\\\\\": malformed module path \"x.y/z\\\\\": invalid char '\\\\'")),
        ("x.y/z]", Err("invalid escaped module path \"x.y/z]\": malformed module path \"x.y/z]\": invalid char ']'")),
        ("x.y/z^", Err("invalid escaped module path \"x.y/z^\": malformed module path \"x.y/z^\": invalid char '^'")),
        ("x.y/z`", Err("invalid escaped module path \"x.y/z`\": malformed module path \"x.y/z`\": invalid char '`'")),
        ("x.y/z{", Err("invalid escaped module path \"x.y/z{\": malformed module path \"x.y/z{\": invalid char '{'")),
        ("x.y/z}", Err("invalid escaped module path \"x.y/z}\": malformed module path \"x.y/z}\": invalid char '}'")),
        ("x.y/aux.foo", Err("invalid escaped module path \"x.y/aux.foo\": malformed module path \"x.y/aux.foo\": \"aux\" disallowed as path element component on Windows")),
        ("x.y/prn", Err("invalid escaped module path \"x.y/prn\": malformed module path \"x.y/prn\": \"prn\" disallowed as path element component on Windows")),
        ("x.y/com1", Err("invalid escaped module path \"x.y/com1\": malformed module path \"x.y/com1\": \"com1\" disallowed as path element component on Windows")),
        ("x.y/com1.txt", Err("invalid escaped module path \"x.y/com1.txt\": malformed module path \"x.y/com1.txt\": \"com1\" disallowed as path element component on Windows")),
        ("x.y/z~0", Err("invalid escaped module path \"x.y/z~0\": malformed module path \"x.y/z~0\": trailing tilde and digits in path element")),
        ("x.y/z~09", Err("invalid escaped module path \"x.y/z~09\": malformed module path \"x.y/z~09\": trailing tilde and digits in path element")),
        ("x.y/z09~09z~09", Err("invalid escaped module path \"x.y/z09~09z~09\": malformed module path \"x.y/z09~09z~09\": trailing tilde and digits in path element")),
        ("github.com/!123/logrus", Err("invalid escaped module path \"github.com/!123/logrus\"")),
        ("github.com/user/unicode/испытание", Err("invalid escaped module path \"github.com/user/unicode/испытание\"")),
        ("../x", Err("invalid escaped module path \"../x\": malformed module path \"../x\": invalid path element \"..\"")),
        ("./y", Err("invalid escaped module path \"./y\": malformed module path \"./y\": invalid path element \".\"")),
        ("x:y", Err("invalid escaped module path \"x:y\": malformed module path \"x:y\": invalid char ':'")),
        ("\\temp\\foo", Err("invalid escaped module path \"\\\\temp\\\\foo\": malformed module path \"\\\\temp\\\\foo\": invalid char '\\\\'")),
        (".gitignore", Err("invalid escaped module path \".gitignore\": malformed module path \".gitignore\": leading dot in path element")),
        (".github/ISSUE_TEMPLATE", Err("invalid escaped module path \".github/ISSUE_TEMPLATE\"")),
        ("x☺y", Err("invalid escaped module path \"x☺y\"")),
    ];

    /// More `unescape_path` cases with exact results.
    #[rustfmt::skip]
    const UNESCAPE_PATH_EXTRA: &[(&str, Outcome)] = &[
        ("ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789", Ok("ascii.com/abcdefghijklmnopqrstuvwxyz.-/~_0123456789")),
        ("github.com/!google!cloud!platform/omega", Ok("github.com/GoogleCloudPlatform/omega")),
        ("github.com/!azure/azure-sdk-for-go", Ok("github.com/Azure/azure-sdk-for-go")),
        ("rsc.io/!q!u!o!t!e", Ok("rsc.io/QUOTE")),
        ("rsc.io/!", Err("invalid escaped module path \"rsc.io/!\"")),
        ("rsc.io/!!", Err("invalid escaped module path \"rsc.io/!!\"")),
        ("x.y/!z", Ok("x.y/Z")),
        ("!x.y", Err("invalid escaped module path \"!x.y\": malformed module path \"X.y\": invalid char 'X' in first path element")),
        ("x.y/é", Err("invalid escaped module path \"x.y/é\"")),
        ("x.y/!é", Err("invalid escaped module path \"x.y/!é\"")),
        ("x.y/z!", Err("invalid escaped module path \"x.y/z!\"")),
        ("x.y/!Z", Err("invalid escaped module path \"x.y/!Z\"")),
        ("x.y/!0", Err("invalid escaped module path \"x.y/!0\"")),
    ];

    /// `escape_version` cases with exact results.
    #[rustfmt::skip]
    const ESCAPE_VERSION_EXTRA: &[(&str, Outcome)] = &[
        ("v1.0.0", Ok("v1.0.0")),
        ("v1.0.0-RC1", Ok("v1.0.0-!r!c1")),
        ("v1.0.0-rc1", Ok("v1.0.0-rc1")),
        ("master", Ok("master")),
        ("Master", Ok("!master")),
        ("v1!", Err("version \"v1!\" invalid: disallowed version string")),
        ("", Err("version \"\" invalid: disallowed version string")),
        (".", Err("version \".\" invalid: disallowed version string")),
        ("..", Err("version \"..\" invalid: disallowed version string")),
        ("a/b", Err("version \"a/b\" invalid: disallowed version string")),
        ("v1.0.0+incompatible", Ok("v1.0.0+incompatible")),
        ("v1.0.0 beta", Ok("v1.0.0 beta")),
        ("é", Err("internal error: inconsistency in EscapePath")),
        ("CON", Err("version \"CON\" invalid: disallowed version string")),
        ("con.v1", Err("version \"con.v1\" invalid: disallowed version string")),
        ("v1.0.0~1", Ok("v1.0.0~1")),
        ("-v1", Ok("-v1")),
        ("v1.0.0.", Err("version \"v1.0.0.\" invalid: disallowed version string")),
        ("v1:0", Err("version \"v1:0\" invalid: disallowed version string")),
        ("v1.0.0-ÆØÅ", Err("internal error: inconsistency in EscapePath")),
    ];

    /// `unescape_version` cases with exact results.
    #[rustfmt::skip]
    const UNESCAPE_VERSION_EXTRA: &[(&str, Outcome)] = &[
        ("v1.0.0", Ok("v1.0.0")),
        ("v1.0.0-!r!c1", Ok("v1.0.0-RC1")),
        ("!master", Ok("Master")),
        ("v1.0.0-RC1", Err("invalid escaped version \"v1.0.0-RC1\"")),
        ("v!", Err("invalid escaped version \"v!\"")),
        ("!!", Err("invalid escaped version \"!!\"")),
        ("", Err("invalid escaped version \"\": empty path element")),
        ("a/b", Err("invalid escaped version \"a/b\": invalid char '/'")),
        ("..", Err("invalid escaped version \"..\": invalid path element \"..\"")),
        ("con", Err("invalid escaped version \"con\": \"con\" disallowed as path element component on Windows")),
        ("é", Err("invalid escaped version \"é\"")),
        ("v1.0.0+incompatible", Ok("v1.0.0+incompatible")),
        ("v1.0.0~1", Ok("v1.0.0~1")),
        ("v1:0", Err("invalid escaped version \"v1:0\": invalid char ':'")),
        ("v1.0.0!", Err("invalid escaped version \"v1.0.0!\"")),
    ];

    /// The table of x/mod's TestMatchPathMajor: (v, path_major, want).
    #[rustfmt::skip]
    const MATCH_PATH_MAJOR_TESTS: &[(&str, &str, bool)] = &[
        ("v0.0.0", "", true),
        ("v0.0.0", "/v2", false),
        ("v0.0.0", ".v0", true),
        ("v0.0.0-20190510104115-cbcb75029529", ".v1", true),
        ("v1.0.0", "/v2", false),
        ("v1.0.0", ".v1", true),
        ("v1.0.0", ".v1-unstable", true),
        ("v2.0.0+incompatible", "", true),
        ("v2.0.0", "", false),
        ("v2.0.0", "/v2", true),
        ("v2.0.0", ".v2", true),
    ];

    /// `check_path_major` with exact errors (`None`: ok), including odd inputs.
    #[rustfmt::skip]
    const CHECK_PATH_MAJOR_EXTRA: &[(&str, &str, Expect)] = &[
        ("v0.0.0", "", None),
        ("v0.0.0", "/v2", Some("version \"v0.0.0\" invalid: should be v2, not v0")),
        ("v0.0.0", ".v0", None),
        ("v0.0.0-20190510104115-cbcb75029529", ".v1", None),
        ("v1.0.0", "/v2", Some("version \"v1.0.0\" invalid: should be v2, not v1")),
        ("v1.0.0", ".v1", None),
        ("v1.0.0", ".v1-unstable", None),
        ("v2.0.0+incompatible", "", None),
        ("v2.0.0", "", Some("version \"v2.0.0\" invalid: should be v0 or v1, not v2")),
        ("v2.0.0", "/v2", None),
        ("v2.0.0", ".v2", None),
        ("v1.0.0", "v2", Some("version \"v1.0.0\" invalid: should be v2, not v1")),
        ("v3.0.0+incompatible", "", None),
        ("v2.0.0+incompatible", "/v2", None),
        ("v3.0.0+incompatible", "/v2", Some("version \"v3.0.0+incompatible\" invalid: should be v2, not v3")),
        ("bad", "", Some("version \"bad\" invalid: should be v0 or v1, not ")),
        ("", "/v2", Some("version \"\" invalid: should be v2, not ")),
        ("v2.0.0", ".v1-unstable", Some("version \"v2.0.0\" invalid: should be v1, not v2")),
        ("v0.0.0-2019", ".v1-unstable", None),
        ("v0.0.0-x", ".v1", None),
        ("v0.0.0-20190510104115-cbcb75029529", "/v1", Some("version \"v0.0.0-20190510104115-cbcb75029529\" invalid: should be v1, not v0")),
        ("v1.0.0", "/v2-unstable", Some("version \"v1.0.0\" invalid: should be v2-unstable, not v1")),
        ("v2.0.0", "x", Some("version \"v2.0.0\" invalid: should be x, not v2")),
        ("v2.0.0", "/", Some("version \"v2.0.0\" invalid: should be , not v2")),
        ("bad", "/", None),
        ("v2.0.0+incompatible", ".v2", None),
        ("v1.2.3-pre", "", None),
        ("v1", "", None),
    ];

    /// The table of x/mod's TestMatchPrefixPatterns: (globs, target, want).
    #[rustfmt::skip]
    const MATCH_PREFIX_PATTERNS_TESTS: &[(&str, &str, bool)] = &[
        ("", "rsc.io/quote", false),
        ("/", "rsc.io/quote", false),
        ("*/quote", "rsc.io/quote", true),
        ("*/quo", "rsc.io/quote", false),
        ("*/quo??", "rsc.io/quote", true),
        ("*/quo*", "rsc.io/quote", true),
        ("*quo*", "rsc.io/quote", false),
        ("rsc.io", "rsc.io/quote", true),
        ("*.io", "rsc.io/quote", true),
        ("rsc.io/", "rsc.io/quote", true),
        ("rsc", "rsc.io/quote", false),
        ("rsc*", "rsc.io/quote", true),
        ("rsc.io", "rsc.io/quote/v3", true),
        ("*/quote", "rsc.io/quote/v3", true),
        ("*/quote/", "rsc.io/quote/v3", true),
        ("*/quote/*", "rsc.io/quote/v3", true),
        ("*/quote/*/", "rsc.io/quote/v3", true),
        ("*/v3", "rsc.io/quote/v3", false),
        ("*/*/v3", "rsc.io/quote/v3", true),
        ("*/*/*", "rsc.io/quote/v3", true),
        ("*/*/*/", "rsc.io/quote/v3", true),
        ("*/*/*", "rsc.io/quote", false),
        ("*/*/*/", "rsc.io/quote", false),
        ("*/*/*,,", "rsc.io/quote", false),
        ("*/*/*,,*/quote", "rsc.io/quote", true),
        (",,*/quote", "rsc.io/quote", true),
    ];

    /// More `match_prefix_patterns` cases: malformed patterns, classes, escapes,
    /// non-ASCII, empty targets, lists.
    #[rustfmt::skip]
    const MATCH_PREFIX_PATTERNS_EXTRA: &[(&str, &str, bool)] = &[
        ("rsc.io/quote", "rsc.io/quote", true),
        ("rsc.io/quote", "rsc.io/quotes", false),
        ("rsc.io/quote,", "rsc.io/quote/v3", true),
        ("[", "rsc.io", false),
        ("[,rsc.io", "rsc.io", true),
        ("[a-", "a", false),
        ("rsc.io/[", "rsc.io/x", false),
        ("\\", "rsc.io", false),
        ("*", "rsc.io/quote", true),
        ("*,", "rsc.io", true),
        ("r?c.io", "rsc.io/x", true),
        ("[^a]sc.io", "rsc.io", true),
        ("[r-s]sc.io", "rsc.io", true),
        ("*.io/*", "rsc.io", false),
        ("rsc.io//", "rsc.io/quote", false),
        ("RSC.io", "rsc.io", false),
        ("*\\.io", "rsc.io", true),
        ("rsc.io", "", false),
        ("", "", false),
        ("*", "", true),
        ("é", "é/x", true),
        ("?", "é", true),
        ("[é]", "é", true),
        ("[^é]", "e", true),
        ("a*b", "axxb/c", true),
        ("a*b*c", "abc", true),
        ("a*b*c", "abxc/d", true),
        ("*/*", "a/b/c", true),
        ("[]a]", "]", false),
        ("[\\]a]", "]", true),
        ("a*[", "abc", false),
        ("*x", "abc", false),
        ("*c", "abc", true),
        ("**", "abc", true),
        ("[a-c]*", "b.com/x", true),
        ("[!a]", "b", false),
        ("\\*", "*", true),
        ("\\*", "a", false),
        ("*\\", "a", false),
        ("a?", "a/", false),
        ("?", "/", false),
        ("golang.org,github.com/me", "github.com/me/repo", true),
        ("golang.org,github.com/me", "github.com/you/repo", false),
        ("*.corp.example.com,rsc.io/private", "git.corp.example.com/x", true),
        ("*.corp.example.com,rsc.io/private", "rsc.io/private/quote", true),
        ("*.corp.example.com,rsc.io/private", "rsc.io/public", false),
    ];

    /// `canonical_version` cases.
    #[rustfmt::skip]
    const CANONICAL_VERSION_EXTRA: &[(&str, &str)] = &[
        ("v1.2.3+incompatible", "v1.2.3+incompatible"),
        ("v1.2+incompatible", ""),
        ("v1.2.3+meta", "v1.2.3"),
        ("v2.0.0-pre+incompatible", "v2.0.0-pre+incompatible"),
        ("bad+incompatible", ""),
        ("v1", "v1.0.0"),
        ("v2.0.0+incompatible.1", "v2.0.0"),
        ("", ""),
    ];

    /// `path_major_prefix` cases ("Go panics": returns "" instead).
    #[rustfmt::skip]
    const PATH_MAJOR_PREFIX_EXTRA: &[(&str, &str)] = &[
        ("", ""),
        ("/v2", "v2"),
        (".v2", "v2"),
        (".v2-unstable", "v2"),
        (".v0", "v0"),
        ("/v1", "v1"),
        ("v2", ""), // Go panics
        ("/v2.0", ""), // Go panics
        ("/v2-unstable", ""), // Go panics
        (".v", ""), // Go panics
        ("/", ""),
        ("/v02", ""), // Go panics
        (".v1-unstable", "v1"),
        ("/v10", "v10"),
        (".v-unstable", ""), // Go panics
    ];

    #[test]
    fn check_table() {
        for &(path, version, want) in CHECK_TESTS.iter().chain(CHECK_EXTRA) {
            assert_eq!(
                err_text(check(path, version)).as_deref(),
                want,
                "check({path:?}, {version:?})"
            );
        }
    }

    #[test]
    fn check_path_table() {
        for &(path, module, import, file) in CHECK_PATH_TESTS.iter().chain(CHECK_PATH_EXTRA) {
            assert_eq!(
                err_text(check_path(path)).as_deref(),
                module,
                "check_path({path:?})"
            );
            assert_eq!(
                err_text(check_import_path(path)).as_deref(),
                import,
                "check_import_path({path:?})"
            );
            assert_eq!(
                err_text(check_file_path(path)).as_deref(),
                file,
                "check_file_path({path:?})"
            );
        }
    }

    #[test]
    fn split_path_version_table() {
        for &(prefix, major) in SPLIT_PATH_VERSION_TESTS {
            let path = format!("{prefix}{major}");
            assert_eq!(
                split_path_version(&path),
                Some((prefix.to_string(), major.to_string())),
                "split_path_version({path:?})"
            );
        }
    }

    #[test]
    fn split_path_version_adds_up() {
        for &(path, module, _, _) in CHECK_PATH_TESTS.iter().chain(CHECK_PATH_EXTRA) {
            match split_path_version(path) {
                Some((prefix, major)) => assert_eq!(format!("{prefix}{major}"), path),
                // Go's ok == false always makes check_path fail.
                None => assert!(module.is_some(), "{path:?}"),
            }
        }
    }

    #[test]
    fn split_path_version_extra() {
        for &(path, want) in SPLIT_EXTRA {
            let want = want.map(|(p, m)| (p.to_string(), m.to_string()));
            assert_eq!(
                split_path_version(path),
                want,
                "split_path_version({path:?})"
            );
        }
    }

    #[test]
    fn escape_path_invalid() {
        // EscapePath returns CheckPath's error.
        for &(path, module, _, _) in CHECK_PATH_TESTS.iter().chain(CHECK_PATH_EXTRA) {
            if let Some(want) = module {
                assert_eq!(
                    err_text(escape_path(path)).as_deref(),
                    Some(want),
                    "{path:?}"
                );
            }
        }
    }

    #[test]
    fn escape_path_table() {
        for &(path, esc) in ESCAPE_TESTS {
            let want = if esc.is_empty() { path } else { esc };
            assert_eq!(outcome(escape_path(path)), Ok(want.to_string()), "{path:?}");
        }
    }

    #[test]
    fn escape_path_extra() {
        for &(path, want) in ESCAPE_PATH_EXTRA {
            assert_eq!(
                outcome(escape_path(path)),
                owned(want),
                "escape_path({path:?})"
            );
        }
    }

    #[test]
    fn unescape_path_bad() {
        for &(esc, want) in BAD_UNESCAPE {
            assert_eq!(
                outcome(unescape_path(esc)),
                owned(want),
                "unescape_path({esc:?})"
            );
        }
    }

    #[test]
    fn unescape_path_invalid() {
        for &(esc, want) in UNESCAPE_INVALID_PATHS {
            assert_eq!(
                outcome(unescape_path(esc)),
                owned(want),
                "unescape_path({esc:?})"
            );
        }
    }

    #[test]
    fn unescape_path_table() {
        for &(path, esc) in ESCAPE_TESTS {
            let esc = if esc.is_empty() { path } else { esc };
            assert_eq!(outcome(unescape_path(esc)), Ok(path.to_string()), "{esc:?}");
        }
    }

    #[test]
    fn unescape_path_extra() {
        for &(esc, want) in UNESCAPE_PATH_EXTRA {
            assert_eq!(
                outcome(unescape_path(esc)),
                owned(want),
                "unescape_path({esc:?})"
            );
        }
    }

    #[test]
    fn escape_version_extra() {
        for &(v, want) in ESCAPE_VERSION_EXTRA {
            assert_eq!(
                outcome(escape_version(v)),
                owned(want),
                "escape_version({v:?})"
            );
        }
    }

    #[test]
    fn unescape_version_extra() {
        for &(esc, want) in UNESCAPE_VERSION_EXTRA {
            assert_eq!(
                outcome(unescape_version(esc)),
                owned(want),
                "unescape_version({esc:?})"
            );
        }
    }

    #[test]
    fn match_path_major_table() {
        for &(v, pm, want) in MATCH_PATH_MAJOR_TESTS {
            assert_eq!(
                match_path_major(v, pm),
                want,
                "match_path_major({v:?}, {pm:?})"
            );
        }
    }

    #[test]
    fn check_path_major_extra() {
        for &(v, pm, want) in CHECK_PATH_MAJOR_EXTRA {
            assert_eq!(
                err_text(check_path_major(v, pm)).as_deref(),
                want,
                "check_path_major({v:?}, {pm:?})"
            );
            assert_eq!(match_path_major(v, pm), want.is_none());
        }
    }

    #[test]
    fn match_prefix_patterns_table() {
        for &(globs, target, want) in MATCH_PREFIX_PATTERNS_TESTS {
            assert_eq!(
                match_prefix_patterns(globs, target),
                want,
                "match_prefix_patterns({globs:?}, {target:?})"
            );
        }
    }

    #[test]
    fn match_prefix_patterns_extra() {
        for &(globs, target, want) in MATCH_PREFIX_PATTERNS_EXTRA {
            assert_eq!(
                match_prefix_patterns(globs, target),
                want,
                "match_prefix_patterns({globs:?}, {target:?})"
            );
        }
    }

    #[test]
    fn canonical_version_extra() {
        for &(v, want) in CANONICAL_VERSION_EXTRA {
            assert_eq!(canonical_version(v), want, "canonical_version({v:?})");
        }
    }

    #[test]
    fn path_major_prefix_extra() {
        for &(pm, want) in PATH_MAJOR_PREFIX_EXTRA {
            assert_eq!(path_major_prefix(pm), want, "path_major_prefix({pm:?})");
        }
    }

    #[test]
    fn version_display() {
        assert_eq!(
            Version::new("rsc.io/quote", "v1.5.2").to_string(),
            "rsc.io/quote@v1.5.2"
        );
        assert_eq!(Version::new("rsc.io/quote", "").to_string(), "rsc.io/quote");
        assert_eq!(Version::new("", "").to_string(), "");
    }

    #[test]
    fn error_display() {
        let verr = || Error::invalid_version("v1.0.0", false, Error::msg("boom"));
        let cases: Vec<(Error, &str)> = vec![
            (
                Error::module("m.x/y", "v1.0.0", Error::msg("boom")),
                "m.x/y@v1.0.0: boom",
            ),
            (
                Error::module("m.x/y", "", Error::msg("boom")),
                "module m.x/y: boom",
            ),
            // An InvalidVersion inside a Module error: its version and noun are used.
            (
                Error::module("m.x/y", "", verr()),
                "m.x/y@v1.0.0: invalid version: boom",
            ),
            (
                Error::module("m.x/y", "v9", verr()),
                "m.x/y@v1.0.0: invalid version: boom",
            ),
            (
                Error::module(
                    "m.x/y",
                    "v2",
                    Error::invalid_version("v\"", true, Error::msg("x")),
                ),
                "m.x/y@v\": invalid pseudo-version: x",
            ),
            (verr(), "version \"v1.0.0\" invalid: boom"),
            (
                Error::invalid_version("v\"", true, Error::msg("x")),
                "pseudo-version \"v\\\"\" invalid: x",
            ),
            (
                Error::invalid_path(PathKind::File, "a\tb", Error::msg("x")),
                "malformed file path \"a\\tb\": x",
            ),
            // Wrapping another Module error: %v of the inner text.
            (
                Error::module("a.b", "v1", Error::module("c.d", "", Error::msg("x"))),
                "a.b@v1: module c.d: x",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn error_source_chain() {
        use std::error::Error as _;
        let e = Error::module(
            "m.x/y",
            "",
            Error::invalid_version("v1", false, Error::msg("x")),
        );
        let inner = e.source().map(|s| s.to_string());
        assert_eq!(inner.as_deref(), Some("version \"v1\" invalid: x"));
        assert!(Error::msg("x").source().is_none());
    }

    #[test]
    fn version_error_wraps_once() {
        let v = Version::new("m.x/y", "v1.0.0");
        let e = version_error(&v, Error::msg("boom"));
        assert_eq!(e.to_string(), "m.x/y@v1.0.0: boom");
        // Already a ModuleError for the same module: returned unchanged.
        assert_eq!(version_error(&v, e.clone()), e);
        // A ModuleError for the same module under a wrapper: unchanged too.
        let wrapped = Error::invalid_version("v1.0.0", false, e.clone());
        assert_eq!(version_error(&v, wrapped.clone()), wrapped);
        // A ModuleError for another version is wrapped.
        let other = Version::new("m.x/y", "v2.0.0");
        assert_eq!(
            version_error(&other, e).to_string(),
            "m.x/y@v2.0.0: m.x/y@v1.0.0: boom"
        );
        // An InvalidVersion is wrapped and shown with its own version.
        let iv = Error::invalid_version("v1.0.0", true, Error::msg("bad"));
        assert_eq!(
            version_error(&v, iv).to_string(),
            "m.x/y@v1.0.0: invalid pseudo-version: bad"
        );
    }

    #[test]
    fn sort_versions() {
        let mut list: Vec<Version> = [
            ("rsc.io/quote", "v1.5.2/go.mod"),
            ("rsc.io/quote", "v1.10.0"),
            ("golang.org/x/text", "v0.3.0"),
            ("rsc.io/quote", "v1.5.2"),
            ("rsc.io/quote", "bad"),
            ("rsc.io/quote", "v1.5"),
            ("rsc.io/quote", "v1.5.0"),
            ("rsc.io/quote", "v1.5.2-pre"),
            ("rsc.io/quote", "aaa"),
            ("rsc.io/quote", "v1.5.2/a"),
            ("rsc.io/quote", ""),
        ]
        .into_iter()
        .map(|(p, v)| Version::new(p, v))
        .collect();
        sort(&mut list);
        let got: Vec<String> = list.iter().map(|m| m.to_string()).collect();
        assert_eq!(
            got,
            [
                "golang.org/x/text@v0.3.0",
                "rsc.io/quote",
                "rsc.io/quote@aaa",
                "rsc.io/quote@bad",
                "rsc.io/quote@v1.5",
                "rsc.io/quote@v1.5.0",
                "rsc.io/quote@v1.5.2-pre",
                "rsc.io/quote@v1.5.2",
                "rsc.io/quote@v1.5.2/a",
                "rsc.io/quote@v1.5.2/go.mod",
                "rsc.io/quote@v1.10.0",
            ]
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    /// Module-path-like strings, many of them valid, with upper case to escape.
    fn module_path() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9-]{1,5}\\.[a-z]{1,3}(/[A-Za-z0-9._~-]{1,6}){0,3}(/v[0-9]{1,2})?",
            "gopkg\\.in/[A-Za-z]{1,5}\\.v[0-9]{1,2}(-unstable)?",
            "[ -~]{0,12}",
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn escape_path_round_trip(p in module_path()) {
            match escape_path(&p) {
                Ok(e) => {
                    prop_assert!(check_path(&p).is_ok());
                    prop_assert!(!e.bytes().any(|b| b.is_ascii_uppercase()));
                    prop_assert_eq!(unescape_path(&e), Ok(p.clone()));
                }
                Err(e) => prop_assert_eq!(Some(e), check_path(&p).err()),
            }
        }

        #[test]
        fn unescape_path_round_trip(e in "[a-z0-9.!/~_-]{1,16}") {
            if let Ok(p) = unescape_path(&e) {
                prop_assert_eq!(escape_path(&p), Ok(e.clone()));
            }
        }

        #[test]
        fn escape_version_round_trip(v in "[ -~]{0,10}") {
            if let Ok(e) = escape_version(&v) {
                prop_assert_eq!(unescape_version(&e), Ok(v.clone()));
            }
        }

        #[test]
        fn never_panics(s in any::<String>(), t in module_path()) {
            let _ = (check(&s, &t), check(&t, &s), check_path(&s), check_import_path(&s));
            let _ = (check_file_path(&s), check_path_major(&s, &t), check_path_major(&t, &s));
            let _ = (match_path_major(&s, &t), path_major_prefix(&s), split_path_version(&s));
            let _ = (canonical_version(&s), escape_path(&s), escape_version(&s));
            let _ = (unescape_path(&s), unescape_version(&s));
            let _ = (match_prefix_patterns(&s, &t), match_prefix_patterns(&t, &s));
            let _ = match_prefix_patterns(&s, &s);
            let mut list = vec![Version::new(&*s, &*t), Version::new(&*t, &*s), Version::new(&*s, &*s)];
            sort(&mut list);
        }

        #[test]
        fn glob_never_panics(g in "[*?\\[\\]^\\\\a-c/,é-]{0,10}", t in "[a-cé/\\]*?-]{0,8}") {
            let _ = match_prefix_patterns(&g, &t);
        }

        #[test]
        fn literal_glob_matches_itself(p in "[a-z0-9.-]{1,6}(/[a-z0-9.-]{1,6}){0,3}") {
            prop_assert!(match_prefix_patterns(&p, &p));
            let longer = format!("{p}/x");
            prop_assert!(match_prefix_patterns(&p, &longer));
        }
    }

    #[test]
    fn canonical_versions() {
        assert!(is_canonical("v1.2.3"));
        assert!(is_canonical("v2.0.0+incompatible"));
        assert!(is_canonical("v0.0.0-20190101000000-abcdefabcdef"));
        assert!(!is_canonical("v1.2"));
        assert!(!is_canonical("master"));
        assert!(!is_canonical("v1.2.3+meta"));
        assert!(!is_canonical(""));
    }
}
