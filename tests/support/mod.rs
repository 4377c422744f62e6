//! Helpers of the remote-resolver tests: the loopback stand-in for
//! Anthropic's API. Each test crate uses a different part of them.

#![allow(dead_code)]

pub mod standin;
