//! NDJSON sources: taken in windows of whole lines, each window cut into one piece per
//! core, pieces parsed in parallel and kept in order as separate batches (line numbers
//! stay those of the whole source). A file is read window by window into two reused
//! buffers, the next window while the current one is parsed, so it is never held
//! whole in memory and its bytes never land in fresh pages.

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
            let (chunks, skips, next) = (&chunks, &skips, &next);
            let mut done: Vec<(usize, Result<Parsed>)> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..this.threads.min(chunks.len()))
                    .map(|_| {
                        s.spawn(move || {
                            let mut mine = vec![];
                            loop {
                                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                let Some((first, piece)) = chunks.get(i) else {
                                    return mine;
                                };
                                mine.push((i, this.chunk(*first, piece, skips[i])));
                            }
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .flat_map(|h| {
                        h.join().unwrap_or_else(|_| {
                            vec![(
                                0,
                                Err(ExplorerError::Execution(
                                    "a JSON parser thread panicked".into(),
                                )),
                            )]
                        })
                    })
                    .collect()
            });
            done.sort_by_key(|(i, _)| *i);
            done.into_iter().map(|(_, p)| p).collect()
        };
        for part in parts {
            let part = part?;
            self.out.batches.extend(part.batches);
            self.out.failures.extend(part.failures);
            self.out.conversion_failures += part.conversion_failures;
        }
        self.out.raw_bytes += bytes.len() as u64;
        Ok(())
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

/// Reads into `buf` (which may hold the previous window's tail) until it holds a window
/// of whole lines or the file ends; returns where the whole lines end and whether the
/// file did (then the last line needs no newline).
fn fill(
    file: &mut std::fs::File,
    buf: &mut Vec<u8>,
    window: usize,
) -> std::io::Result<(usize, bool)> {
    loop {
        let want = ((buf.len() + window / 4).max(window) - buf.len()) as u64;
        let read = file.by_ref().take(want).read_to_end(buf)?;
        if (read as u64) < want {
            return Ok((buf.len(), true));
        }
        if let Some(i) = memchr::memrchr(b'\n', buf) {
            return Ok((i + 1, false));
        }
    }
}

/// A local NDJSON file, window by window.
pub fn from_file(req: &Request<'_>, file: &mut std::fs::File) -> Result<Parsed> {
    from_file_in(req, file, WINDOW)
}

fn from_file_in(req: &Request<'_>, file: &mut std::fs::File, window: usize) -> Result<Parsed> {
    let mut lines = Lines::new(req);
    let mut current = buffers::take(window + window / 4);
    let mut next = buffers::take(window + window / 4);
    let parsed = read_windows(req, file, window, &mut lines, &mut current, &mut next);
    buffers::give_back(current);
    buffers::give_back(next);
    parsed?;
    Ok(lines.out)
}

fn read_windows(
    req: &Request<'_>,
    file: &mut std::fs::File,
    window: usize,
    lines: &mut Lines<'_>,
    current: &mut Vec<u8>,
    next: &mut Vec<u8>,
) -> Result<()> {
    let io = |e: std::io::Error| ExplorerError::Execution(format!("read {}: {e}", req.source));
    let (mut end, mut eof) = fill(file, current, window).map_err(io)?;
    while !current.is_empty() {
        // The tail after the last whole line starts the next window.
        next.clear();
        next.extend_from_slice(&current[end..]);
        let (parsed, read) = std::thread::scope(|s| {
            let parse = s.spawn(|| lines.window(&current[..end]));
            let read = if eof {
                Ok((next.len(), true))
            } else {
                fill(file, next, window)
            };
            let parsed = parse.join().unwrap_or_else(|_| {
                Err(ExplorerError::Execution(
                    "a JSON parser thread panicked".into(),
                ))
            });
            (parsed, read)
        });
        parsed?;
        (end, eof) = read.map_err(io)?;
        std::mem::swap(current, next);
    }
    Ok(())
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
