//! What every [`Blobs`] backend must do, as one test every backend runs (the directory,
//! the hot wrapper, S3-compatible storage).

use std::io;

use bytes::Bytes;
use futures_util::TryStreamExt;

use super::{Blobs, Key, Staging};

/// `len` bytes of `key` from `start`, read whole (`None`: no such object).
pub(crate) async fn range(b: &dyn Blobs, key: &Key, start: u64, len: u64) -> Option<Vec<u8>> {
    let stream = b.read_range(key, start, len).await.unwrap()?;
    let parts: Vec<Bytes> = stream.try_collect().await.unwrap();
    Some(parts.concat())
}

/// Runs the contract on `b`, staging in `staging` (on the file system `b` expects).
pub(crate) async fn check(b: &dyn Blobs, staging: &Staging) {
    let m = Key::go_mod("example.com/Contract", "v1.0.0-RC").unwrap();
    // Absent: None everywhere, never an error.
    assert_eq!(b.get(&m).await.unwrap(), None);
    assert_eq!(b.stat(&m).await.unwrap(), None);
    assert!(range(b, &m, 0, 1).await.is_none());
    // Put, then read back whole, by stat and by range.
    b.put(&m, Bytes::from_static(b"module example.com/Contract\n"))
        .await
        .unwrap();
    // A second put of an entry that never changes: one of the two, whole (a shared
    // store keeps the first writer's, so that every replica serves the same bytes).
    b.put(
        &m,
        Bytes::from_static(b"module example.com/Contract // 2\n"),
    )
    .await
    .unwrap();
    let got = b.get(&m).await.unwrap().unwrap();
    assert!(
        [
            &b"module example.com/Contract\n"[..],
            b"module example.com/Contract // 2\n"
        ]
        .contains(&&got.data[..]),
        "{:?}",
        got.data
    );
    let first_writer_wins = &got.data[..] == b"module example.com/Contract\n";
    if !first_writer_wins {
        b.put(&m, Bytes::from_static(b"module example.com/Contract\n"))
            .await
            .unwrap();
    }
    let got = b.get(&m).await.unwrap().unwrap();
    assert!(got.age() < std::time::Duration::from_secs(600));
    let stat = b.stat(&m).await.unwrap().unwrap();
    assert_eq!(stat.size, 28);
    assert_eq!(range(b, &m, 7, 7).await.unwrap(), b"example");
    assert_eq!(range(b, &m, 0, 28).await.unwrap(), got.data.to_vec());
    // A short-lived entry is replaced by the next put; an empty object is an object.
    let l = Key::list("example.com/contract").unwrap();
    b.put(&l, Bytes::from_static(b"v1.0.0\n")).await.unwrap();
    b.put(&l, Bytes::new()).await.unwrap();
    assert_eq!(&b.get(&l).await.unwrap().unwrap().data[..], b"");
    // A staged file becomes the object and leaves the staging area.
    let z = Key::zip("example.com/contract", "v1.0.0").unwrap();
    let f = staging.file(z.file_name());
    let zip: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(f.path(), &zip).unwrap();
    let staged_path = f.path().to_path_buf();
    b.put_staged(&z, f).await.unwrap();
    assert!(!staged_path.exists());
    assert_eq!(b.stat(&z).await.unwrap().unwrap().size, zip.len() as u64);
    assert_eq!(
        range(b, &z, 1000, 100_000).await.unwrap(),
        zip[1000..101_000].to_vec()
    );
    // A staged file that is missing is an error, and stores nothing.
    let gone = staging.file("gone");
    let z2 = Key::zip("example.com/contract", "v2.0.0").unwrap();
    let err = b.put_staged(&z2, gone).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    assert_eq!(b.stat(&z2).await.unwrap(), None);
    // Keys that differ only in case are different objects.
    let lower = Key::go_mod("example.com/contract", "v1.0.0-rc").unwrap();
    assert_eq!(b.get(&lower).await.unwrap(), None);
    // Listed by name prefix (not only whole elements), in bytewise order, after a name.
    let names =
        |l: Vec<super::blob::Listed>| l.into_iter().map(|x| (x.name, x.size)).collect::<Vec<_>>();
    let all = vec![
        (
            "cache/download/example.com/!contract/@v/v1.0.0-!r!c.mod".to_string(),
            28,
        ),
        ("cache/download/example.com/contract/@v/list".to_string(), 0),
        (
            "cache/download/example.com/contract/@v/v1.0.0.zip".to_string(),
            300_000,
        ),
    ];
    assert_eq!(
        names(
            b.list("cache/download/example.com/", None, 10)
                .await
                .unwrap()
        ),
        all
    );
    assert_eq!(
        names(
            b.list("cache/download/example.com/c", None, 10)
                .await
                .unwrap()
        ),
        all[1..]
    );
    assert_eq!(
        names(
            b.list("cache/download/example.com/", None, 2)
                .await
                .unwrap()
        ),
        all[..2]
    );
    assert_eq!(
        names(
            b.list("cache/download/", Some(&all[1].0), 10)
                .await
                .unwrap()
        ),
        all[2..]
    );
    assert_eq!(
        names(
            b.list("cache/download/example.org", None, 10)
                .await
                .unwrap()
        ),
        []
    );
    // Removed: gone everywhere (the in-memory copy too), said once; removing what is not
    // there is no error.
    assert!(b.get(&m).await.unwrap().is_some());
    assert!(b.delete(&m).await.unwrap());
    assert_eq!(b.get(&m).await.unwrap(), None);
    assert_eq!(b.stat(&m).await.unwrap(), None);
    assert!(range(b, &m, 0, 1).await.is_none());
    assert!(!b.delete(&m).await.unwrap());
    assert!(b.delete(&z).await.unwrap());
    assert_eq!(b.stat(&z).await.unwrap(), None);
    assert_eq!(
        names(
            b.list("cache/download/example.com/", None, 10)
                .await
                .unwrap()
        ),
        all[1..2]
    );
    // Stored again after a removal.
    b.put(&m, Bytes::from_static(b"module example.com/Contract\n"))
        .await
        .unwrap();
    assert_eq!(
        &b.get(&m).await.unwrap().unwrap().data[..],
        b"module example.com/Contract\n"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{DiskBlobs, Hot};

    #[tokio::test]
    async fn the_directory_backend_keeps_the_contract() {
        let d = tempfile::tempdir().unwrap();
        let disk = DiskBlobs::open(d.path()).unwrap();
        let staging = std::sync::Arc::clone(disk.staging());
        check(&disk, &staging).await;
    }

    #[tokio::test]
    async fn the_hot_wrapper_keeps_the_contract() {
        let d = tempfile::tempdir().unwrap();
        let disk = DiskBlobs::open(d.path()).unwrap();
        let staging = std::sync::Arc::clone(disk.staging());
        check(&Hot::new(Box::new(disk)), &staging).await;
    }
}
