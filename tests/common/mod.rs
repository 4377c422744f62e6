//! Helpers shared by the dream integration tests.

pub mod corpus;
