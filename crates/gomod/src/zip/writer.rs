//! Writing zip files laid out byte for byte as Go's `archive/zip` writes the files of
//! `Writer.Create`: each file deflated with `compress/flate` level 5 ([`crate::flate`]), a
//! local header with no time, CRC or sizes (flag 0x8), the data, a data descriptor with its
//! signature; then the central directory (made by and needing version 2.0, no attributes),
//! zip64 records only when sizes or offsets call for them, and the end record.

use std::io::{self, BufWriter, Read, Write};

use crate::flate::{Compressor, ZIP_LEVEL};

use super::format::{
    DATA_DESCRIPTOR_SIGNATURE, DIRECTORY_END_SIGNATURE, DIRECTORY_HEADER_SIGNATURE,
    DIRECTORY64_END_LEN, DIRECTORY64_END_SIGNATURE, DIRECTORY64_LOC_SIGNATURE,
    FILE_HEADER_SIGNATURE, FLAG_DATA_DESCRIPTOR, FLAG_UTF8, METHOD_DEFLATE as DEFLATE,
    ZIP_VERSION_20, ZIP_VERSION_45, ZIP64_EXTRA_ID,
};
const UINT16_MAX: u64 = (1 << 16) - 1;
const UINT32_MAX: u64 = (1 << 32) - 1;

/// One file as the central directory lists it.
struct Entry {
    name: String,
    flags: u16,
    crc32: u32,
    compressed: u64,
    uncompressed: u64,
    offset: u64,
}

impl Entry {
    fn is_zip64(&self) -> bool {
        self.compressed >= UINT32_MAX || self.uncompressed >= UINT32_MAX
    }
}

/// Counts the bytes written through it.
struct Counter<'a, W: Write> {
    w: &'a mut W,
    n: u64,
}

impl<W: Write> Write for Counter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.w.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// A zip writer giving `archive/zip`'s bytes for files added with `Create` and streamed in
/// (the go command's module zips). Add files with [`add`](Writer::add), end with
/// [`finish`](Writer::finish).
pub struct Writer<W: Write> {
    out: BufWriter<W>,
    count: u64,
    dir: Vec<Entry>,
    compressor: Box<Compressor>,
    buf: Vec<u8>,
}

/// Whether Go marks `name` as UTF-8 (flag 0x800): it holds a character outside
/// `0x20..=0x7d` or a backslash (so `~` counts, as in Go's `detectUTF8`).
fn needs_utf8_flag(name: &str) -> bool {
    name.chars()
        .any(|c| (c as u32) < 0x20 || (c as u32) > 0x7d || c == '\\')
}

impl<W: Write> Writer<W> {
    /// A zip writer into `w`.
    pub fn new(w: W) -> Self {
        let compressor = Compressor::new(ZIP_LEVEL).expect("level 5 is provided");
        Writer {
            out: BufWriter::with_capacity(64 << 10, w),
            count: 0,
            dir: Vec::new(),
            compressor: Box::new(compressor),
            buf: vec![0; 32 << 10],
        }
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.write_all(b)?;
        self.count += b.len() as u64;
        Ok(())
    }

