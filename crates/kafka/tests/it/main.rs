//! The Kafka endpoint at the protocol level: a real broker on a free port over a hub
//! namespace in a temp dir, driven with frames the codec's client side encodes, plus
//! property tests of the codec paths Eddy owns.

mod broker;
mod codec;
mod support;
