//! WAL segment files.
//!
//! A segment starts with a 4 KiB block holding [`MAGIC`]; each record then starts on a
//! 4 KiB boundary: `[len u32][crc32c u32][seq u64][payload: len bytes]`, zero padded to
//! the next boundary. The CRC covers the sequence number and the payload. Aligned
//! records let segments be written with `O_DIRECT`: the rows go from our buffer to the
//! disk without a copy into the page cache (which on this kind of machine cost more
//! than encoding them). Where the file system refuses `O_DIRECT` (tmpfs), the same
//! format is written through the page cache.
//!
//! Segments written before this format (no magic: records back to back from byte 0)
//! are still read.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 8] = b"EDDYWAL2";
pub const HEADER: usize = 16;
pub const BLOCK: usize = 4096;
/// Bytes handed to the file system per write.
const CHUNK: usize = 4 << 20;

/// A segment open for appending.
pub struct Segment {
    path: PathBuf,
    file: File,
    direct: bool,
    /// Where the next record starts (a block boundary).
    end: u64,
}

fn open(path: &Path, direct: bool) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).truncate(true).write(true);
    if direct {
        o.custom_flags(libc::O_DIRECT);
    }
    o.open(path)
}

impl Segment {
    /// Creates (or empties) the segment at `path`, durably with its magic block.
    pub fn create(path: &Path) -> std::io::Result<Segment> {
        let (file, direct) = match open(path, true) {
            Ok(f) => (f, true),
            Err(_) => (open(path, false)?, false),
        };
        let mut seg = Segment {
            path: path.to_path_buf(),
            file,
            direct,
            end: 0,
        };
        let mut buf = Aligned::new(BLOCK);
        buf.extend(MAGIC);
        buf.pad();
        seg.write_at(buf.bytes(), 0)?;
        seg.file.sync_all()?;
        seg.end = BLOCK as u64;
        Ok(seg)
    }

    /// Writes whole, block-aligned `bytes` at `at`; falls back to the page cache if the
    /// device refuses direct writes of this alignment.
    fn write_at(&mut self, bytes: &[u8], at: u64) -> std::io::Result<()> {
        match self.file.write_all_at(bytes, at) {
            Err(e) if self.direct && e.raw_os_error() == Some(libc::EINVAL) => {
                tracing::warn!("direct WAL writes refused ({e}); writing through the page cache");
                self.direct = false;
                self.file = OpenOptions::new().write(true).open(&self.path)?;
                self.file.write_all_at(bytes, at)
            }
            other => other,
        }
    }

    /// Appends one record whose payload `encode` writes, and makes it durable.
    pub fn append(
        &mut self,
        seq: u64,
        size_hint: usize,
        encode: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let start = self.end;
        let mut w = RecordWriter {
            seg: self,
            buf: Aligned::new((size_hint + HEADER).clamp(BLOCK, CHUNK)),
            head: None,
            at: start,
            crc: crc32c::crc32c(&seq.to_le_bytes()),
            len: 0,
        };
        w.buf.extend(&[0; HEADER]);
        encode(&mut w)?;
        let RecordWriter {
            buf: mut rest,
            head,
            at,
            crc,
            len,
            ..
        } = w;
        let len = u32::try_from(len).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "WAL record over 4 GiB")
        })?;
        let mut header = [0u8; HEADER];
        header[0..4].copy_from_slice(&len.to_le_bytes());
        header[4..8].copy_from_slice(&crc.to_le_bytes());
        header[8..16].copy_from_slice(&seq.to_le_bytes());
        rest.pad();
        let end = at + rest.bytes().len() as u64;
        match head {
            // The whole record is in the buffer: one write.
            None => {
                rest.set_start(&header);
                self.write_at(rest.bytes(), at)?;
            }
            // The first block was held back until the header was known.
            Some(mut head) => {
                self.write_at(rest.bytes(), at)?;
                head.set_start(&header);
                self.write_at(head.bytes(), start)?;
            }
        }
        self.file.sync_data()?;
        self.end = end;
        Ok(())
    }
}

