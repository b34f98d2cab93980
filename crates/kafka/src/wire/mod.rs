//! The bytes on the wire: request frames, the shape check that guards the codec,
//! record batches, and the versions served.

pub mod frame;
pub mod guard;
pub mod records;
pub mod versions;
