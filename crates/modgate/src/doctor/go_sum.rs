//! The project's go.sum lines with where each was read (file and line), and the finding
//! for a line that disagrees with what the go command will download.

use std::path::{Path, PathBuf};

use gomod::layout::{self, Ext};

use super::finding::{Finding, Group, Severity};

/// One go.sum line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Module path.
    pub module: String,
    /// Version (without `/go.mod`).
    pub version: String,
    /// Whether it is the go.mod's line (`/go.mod`) rather than the zip's.
    pub go_mod: bool,
    /// The hash it gives.
    pub hash: String,
    /// The file it is in.
    pub file: PathBuf,
    /// Its line number (from 1).
    pub line: usize,
}

impl Line {
    /// `file:line`.
    pub fn at(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }

    /// The hash of the file this line is about as the module cache `modcache` holds it
    /// (the `.mod` hashed, or the `.ziphash`), if it holds it.
    pub fn cached_hash(&self, modcache: &Path) -> Option<String> {
        let file = |ext| layout::version_file(&self.module, &self.version, ext).ok();
        if self.go_mod {
            let data = std::fs::read(modcache.join(file(Ext::Mod)?)).ok()?;
            Some(gomod::dirhash::hash_go_mod(&data))
        } else {
            let h = std::fs::read_to_string(modcache.join(file(Ext::ZipHash)?)).ok()?;
            Some(h.trim().to_string())
        }
    }

    /// `go.mod` or `zip`.
    pub fn what(&self) -> &'static str {
        if self.go_mod { "go.mod" } else { "zip" }
    }
}

/// The `h1:` lines of the go.sum files `files`, in order.
pub fn read(files: &[PathBuf]) -> Vec<Line> {
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        out.extend(parse(f, &text));
    }
    out
}

fn parse(file: &Path, text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let [module, version, hash] = f[..] else {
            continue;
        };
        if !hash.starts_with("h1:") {
            continue;
        }
        let (version, go_mod) = match version.strip_suffix("/go.mod") {
            Some(v) => (v, true),
            None => (version, false),
        };
        out.push(Line {
            module: module.into(),
            version: version.into(),
            go_mod,
            hash: hash.into(),
            file: file.to_path_buf(),
            line: i + 1,
        });
    }
    out
}

/// The lines of `module` `version`.
pub fn of<'a>(lines: &'a [Line], module: &str, version: &str) -> Vec<&'a Line> {
    lines
        .iter()
        .filter(|l| l.module == module && l.version == version)
        .collect()
}

/// The finding for go.sum line `l` when what the go command will download hashes to
/// `want`, as `sources` (who says so: the checksum database, the proxy) measured; `doubt`,
/// when the sources cannot settle which side is wrong, is added to the cause.
pub fn mismatch(l: &Line, want: &str, sources: &str, doubt: Option<&str>) -> Finding {
    let file = l.file.display();
    Finding {
        group: Group::Configuration,
        severity: Severity::Problem,
        measured: format!(
            "{} says {} for the {} of {}@{}; {sources} {want}",
            l.at(),
            l.hash,
            l.what(),
            l.module,
            l.version
        ),
        cause: format!(
            "the go command hashes what it downloads and compares it with go.sum: it stops with \"verifying {}@{}{}: checksum mismatch ... SECURITY ERROR\". {}",
            l.module,
            l.version,
            if l.go_mod { "/go.mod" } else { "" },
            doubt.unwrap_or(
                "go.sum was edited by hand, merged badly, or written from another copy of the module"
            )
        ),
        fix: Some(format!(
            "sed -i '\\#^{} {}[ /]#d' {file} && go mod download {}@{}",
            l.module.replace('.', "\\."),
            l.version.replace('.', "\\."),
            l.module,
            l.version
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_s_hash_of_a_line() {
        let d = tempfile::tempdir().unwrap();
        let v = d.path().join("cache/download/example.com/!a/@v");
        std::fs::create_dir_all(&v).unwrap();
        std::fs::write(v.join("v1.0.0.mod"), "module example.com/A\n").unwrap();
        std::fs::write(v.join("v1.0.0.ziphash"), "h1:zip=\n").unwrap();
        let text = "example.com/A v1.0.0 h1:x=\nexample.com/A v1.0.0/go.mod h1:y=\nexample.com/B v1.0.0 h1:z=\n";
        let lines = parse(Path::new("go.sum"), text);
        assert_eq!(lines[0].cached_hash(d.path()).as_deref(), Some("h1:zip="));
        assert_eq!(
            lines[1].cached_hash(d.path()),
            Some(gomod::dirhash::hash_go_mod(b"module example.com/A\n"))
        );
        assert_eq!(lines[2].cached_hash(d.path()), None);
    }

    #[test]
    fn lines_with_their_places() {
        let text = "example.com/a v1.0.0 h1:zip=\nexample.com/a v1.0.0/go.mod h1:mod=\n\nbad line\nexample.com/b v0.1.0/go.mod h1:b=\n";
        let lines = parse(Path::new("/p/go.sum"), text);
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[1],
            Line {
                module: "example.com/a".into(),
                version: "v1.0.0".into(),
                go_mod: true,
                hash: "h1:mod=".into(),
                file: "/p/go.sum".into(),
                line: 2,
            }
        );
        assert_eq!(lines[2].at(), "/p/go.sum:5");
        assert_eq!(of(&lines, "example.com/a", "v1.0.0").len(), 2);
        let f = mismatch(
            &lines[0],
            "h1:right=",
            "the checksum database sum.test says",
            None,
        );
        assert_eq!(
            f.measured,
            "/p/go.sum:1 says h1:zip= for the zip of example.com/a@v1.0.0; the checksum database sum.test says h1:right="
        );
    }
}
