//! NDJSON sources, parsed in parallel pieces of whole lines kept in order as separate
//! batches (line numbers stay those of the whole source). Bytes in memory are taken in
//! windows, each cut into pieces the threads take in turn. A file is read by the parser
//! threads themselves, a piece at a time into reused buffers, so it is never held whole
//! in memory, its bytes never land in fresh pages, and each piece is parsed while it is
//! still in the cache.

use std::io::Read;

use super::{fields, finish_columns, flat, json, json_records, utf8, Parsed, Request};
use crate::error::{ExplorerError, Result};

/// Below this size a window is parsed on one thread.
const PARALLEL_JSON_BYTES: usize = 4 << 20;
/// A window is cut into this many pieces per thread, taken in turn by the threads.
const PIECES_PER_THREAD: usize = 3;
/// Bytes per window (a longer line makes its window longer).
const WINDOW: usize = 32 << 20;

/// What parsing windows needs, and what they gave so far.
struct Lines<'a> {
    req: &'a Request<'a>,
    plan: Option<fields::FieldPlan>,
    fastest: Option<flat::FlatPlan>,
    threads: usize,
    /// The number of the next window's first line.
    next_line: u64,
    /// Whether the first record (`ignoreFirstRecord`) is still to be skipped.
    skip_first: bool,
    out: Parsed,
}

impl<'a> Lines<'a> {
    fn new(req: &'a Request<'a>) -> Lines<'a> {
        Lines {
            req,
            plan: fields::FieldPlan::new(req),
            fastest: flat::FlatPlan::new(req),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            next_line: 1,
            skip_first: req.ignore_first_record,
            out: Parsed {
                batches: vec![],
                failures: vec![],
                conversion_failures: 0,
                raw_bytes: 0,
            },
        }
    }

    /// Parses a window of whole lines.
    fn window(&mut self, bytes: &[u8]) -> Result<()> {
        let chunks = if bytes.len() < PARALLEL_JSON_BYTES || self.threads == 1 {
            vec![(self.next_line, bytes)]
        } else {
            line_chunks(bytes, self.threads * PIECES_PER_THREAD, self.next_line)
        };
        self.next_line += memchr::memchr_iter(b'\n', bytes).count() as u64;
        // `ignoreFirstRecord` skips a record in the first piece that has one.
        let skips: Vec<bool> = chunks
            .iter()
            .map(|(_, piece)| {
                let skip = self.skip_first && has_record(piece);
                self.skip_first &= !skip;
                skip
            })
            .collect();
        let this = &*self;
        let parts: Vec<Result<Parsed>> = if chunks.len() == 1 {
            vec![this.chunk(chunks[0].0, chunks[0].1, skips[0])]
        } else {
            // Each thread takes the next piece when it is done with one, so a thread
            // slowed down by other work holds up the window by one small piece at most.
            let next = std::sync::atomic::AtomicUsize::new(0);
            on_threads(this.threads.min(chunks.len()), || {
                let mut mine = vec![];
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((first, piece)) = chunks.get(i) else {
                        return mine;
                    };
                    mine.push((i, this.chunk(*first, piece, skips[i])));
                }
            })
        };
        for part in parts {
            self.add(part?);
        }
        Ok(())
    }

    /// Adds a parsed piece's rows, failures and counts to the result.
    fn add(&mut self, part: Parsed) {
        self.out.batches.extend(part.batches);
        self.out.failures.extend(part.failures);
        self.out.conversion_failures += part.conversion_failures;
        self.out.raw_bytes += part.raw_bytes;
    }

    /// One piece of whole lines: the flat path if it answers, else the general one.
    fn chunk(&self, first_line: u64, bytes: &[u8], skip: bool) -> Result<Parsed> {
        let req = self.req;
        if let Some(parsed) = self
            .fastest
            .as_ref()
            .and_then(|p| p.decode(req, bytes, skip))
        {
            return Ok(parsed);
        }
        let text = utf8(bytes);
        let Some(plan) = &self.plan else {
            let (records, failures) = json::lines(&text, first_line);
            let records = records.into_iter().skip(skip as usize).collect();
            return json_records(req, records, failures, "line", bytes.len() as u64);
        };
        let keys: Vec<&str> = plan.keys.iter().map(String::as_str).collect();
        let mut read = json::lines_fields(&text, first_line, &keys);
        if skip {
            read.skip_first();
        }
        let columns = plan.columns(req, read.columns, &read.lines);
        let lines = read.lines;
        finish_columns(
            req,
            columns,
            lines.len(),
            &|r| format!("line {}", lines[r]),
            read.failures,
            bytes.len() as u64,
        )
    }
}

/// Whether `bytes` hold anything but whitespace (a record, or a line that fails).
fn has_record(bytes: &[u8]) -> bool {
    bytes.iter().any(|b| !b.is_ascii_whitespace())
}

/// The end of the first window of `data`: at least `window` bytes, cut after a line.
fn window_end(data: &[u8], window: usize) -> usize {
    if data.len() <= window {
        return data.len();
    }
    memchr::memchr(b'\n', &data[window..]).map_or(data.len(), |i| window + i + 1)
}

/// NDJSON bytes already in memory.
pub fn from_bytes(req: &Request<'_>, data: &[u8]) -> Result<Parsed> {
    from_bytes_in(req, data, WINDOW)
}

fn from_bytes_in(req: &Request<'_>, data: &[u8], window: usize) -> Result<Parsed> {
    let mut lines = Lines::new(req);
    let mut rest = data;
    while !rest.is_empty() {
        let end = window_end(rest, window);
        lines.window(&rest[..end])?;
        rest = &rest[end..];
    }
    Ok(lines.out)
}

