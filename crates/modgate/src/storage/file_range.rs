//! A range of a local file as a body stream, read a chunk at a time as the client takes
//! it; or, as a [`FileSpan`], handed to a connection that sends it straight from the file
//! (`http/sendfile.rs`).
//!
//! A chunk that is in the page cache (a cached zip asked for again, the usual case) is
//! read at once on the runtime's thread (`preadv2` with `RWF_NOWAIT`, which never waits
//! for the disk); one that is not is read on the blocking pool. So a hot file costs no
//! thread hop per chunk, and a slow disk never stalls the runtime. The next chunk is read
//! only when the connection wants it (hyper polls the body when its buffer has room): a
//! connection holds at most a chunk or two, however large the file and however slow the
//! client.

use std::fs::File;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use tokio::task::JoinHandle;

use super::ByteStream;

/// The most read at once.
pub const CHUNK: usize = 64 * 1024;

/// `len` bytes of `file` from `start`, streamed; `keep` (a guard: the file in use, or
/// not yet removed) is dropped with the stream.
pub fn stream(file: File, start: u64, len: u64, keep: impl Send + Sync + 'static) -> ByteStream {
    FileSpan::new(file, start, len, keep).stream()
}

/// `len` bytes of a local file from `start`, with what keeps the file (the version in
/// use, or a staged file not yet removed) until every holder of the span is dropped.
#[derive(Clone)]
pub struct FileSpan {
    /// The open file.
    pub file: Arc<File>,
    /// The first byte's offset.
    pub start: u64,
    /// How many bytes.
    pub len: u64,
    keep: Arc<dyn Send + Sync>,
}

impl std::fmt::Debug for FileSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSpan")
            .field("file", &self.file)
            .field("start", &self.start)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl FileSpan {
    /// `len` bytes of `file` from `start`, kept by `keep`.
    pub fn new(file: File, start: u64, len: u64, keep: impl Send + Sync + 'static) -> FileSpan {
        FileSpan {
            file: Arc::new(file),
            start,
            len,
            keep: Arc::new(keep),
        }
    }

    /// The span's bytes, read a chunk at a time (see the module's comment).
    pub fn stream(&self) -> ByteStream {
        Box::pin(FileRange {
            file: Arc::clone(&self.file),
            at: self.start,
            left: self.len,
            reading: None,
            nowait: cfg!(target_os = "linux"),
            _keep: Arc::clone(&self.keep),
        })
    }
}

struct FileRange {
    file: Arc<File>,
    /// The next byte's offset.
    at: u64,
    /// Bytes still to send.
    left: u64,
    /// A chunk being read on the blocking pool.
    reading: Option<JoinHandle<io::Result<Bytes>>>,
    /// Whether the file system takes `RWF_NOWAIT` (else every read is on the pool).
    nowait: bool,
    _keep: Arc<dyn Send + Sync>,
}

/// The error of a file that ends `left` bytes before the range does (at offset `at`).
pub fn ended_early(left: u64, at: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the file ended {left} bytes early (at offset {at})"),
    )
}

/// A chunk read on the blocking pool, the task's failure as an error.
pub fn joined(done: Result<io::Result<Bytes>, tokio::task::JoinError>) -> io::Result<Bytes> {
    done.unwrap_or_else(|e| Err(io::Error::other(format!("reading a file: {e}"))))
}

/// A chunk read at `at` with `left` bytes still owed: at least a byte, at most `left`.
pub fn owed(chunk: io::Result<Bytes>, at: u64, left: u64) -> io::Result<Bytes> {
    let chunk = chunk?;
    if chunk.is_empty() {
        return Err(ended_early(left, at));
    }
    let n = chunk.len().min(left as usize);
    Ok(chunk.slice(..n))
}

impl FileRange {
    /// Counts a chunk read: at least a byte, at most what is left.
    fn took(&mut self, chunk: io::Result<Bytes>) -> io::Result<Bytes> {
        let chunk = owed(chunk, self.at, self.left)?;
        self.at += chunk.len() as u64;
        self.left -= chunk.len() as u64;
        Ok(chunk)
    }

    /// The next chunk, if it is in the page cache (`None`: it must be read from the
    /// disk).
    fn cached(&mut self, n: usize) -> Option<io::Result<Bytes>> {
        if !self.nowait {
            return None;
        }
        let mut buf = BytesMut::with_capacity(n);
        match read_into(&self.file, &mut buf, n, self.at, true) {
            Ok(()) => Some(Ok(buf.freeze())),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            // Not on this file system (or kernel, or system): the pool from now on.
            Err(e) if e.kind() == io::ErrorKind::Unsupported => {
                self.nowait = false;
                None
            }
            Err(e) => Some(Err(e)),
        }
    }
}

/// Up to `n` bytes of `file` at `at` (empty at its end), read as long as it takes: on
/// the blocking pool.
pub fn read_at(file: &File, at: u64, n: usize) -> io::Result<Bytes> {
    let mut buf = BytesMut::with_capacity(n);
    read_into(file, &mut buf, n, at, false)?;
    Ok(buf.freeze())
}

