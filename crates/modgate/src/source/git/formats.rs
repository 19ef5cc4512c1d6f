//! The git formats the clone is read from without a git process: the `packed-refs` file
//! a new clone writes, and the records `git cat-file --batch` prints. Each reader says
//! `None` for anything it does not know, and the caller then asks git.

use std::collections::BTreeMap;
use std::path::Path;

/// Ref name -> object name, as `repo::Refs` holds them.
type Refs = BTreeMap<String, String>;

/// Whether `s` is lowercase hexadecimal, as git writes object names.
pub(super) fn all_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// One object as `git cat-file --batch` prints it: its name, type and content.
pub(super) type BatchRecord<'a> = (&'a str, &'a str, &'a [u8]);

/// The records of `git cat-file --batch` output for `n` inputs, `None` for an input it did
/// not find (missing, ambiguous); `None` overall when the output is not `n` such records.
pub(super) fn batch_records(out: &[u8], n: usize) -> Option<Vec<Option<BatchRecord<'_>>>> {
    let mut records = Vec::with_capacity(n);
    let mut rest = out;
    for _ in 0..n {
        let eol = rest.iter().position(|b| *b == b'\n')?;
        let header = std::str::from_utf8(&rest[..eol]).ok()?;
        rest = &rest[eol + 1..];
        let f: Vec<&str> = header.split(' ').collect();
        match f[..] {
            [name, kind, size] if all_hex(name) && (name.len() == 40 || name.len() == 64) => {
                let size: usize = size.parse().ok()?;
                if rest.len() < size + 1 || rest[size] != b'\n' {
                    return None;
                }
                records.push(Some((name, kind, &rest[..size])));
                rest = &rest[size + 1..];
            }
            [.., "missing" | "ambiguous"] => records.push(None),
            _ => return None,
        }
    }
    rest.is_empty().then_some(records)
}

