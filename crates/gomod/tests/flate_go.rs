//! Differential test of `gomod::flate` and `gomod::zip::Writer` against Go itself.
//!
//! A seed-fixed set of inputs (the edge sizes around the minimum and maximum match and
//! the window, real Go source from GOROOT, random bytes that only store, runs that make
//! matches span many windows, text past 16 MiB where the hash positions are rebased) is
//! compressed by Go's `compress/flate` at every level from 2 to 9 and zipped by Go's
//! `archive/zip` as golang.org/x/mod/zip.Create writes module zips. Ours must give the same
//! bytes.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::rng::Rng;

const SEED: u64 = 0x666c_6174_6567_6f21;

/// Real source text: the .go files of a few GOROOT packages, concatenated.
fn go_source(root: &Path, limit: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for pkg in ["compress/flate", "archive/zip", "net/http", "runtime"] {
        let mut names: Vec<PathBuf> = fs::read_dir(root.join("src").join(pkg))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "go"))
            .collect();
        names.sort();
        for n in names {
            out.extend(fs::read(n).unwrap());
            if out.len() >= limit {
                out.truncate(limit);
                return out;
            }
        }
    }
    out
}

fn goroot() -> PathBuf {
    let go = testkit::go_binary();
    go.parent().unwrap().parent().unwrap().to_path_buf()
}

fn inputs() -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng::new(SEED);
    let mut random = |n: usize| -> Vec<u8> { (0..n).map(|_| rng.next_u64() as u8).collect() };
    let src = go_source(&goroot(), 3 << 20);
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for n in [0, 1, 2, 3, 4, 5, 257, 258, 259, 261, 262, 263, 300] {
        cases.push((format!("m@v1.0.0/text{n}.go"), src[..n].to_vec()));
    }
    for n in [
        16 << 10,
        32 << 10,
        (64 << 10) - 262,
        64 << 10,
        (64 << 10) + 1,
        100_000,
    ] {
        cases.push((format!("m@v1.0.0/src{n}.go"), src[1000..1000 + n].to_vec()));
    }
    cases.push(("m@v1.0.0/all.go".into(), src.clone()));
    cases.push(("m@v1.0.0/noise.bin".into(), random(200_000)));
    cases.push(("m@v1.0.0/noise-small.bin".into(), random(70_000)));
    // Random and text alternating: stored and Huffman blocks side by side.
    let mut mixed = Vec::new();
    for i in 0..40 {
        if i % 3 == 0 {
            mixed.extend(random(9_000 + i * 101));
        } else {
            mixed.extend(&src[i * 7_000..i * 7_000 + 11_000]);
        }
    }
    cases.push(("m@v1.0.0/mixed.dat".into(), mixed));
    // Long runs: matches of 258 bytes, blocks spanning many windows.
    cases.push(("m@v1.0.0/zeros".into(), vec![0; 3 << 20]));
    let mut runs = Vec::new();
    for i in 0..2000u32 {
        runs.extend(std::iter::repeat_n(
            (i % 251) as u8,
            (i as usize * 37) % 900 + 1,
        ));
    }
    cases.push(("m@v1.0.0/runs".into(), runs));
    // Past 16 MiB: the hash chain positions are rebased.
    let mut big = Vec::with_capacity(17 << 20);
    let mut i = 0;
    while big.len() < (17 << 20) + 12_345 {
        big.extend(&src[i % src.len()..(i % src.len() + 5_000).min(src.len())]);
        big.push(rng_byte(i));
        i += 7_919;
    }
    cases.push(("m@v1.0.0/big.go".into(), big));
    // Names that take the UTF-8 flag, as archive/zip decides it.
    cases.push(("m@v1.0.0/a~b/c.go".into(), b"package c\n".to_vec()));
    cases.push(("m@v1.0.0/é/ü.go".into(), b"package u\n".to_vec()));
    cases
}

fn rng_byte(i: usize) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 7) as u8
}

fn go_outputs(cases: &[(String, Vec<u8>)]) -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    fs::create_dir_all(dir.join("in")).unwrap();
    fs::create_dir_all(dir.join("out")).unwrap();
    let mut names = String::new();
    for (i, (name, data)) in cases.iter().enumerate() {
        fs::write(dir.join("in").join(i.to_string()), data).unwrap();
        names.push_str(name);
        names.push('\n');
    }
    fs::write(dir.join("names"), names).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/flate_oracle/oracle.go");
    let mut cmd = Command::new(testkit::go_binary());
    cmd.arg("run")
        .arg(&src)
        .arg(&dir)
        .env("GO111MODULE", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .env("GOPATH", dir.join("gopath"))
        .env("GOCACHE", dir.join("gocache"));
    let out = testkit::run_bounded(&mut cmd, Duration::from_secs(300));
    assert!(
        out.status.success(),
        "go run oracle.go: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

#[test]
fn deflate_and_zip_bytes_are_gos() {
    let cases = inputs();
    let dir = go_outputs(&cases);
    let mut failures = Vec::new();
    for (i, (name, data)) in cases.iter().enumerate() {
        for level in 2..=9u8 {
            let want = fs::read(dir.join("out").join(format!("{i}.{level}"))).unwrap();
            let got = gomod::flate::compress(data, level).unwrap();
            if got != want {
                let at = got.iter().zip(&want).position(|(a, b)| a != b);
                failures.push(format!(
                    "{name} ({} bytes) level {level}: go {} bytes, ours {} (first difference at {at:?})",
                    data.len(),
                    want.len(),
                    got.len()
                ));
            }
        }
    }
    let want = fs::read(dir.join("out/all.zip")).unwrap();
    let mut w = gomod::zip::Writer::new(Vec::new());
    for (name, data) in &cases {
        w.add(name, &mut &data[..]).unwrap();
    }
    let got = w.finish().unwrap();
    if got != want {
        let at = got.iter().zip(&want).position(|(a, b)| a != b);
        failures.push(format!(
            "zip: go {} bytes, ours {} (first difference at {at:?})",
            want.len(),
            got.len()
        ));
    }
    let _ = fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
