//! Record batches (magic 2), the payload of Produce requests and Fetch responses.
//!
//! ```text
//!  batch:  baseOffset i64 | length i32 | leaderEpoch i32 | magic i8 = 2 | crc u32 (crc32c
//!          of the rest) | attributes i16 | lastOffsetDelta i32 | firstTimestamp i64 |
//!          maxTimestamp i64 | producerId i64 | producerEpoch i16 | baseSequence i32 |
//!          count i32 | records (compressed as attributes & 7 says)
//!  record: length varint | attributes i8 | timestampDelta varlong | offsetDelta varint |
//!          key (varint length, -1 = null) | value | header count varint |
//!          headers (key varint length + utf-8, value varint length, -1 = null)
//! ```
//!
//! Decoding is ours, not the codec's, so that every count and length is checked against
//! the bytes present, header keys may repeat, and decompression stops at a limit
//! (a small gzip bomb cannot inflate past it).

use std::borrow::Cow;
use std::io::Read;

use bytes::{BufMut, Bytes, BytesMut};

/// One record as a producer sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub timestamp: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// In the order sent; keys may repeat.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// A decoded batch: the idempotence fields and its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub transactional: bool,
    pub control: bool,
    /// Bytes of the records, uncompressed: what Kafka's size limits count.
    pub size: usize,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordsError {
    /// CORRUPT_MESSAGE: bad CRC, truncated, unknown compression, bad varint.
    #[error("corrupt record batch: {0}")]
    Corrupt(String),
    /// UNSUPPORTED_FOR_MESSAGE_FORMAT: message sets v0/v1.
    #[error("record batch magic {0} is not supported (clients from Kafka 0.11 on send magic 2)")]
    OldFormat(i8),
    /// MESSAGE_TOO_LARGE: the records inflate past the limit.
    #[error("record batch inflates past {0} bytes")]
    TooLarge(usize),
}

const HEADER_LEN: usize = 61;

/// Decodes every batch in `data`; `max_inflated` bounds the decompressed size of each.
pub fn decode_batches(data: &[u8], max_inflated: usize) -> Result<Vec<Batch>, RecordsError> {
    let mut batches = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let (batch, used) = decode_batch(&data[pos..], max_inflated)?;
        batches.push(batch);
        pos += used;
    }
    Ok(batches)
}

fn corrupt(msg: impl Into<String>) -> RecordsError {
    RecordsError::Corrupt(msg.into())
}

fn decode_batch(data: &[u8], max_inflated: usize) -> Result<(Batch, usize), RecordsError> {
    if data.len() < 17 {
        return Err(corrupt(format!(
            "{} trailing bytes are not a batch",
            data.len()
        )));
    }
    let magic = data[16] as i8;
    if magic != 2 {
        return Err(RecordsError::OldFormat(magic));
    }
    let length = be_i32(&data[8..12]);
    if length < (HEADER_LEN - 12) as i32 || 12 + length as usize > data.len() {
        return Err(corrupt(format!(
            "batch length {length} does not fit the {} bytes sent",
            data.len()
        )));
    }
    let total = 12 + length as usize;
    let batch = &data[..total];
    let crc = u32::from_be_bytes([batch[17], batch[18], batch[19], batch[20]]);
    if crc32c::crc32c(&batch[21..]) != crc {
        return Err(corrupt("CRC mismatch"));
    }
    let attributes = be_i16(&batch[21..23]);
    let first_timestamp = be_i64(&batch[27..35]);
    let producer_id = be_i64(&batch[43..51]);
    let producer_epoch = be_i16(&batch[51..53]);
    let base_sequence = be_i32(&batch[53..57]);
    let count = be_i32(&batch[57..61]);
    if count < 0 {
        return Err(corrupt(format!("negative record count {count}")));
    }
    let payload = &batch[HEADER_LEN..];
    let inflated;
    let records_bytes: &[u8] = match attributes & 0x7 {
        0 => payload,
        codec => {
            inflated = inflate(codec, payload, max_inflated)?;
            &inflated
        }
    };
    // Every record takes at least 7 bytes; refuse counts the bytes cannot hold
    // before sizing anything by them.
    if count as usize > records_bytes.len() / 7 + 1 {
        return Err(corrupt(format!(
            "{count} records cannot fit in {} bytes",
            records_bytes.len()
        )));
    }
    let mut cur = Cursor {
        buf: records_bytes,
        pos: 0,
    };
    let mut records = Vec::with_capacity(count as usize);
    for _ in 0..count {
        records.push(cur.record(first_timestamp)?);
    }
    Ok((
        Batch {
            producer_id,
            producer_epoch,
            base_sequence,
            transactional: attributes & 0x10 != 0,
            control: attributes & 0x20 != 0,
            size: records_bytes.len(),
            records,
        },
        total,
    ))
}

