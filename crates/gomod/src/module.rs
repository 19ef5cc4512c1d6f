//! Module paths and versions (golang.org/x/mod/module): path checks, `!` case
//! escaping, major-version suffixes and `GOPRIVATE`-style pattern matching.
//!
//! Error texts are those of the go command (`ModuleError`, `InvalidVersionError`,
//! `InvalidPathError`), including Go's `%q` quoting.

mod isprint;
mod letters;
mod quote;

pub(crate) use quote::{quote, quote_rune};

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
        quote::is_letter(c)
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
            b'\\' => {
                if i + 1 < pattern.len() {
                    i += 1;
                }
            }
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
