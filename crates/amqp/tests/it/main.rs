//! The AMQP endpoint at protocol level: an `AmqpServer` over a fresh namespace, driven
//! by fe2o3-amqp's client side and by raw bytes.

mod protocol;
mod support;
