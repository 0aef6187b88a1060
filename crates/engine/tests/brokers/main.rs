#![allow(clippy::unwrap_used)] // tests may unwrap (team rule)
//! Broker sources against the machine's real NATS (JetStream) and RabbitMQ servers: 10,000
//! signals with an engine crash in the middle, every one applied exactly once, none lost, and
//! invalid messages in the dead-letter place with their reason.

mod common;
mod nats;
mod rabbitmq;
mod redelivery;