/// A local NDJSON file, piece by piece.
pub fn from_file(req: &Request<'_>, file: &mut std::fs::File) -> Result<Parsed> {
    from_file_in(req, file, PIECE)
}

/// Bytes a parser thread reads at a time from a file (a longer line makes its piece
/// longer).
const PIECE: usize = 8 << 20;

/// Each parser thread reads the file's next piece of whole lines itself (one at a
/// time, in file order) and parses it while the other threads read or parse theirs.
/// No thread waits for a whole window, and a piece is parsed while it is still in the
/// CPU's cache from the read.
fn from_file_in(req: &Request<'_>, file: &mut std::fs::File, piece: usize) -> Result<Parsed> {
    let mut lines = Lines::new(req);
    let reader = std::sync::Mutex::new(Reader {
        file,
        tail: vec![],
        next_line: 1,
        index: 0,
        eof: false,
        skip_first: req.ignore_first_record,
        failed: false,
    });
    let this = &lines;
    let parts = on_threads(this.threads, || {
        let mut buf = buffers::take(piece + piece / 4);
        let mut mine = vec![];
        loop {
            let next = match reader.lock() {
                Ok(mut r) if !r.failed => {
                    let next = r.next_piece(&mut buf, piece);
                    r.failed = next.is_err();
                    next
                }
                _ => Ok(None),
            };
            match next {
                Ok(Some(p)) => mine.push((p.index, this.chunk(p.first_line, &buf, p.skip))),
                Ok(None) => break,
                Err(e) => {
                    let e = ExplorerError::Execution(format!("read {}: {e}", req.source));
                    mine.push((usize::MAX, Err(e)));
                    break;
                }
            }
        }
        buffers::give_back(buf);
        mine
    });
    for part in parts {
        lines.add(part?);
    }
    Ok(lines.out)
}

/// Runs `work` on `threads` threads at once; each returns the pieces it parsed with
/// their indexes. The results of all threads, in index order.
fn on_threads<F>(threads: usize, work: F) -> Vec<Result<Parsed>>
where
    F: Fn() -> Vec<(usize, Result<Parsed>)> + Sync,
{
    let work = &work;
    let mut done: Vec<(usize, Result<Parsed>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1)).map(|_| s.spawn(work)).collect();
        workers
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    let e = ExplorerError::Execution("a JSON parser thread panicked".into());
                    vec![(usize::MAX, Err(e))]
                })
            })
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, p)| p).collect()
}

/// Where the reading of a file stands; the parser threads take turns with it.
struct Reader<'f> {
    file: &'f mut std::fs::File,
    /// Bytes after the last whole line read so far: the start of the next piece.
    tail: Vec<u8>,
    next_line: u64,
    index: usize,
    eof: bool,
    skip_first: bool,
    /// A read failed: the other threads stop.
    failed: bool,
}

/// A piece of whole lines read into a thread's buffer.
struct Piece {
    index: usize,
    first_line: u64,
    /// `ignoreFirstRecord`: the source's first record is in this piece.
    skip: bool,
}

impl Reader<'_> {
    /// Reads the next piece of whole lines (about `size` bytes) into `buf`; None at
    /// the end of the file.
    fn next_piece(&mut self, buf: &mut Vec<u8>, size: usize) -> std::io::Result<Option<Piece>> {
        buf.clear();
        buf.append(&mut self.tail);
        let end = loop {
            if self.eof {
                break buf.len();
            }
            let want = (size.max(buf.len() + size / 4) - buf.len()) as u64;
            let read = self.file.by_ref().take(want).read_to_end(buf)?;
            self.eof = (read as u64) < want;
            if let Some(i) = memchr::memrchr(b'\n', buf) {
                if !self.eof {
                    break i + 1;
                }
            }
        };
        self.tail.extend_from_slice(&buf[end..]);
        buf.truncate(end);
        if buf.is_empty() {
            return Ok(None);
        }
        let piece = Piece {
            index: self.index,
            first_line: self.next_line,
            skip: self.skip_first && has_record(buf),
        };
        self.skip_first &= !piece.skip;
        self.index += 1;
        self.next_line += memchr::memchr_iter(b'\n', buf).count() as u64;
        Ok(Some(piece))
    }
}

/// Window buffers kept for the next file: a buffer the size of a window is fresh
/// memory each time it is allocated anew, and first touches of memory cost more than
/// reading into it (page faults; the more so in a sandboxed kernel).
mod buffers {
    use std::sync::Mutex;

    /// At most this many buffers wait (two per file being read).
    const KEEP: usize = 4;

    static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

    /// An empty buffer of at least `capacity` bytes.
    pub fn take(capacity: usize) -> Vec<u8> {
        let reused = POOL.lock().ok().and_then(|mut p| p.pop());
        let mut buf = reused.unwrap_or_default();
        buf.clear();
        buf.reserve(capacity);
        buf
    }

    pub fn give_back(buf: Vec<u8>) {
        if let Ok(mut p) = POOL.lock() {
            if p.len() < KEEP {
                p.push(buf);
            }
        }
    }
}

/// `data` in about `n` pieces that end at line ends, each with its first line's number
/// (counting from `first_line`).
fn line_chunks(data: &[u8], n: usize, first_line: u64) -> Vec<(u64, &[u8])> {
    let mut chunks = vec![];
    let (mut start, mut line) = (0, first_line);
    let target = data.len().div_ceil(n);
    while start < data.len() {
        let mut end = (start + target).min(data.len());
        while end < data.len() && data[end - 1] != b'\n' {
            end += 1;
        }
        let piece = &data[start..end];
        chunks.push((line, piece));
        line += memchr::memchr_iter(b'\n', piece).count() as u64;
        start = end;
    }
    chunks
}

#[cfg(test)]
mod tests;