/// The committer time of a commit object (`committer NAME <EMAIL> SECONDS ZONE`).
/// Only the plain form, digits and a `+hhmm`/`-hhmm` zone: anything else (a sign, no
/// zone, too many digits) is `None`, and `git log` says what git makes of it.
pub(super) fn committer_time(commit: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(commit).ok()?;
    let header = text.split("\n\n").next()?;
    let line = header.lines().find(|l| l.starts_with("committer "))?;
    let after_email = &line[line.rfind('>')? + 1..];
    let f: Vec<&str> = after_email.split_whitespace().collect();
    let [seconds, zone] = f[..] else {
        return None;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let zone_ok = zone.len() == 5 && zone.starts_with(['+', '-']) && digits(&zone[1..]);
    if !digits(seconds) || !zone_ok {
        return None;
    }
    seconds.parse().ok()
}

/// The refs a new clone holds, read from its `packed-refs` file, where `git clone`
/// writes every ref it fetched: heads, tags (annotated tags fully peeled, from the file's
/// `^` lines) and the remote HEAD (fetched into the ref `remote_head`) as `HEAD`. `None` when the clone keeps its refs any
/// other way (reftable, loose ref files, a file not marked fully peeled); then
/// `git for-each-ref` is asked. Saves a git process per new clone.
pub(super) fn cloned_refs(dir: &Path, remote_head: &str) -> Option<Refs> {
    fn has_loose(dir: &Path) -> bool {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return false;
        };
        rd.flatten().any(|e| match e.file_type() {
            Ok(t) if t.is_dir() => has_loose(&e.path()),
            _ => true,
        })
    }
    let text = std::fs::read_to_string(dir.join("packed-refs")).ok()?;
    if has_loose(&dir.join("refs")) {
        return None;
    }
    let mut lines = text.lines();
    let traits = lines.next()?.strip_prefix("# pack-refs with:")?;
    if !traits.split_whitespace().any(|t| t == "fully-peeled") {
        return None;
    }
    let mut refs = Refs::new();
    // The ref a `^` line peels: kept (`Some(Some)`), left out (`Some(None)`), or none.
    let mut last: Option<Option<String>> = None;
    for line in lines {
        if let Some(peeled) = line.strip_prefix('^') {
            if !all_hex(peeled) {
                return None;
            }
            if let Some(name) = last.take()? {
                refs.insert(name, peeled.to_string());
            }
            continue;
        }
        let (hash, name) = line.split_once(' ')?;
        if !all_hex(hash) || !(hash.len() == 40 || hash.len() == 64) {
            return None;
        }
        let name = if name == remote_head { "HEAD" } else { name };
        if name == "HEAD" || name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
            refs.insert(name.to_string(), hash.to_string());
            last = Some(Some(name.to_string()));
        } else {
            last = Some(None);
        }
    }
    Some(refs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REMOTE_HEAD: &str = "refs/modgate/remote-head";
    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";
    const C: &str = "3333333333333333333333333333333333333333";

    fn clone_dir(packed: Option<&str>) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("refs/heads")).unwrap();
        std::fs::create_dir_all(d.path().join("refs/tags")).unwrap();
        if let Some(text) = packed {
            std::fs::write(d.path().join("packed-refs"), text).unwrap();
        }
        d
    }

    #[test]
    fn a_new_clones_refs_are_read_from_packed_refs_or_not_at_all() {
        let packed = format!(
            "# pack-refs with: peeled fully-peeled sorted \n\
             {A} refs/heads/main\n\
             {B} refs/modgate/remote-head\n\
             {C} refs/tags/v1.0.0\n^{A}\n\
             {B} refs/tags/v1.1.0\n\
             {C} refs/notes/commits\n^{B}\n"
        );
        let d = clone_dir(Some(&packed));
        let refs = cloned_refs(d.path(), REMOTE_HEAD).unwrap();
        let want: Refs = [
            ("HEAD", B),
            ("refs/heads/main", A),
            // An annotated tag: the commit it peels to.
            ("refs/tags/v1.0.0", A),
            ("refs/tags/v1.1.0", B),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(refs, want);

        // A loose ref beside it: git for-each-ref knows better.
        std::fs::write(d.path().join("refs/tags/v2.0.0"), format!("{A}\n")).unwrap();
        assert_eq!(cloned_refs(d.path(), REMOTE_HEAD), None);
        // No packed-refs (reftable keeps refs otherwise), not fully peeled, or not understood.
        assert_eq!(cloned_refs(clone_dir(None).path(), REMOTE_HEAD), None);
        let unpeeled = packed.replace(" fully-peeled", "");
        assert_eq!(
            cloned_refs(clone_dir(Some(&unpeeled)).path(), REMOTE_HEAD),
            None
        );
        let garbage = format!("{packed}not a ref line\n");
        assert_eq!(
            cloned_refs(clone_dir(Some(&garbage)).path(), REMOTE_HEAD),
            None
        );
        let short = packed.replace(&format!("{B} refs/tags/v1.1.0"), "2222 refs/tags/v1.1.0");
        assert_eq!(
            cloned_refs(clone_dir(Some(&short)).path(), REMOTE_HEAD),
            None
        );
        // A peeled line with no ref before it.
        let orphan = packed.replace(
            "# pack-refs with: peeled fully-peeled sorted \n",
            &format!("# pack-refs with: peeled fully-peeled sorted \n^{A}\n"),
        );
        assert_eq!(
            cloned_refs(clone_dir(Some(&orphan)).path(), REMOTE_HEAD),
            None
        );
    }

    #[test]
    fn batch_output_is_read_record_by_record() {
        let commit = format!(
            "tree {A}\nparent {B}\nauthor A U <a@example.com> 1600000000 +0200\ncommitter C O <c@example.com> 1700000000 -0500\n\nmessage\ncommitter X <x> 5 +0000\n"
        );
        let out = format!(
            "{C} commit {}\n{commit}\n{A} blob 9\nmodule m\n\n",
            commit.len()
        );
        let r = batch_records(out.as_bytes(), 2).unwrap();
        assert_eq!(r[0], Some((C, "commit", commit.as_bytes())));
        assert_eq!(r[1], Some((A, "blob", &b"module m\n"[..])));
        // The committer's time, not the author's nor a line of the message.
        assert_eq!(committer_time(commit.as_bytes()), Some(1_700_000_000));
        assert_eq!(committer_time(b"tree x\n\ncommitter C <c> 1 +0000\n"), None);
        assert_eq!(committer_time(b"committer C <c> soon +0000\n"), None);
        // What `git log --format=%ct` does not print as it stands is left to it: a sign, no
        // zone, a number too large (digits with leading zeros it prints as they are).
        assert_eq!(committer_time(b"committer C <c> 00017 +0100\n"), Some(17));
        for odd in [
            &b"committer C <c> -100 +0000\n"[..],
            b"committer C <c> +1700000000 +0000\n",
            b"committer C <c> 1700000000\n",
            b"committer C <c> 1700000000 UTC\n",
            b"committer C <c> 99999999999999999999 +0000\n",
        ] {
            assert_eq!(
                committer_time(odd),
                None,
                "{}",
                String::from_utf8_lossy(odd)
            );
        }

        let out = "v9^{commit} missing\nab12^{commit}:go.mod ambiguous\n";
        assert_eq!(batch_records(out.as_bytes(), 2).unwrap(), vec![None, None]);
        // Too few records, a short body, something after the last, an unknown line.
        assert_eq!(batch_records(b"x missing\n", 2), None);
        let short = format!("{A} blob 9\nmodule\n");
        assert_eq!(batch_records(short.as_bytes(), 1), None);
        let extra = format!("{A} blob 2\nm\n\nmore");
        assert_eq!(batch_records(extra.as_bytes(), 1), None);
        assert_eq!(batch_records(b"fatal: not a git repository\n", 1), None);
    }
}