/// Streams a record's payload through a block-aligned buffer.
struct RecordWriter<'a> {
    seg: &'a mut Segment,
    buf: Aligned,
    /// The record's first block, once the buffer has been written out past it.
    head: Option<Aligned>,
    /// Where `buf` goes in the file.
    at: u64,
    crc: u32,
    len: u64,
}

impl Write for RecordWriter<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.crc = crc32c::crc32c_append(self.crc, data);
        self.len += data.len() as u64;
        let mut rest = data;
        while !rest.is_empty() {
            let n = rest.len().min(self.buf.room());
            self.buf.extend(&rest[..n]);
            rest = &rest[n..];
            if self.buf.room() == 0 {
                self.flush_full()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl RecordWriter<'_> {
    /// Writes out a full buffer; the record's first block is kept for the header.
    fn flush_full(&mut self) -> std::io::Result<()> {
        let bytes = self.buf.bytes();
        if self.head.is_none() {
            let mut head = Aligned::new(BLOCK);
            head.extend(&bytes[..BLOCK]);
            self.head = Some(head);
            self.seg.write_at(&bytes[BLOCK..], self.at + BLOCK as u64)?;
        } else {
            self.seg.write_at(bytes, self.at)?;
        }
        self.at += bytes.len() as u64;
        self.buf.clear();
        Ok(())
    }
}

/// A byte buffer whose data starts on a block boundary in memory (for `O_DIRECT`).
pub struct Aligned {
    raw: Vec<u8>,
    offset: usize,
    len: usize,
    cap: usize,
}

impl Aligned {
    pub fn new(cap: usize) -> Aligned {
        let cap = cap.div_ceil(BLOCK) * BLOCK;
        let raw = vec![0u8; cap + BLOCK];
        let offset = raw.as_ptr().align_offset(BLOCK);
        Aligned {
            raw,
            offset,
            len: 0,
            cap,
        }
    }

    fn room(&self) -> usize {
        self.cap - self.len
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    fn extend(&mut self, data: &[u8]) {
        let at = self.offset + self.len;
        self.raw[at..at + data.len()].copy_from_slice(data);
        self.len += data.len();
    }

    fn set_start(&mut self, data: &[u8]) {
        self.raw[self.offset..self.offset + data.len()].copy_from_slice(data);
    }

    fn padded_len(&self) -> usize {
        self.len.div_ceil(BLOCK) * BLOCK
    }

    /// Zeroes up to the next block boundary and includes it.
    fn pad(&mut self) {
        let to = self.padded_len();
        self.raw[self.offset + self.len..self.offset + to].fill(0);
        self.len = to;
    }

    fn bytes(&self) -> &[u8] {
        &self.raw[self.offset..self.offset + self.len]
    }
}

/// One record found in a segment's bytes.
pub struct Found<'a> {
    pub seq: u64,
    pub payload: &'a [u8],
}

/// The records of a segment's bytes, and the offset where the valid ones end (a torn
/// or corrupt tail starts there).
pub fn records(bytes: &[u8]) -> (Vec<Found<'_>>, usize) {
    let aligned = bytes.starts_with(MAGIC);
    let mut pos = if aligned { BLOCK } else { 0 };
    if aligned && bytes.len() < BLOCK {
        return (vec![], 0);
    }
    let mut out = vec![];
    while pos + HEADER <= bytes.len() {
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let (len, crc) = (word(pos) as usize, word(pos + 4));
        let end = pos + HEADER + len;
        if end > bytes.len() || crc32c::crc32c(&bytes[pos + 8..end]) != crc {
            break;
        }
        out.push(Found {
            seq: u64::from_le_bytes(bytes[pos + 8..pos + 16].try_into().expect("8 bytes")),
            payload: &bytes[pos + HEADER..end],
        });
        pos = if aligned {
            end.div_ceil(BLOCK) * BLOCK
        } else {
            end
        };
    }
    (out, pos.min(bytes.len()))
}
