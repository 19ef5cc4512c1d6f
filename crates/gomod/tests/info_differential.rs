//! `gomod::info::parse` against the go command's own reading of an `.info` body: Go's
//! `json.Unmarshal` into a struct shaped as cmd/go's `modfetch.RevInfo` (and
//! `codehost.Origin`), run by the real go toolchain over a few thousand bodies: hand-picked
//! ones, bodies assembled from a fixed seed (key spellings and cases, duplicate keys,
//! nulls, wrong types, times Go takes and refuses, nested unknown values) and byte-level
//! mutations of them. Same verdict, same Version, Time and Origin for every body.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::rng::Rng;
use gomod::timestamp::Instant;

/// The oracle: reads bodies separated by NUL bytes on stdin, prints one JSON line each.
const ORACLE: &str = r#"package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

type Origin struct {
	VCS     string `json:",omitempty"`
	URL     string `json:",omitempty"`
	Subdir  string `json:",omitempty"`
	Hash    string `json:",omitempty"`
	TagPrefix string `json:",omitempty"`
	TagSum  string `json:",omitempty"`
	Ref     string `json:",omitempty"`
	RepoSum string `json:",omitempty"`
}

type RevInfo struct {
	Version string
	Time    time.Time
	Name    string `json:"-"`
	Short   string `json:"-"`
	Origin  *Origin `json:",omitempty"`
}

type verdict struct {
	OK      bool
	Version string
	Time    string
	Origin  *Origin
}

func main() {
	in, _ := io.ReadAll(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for _, body := range bytes.Split(in, []byte{0}) {
		info := new(RevInfo)
		v := verdict{}
		if err := json.Unmarshal(body, info); err == nil {
			v.OK = true
			v.Version = info.Version
			if !info.Time.IsZero() {
				v.Time = info.Time.UTC().Format(time.RFC3339Nano)
			}
			v.Origin = info.Origin
		}
		j, _ := json.Marshal(v)
		fmt.Fprintf(out, "%s\n", j)
	}
}
"#;

/// What Go made of one body.
#[derive(Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Verdict {
    #[serde(rename = "OK")]
    ok: bool,
    version: String,
    time: String,
    origin: Option<GoOrigin>,
}

#[derive(Debug, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(default, rename_all = "PascalCase")]
struct GoOrigin {
    #[serde(rename = "VCS")]
    vcs: String,
    #[serde(rename = "URL")]
    url: String,
    subdir: String,
    hash: String,
    tag_prefix: String,
    tag_sum: String,
    #[serde(rename = "Ref")]
    ref_name: String,
    repo_sum: String,
}

fn ours(body: &str) -> Verdict {
    match gomod::info::parse(body.as_bytes()) {
        Err(_) => Verdict {
            ok: false,
            version: String::new(),
            time: String::new(),
            origin: None,
        },
        Ok(i) => Verdict {
            ok: true,
            version: i.version,
            time: i.time.map(Instant::format_rfc3339_nano).unwrap_or_default(),
            origin: i.origin.map(|o| GoOrigin {
                vcs: o.vcs,
                url: o.url,
                subdir: o.subdir,
                hash: o.hash,
                tag_prefix: o.tag_prefix,
                tag_sum: o.tag_sum,
                ref_name: o.ref_name,
                repo_sum: o.repo_sum,
            }),
        },
    }
}