fn inflate(codec: i16, data: &[u8], limit: usize) -> Result<Vec<u8>, RecordsError> {
    let mut out = Vec::new();
    let read = |mut r: Box<dyn Read + '_>, out: &mut Vec<u8>| {
        r.by_ref()
            .take(limit as u64 + 1)
            .read_to_end(out)
            .map_err(|e| corrupt(format!("cannot decompress: {e}")))
    };
    match codec {
        1 => read(Box::new(flate2::read::MultiGzDecoder::new(data)), &mut out)?,
        2 => return unsnappy(data, limit),
        3 => read(Box::new(lz4_flex::frame::FrameDecoder::new(data)), &mut out)?,
        4 => read(
            Box::new(
                zstd::stream::read::Decoder::with_buffer(data)
                    .map_err(|e| corrupt(format!("cannot decompress zstd: {e}")))?,
            ),
            &mut out,
        )?,
        other => return Err(corrupt(format!("unknown compression codec {other}"))),
    };
    if out.len() > limit {
        return Err(RecordsError::TooLarge(limit));
    }
    Ok(out)
}

/// Snappy as Kafka clients send it: raw, or in the xerial block framing Java uses.
fn unsnappy(data: &[u8], limit: usize) -> Result<Vec<u8>, RecordsError> {
    const XERIAL: &[u8] = b"\x82SNAPPY\x00";
    let block = |b: &[u8], out: &mut Vec<u8>| -> Result<(), RecordsError> {
        let len = snap::raw::decompress_len(b).map_err(|e| corrupt(format!("snappy: {e}")))?;
        if out.len() + len > limit {
            return Err(RecordsError::TooLarge(limit));
        }
        let start = out.len();
        out.resize(start + len, 0);
        snap::raw::Decoder::new()
            .decompress(b, &mut out[start..])
            .map_err(|e| corrupt(format!("snappy: {e}")))?;
        Ok(())
    };
    let mut out = Vec::new();
    if !data.starts_with(XERIAL) {
        block(data, &mut out)?;
        return Ok(out);
    }
    let mut pos = 16.min(data.len());
    while pos < data.len() {
        let len = data
            .get(pos..pos + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| corrupt("snappy block length truncated"))?;
        pos += 4;
        let b = data
            .get(pos..pos.saturating_add(len))
            .ok_or_else(|| corrupt("snappy block truncated"))?;
        block(b, &mut out)?;
        pos += len;
    }
    Ok(out)
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn varlong(&mut self) -> Result<i64, RecordsError> {
        let mut raw = 0u64;
        for i in 0..10 {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or_else(|| corrupt("record truncated"))?;
            self.pos += 1;
            raw |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64));
            }
        }
        Err(corrupt("varint longer than 10 bytes"))
    }

    fn varint(&mut self) -> Result<i32, RecordsError> {
        let v = self.varlong()?;
        i32::try_from(v).map_err(|_| corrupt(format!("varint {v} out of range")))
    }

    fn bytes(&mut self, len: usize) -> Result<&[u8], RecordsError> {
        let out = self
            .buf
            .get(self.pos..self.pos.saturating_add(len))
            .ok_or_else(|| corrupt("record truncated"))?;
        self.pos += len;
        Ok(out)
    }

    fn nullable(&mut self) -> Result<Option<Bytes>, RecordsError> {
        let len = self.varint()?;
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(corrupt(format!("negative length {n}"))),
            n => Ok(Some(Bytes::copy_from_slice(self.bytes(n as usize)?))),
        }
    }

    fn record(&mut self, first_timestamp: i64) -> Result<Record, RecordsError> {
        let len = self.varint()?;
        if len < 0 {
            return Err(corrupt(format!("negative record length {len}")));
        }
        let end = self.pos.saturating_add(len as usize);
        if end > self.buf.len() {
            return Err(corrupt("record truncated"));
        }
        self.bytes(1)?; // attributes (unused)
        let timestamp = first_timestamp.wrapping_add(self.varlong()?);
        self.varint()?; // offset delta: Eddy assigns offsets itself
        let key = self.nullable()?;
        let value = self.nullable()?;
        let count = self.varint()?;
        if count < 0 || count as usize > (end - self.pos.min(end)) / 2 {
            return Err(corrupt(format!("header count {count} does not fit")));
        }
        let mut headers = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let key_len = self.varint()?;
            if key_len < 0 {
                return Err(corrupt("null header key"));
            }
            let key = std::str::from_utf8(self.bytes(key_len as usize)?)
                .map_err(|_| corrupt("header key is not UTF-8"))?
                .to_string();
            headers.push((key, self.nullable()?));
        }
        if self.pos != end {
            return Err(corrupt(format!(
                "record length {len} disagrees with its fields"
            )));
        }
        Ok(Record {
            timestamp,
            key,
            value,
            headers,
        })
    }
}

