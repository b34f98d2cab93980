//! Any request frame: parse must return (a request, an unsupported case or an error),
//! never panic or allocate by an unchecked count.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = eddy_kafka::wire::frame::parse(bytes::Bytes::copy_from_slice(data));
});
