//! Helpers shared by the dream integration tests and benches. Each test
//! crate uses a different part of them, hence the `dead_code` allowance.

#![allow(dead_code)]

pub mod corpus;
pub mod oracle;