fn be_i16(b: &[u8]) -> i16 {
    i16::from_be_bytes([b[0], b[1]])
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_i64(b: &[u8]) -> i64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    i64::from_be_bytes(a)
}

/// A record to write into a fetch response, borrowing the event's bytes.
pub struct OutRecord<'a> {
    pub timestamp: i64,
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
    pub headers: Vec<(&'a str, Cow<'a, [u8]>)>,
}

/// Appends one uncompressed batch holding `records` at offsets `base_offset..`.
pub fn encode_batch(out: &mut BytesMut, base_offset: i64, records: &[OutRecord<'_>]) {
    if records.is_empty() {
        return;
    }
    let first_ts = records[0].timestamp;
    let max_ts = records
        .iter()
        .map(|r| r.timestamp)
        .max()
        .unwrap_or(first_ts);
    let start = out.len();
    out.put_i64(base_offset);
    out.put_i32(0); // length, filled below
    out.put_i32(-1); // partition leader epoch
    out.put_i8(2);
    out.put_u32(0); // crc, filled below
    out.put_i16(0); // attributes: no compression, CreateTime
    out.put_i32(records.len() as i32 - 1);
    out.put_i64(first_ts);
    out.put_i64(max_ts);
    out.put_i64(-1); // producer id
    out.put_i16(-1); // producer epoch
    out.put_i32(-1); // base sequence
    out.put_i32(records.len() as i32);
    for (i, r) in records.iter().enumerate() {
        let ts_delta = r.timestamp.wrapping_sub(first_ts);
        let key_len = r.key.map_or(-1, |k| k.len() as i64);
        let mut size = 1 + zigzag_len(ts_delta) + zigzag_len(i as i64);
        size += zigzag_len(key_len) + r.key.map_or(0, |k| k.len());
        size += zigzag_len(r.value.len() as i64) + r.value.len();
        size += zigzag_len(r.headers.len() as i64);
        for (k, v) in &r.headers {
            size += zigzag_len(k.len() as i64) + k.len() + zigzag_len(v.len() as i64) + v.len();
        }
        put_zigzag(out, size as i64);
        out.put_i8(0);
        put_zigzag(out, ts_delta);
        put_zigzag(out, i as i64);
        put_zigzag(out, key_len);
        if let Some(k) = r.key {
            out.put_slice(k);
        }
        put_zigzag(out, r.value.len() as i64);
        out.put_slice(r.value);
        put_zigzag(out, r.headers.len() as i64);
        for (k, v) in &r.headers {
            put_zigzag(out, k.len() as i64);
            out.put_slice(k.as_bytes());
            put_zigzag(out, v.len() as i64);
            out.put_slice(v);
        }
    }
    let length = (out.len() - start - 12) as i32;
    out[start + 8..start + 12].copy_from_slice(&length.to_be_bytes());
    let crc = crc32c::crc32c(&out[start + 21..]);
    out[start + 17..start + 21].copy_from_slice(&crc.to_be_bytes());
}

fn zigzag_len(v: i64) -> usize {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    let mut n = 1;
    while z >= 0x80 {
        z >>= 7;
        n += 1;
    }
    n
}

fn put_zigzag(out: &mut BytesMut, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.put_u8((z as u8) | 0x80);
        z >>= 7;
    }
    out.put_u8(z as u8);
}