/// Reads up to `n` bytes of `file` at `at` into `buf`'s spare capacity (`preadv2`),
/// without zeroing the memory first: a chunk is read once per request, so zeroing it was
/// a memset as large as the copy itself. With `nowait`, only what is in the page cache
/// (`RWF_NOWAIT`): `WouldBlock` when it is not, `Unsupported` where the file system or
/// kernel cannot tell.
#[cfg(target_os = "linux")]
fn read_into(file: &File, buf: &mut BytesMut, n: usize, at: u64, nowait: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    buf.reserve(n);
    let spare = buf.spare_capacity_mut();
    let iov = libc::iovec {
        iov_base: spare.as_mut_ptr().cast(),
        iov_len: n.min(spare.len()),
    };
    let offset =
        libc::off_t::try_from(at).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let flags = if nowait { libc::RWF_NOWAIT } else { 0 };
    // SAFETY: the kernel writes at most `iov_len` bytes into the spare capacity the
    // iovec points to, which `buf` owns and nothing else references meanwhile.
    let got = unsafe { libc::preadv2(file.as_raw_fd(), &iov, 1, offset, flags) };
    let got = match usize::try_from(got) {
        Ok(got) => got,
        Err(_) => {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::EOPNOTSUPP | libc::EINVAL) if nowait => {
                    io::Error::new(io::ErrorKind::Unsupported, e)
                }
                _ => e,
            });
        }
    };
    // SAFETY: the first `got` bytes of the spare capacity were written by the read.
    unsafe { buf.set_len(buf.len() + got) };
    Ok(())
}

/// Reads up to `n` bytes of `file` at `at` onto `buf` (`pread`; Windows: `ReadFile` at an
/// offset). `nowait` is `Unsupported`: these systems have no read that refuses to wait.
#[cfg(not(target_os = "linux"))]
fn read_into(file: &File, buf: &mut BytesMut, n: usize, at: u64, nowait: bool) -> io::Result<()> {
    if nowait {
        return Err(io::ErrorKind::Unsupported.into());
    }
    let start = buf.len();
    buf.resize(start + n, 0);
    #[cfg(unix)]
    let got = std::os::unix::fs::FileExt::read_at(file, &mut buf[start..], at);
    #[cfg(windows)]
    let got = std::os::windows::fs::FileExt::seek_read(file, &mut buf[start..], at);
    match got {
        Ok(got) => {
            buf.truncate(start + got);
            Ok(())
        }
        Err(e) => {
            buf.truncate(start);
            Err(e)
        }
    }
}

impl Stream for FileRange {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(task) = &mut this.reading {
            let done = ready!(Pin::new(task).poll(cx));
            this.reading = None;
            return Poll::Ready(Some(this.took(joined(done))));
        }
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let n = CHUNK.min(this.left as usize);
        if let Some(chunk) = this.cached(n) {
            return Poll::Ready(Some(this.took(chunk)));
        }
        let (file, at) = (Arc::clone(&this.file), this.at);
        this.reading = Some(tokio::task::spawn_blocking(move || read_at(&file, at, n)));
        // Polled again at once, so that the task's waker is this one.
        Pin::new(this).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let chunks = self.left.div_ceil(CHUNK as u64) as usize;
        (usize::from(self.left > 0), Some(chunks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt;

    fn file_of(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, bytes).unwrap();
        let f = File::open(&path).unwrap();
        (dir, f)
    }

    async fn collect(s: ByteStream) -> io::Result<(Vec<u8>, Vec<usize>)> {
        let chunks: Vec<Bytes> = s.try_collect().await?;
        let sizes = chunks.iter().map(Bytes::len).collect();
        Ok((chunks.concat(), sizes))
    }

    #[tokio::test]
    async fn every_range_is_the_file_s_bytes_in_chunks_of_at_most_chunk() {
        let data: Vec<u8> = (0..(3 * CHUNK + 123))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let (_d, f) = file_of(&data);
        let f = Arc::new(f);
        for (start, len) in [
            (0, data.len()),
            (0, 0),
            (5, 1),
            (CHUNK - 1, CHUNK + 2),
            (data.len() - 1, 1),
            (17, data.len() - 17),
        ] {
            let s = stream(
                f.try_clone().unwrap(),
                start as u64,
                len as u64,
                Arc::clone(&f),
            );
            let (got, sizes) = collect(s).await.unwrap();
            assert_eq!(got, &data[start..start + len], "{start}+{len}");
            assert!(sizes.iter().all(|&n| n > 0 && n <= CHUNK), "{sizes:?}");
        }
    }

    #[tokio::test]
    async fn a_file_shorter_than_the_range_is_an_error_not_a_short_body() {
        let (_d, f) = file_of(&[1; 1000]);
        let err = collect(stream(f, 900, 200, ())).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(
            err.to_string(),
            "the file ended 100 bytes early (at offset 1000)"
        );
    }

    #[tokio::test]
    async fn chunks_not_in_the_page_cache_are_read_on_the_pool() {
        let data: Vec<u8> = (0..(2 * CHUNK + 9)).map(|i| i as u8).collect();
        let (_d, f) = file_of(&data);
        let mut s = FileRange {
            file: Arc::new(f),
            at: 0,
            left: data.len() as u64,
            reading: None,
            nowait: false,
            _keep: Arc::new(()),
        };
        let mut got = Vec::new();
        while let Some(c) = futures_util::StreamExt::next(&mut s).await {
            got.extend_from_slice(&c.unwrap());
        }
        assert_eq!(got, data);
    }
}
