//! A shape check of request bodies before they are decoded.
//!
//! The codec sizes each array by the count the client sent before reading a single
//! element, so an eight-byte frame claiming 2^31 topics would allocate hundreds of
//! gigabytes and abort the process. This walks the body by the field layout of every
//! request version Eddy accepts and refuses any array whose count could not fit in the
//! bytes that follow. Only layouts of the versions listed in `versions.rs` are here;
//! `layout` returns `None` for anything else, and such bodies are never decoded.

use kafka_protocol::messages::ApiKey;

/// One field of a request layout, present for versions `from..=to`.
#[derive(Clone, Copy)]
struct Field {
    ty: Ty,
    from: i16,
    to: i16,
}

#[derive(Clone, Copy)]
enum Ty {
    /// A fixed-size integer or boolean of this many bytes.
    Fixed(usize),
    /// `STRING` / `NULLABLE_STRING`: int16 length (-1 = null), then bytes.
    Str,
    /// `BYTES` / `NULLABLE_BYTES` / `RECORDS`: int32 length (-1 = null), then bytes.
    Bytes,
    /// `ARRAY` (nullable): int32 count (-1 = null), then elements of this layout.
    Array(&'static [Field]),
    /// `COMPACT_STRING`: unsigned varint length + 1 (0 = null), then bytes.
    CompactStr,
    /// Tagged fields of a flexible version: varint count, then (tag, size, bytes).
    Tags,
}

const fn all(ty: Ty) -> Field {
    Field {
        ty,
        from: 0,
        to: i16::MAX,
    }
}

const fn since(from: i16, ty: Ty) -> Field {
    Field {
        ty,
        from,
        to: i16::MAX,
    }
}

const fn until(to: i16, ty: Ty) -> Field {
    Field { ty, from: 0, to }
}

const I8: Ty = Ty::Fixed(1);
const I16: Ty = Ty::Fixed(2);
const I32: Ty = Ty::Fixed(4);
const I64: Ty = Ty::Fixed(8);
const BOOL: Ty = Ty::Fixed(1);
const INT32_ARRAY: &[Field] = &[all(I32)];
const STR_ARRAY: &[Field] = &[all(Ty::Str)];

const API_VERSIONS: &[Field] = &[
    since(3, Ty::CompactStr),
    since(3, Ty::CompactStr),
    since(3, Ty::Tags),
];
const METADATA: &[Field] = &[
    all(Ty::Array(STR_ARRAY)),
    since(4, BOOL),
    since(8, BOOL),
    since(8, BOOL),
];
const PRODUCE_PARTITION: &[Field] = &[all(I32), all(Ty::Bytes)];
const PRODUCE_TOPIC: &[Field] = &[all(Ty::Str), all(Ty::Array(PRODUCE_PARTITION))];
const PRODUCE: &[Field] = &[
    all(Ty::Str),
    all(I16),
    all(I32),
    all(Ty::Array(PRODUCE_TOPIC)),
];
const FETCH_PARTITION: &[Field] = &[all(I32), since(9, I32), all(I64), since(5, I64), all(I32)];
const FETCH_TOPIC: &[Field] = &[all(Ty::Str), all(Ty::Array(FETCH_PARTITION))];
const FORGOTTEN_TOPIC: &[Field] = &[all(Ty::Str), all(Ty::Array(INT32_ARRAY))];
const FETCH: &[Field] = &[
    all(I32),
    all(I32),
    all(I32),
    all(I32),
    all(I8),
    since(7, I32),
    since(7, I32),
    all(Ty::Array(FETCH_TOPIC)),
    since(7, Ty::Array(FORGOTTEN_TOPIC)),
    since(11, Ty::Str),
];
const LIST_OFFSETS_PARTITION: &[Field] = &[all(I32), since(4, I32), all(I64)];
const LIST_OFFSETS_TOPIC: &[Field] = &[all(Ty::Str), all(Ty::Array(LIST_OFFSETS_PARTITION))];
const LIST_OFFSETS: &[Field] = &[all(I32), since(2, I8), all(Ty::Array(LIST_OFFSETS_TOPIC))];
const FIND_COORDINATOR: &[Field] = &[all(Ty::Str), since(1, I8)];
const JOIN_PROTOCOL: &[Field] = &[all(Ty::Str), all(Ty::Bytes)];
const JOIN_GROUP: &[Field] = &[
    all(Ty::Str),
    all(I32),
    since(1, I32),
    all(Ty::Str),
    since(5, Ty::Str),
    all(Ty::Str),
    all(Ty::Array(JOIN_PROTOCOL)),
];
const SYNC_ASSIGNMENT: &[Field] = &[all(Ty::Str), all(Ty::Bytes)];
const SYNC_GROUP: &[Field] = &[
    all(Ty::Str),
    all(I32),
    all(Ty::Str),
    since(3, Ty::Str),
    all(Ty::Array(SYNC_ASSIGNMENT)),
];
const HEARTBEAT: &[Field] = &[all(Ty::Str), all(I32), all(Ty::Str), since(3, Ty::Str)];
const LEAVE_MEMBER: &[Field] = &[all(Ty::Str), all(Ty::Str)];
const LEAVE_GROUP: &[Field] = &[
    all(Ty::Str),
    until(2, Ty::Str),
    since(3, Ty::Array(LEAVE_MEMBER)),
];
const COMMIT_PARTITION: &[Field] = &[all(I32), all(I64), since(6, I32), all(Ty::Str)];
const COMMIT_TOPIC: &[Field] = &[all(Ty::Str), all(Ty::Array(COMMIT_PARTITION))];
const OFFSET_COMMIT: &[Field] = &[
    all(Ty::Str),
    all(I32),
    all(Ty::Str),
    since(7, Ty::Str),
    until(4, I64),
    all(Ty::Array(COMMIT_TOPIC)),
];
const FETCH_OFFSETS_TOPIC: &[Field] = &[all(Ty::Str), all(Ty::Array(INT32_ARRAY))];
const OFFSET_FETCH: &[Field] = &[all(Ty::Str), all(Ty::Array(FETCH_OFFSETS_TOPIC))];
const INIT_PRODUCER_ID: &[Field] = &[all(Ty::Str), all(I32)];
const SASL_HANDSHAKE: &[Field] = &[all(Ty::Str)];
const SASL_AUTHENTICATE: &[Field] = &[all(Ty::Bytes)];
const CREATABLE_ASSIGNMENT: &[Field] = &[all(I32), all(Ty::Array(INT32_ARRAY))];
const CREATABLE_CONFIG: &[Field] = &[all(Ty::Str), all(Ty::Str)];
const CREATABLE_TOPIC: &[Field] = &[
    all(Ty::Str),
    all(I32),
    all(I16),
    all(Ty::Array(CREATABLE_ASSIGNMENT)),
    all(Ty::Array(CREATABLE_CONFIG)),
];
const CREATE_TOPICS: &[Field] = &[all(Ty::Array(CREATABLE_TOPIC)), all(I32), all(BOOL)];
const DELETE_TOPICS: &[Field] = &[all(Ty::Array(STR_ARRAY)), all(I32)];

/// The body layout of a request version Eddy accepts.
fn layout(api: ApiKey) -> Option<&'static [Field]> {
    Some(match api {
        ApiKey::ApiVersions => API_VERSIONS,
        ApiKey::Metadata => METADATA,
        ApiKey::Produce => PRODUCE,
        ApiKey::Fetch => FETCH,
        ApiKey::ListOffsets => LIST_OFFSETS,
        ApiKey::FindCoordinator => FIND_COORDINATOR,
        ApiKey::JoinGroup => JOIN_GROUP,
        ApiKey::SyncGroup => SYNC_GROUP,
        ApiKey::Heartbeat => HEARTBEAT,
        ApiKey::LeaveGroup => LEAVE_GROUP,
        ApiKey::OffsetCommit => OFFSET_COMMIT,
        ApiKey::OffsetFetch => OFFSET_FETCH,
        ApiKey::InitProducerId => INIT_PRODUCER_ID,
        ApiKey::SaslHandshake => SASL_HANDSHAKE,
        ApiKey::SaslAuthenticate => SASL_AUTHENTICATE,
        ApiKey::CreateTopics => CREATE_TOPICS,
        ApiKey::DeleteTopics => DELETE_TOPICS,
        _ => return None,
    })
}

