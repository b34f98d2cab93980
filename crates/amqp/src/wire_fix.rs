//! Outgoing frames with every performative field present.
//!
//! AMQP lets an encoder leave trailing null or default fields out of a performative's
//! list, and fe2o3-amqp does. The Python SDK's pure-Python AMQP stack (`_pyamqp`)
//! reads performative fields by position and never fills missing ones in, so a
//! trimmed `open` already fails there, and it misreads the empty-list encoding
//! (`list0`) of `end` and `close`. [`FullFields`] sits between fe2o3 and the socket:
//! it cuts the outgoing byte stream into frames and re-encodes each AMQP
//! performative's field list as a `list32` padded with nulls to its full length,
//! keeping any transfer payload after it. The delivery states and errors inside
//! (`rejected` carrying an `error`) get the same treatment: the SDK reads a rejected
//! send's error as `[condition, description, info]` by position. Protocol headers,
//! SASL frames and empty (heartbeat) frames pass through unchanged; other nested
//! composites (source, target) are read with defaults by the SDK and left as sent.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Above this many transformed bytes waiting for the socket, writes wait.
const HIGH_WATER: usize = 512 * 1024;

/// Number of fields of each performative, by descriptor code (AMQP 1.0 §2.7).
fn full_field_count(code: u8) -> Option<u32> {
    Some(match code {
        0x10 => 10, // open
        0x11 => 8,  // begin
        0x12 => 14, // attach
        0x13 => 11, // flow
        0x14 => 11, // transfer
        0x15 => 6,  // disposition
        0x16 => 3,  // detach
        0x17 => 1,  // end
        0x18 => 1,  // close
        _ => return None,
    })
}

/// Number of fields of the nested composites the SDK reads by position.
fn nested_field_count(code: u8) -> Option<u32> {
    Some(match code {
        0x1d => 3, // error
        0x23 => 2, // received
        0x25 => 1, // rejected
        0x27 => 3, // modified
        _ => return None,
    })
}

/// Length of the encoded AMQP value at the start of `b` (constructor included).
fn value_len(b: &[u8]) -> Option<usize> {
    let code = *b.first()?;
    let n = match code {
        0x00 => {
            let d = value_len(b.get(1..)?)?;
            let v = value_len(b.get(1 + d..)?)?;
            return Some(1 + d + v);
        }
        0x40..=0x45 => 0,
        0x50..=0x56 => 1,
        0x60 | 0x61 => 2,
        0x70..=0x74 => 4,
        0x80..=0x84 => 8,
        0x94 | 0x98 => 16,
        0xa0 | 0xa1 | 0xa3 | 0xc0 | 0xc1 | 0xe0 => 1 + *b.get(1)? as usize,
        0xb0 | 0xb1 | 0xb3 | 0xd0 | 0xd1 | 0xf0 => {
            4 + u32::from_be_bytes(b.get(1..5)?.try_into().ok()?) as usize
        }
        _ => return None,
    };
    (b.len() > n).then_some(1 + n)
}

/// Copies the encoded values in `fields` to `out`, padding the nested composites
/// [`nested_field_count`] knows; bytes it cannot walk are copied as they are.
fn copy_fields(mut fields: &[u8], out: &mut Vec<u8>) {
    while !fields.is_empty() {
        let Some(n) = value_len(fields) else {
            out.extend_from_slice(fields);
            return;
        };
        copy_value(&fields[..n], out);
        fields = &fields[n..];
    }
}

fn copy_value(v: &[u8], out: &mut Vec<u8>) {
    let composite = (v.len() >= 4 && v[0] == 0x00 && v[1] == 0x53)
        .then(|| nested_field_count(v[2]))
        .flatten();
    let Some((full, (count, fields, rest))) =
        composite.and_then(|full| Some((full, split_list(&v[3..])?)))
    else {
        out.extend_from_slice(v);
        return;
    };
    let mut inner = Vec::with_capacity(fields.len() + 8);
    copy_fields(fields, &mut inner);
    let missing = full.saturating_sub(count) as usize;
    out.extend_from_slice(&v[..3]);
    out.push(0xd0);
    out.extend_from_slice(&((4 + inner.len() + missing) as u32).to_be_bytes());
    out.extend_from_slice(&count.max(full).to_be_bytes());
    out.extend_from_slice(&inner);
    out.extend(std::iter::repeat_n(0x40u8, missing));
    out.extend_from_slice(rest);
}