    /// Adds a file named `name` holding everything `r` yields, deflated. Returns how many
    /// bytes were read from `r`.
    pub fn add(&mut self, name: &str, r: &mut dyn Read) -> io::Result<u64> {
        if name.len() as u64 > UINT16_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "zip: FileHeader.Name too long",
            ));
        }
        let flags = FLAG_DATA_DESCRIPTOR | if needs_utf8_flag(name) { FLAG_UTF8 } else { 0 };
        let offset = self.count;
        let mut h = Vec::with_capacity(30 + name.len());
        h.extend(FILE_HEADER_SIGNATURE.to_le_bytes());
        h.extend(ZIP_VERSION_20.to_le_bytes());
        h.extend(flags.to_le_bytes());
        h.extend(DEFLATE.to_le_bytes());
        // Modified time and date, CRC-32, sizes: zero (in the data descriptor), no extra.
        h.extend([0u8; 16]);
        h.extend((name.len() as u16).to_le_bytes());
        h.extend(0u16.to_le_bytes());
        h.extend(name.as_bytes());
        self.put(&h)?;

        self.compressor.reset();
        let mut crc = crc32fast::Hasher::new();
        let mut uncompressed = 0u64;
        let mut out = Counter {
            w: &mut self.out,
            n: 0,
        };
        loop {
            let n = match r.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            crc.update(&self.buf[..n]);
            uncompressed += n as u64;
            self.compressor.write(&mut out, &self.buf[..n])?;
        }
        self.compressor.close(&mut out)?;
        let compressed = out.n;
        self.count += compressed;

        let e = Entry {
            name: name.to_owned(),
            flags,
            crc32: crc.finalize(),
            compressed,
            uncompressed,
            offset,
        };
        let mut d = Vec::with_capacity(24);
        d.extend(DATA_DESCRIPTOR_SIGNATURE.to_le_bytes());
        d.extend(e.crc32.to_le_bytes());
        if e.is_zip64() {
            d.extend(e.compressed.to_le_bytes());
            d.extend(e.uncompressed.to_le_bytes());
        } else {
            d.extend((e.compressed as u32).to_le_bytes());
            d.extend((e.uncompressed as u32).to_le_bytes());
        }
        self.put(&d)?;
        self.dir.push(e);
        Ok(uncompressed)
    }

    /// Writes the central directory and the end records; returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        let start = self.count;
        let dir = std::mem::take(&mut self.dir);
        for e in &dir {
            let mut b = Vec::with_capacity(46 + e.name.len() + 28);
            b.extend(DIRECTORY_HEADER_SIGNATURE.to_le_bytes());
            b.extend(ZIP_VERSION_20.to_le_bytes());
            let reader_version = if e.is_zip64() {
                ZIP_VERSION_45
            } else {
                ZIP_VERSION_20
            };
            b.extend(reader_version.to_le_bytes());
            b.extend(e.flags.to_le_bytes());
            b.extend(DEFLATE.to_le_bytes());
            b.extend([0u8; 4]); // modified time and date
            b.extend(e.crc32.to_le_bytes());
            let mut extra = Vec::new();
            if e.is_zip64() || e.offset >= UINT32_MAX {
                b.extend((UINT32_MAX as u32).to_le_bytes());
                b.extend((UINT32_MAX as u32).to_le_bytes());
                extra.extend(ZIP64_EXTRA_ID.to_le_bytes());
                extra.extend(24u16.to_le_bytes());
                extra.extend(e.uncompressed.to_le_bytes());
                extra.extend(e.compressed.to_le_bytes());
                extra.extend(e.offset.to_le_bytes());
            } else {
                b.extend((e.compressed as u32).to_le_bytes());
                b.extend((e.uncompressed as u32).to_le_bytes());
            }
            b.extend((e.name.len() as u16).to_le_bytes());
            b.extend((extra.len() as u16).to_le_bytes());
            b.extend(0u16.to_le_bytes()); // comment length
            b.extend([0u8; 4]); // disk number start, internal attributes
            b.extend(0u32.to_le_bytes()); // external attributes
            b.extend((e.offset.min(UINT32_MAX) as u32).to_le_bytes());
            b.extend(e.name.as_bytes());
            b.extend(extra);
            self.put(&b)?;
        }
        let end = self.count;
        let mut records = dir.len() as u64;
        let mut size = end - start;
        let mut offset = start;
        let mut b = Vec::with_capacity(22 + 76);
        if records >= UINT16_MAX || size >= UINT32_MAX || offset >= UINT32_MAX {
            b.extend(DIRECTORY64_END_SIGNATURE.to_le_bytes());
            b.extend((DIRECTORY64_END_LEN as u64 - 12).to_le_bytes());
            b.extend(ZIP_VERSION_45.to_le_bytes());
            b.extend(ZIP_VERSION_45.to_le_bytes());
            b.extend([0u8; 8]); // this disk, the directory's disk
            b.extend(records.to_le_bytes());
            b.extend(records.to_le_bytes());
            b.extend(size.to_le_bytes());
            b.extend(offset.to_le_bytes());
            b.extend(DIRECTORY64_LOC_SIGNATURE.to_le_bytes());
            b.extend(0u32.to_le_bytes());
            b.extend(end.to_le_bytes());
            b.extend(1u32.to_le_bytes());
            records = UINT16_MAX;
            size = UINT32_MAX;
            offset = UINT32_MAX;
        }
        b.extend(DIRECTORY_END_SIGNATURE.to_le_bytes());
        b.extend([0u8; 4]); // this disk, the directory's disk
        b.extend((records as u16).to_le_bytes());
        b.extend((records as u16).to_le_bytes());
        b.extend((size as u32).to_le_bytes());
        b.extend((offset as u32).to_le_bytes());
        b.extend(0u16.to_le_bytes()); // comment length
        self.put(&b)?;
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_flag_as_go_sets_it() {
        assert!(!needs_utf8_flag("m@v1.0.0/a/b.go"));
        assert!(needs_utf8_flag("m@v1.0.0/a~b.go"));
        assert!(needs_utf8_flag("m@v1.0.0/é.go"));
        assert!(!needs_utf8_flag("m@v1.0.0/{}.go"));
    }

    #[test]
    fn layout_of_one_empty_file() {
        let mut w = Writer::new(Vec::new());
        assert_eq!(w.add("a", &mut io::empty()).unwrap(), 0);
        let z = w.finish().unwrap();
        let local = 30 + 1;
        let data = 5; // one empty final stored block
        let descriptor = 16;
        let central = 46 + 1;
        assert_eq!(z.len(), local + data + descriptor + central + 22);
        assert_eq!(&z[..8], &[0x50, 0x4b, 3, 4, 20, 0, 8, 0]);
        assert_eq!(&z[local..local + data], &[1, 0, 0, 0xff, 0xff]);
        // Empty content: CRC 0, 5 bytes compressed, 0 uncompressed.
        assert_eq!(
            &z[local + data..local + data + descriptor],
            &[0x50, 0x4b, 7, 8, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]
        );
        let end = &z[z.len() - 22..];
        assert_eq!(&end[..4], &[0x50, 0x4b, 5, 6]);
        assert_eq!(&end[8..12], &[1, 0, 1, 0]);
        assert_eq!(
            &end[16..20],
            &((local + data + descriptor) as u32).to_le_bytes()
        );
    }
}
