//! On-disk record batch format. One producer send becomes one batch, so a batch is
//! the unit of atomicity: it is stored whole or (after a torn write) not at all.
//!
//! ```text
//! batch  := magic u32 | crc32c u32 | len u32 | base_seq u64 | count u32 | time_ms i64 | event*
//!           (crc covers everything after itself; len counts the bytes after itself)
//! event  := len u32 | flags u8 | [key_len u16 key] | nprops u16 | prop* | body_len u32 body
//! prop   := name_len u16 name | tag u8 | value
//! ```
//! All integers little-endian.

use bytes::{BufMut, Bytes, BytesMut};

use crate::event::{EventData, PropertyValue, ReceivedEvent};

pub const MAGIC: u32 = 0x5944_4445; // "EDDY" read little-endian
pub const HEADER_LEN: usize = 32;
const FLAG_KEY: u8 = 1;

/// The fixed-size front of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub crc: u32,
    /// Bytes following the `len` field (header tail + events).
    pub len: u32,
    pub base_seq: u64,
    pub count: u32,
    pub time_ms: i64,
}

impl BatchHeader {
    /// Total bytes of the batch on disk.
    pub fn total_len(&self) -> u64 {
        12 + self.len as u64
    }

    pub fn parse(buf: &[u8]) -> Option<BatchHeader> {
        if buf.len() < HEADER_LEN || u32_at(buf, 0) != MAGIC {
            return None;
        }
        let h = BatchHeader {
            crc: u32_at(buf, 4),
            len: u32_at(buf, 8),
            base_seq: u64::from_le_bytes(buf[12..20].try_into().ok()?),
            count: u32_at(buf, 20),
            time_ms: i64::from_le_bytes(buf[24..32].try_into().ok()?),
        };
        if (h.len as usize) < HEADER_LEN - 12 || h.count == 0 {
            return None;
        }
        Some(h)
    }
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}

