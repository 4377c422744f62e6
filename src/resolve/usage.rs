//! What resolving cost: the tokens a server reported and what was sent off
//! the machine.

use serde::{Deserialize, Serialize};

/// Tokens a server reported for requests (all zero for local backends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens billed at the full rate.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Input tokens written to the prompt cache.
    pub cache_creation_input_tokens: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read_input_tokens: u64,
}

impl Usage {
    /// Whether every count is zero.
    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_creation_input_tokens += other.cache_creation_input_tokens;
        self.cache_read_input_tokens += other.cache_read_input_tokens;
    }

    /// Splits one request's usage over `n` answers: equal shares, the
    /// remainders to the first ones, so the shares sum to `self`.
    pub fn split(&self, n: usize) -> Vec<Usage> {
        let n64 = n.max(1) as u64;
        let part = |v: u64, i: usize| v / n64 + u64::from((i as u64) < v % n64);
        (0..n)
            .map(|i| Usage {
                input_tokens: part(self.input_tokens, i),
                output_tokens: part(self.output_tokens, i),
                cache_creation_input_tokens: part(self.cache_creation_input_tokens, i),
                cache_read_input_tokens: part(self.cache_read_input_tokens, i),
            })
            .collect()
    }
}

/// What a backend sent off the machine for the model: every byte, fixed
/// prompts and tool schemas included (all zero for local backends).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// Requests (an `exec` run counts as one).
    pub requests: u64,
    /// Bytes sent.
    pub bytes: u64,
    /// Their `cl100k_base` tokens.
    pub tokens: u64,
}

impl Sent {
    /// One more request of `text`.
    pub fn add_request(&mut self, text: &str) {
        self.requests += 1;
        self.add_text(text);
    }

    /// Adds `other` to `self`.
    pub fn add(&mut self, other: &Sent) {
        self.requests += other.requests;
        self.bytes += other.bytes;
        self.tokens += other.tokens;
    }

    /// More text in the current request.
    pub fn add_text(&mut self, text: &str) {
        self.bytes += text.len() as u64;
        // The tokenizer loaded before any question was planned.
        self.tokens += crate::text::tokens::count_tokens(text).unwrap_or(0);
    }
}