/// A stream whose outgoing AMQP performatives are re-encoded with all their fields.
#[derive(Debug)]
pub struct FullFields<S> {
    inner: S,
    /// Bytes written by fe2o3 that do not yet form a whole frame.
    raw: BytesMut,
    /// Re-encoded bytes waiting for the socket.
    out: BytesMut,
}

impl<S> FullFields<S> {
    pub fn new(inner: S) -> Self {
        FullFields {
            inner,
            raw: BytesMut::new(),
            out: BytesMut::new(),
        }
    }

    /// Moves every complete frame (or protocol header) from `raw` to `out`.
    fn transform(&mut self) -> io::Result<()> {
        loop {
            if self.raw.len() >= 4 && &self.raw[..4] == b"AMQP" {
                if self.raw.len() < 8 {
                    return Ok(());
                }
                self.out.extend_from_slice(&self.raw.split_to(8));
                continue;
            }
            if self.raw.len() < 8 {
                return Ok(());
            }
            let size =
                u32::from_be_bytes([self.raw[0], self.raw[1], self.raw[2], self.raw[3]]) as usize;
            if size < 8 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "outgoing frame shorter than its header",
                ));
            }
            if self.raw.len() < size {
                return Ok(());
            }
            let frame = self.raw.split_to(size);
            pad_frame(&frame, &mut self.out);
        }
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>
    where
        S: AsyncWrite + Unpin,
    {
        while !self.out.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.out))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out.advance(n);
        }
        Poll::Ready(Ok(()))
    }
}

/// Appends `frame` to `out`, its performative list padded to full length when it is
/// an AMQP frame (type 0) carrying one; anything else is copied as is.
pub fn pad_frame(frame: &[u8], out: &mut BytesMut) {
    let doff = frame[4] as usize * 4;
    let body_start = doff.max(8);
    if frame[5] != 0 || frame.len() < body_start + 4 {
        out.extend_from_slice(frame);
        return;
    }
    let body = &frame[body_start..];
    let Some(full) = (body[0] == 0x00 && body[1] == 0x53)
        .then(|| full_field_count(body[2]))
        .flatten()
    else {
        out.extend_from_slice(frame);
        return;
    };
    let Some((count, fields, rest)) = split_list(&body[3..]) else {
        out.extend_from_slice(frame);
        return;
    };
    let mut elements = Vec::with_capacity(fields.len() + 16);
    copy_fields(fields, &mut elements);
    let missing = full.saturating_sub(count) as usize;
    let list_size = 4 + elements.len() + missing;
    let new_size = body_start + 3 + 1 + 4 + list_size + rest.len();
    out.reserve(new_size);
    out.put_u32(new_size as u32);
    out.extend_from_slice(&frame[4..body_start]);
    out.extend_from_slice(&body[..3]);
    out.put_u8(0xd0);
    out.put_u32(list_size as u32);
    out.put_u32(count.max(full));
    out.extend_from_slice(&elements);
    out.extend(std::iter::repeat_n(0x40u8, missing));
    out.extend_from_slice(rest);
}

