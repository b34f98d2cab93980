//! Any produced record payload: decoding must fail cleanly or succeed, within the
//! inflate limit.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = eddy_kafka::wire::records::decode_batches(data, 1 << 20);
});