/// Appends one encoded batch to `out`; returns the relative positions of each
/// event record within the batch.
pub fn encode_batch(
    out: &mut BytesMut,
    base_seq: u64,
    time_ms: i64,
    events: &[EventData],
) -> Vec<u32> {
    let start = out.len();
    out.put_u32_le(MAGIC);
    out.put_u32_le(0); // crc, patched below
    out.put_u32_le(0); // len, patched below
    out.put_u64_le(base_seq);
    out.put_u32_le(events.len() as u32);
    out.put_i64_le(time_ms);
    let mut positions = Vec::with_capacity(events.len());
    for e in events {
        positions.push((out.len() - start) as u32);
        encode_event(out, e);
    }
    let len = (out.len() - start - 12) as u32;
    out[start + 8..start + 12].copy_from_slice(&len.to_le_bytes());
    let crc = crc32c::crc32c(&out[start + 8..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    positions
}

fn encode_event(out: &mut BytesMut, e: &EventData) {
    let len_at = out.len();
    out.put_u32_le(0);
    match &e.partition_key {
        Some(k) => {
            out.put_u8(FLAG_KEY);
            put_str16(out, k);
        }
        None => out.put_u8(0),
    }
    out.put_u16_le(e.properties.len() as u16);
    for (name, value) in &e.properties {
        put_str16(out, name);
        match value {
            PropertyValue::String(s) => {
                out.put_u8(0);
                out.put_u32_le(s.len() as u32);
                out.put_slice(s.as_bytes());
            }
            PropertyValue::Long(v) => {
                out.put_u8(1);
                out.put_i64_le(*v);
            }
            PropertyValue::Double(v) => {
                out.put_u8(2);
                out.put_f64_le(*v);
            }
            PropertyValue::Bool(v) => {
                out.put_u8(3);
                out.put_u8(*v as u8);
            }
            PropertyValue::Bytes(b) => {
                out.put_u8(4);
                out.put_u32_le(b.len() as u32);
                out.put_slice(b);
            }
            PropertyValue::Timestamp(v) => {
                out.put_u8(5);
                out.put_i64_le(*v);
            }
        }
    }
    out.put_u32_le(e.body.len() as u32);
    out.put_slice(&e.body);
    let len = (out.len() - len_at - 4) as u32;
    out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
}

fn put_str16(out: &mut BytesMut, s: &str) {
    out.put_u16_le(s.len() as u16);
    out.put_slice(s.as_bytes());
}

/// Why a batch could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    BadHeader,
    ChecksumMismatch,
    Malformed(&'static str),
}

/// Checks the checksum of a whole batch (header included).
pub fn verify(batch: &[u8]) -> Result<BatchHeader, DecodeError> {
    let h = BatchHeader::parse(batch).ok_or(DecodeError::BadHeader)?;
    if batch.len() as u64 != h.total_len() {
        return Err(DecodeError::Malformed("batch length"));
    }
    if crc32c::crc32c(&batch[8..]) != h.crc {
        return Err(DecodeError::ChecksumMismatch);
    }
    Ok(h)
}

/// Decodes a verified batch. `batch_offset` is the logical offset of its first byte.
pub fn decode_batch(
    batch: Bytes,
    partition: u32,
    batch_offset: u64,
) -> Result<Vec<ReceivedEvent>, DecodeError> {
    let h = verify(&batch)?;
    let mut r = Reader {
        buf: &batch,
        pos: HEADER_LEN,
    };
    let mut events = Vec::with_capacity(h.count as usize);
    for i in 0..h.count as u64 {
        let at = r.pos;
        let len = r.u32()? as usize;
        let end = r
            .pos
            .checked_add(len)
            .filter(|e| *e <= batch.len())
            .ok_or(DecodeError::Malformed("event length"))?;
        let flags = r.u8()?;
        let partition_key = if flags & FLAG_KEY != 0 {
            Some(r.str16()?)
        } else {
            None
        };
        let nprops = r.u16()?;
        let mut properties = Vec::with_capacity(nprops as usize);
        for _ in 0..nprops {
            let name = r.str16()?;
            let value = match r.u8()? {
                0 => {
                    let n = r.u32()? as usize;
                    PropertyValue::String(
                        String::from_utf8(r.take(n)?.to_vec())
                            .map_err(|_| DecodeError::Malformed("utf8"))?,
                    )
                }
                1 => PropertyValue::Long(r.u64()? as i64),
                2 => PropertyValue::Double(f64::from_bits(r.u64()?)),
                3 => PropertyValue::Bool(r.u8()? != 0),
                4 => {
                    let n = r.u32()? as usize;
                    PropertyValue::Bytes(r.take(n)?.to_vec())
                }
                5 => PropertyValue::Timestamp(r.u64()? as i64),
                _ => return Err(DecodeError::Malformed("property tag")),
            };
            properties.push((name, value));
        }
        let body_len = r.u32()? as usize;
        let body_start = r.pos;
        r.take(body_len)?;
        if r.pos != end {
            return Err(DecodeError::Malformed("event record"));
        }
        events.push(ReceivedEvent {
            data: EventData {
                body: batch.slice(body_start..body_start + body_len),
                properties,
                partition_key,
            },
            partition,
            sequence_number: h.base_seq + i,
            offset: batch_offset + at as u64,
            enqueued_time_ms: h.time_ms,
        });
    }
    Ok(events)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.buf.len())
            .ok_or(DecodeError::Malformed("truncated"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn str16(&mut self) -> Result<String, DecodeError> {
        let n = self.u16()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| DecodeError::Malformed("utf8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<EventData> {
        vec![
            EventData::new("hello")
                .with_property("Table", PropertyValue::String("T".into()))
                .with_property("n", PropertyValue::Long(-5))
                .with_property("d", PropertyValue::Double(2.5))
                .with_property("b", PropertyValue::Bool(true))
                .with_property("x", PropertyValue::Bytes(vec![0, 255]))
                .with_property("t", PropertyValue::Timestamp(1_700_000_000_123)),
            EventData {
                body: Bytes::from_static(b""),
                properties: vec![],
                partition_key: Some("device-1".into()),
            },
        ]
    }

    #[test]
    fn round_trip_keeps_everything() {
        let mut buf = BytesMut::new();
        let pos = encode_batch(&mut buf, 42, 1234, &sample());
        let events = decode_batch(buf.freeze(), 3, 1000).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].data, sample()[0]);
        assert_eq!(events[1].data, sample()[1]);
        assert_eq!(events[1].sequence_number, 43);
        assert_eq!(events[0].offset, 1000 + pos[0] as u64);
        assert_eq!(events[1].offset, 1000 + pos[1] as u64);
        assert_eq!(events[0].enqueued_time_ms, 1234);
        assert_eq!(events[0].partition, 3);
    }

    #[test]
    fn every_truncation_and_bit_flip_is_detected() {
        let mut buf = BytesMut::new();
        encode_batch(&mut buf, 0, 1, &sample());
        let full = buf.freeze();
        for cut in 0..full.len() {
            assert!(verify(&full[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..full.len() {
            let mut bad = full.to_vec();
            bad[i] ^= 0x10;
            assert!(decode_batch(Bytes::from(bad), 0, 0).is_err(), "flip at {i}");
        }
    }
}