/// Checks that `body` has the shape of `api` at `version` (a version Eddy accepts).
/// Trailing bytes are allowed, as the codec allows them.
pub fn check_body(api: ApiKey, version: i16, body: &[u8]) -> Result<(), String> {
    let fields = layout(api).ok_or_else(|| format!("no layout for {api:?}"))?;
    Cursor::new(body).fields(fields, version)
}

/// Reads big-endian integers, strings and varints with bounds checks; the request
/// header parser uses it too.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// `NULLABLE_STRING`, lossily as UTF-8.
    pub(crate) fn nullable_string(&mut self) -> Result<Option<String>, String> {
        let len = self.int(2)?;
        if len < 0 {
            return Ok(None);
        }
        let bytes = self.take(len as usize)?;
        Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// Tagged fields, skipped.
    pub(crate) fn skip_tags(&mut self) -> Result<(), String> {
        self.field(Ty::Tags, 0)
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.remaining() {
            return Err(format!(
                "truncated at byte {}: {n} more bytes expected, {} left",
                self.pos,
                self.remaining()
            ));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// A signed big-endian integer of `n` bytes.
    pub(crate) fn int(&mut self, n: usize) -> Result<i64, String> {
        let bytes = self.take(n)?;
        let mut v: i64 = if bytes[0] & 0x80 != 0 { -1 } else { 0 };
        for b in bytes {
            v = (v << 8) | i64::from(*b);
        }
        Ok(v)
    }

    fn uvarint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for i in 0..5 {
            let b = self.take(1)?[0];
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("varint too long at byte {}", self.pos))
    }

    fn fields(&mut self, fields: &[Field], version: i16) -> Result<(), String> {
        for f in fields {
            if version >= f.from && version <= f.to {
                self.field(f.ty, version)?;
            }
        }
        Ok(())
    }

    fn field(&mut self, ty: Ty, version: i16) -> Result<(), String> {
        match ty {
            Ty::Fixed(n) => {
                self.take(n)?;
            }
            Ty::Str => {
                let len = self.int(2)?;
                if len >= 0 {
                    self.take(len as usize)?;
                } else if len != -1 {
                    return Err(format!("negative string length {len}"));
                }
            }
            Ty::Bytes => {
                let len = self.int(4)?;
                if len >= 0 {
                    self.take(len as usize)?;
                } else if len != -1 {
                    return Err(format!("negative bytes length {len}"));
                }
            }
            Ty::CompactStr => {
                let len = self.uvarint()?;
                if len > 0 {
                    self.take((len - 1) as usize)?;
                }
            }
            Ty::Tags => {
                let count = self.uvarint()?;
                self.bounded(count, 2)?;
                for _ in 0..count {
                    self.uvarint()?;
                    let size = self.uvarint()?;
                    self.take(size as usize)?;
                }
            }
            Ty::Array(element) => {
                let count = self.int(4)?;
                if count < -1 {
                    return Err(format!("negative array count {count}"));
                }
                if count > 0 {
                    self.bounded(count as u64, min_size(element, version))?;
                    for _ in 0..count {
                        self.fields(element, version)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Refuses a count of elements that cannot fit in the bytes left.
    fn bounded(&self, count: u64, min_element: usize) -> Result<(), String> {
        if count.saturating_mul(min_element.max(1) as u64) > self.remaining() as u64 {
            return Err(format!(
                "count {count} at byte {} cannot fit in the {} bytes left",
                self.pos,
                self.remaining()
            ));
        }
        Ok(())
    }
}

/// The fewest bytes one element of this layout takes on the wire.
fn min_size(fields: &[Field], version: i16) -> usize {
    fields
        .iter()
        .filter(|f| version >= f.from && version <= f.to)
        .map(|f| match f.ty {
            Ty::Fixed(n) => n,
            Ty::Str => 2,
            Ty::Bytes | Ty::Array(_) => 4,
            Ty::CompactStr | Ty::Tags => 1,
        })
        .sum()
}