fn go(bodies: &[String]) -> Vec<Verdict> {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("oracle.go");
    std::fs::write(&src, ORACLE).unwrap();
    let mut child = Command::new(testkit::go_binary())
        .arg("run")
        .arg(&src)
        .env("GO111MODULE", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .env("GOPATH", dir.path().join("gopath"))
        .env("GOCACHE", dir.path().join("gocache"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the go command: scripts/install-deps installs it");
    let input = bodies.join("\0");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "go run oracle.go: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const KEYS: &[&str] = &[
    "Version",
    "version",
    "VERSION",
    "Ver\u{17f}ion",
    "Versio",
    "Time",
    "time",
    "TIME",
    "Origin",
    "origin",
    "Name",
    "Short",
    "Extra",
    "",
    "-",
];
const VERSIONS: &[&str] = &[
    "\"v1.0.0\"",
    "\"v2.0.0+incompatible\"",
    "\"\"",
    "null",
    "1",
    "true",
    "[]",
    "{}",
    "\"v1.0.0\\u0041\"",
    "\"\\u00e9\"",
];
const TIMES: &[&str] = &[
    "\"2018-02-14T15:44:20Z\"",
    "\"2018-02-14T16:44:20+01:00\"",
    "\"2018-02-14T15:44:20,5Z\"",
    "\"2018-02-14T5:44:20Z\"",
    "\"2018-02-14T15:44:20.1234567891Z\"",
    "\"2018-02-14T15:44:20+24:00\"",
    "\"2018-02-30T15:44:20Z\"",
    "\"2018-02-14T24:00:00Z\"",
    "\"2018-02-14T15:44:20\"",
    "\"2018-02-14T15:44:20\\u005a\"",
    "\"\"",
    "null",
    "0",
    "\"yesterday\"",
    "[\"2018-02-14T15:44:20Z\"]",
];
const ORIGINS: &[&str] = &[
    "null",
    "{}",
    "{\"VCS\":\"git\",\"Hash\":\"abc\"}",
    "{\"vcs\":\"git\",\"url\":\"https://x\",\"ref\":\"refs/tags/v1.0.0\",\"Extra\":[1,{}]}",
    "{\"Hash\":null}",
    "{\"Hash\":1}",
    "\"git\"",
    "[]",
    "{\"TagSum\":\"t1:x\",\"RepoSum\":\"r1:y\",\"Subdir\":\"s\",\"TagPrefix\":\"p\"}",
];
const OTHERS: &[&str] = &[
    "\"c4d4236f9242\"",
    "7",
    "-1.5e300",
    "[1,[2,[3]]]",
    "{\"a\":{\"b\":null}}",
    "false",
    "null",
];
const SPACES: &[&str] = &["", " ", "\n", "\t", "\r\n  "];

/// A body assembled from the tables: zero to five members of random keys.
fn assemble(r: &mut Rng) -> String {
    let sp = |r: &mut Rng| r.pick(SPACES).to_string();
    let mut members = Vec::new();
    for _ in 0..r.below(6) {
        let key = *r.pick(KEYS);
        let value = match key.to_ascii_lowercase().as_str() {
            "version" | "ver\u{17f}ion" => *r.pick(VERSIONS),
            "time" => *r.pick(TIMES),
            "origin" => *r.pick(ORIGINS),
            _ => *r.pick(OTHERS),
        };
        members.push(format!(
            "{}{}{}:{}{}",
            sp(r),
            serde_json::to_string(key).unwrap(),
            sp(r),
            sp(r),
            value
        ));
    }
    let body = format!("{}{{{}{}}}{}", sp(r), members.join(","), sp(r), sp(r));
    match r.below(20) {
        0 => "null".into(),
        1 => format!("[{body}]"),
        2 => format!("{body} x"),
        _ => body,
    }
}

/// `body` with one to three ASCII bytes deleted, inserted or replaced.
fn mutate(r: &mut Rng, body: &str) -> String {
    const BYTES: &[u8] = b"{}[]\":, \n\t0aZTv.-+\\e";
    let mut b = body.as_bytes().to_vec();
    for _ in 0..1 + r.below(3) {
        let i = r.below(b.len() + 1);
        match r.below(3) {
            0 if i < b.len() => {
                b.remove(i);
            }
            1 if i < b.len() => b[i] = *r.pick(BYTES),
            _ => b.insert(i, *r.pick(BYTES)),
        }
    }
    String::from_utf8(b).unwrap_or_default()
}

#[test]
fn same_reading_as_go_json_unmarshal_into_revinfo() {
    let mut bodies: Vec<String> = [
        r#"{"Version":"v1.0.0"}"#,
        "{\"Version\":\"v1.0.0\", \"Name\": \"7307b307\", \"Short\": \"7307b307f4f0\"}\n",
        r#"{"Version":"v1.5.2","Name":"c4d4236f92427c64bfbcf1cc3f8142ab18f30b22","Short":"c4d4236f9242","Time":"2018-02-14T15:44:20Z"}"#,
        r#"{"version":"v1.0.0","Version":"v1.1.0"}"#,
        r#"{"Version":"v1.1.0","version":"v1.0.0"}"#,
        "null",
        "",
        " ",
        "{}",
        r#"{"Version":"v1.0.0"}{}"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut r = Rng::new(0x1f0_2024);
    for _ in 0..2500 {
        let body = assemble(&mut r);
        if r.chance(40) {
            bodies.push(mutate(&mut r, &body));
        }
        bodies.push(body);
    }
    // The oracle splits its input at NUL bytes.
    bodies.retain(|b| !b.contains('\0'));
    let want = go(&bodies);
    assert_eq!(want.len(), bodies.len());
    let mut differ = Vec::new();
    let mut accepted = 0;
    for (body, want) in bodies.iter().zip(&want) {
        let got = ours(body);
        accepted += usize::from(want.ok);
        if &got != want {
            differ.push(format!("{body:?}\n  go:   {want:?}\n  ours: {got:?}"));
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} bodies read differently:\n{}",
        differ.len(),
        bodies.len(),
        differ.join("\n")
    );
    // Both verdicts are well represented.
    assert!(
        accepted > bodies.len() / 5 && accepted < bodies.len() * 4 / 5,
        "{accepted}"
    );
}
