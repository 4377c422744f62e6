//! Token counts: tiktoken's `cl100k_base`, loaded once per process. The
//! dream's plan and the resolvers' usage figures count with the same one.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

/// The tokenizer, loaded on first use; the error is tiktoken's, as text.
pub fn bpe() -> Result<&'static CoreBPE, String> {
    static BPE: OnceLock<Result<CoreBPE, String>> = OnceLock::new();
    BPE.get_or_init(|| tiktoken_rs::cl100k_base().map_err(|e| e.to_string())).as_ref().map_err(Clone::clone)
}

/// Number of `cl100k_base` tokens of `text`.
pub fn count_tokens(text: &str) -> Result<u64, String> {
    Ok(bpe()?.encode_ordinary(text).len() as u64)
}
