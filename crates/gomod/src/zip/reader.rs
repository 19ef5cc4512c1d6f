//! A zip reader with the semantics of Go's `archive/zip` reader, which is what the go
//! command checks, hashes and extracts module zips with.
//!
//! The `zip` crate's reader is not used for reading because it keys entries by name (so a
//! duplicated entry silently disappears, while x/mod must report it), decodes names without
//! the UTF-8 flag as CP437 and replaces names from Info-ZIP Unicode path fields (Go keeps
//! the raw bytes in all these cases). Zips are written by `writer.rs`.
//!
//! Every read is bounded: the central directory is read entry by entry, and entry data is
//! read through a reader that fails as soon as more bytes come out than the declared
//! uncompressed size, like Go's `checksumReader`.

use std::io::{self, BufReader, Read, Seek, SeekFrom};

use super::Error;

use super::format::{
    DATA_DESCRIPTOR_LEN, DATA_DESCRIPTOR_SIGNATURE, DIRECTORY_END_LEN, DIRECTORY_END_SIGNATURE,
    DIRECTORY_HEADER_LEN, DIRECTORY_HEADER_SIGNATURE, DIRECTORY64_END_LEN,
    DIRECTORY64_END_SIGNATURE, DIRECTORY64_LOC_LEN, DIRECTORY64_LOC_SIGNATURE, FILE_HEADER_LEN,
    FILE_HEADER_SIGNATURE, METHOD_DEFLATE, METHOD_STORE, ZIP64_EXTRA_ID,
};

/// One central directory entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The raw name bytes.
    pub(crate) name: Vec<u8>,
    pub(crate) flags: u16,
    pub(crate) method: u16,
    pub(crate) crc32: u32,
    pub(crate) compressed_size: u64,
    pub(crate) uncompressed_size: u64,
    header_offset: u64,
}

impl Entry {
    /// The name as Go's `%s` would show it (lossy for names that are not UTF-8).
    pub(crate) fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Little-endian field reader over a byte slice (Go's `readBuf`); reads past the end
/// yield zeros, callers check lengths first as Go does.
struct Buf<'a>(&'a [u8]);

impl Buf<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }
    fn u16(&mut self) -> u16 {
        let b = self.take(2);
        let mut a = [0u8; 2];
        a[..b.len()].copy_from_slice(b);
        u16::from_le_bytes(a)
    }
    fn u32(&mut self) -> u32 {
        let b = self.take(4);
        let mut a = [0u8; 4];
        a[..b.len()].copy_from_slice(b);
        u32::from_le_bytes(a)
    }
    fn u64(&mut self) -> u64 {
        let b = self.take(8);
        let mut a = [0u8; 8];
        a[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(a)
    }
}

/// Go's `ReaderAt.ReadAt` on a `Read + Seek`: fills `buf` from `off`, returning how many
/// bytes were read (fewer only at end of file).
fn read_at<R: Read + Seek>(r: &mut R, buf: &mut [u8], off: u64) -> io::Result<usize> {
    r.seek(SeekFrom::Start(off))?;
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// `read_at` that must fill `buf` (Go returns `io.EOF` on a short `ReadAt`).
fn read_full_at<R: Read + Seek>(r: &mut R, buf: &mut [u8], off: u64) -> Result<(), Error> {
    if read_at(r, buf, off)? < buf.len() {
        return Err(Error::Eof);
    }
    Ok(())
}

/// Go's `io.ReadFull`: `Eof` if nothing was read, `UnexpectedEof` if part was.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<(), Error> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => {
                return Err(if n == 0 {
                    Error::Eof
                } else {
                    Error::UnexpectedEof
                });
            }
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

struct DirectoryEnd {
    directory_records: u64,
    directory_size: u64,
    directory_offset: u64,
}

/// A zip archive read as Go's `zip.NewReader` reads it.
pub(crate) struct ZipReader<R> {
    r: R,
    entries: Vec<Entry>,
}

