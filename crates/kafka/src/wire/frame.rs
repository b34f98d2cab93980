//! Request frames in, response frames out.
//!
//! A frame is an int32 size and that many bytes: request header (api key, version,
//! correlation id, client id, and tagged fields in flexible versions), then the body.
//! Bodies are decoded only for versions Eddy serves, after the shape check in
//! `guard.rs`; everything else becomes a [`Parsed`] case the connection answers or
//! closes on. Nothing here panics on any input (see the `frame` fuzz target).

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseHeader};
use kafka_protocol::protocol::{Encodable, HeaderVersion};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{guard, versions};

/// A request header as Eddy uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    pub api: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    pub client_id: Option<String>,
}

/// What a frame turned out to be.
#[derive(Debug)]
pub enum Parsed {
    Request(Header, Box<RequestKind>),
    /// ApiVersions at a version above ours: answered with UNSUPPORTED_VERSION and our
    /// list, in the v0 body every client can read.
    ApiVersionsTooNew {
        correlation_id: i32,
    },
    /// An API or version Eddy does not serve; the connection is closed.
    Unsupported {
        api_key: i16,
        version: i16,
        correlation_id: i32,
    },
}

/// A frame that is not a request; the connection is closed with this reason logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed request: {0}")]
pub struct Malformed(pub String);

/// Reads one frame; `Ok(None)` at a clean end of stream. Sizes over `max_bytes` or
/// negative are refused before anything is allocated.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_bytes: usize,
) -> std::io::Result<Option<Bytes>> {
    let mut size = [0u8; 4];
    match reader.read_exact(&mut size).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let size = i32::from_be_bytes(size);
    if size < 0 || size as usize > max_bytes {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("request of {size} bytes refused: the limit is {max_bytes} bytes (kafka.max_request_bytes)"),
        ));
    }
    let mut buf = vec![0u8; size as usize];
    reader.read_exact(&mut buf).await?;
    Ok(Some(Bytes::from(buf)))
}

/// Parses a frame's bytes (without the size prefix).
pub fn parse(frame: Bytes) -> Result<Parsed, Malformed> {
    let mut c = guard::Cursor::new(&frame);
    let header = |e: String| Malformed(format!("request header: {e}"));
    let api_key = c.int(2).map_err(header)? as i16;
    let version = c.int(2).map_err(header)? as i16;
    let correlation_id = c.int(4).map_err(header)? as i32;
    let api = match ApiKey::try_from(api_key) {
        Ok(api) => api,
        Err(()) => {
            return Ok(Parsed::Unsupported {
                api_key,
                version,
                correlation_id,
            })
        }
    };
    if !versions::supported(api, version) {
        let too_new = versions::range(api).is_some_and(|(_, hi)| version > hi);
        return Ok(if api == ApiKey::ApiVersions && too_new {
            Parsed::ApiVersionsTooNew { correlation_id }
        } else {
            Parsed::Unsupported {
                api_key,
                version,
                correlation_id,
            }
        });
    }
    let client_id = c.nullable_string().map_err(header)?;
    if api.request_header_version(version) >= 2 {
        c.skip_tags().map_err(header)?;
    }
    let body_start = c.pos;
    guard::check_body(api, version, &frame[body_start..])
        .map_err(|e| Malformed(format!("{api:?} v{version}: {e}")))?;
    let mut body = frame.slice(body_start..);
    let request = RequestKind::decode(api, &mut body, version)
        .map_err(|e| Malformed(format!("{api:?} v{version}: {e}")))?;
    Ok(Parsed::Request(
        Header {
            api,
            version,
            correlation_id,
            client_id,
        },
        Box::new(request),
    ))
}

/// A response frame: size, header (v0 or v1 as the API version asks), body.
pub fn encode_response<R: Encodable + HeaderVersion>(
    correlation_id: i32,
    version: i16,
    body: &R,
) -> Result<Bytes, Malformed> {
    let mut buf = BytesMut::with_capacity(256);
    buf.put_i32(0);
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let fail = |e: anyhow::Error| Malformed(format!("cannot encode response: {e}"));
    header
        .encode(&mut buf, R::header_version(version))
        .map_err(fail)?;
    body.encode(&mut buf, version).map_err(fail)?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Ok(buf.freeze())
}