/// Splits an encoded list into (element count, element bytes, what follows it).
fn split_list(b: &[u8]) -> Option<(u32, &[u8], &[u8])> {
    match *b.first()? {
        0x45 => Some((0, &[], &b[1..])),
        0xc0 => {
            let size = *b.get(1)? as usize;
            let count = *b.get(2)? as u32;
            let end = 2 + size;
            (size >= 1 && b.len() >= end).then(|| (count, &b[3..end], &b[end..]))
        }
        0xd0 => {
            let size = u32::from_be_bytes(b.get(1..5)?.try_into().ok()?) as usize;
            let count = u32::from_be_bytes(b.get(5..9)?.try_into().ok()?);
            let end = 5usize.checked_add(size)?;
            (size >= 4 && b.len() >= end).then(|| (count, &b[9..end], &b[end..]))
        }
        _ => None,
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for FullFields<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FullFields<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.out.len() >= HIGH_WATER {
            ready!(this.poll_drain(cx))?;
        }
        this.raw.extend_from_slice(buf);
        this.transform()?;
        // Start sending now; what the socket does not take waits for the next write
        // or flush.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = ((8 + body.len()) as u32).to_be_bytes().to_vec();
        f.extend_from_slice(&[2, 0, 0, 1]);
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn close_as_list0_becomes_one_null_field() {
        let mut out = BytesMut::new();
        pad_frame(&frame(&[0x00, 0x53, 0x18, 0x45]), &mut out);
        assert_eq!(
            &out[..],
            &frame(&[0x00, 0x53, 0x18, 0xd0, 0, 0, 0, 5, 0, 0, 0, 1, 0x40])[..]
        );
    }

    #[test]
    fn short_transfer_keeps_its_payload_after_the_padded_list() {
        // transfer with 2 fields (handle 0 as uint0, delivery-id smalluint 7) + payload.
        let body = [
            0x00, 0x53, 0x14, 0xc0, 0x04, 0x02, 0x43, 0x52, 0x07, 0xAA, 0xBB,
        ];
        let mut out = BytesMut::new();
        pad_frame(&frame(&body), &mut out);
        let b = &out[8..];
        assert_eq!(&b[..4], &[0x00, 0x53, 0x14, 0xd0]);
        assert_eq!(u32::from_be_bytes(b[4..8].try_into().unwrap()), 4 + 3 + 9);
        assert_eq!(u32::from_be_bytes(b[8..12].try_into().unwrap()), 11);
        assert_eq!(&b[12..15], &[0x43, 0x52, 0x07]);
        assert!(b[15..24].iter().all(|&x| x == 0x40));
        assert_eq!(&b[24..], &[0xAA, 0xBB]);
        assert_eq!(
            u32::from_be_bytes(out[..4].try_into().unwrap()) as usize,
            out.len()
        );
    }

    #[test]
    fn a_rejected_disposition_carries_an_error_with_all_three_fields() {
        // disposition [role=true, first=0, last=null, settled=true, rejected(error(sym "x"))]
        let error = [0x00, 0x53, 0x1d, 0xc0, 0x04, 0x01, 0xa3, 0x01, b'x'];
        let mut rejected = vec![0x00, 0x53, 0x25, 0xc0, 1 + error.len() as u8, 0x01];
        rejected.extend_from_slice(&error);
        let mut fields = vec![0x41, 0x43, 0x40, 0x41];
        fields.extend_from_slice(&rejected);
        let mut body = vec![0x00, 0x53, 0x15, 0xc0, 1 + fields.len() as u8, 0x05];
        body.extend_from_slice(&fields);
        let mut out = BytesMut::new();
        pad_frame(&frame(&body), &mut out);
        let b = &out[8..];
        // disposition list32 of 6; fields 0..3 as sent; then rejected as list32 of 1.
        assert_eq!(u32::from_be_bytes(b[8..12].try_into().unwrap()), 6);
        assert_eq!(&b[12..16], &[0x41, 0x43, 0x40, 0x41]);
        assert_eq!(&b[16..20], &[0x00, 0x53, 0x25, 0xd0]);
        assert_eq!(u32::from_be_bytes(b[24..28].try_into().unwrap()), 1);
        // ... whose error is a list32 of 3: the symbol, then two nulls.
        assert_eq!(&b[28..32], &[0x00, 0x53, 0x1d, 0xd0]);
        assert_eq!(u32::from_be_bytes(b[36..40].try_into().unwrap()), 3);
        assert_eq!(&b[40..], &[0xa3, 0x01, b'x', 0x40, 0x40, 0x40]);
        assert_eq!(
            u32::from_be_bytes(out[..4].try_into().unwrap()) as usize,
            out.len()
        );
    }

    #[test]
    fn sasl_and_empty_frames_pass_unchanged() {
        let mut sasl = frame(&[0x00, 0x53, 0x44, 0x45]);
        sasl[5] = 1;
        let empty = frame(&[]);
        for f in [sasl, empty] {
            let mut out = BytesMut::new();
            pad_frame(&f, &mut out);
            assert_eq!(&out[..], &f[..]);
        }
    }

    #[tokio::test]
    async fn frames_split_across_writes_come_out_whole() {
        use tokio::io::AsyncWriteExt;
        let mut w = FullFields::new(Vec::new());
        let mut bytes = b"AMQP\x00\x01\x00\x00".to_vec();
        bytes.extend(frame(&[0x00, 0x53, 0x17, 0x45]));
        for chunk in bytes.chunks(3) {
            w.write_all(chunk).await.unwrap();
        }
        w.flush().await.unwrap();
        assert_eq!(&w.inner[..8], b"AMQP\x00\x01\x00\x00");
        assert_eq!(
            &w.inner[8..],
            &frame(&[0x00, 0x53, 0x17, 0xd0, 0, 0, 0, 5, 0, 0, 0, 1, 0x40])[..]
        );
    }
}