impl<R: Read + Seek> ZipReader<R> {
    /// Reads the central directory of the `size`-byte archive in `r`.
    pub(crate) fn new(mut r: R, size: u64) -> Result<Self, Error> {
        let (end, base_offset) = read_directory_end(&mut r, size)?;
        let start = base_offset
            .checked_add(end.directory_offset)
            .ok_or(Error::Format)?;
        r.seek(SeekFrom::Start(start))?;
        let mut entries = Vec::new();
        let err;
        {
            // Bound the directory reads by the archive size, as Go's SectionReader does.
            let mut buf = BufReader::new((&mut r).take(size.saturating_sub(start)));
            loop {
                match read_directory_header(&mut buf) {
                    Ok(mut e) => {
                        e.header_offset = e.header_offset.wrapping_add(base_offset);
                        entries.push(e);
                    }
                    Err(e @ (Error::Format | Error::UnexpectedEof)) => {
                        // Go stops at the first bad or partial header and only reports it
                        // if the entry count then disagrees; a clean EOF is an error.
                        err = e;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        // The count of files is only compared modulo 65536, as Go does.
        if (entries.len() as u64 & 0xffff) != (end.directory_records & 0xffff) {
            return Err(err);
        }
        Ok(ZipReader { r, entries })
    }

    /// The entries in central directory order.
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Opens entry `i` for reading its uncompressed content (Go's `File.Open`).
    pub(crate) fn open(&mut self, i: usize) -> Result<EntryReader<'_, R>, Error> {
        let e = self.entries.get(i).ok_or(Error::Format)?.clone();
        let mut hdr = [0u8; FILE_HEADER_LEN];
        read_full_at(&mut self.r, &mut hdr, e.header_offset)?;
        let mut b = Buf(&hdr);
        if b.u32() != FILE_HEADER_SIGNATURE {
            return Err(Error::Format);
        }
        b.take(22);
        let name_len = u64::from(b.u16());
        let extra_len = u64::from(b.u16());
        let body = e
            .header_offset
            .checked_add(FILE_HEADER_LEN as u64 + name_len + extra_len)
            .ok_or(Error::Format)?;
        if e.name.ends_with(b"/") {
            let err = (e.uncompressed_size != 0).then_some(Error::Format);
            return Ok(EntryReader {
                inner: Inner::Dir(err),
                entry: e,
                nread: 0,
                hash: flate2::Crc::new(),
                descriptor_at: None,
                done: None,
            });
        }
        self.r.seek(SeekFrom::Start(body))?;
        let data = (&mut self.r).take(e.compressed_size);
        let inner = match e.method {
            METHOD_STORE => Inner::Store(data),
            METHOD_DEFLATE => Inner::Deflate(Box::new(flate2::read::DeflateDecoder::new(data))),
            _ => return Err(Error::Algorithm),
        };
        let descriptor_at = if e.flags & 0x8 != 0 {
            body.checked_add(e.compressed_size)
        } else {
            None
        };
        Ok(EntryReader {
            inner,
            entry: e,
            nread: 0,
            hash: flate2::Crc::new(),
            descriptor_at,
            done: None,
        })
    }
}

fn read_directory_end<R: Read + Seek>(r: &mut R, size: u64) -> Result<(DirectoryEnd, u64), Error> {
    // Look for the end-of-directory signature in the last 1k, then in the last 65k.
    let mut found = None;
    for (i, want) in [1024u64, 65 * 1024].into_iter().enumerate() {
        let blen = want.min(size);
        let mut buf = vec![0u8; blen as usize];
        read_at(r, &mut buf, size - blen)?;
        if let Some(p) = find_signature_in_block(&buf) {
            found = Some((buf.split_off(p), size - blen + p as u64));
            break;
        }
        if i == 1 || blen == size {
            return Err(Error::Format);
        }
    }
    let Some((buf, mut directory_end_offset)) = found else {
        return Err(Error::Format);
    };
    let mut b = Buf(&buf[4..]);
    let _disk = b.u16();
    let _dir_disk = b.u16();
    let _records_this_disk = b.u16();
    let mut d = DirectoryEnd {
        directory_records: u64::from(b.u16()),
        directory_size: u64::from(b.u32()),
        directory_offset: u64::from(b.u32()),
    };
    let comment_len = usize::from(b.u16());
    if comment_len > b.0.len() {
        return Err(Error::CommentLength);
    }
    // Go compares directorySize with 0xffff (sic), so do we.
    if (d.directory_records == 0xffff
        || d.directory_size == 0xffff
        || d.directory_offset == 0xffff_ffff)
        && let Some(p) = find_directory64_end(r, directory_end_offset)?
    {
        directory_end_offset = p;
        read_directory64_end(r, p, &mut d)?;
    }
    let max = i64::MAX as u64;
    if d.directory_size > max || d.directory_offset > max {
        return Err(Error::Format);
    }
    let base = i128::from(directory_end_offset)
        - i128::from(d.directory_size)
        - i128::from(d.directory_offset);
    let o = base + i128::from(d.directory_offset);
    if o < 0 || o >= i128::from(size) {
        return Err(Error::Format);
    }
    let mut base_offset = u64::try_from(base).map_err(|_| Error::Format)?;
    // If the end record implies a non-zero base offset but a directory header is found at
    // the offset taken as absolute, use a base offset of zero (as Go does).
    if base_offset > 0 && d.directory_offset < size {
        r.seek(SeekFrom::Start(d.directory_offset))?;
        let mut section = r.take(size - d.directory_offset);
        if read_directory_header(&mut section).is_ok() {
            base_offset = 0;
        }
    }
    Ok((d, base_offset))
}

fn find_signature_in_block(b: &[u8]) -> Option<usize> {
    if b.len() < DIRECTORY_END_LEN {
        return None;
    }
    for i in (0..=b.len() - DIRECTORY_END_LEN).rev() {
        if b[i..i + 4] == DIRECTORY_END_SIGNATURE.to_le_bytes() {
            let n = usize::from(b[i + DIRECTORY_END_LEN - 2])
                | usize::from(b[i + DIRECTORY_END_LEN - 1]) << 8;
            if n + DIRECTORY_END_LEN + i > b.len() {
                // Truncated comment.
                return None;
            }
            return Some(i);
        }
    }
    None
}

fn find_directory64_end<R: Read + Seek>(r: &mut R, end_offset: u64) -> Result<Option<u64>, Error> {
    let Some(loc) = end_offset.checked_sub(DIRECTORY64_LOC_LEN as u64) else {
        return Ok(None);
    };
    let mut buf = [0u8; DIRECTORY64_LOC_LEN];
    read_full_at(r, &mut buf, loc)?;
    let mut b = Buf(&buf);
    if b.u32() != DIRECTORY64_LOC_SIGNATURE || b.u32() != 0 {
        return Ok(None);
    }
    let p = b.u64();
    if b.u32() != 1 {
        return Ok(None);
    }
    Ok(Some(p))
}

fn read_directory64_end<R: Read + Seek>(
    r: &mut R,
    offset: u64,
    d: &mut DirectoryEnd,
) -> Result<(), Error> {
    let mut buf = [0u8; DIRECTORY64_END_LEN];
    read_full_at(r, &mut buf, offset)?;
    let mut b = Buf(&buf);
    if b.u32() != DIRECTORY64_END_SIGNATURE {
        return Err(Error::Format);
    }
    b.take(12);
    let _disk = b.u32();
    let _dir_disk = b.u32();
    let _records_this_disk = b.u64();
    d.directory_records = b.u64();
    d.directory_size = b.u64();
    d.directory_offset = b.u64();
    Ok(())
}

fn read_directory_header<R: Read>(r: &mut R) -> Result<Entry, Error> {
    let mut hdr = [0u8; DIRECTORY_HEADER_LEN];
    read_full(r, &mut hdr)?;
    let mut b = Buf(&hdr);
    if b.u32() != DIRECTORY_HEADER_SIGNATURE {
        return Err(Error::Format);
    }
    let _creator = b.u16();
    let _reader = b.u16();
    let flags = b.u16();
    let method = b.u16();
    let _time = b.u16();
    let _date = b.u16();
    let crc32 = b.u32();
    let csize32 = b.u32();
    let usize32 = b.u32();
    let name_len = usize::from(b.u16());
    let extra_len = usize::from(b.u16());
    let comment_len = usize::from(b.u16());
    b.take(4);
    let _external = b.u32();
    let offset32 = b.u32();
    let mut d = vec![0u8; name_len + extra_len + comment_len];
    read_full(r, &mut d).map_err(|e| match e {
        Error::Eof => Error::UnexpectedEof,
        e => e,
    })?;
    let name = d[..name_len].to_vec();
    let mut e = Entry {
        name,
        flags,
        method,
        crc32,
        compressed_size: u64::from(csize32),
        uncompressed_size: u64::from(usize32),
        header_offset: u64::from(offset32),
    };
    let mut need_usize = usize32 == u32::MAX;
    let mut need_csize = csize32 == u32::MAX;
    let mut need_offset = offset32 == u32::MAX;
    let mut extra = Buf(&d[name_len..name_len + extra_len]);
    while extra.0.len() >= 4 {
        let tag = extra.u16();
        let size = usize::from(extra.u16());
        if extra.0.len() < size {
            break;
        }
        let mut field = Buf(extra.take(size));
        if tag == ZIP64_EXTRA_ID {
            if need_usize {
                need_usize = false;
                if field.0.len() < 8 {
                    return Err(Error::Format);
                }
                e.uncompressed_size = field.u64();
            }
            if need_csize {
                need_csize = false;
                if field.0.len() < 8 {
                    return Err(Error::Format);
                }
                e.compressed_size = field.u64();
            }
            if need_offset {
                need_offset = false;
                if field.0.len() < 8 {
                    return Err(Error::Format);
                }
                e.header_offset = field.u64();
            }
        }
    }
    // An uncompressed size of 2³²-1 without a zip64 field is accepted, as Go does.
    let _ = need_usize;
    if need_csize || need_offset {
        return Err(Error::Format);
    }
    Ok(e)
}

enum Inner<'a, R> {
    Dir(Option<Error>),
    Store(io::Take<&'a mut R>),
    Deflate(Box<flate2::read::DeflateDecoder<io::Take<&'a mut R>>>),
}

/// Reads one entry's content, failing (Go's `checksumReader`) with [`Error::Format`] as
/// soon as more bytes come out than the declared uncompressed size, with
/// [`Error::UnexpectedEof`] if fewer do, and with [`Error::Checksum`] on a CRC-32 mismatch.
/// Errors come out of `read` as `io::Error`s wrapping an [`Error`]; `Error::from` unwraps.
pub(crate) struct EntryReader<'a, R> {
    inner: Inner<'a, R>,
    entry: Entry,
    nread: u64,
    hash: flate2::Crc,
    descriptor_at: Option<u64>,
    /// Sticky result once the end was reached or an error happened.
    done: Option<Result<(), Error>>,
}

impl<R: Read + Seek> EntryReader<'_, R> {
    fn finish(&mut self) -> Result<(), Error> {
        if self.nread != self.entry.uncompressed_size {
            return Err(Error::UnexpectedEof);
        }
        let sum = self.hash.sum();
        if let Some(at) = self.descriptor_at {
            let r: &mut R = match &mut self.inner {
                Inner::Store(t) => t.get_mut(),
                Inner::Deflate(d) => d.get_mut().get_mut(),
                Inner::Dir(_) => return Ok(()),
            };
            let mut buf = [0u8; DATA_DESCRIPTOR_LEN];
            r.seek(SeekFrom::Start(at))?;
            let mut section = r.take(DATA_DESCRIPTOR_LEN as u64);
            read_full(&mut section, &mut buf[..4]).map_err(|e| match e {
                Error::Eof => Error::UnexpectedEof,
                e => e,
            })?;
            let off = if Buf(&buf[..4]).u32() == DATA_DESCRIPTOR_SIGNATURE {
                0
            } else {
                4
            };
            read_full(&mut section, &mut buf[off..12]).map_err(|e| match e {
                Error::Eof => Error::UnexpectedEof,
                e => e,
            })?;
            if Buf(&buf[..12]).u32() != self.entry.crc32 {
                return Err(Error::Checksum);
            }
            if sum != self.entry.crc32 {
                return Err(Error::Checksum);
            }
        } else if self.entry.crc32 != 0 && sum != self.entry.crc32 {
            return Err(Error::Checksum);
        }
        Ok(())
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        let n = match &mut self.inner {
            Inner::Dir(err) => {
                return match err.take() {
                    Some(e) => Err(e),
                    None => Ok(0),
                };
            }
            Inner::Store(t) => t.read(buf)?,
            Inner::Deflate(d) => d.read(buf).map_err(|e| {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    Error::UnexpectedEof
                } else if e.kind() == io::ErrorKind::InvalidInput
                    || e.kind() == io::ErrorKind::InvalidData
                {
                    Error::Flate(e.to_string())
                } else {
                    Error::from(e)
                }
            })?,
        };
        self.hash.update(&buf[..n]);
        self.nread = self.nread.saturating_add(n as u64);
        if self.nread > self.entry.uncompressed_size {
            return Err(Error::Format);
        }
        if n == 0 && !buf.is_empty() {
            self.finish()?;
        }
        Ok(n)
    }
}

impl<R: Read + Seek> Read for EntryReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.done {
            Some(Ok(())) => return Ok(0),
            Some(Err(e)) => return Err(e.clone().into()),
            None => {}
        }
        match self.read_inner(buf) {
            Ok(0) if !buf.is_empty() => {
                self.done = Some(Ok(()));
                Ok(0)
            }
            Ok(n) => Ok(n),
            Err(e) => {
                self.done = Some(Err(e.clone()));
                Err(e.into())
            }
        }
    }
}
