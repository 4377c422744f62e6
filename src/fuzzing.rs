//! Internals the fuzz targets (and a few tests, benches and examples) drive
//! directly: the decoders of the on-disk and wire formats and the text
//! rules of the dream's stages. Not part of the API — hidden from the
//! documentation, and free to change in any release.

/// The dream's exact-duplicate key (normalised text).
pub use crate::dream::exact::exact_key;

/// Limits of a memory.
pub use crate::memory::MAX_CONTENT_BYTES;

/// The SHA-256 of a memory's content, as hosted memory stores report it.
pub use crate::id::content_sha256;

/// The store's log (`memories.log`): header and frame decoder.
pub mod log {
    pub use crate::store::log::{Commit, Op, TornTail, decode, header};
}

/// The store's snapshot (`memories.snap`): format constants and decoder.
pub mod snapshot {
    pub use crate::store::snapshot::{
        SNAPSHOT_FORMAT, SNAPSHOT_HEADER_LEN, SNAPSHOT_MAGIC, Snapshot, decode,
    };
}

/// A stored session's file format (`sessions/*.session`).
pub mod session_file {
    pub use crate::session::storage::{decode, encode};
}

/// The vector cache's file format (`vectors/*.dwvec`).
pub mod vector_cache {
    pub use crate::embed::cache::{decode, file_name, header};
}

/// The word-vector cache's file format.
pub mod word_cache {
    pub use crate::embed::word_cache::{decode, header, vectors_of};
}

/// The text rules of the dream's stages.
pub mod dream_text {
    pub use crate::dream::near::{Judging, blocking_keys};
    pub use crate::dream::patterns::incidents::{error_signature, program};
    pub use crate::dream::patterns::slug;
    pub use crate::dream::patterns::statements::{MAX_TEXT, clauses, directive};
    pub use crate::dream::patterns::{Found, find};
    pub use crate::dream::plan::naive_tokens;
}

/// The formats of a Claude Code memory folder.
pub mod folder {
    /// A memory file's YAML frontmatter.
    pub mod frontmatter {
        pub use crate::folder::frontmatter::{Frontmatter, FrontmatterError, Split, split};
    }

    /// The `MEMORY.md` index.
    pub mod index {
        pub use crate::folder::index::{
            IndexFact, IndexLine, LineKind, MAX_BYTES, MAX_LINES, entry_line, parse,
        };
    }
}

/// What a reviewer sees of a cluster: the question as shown, its lines,
/// and the word diff between its members.
pub mod review {
    pub use crate::review::diff::{Segment, highlight};
    pub use crate::review::render::{StyledLine, cluster, view};
}

/// The built-in lexicon's source (`lexicon.toml`).
pub use crate::text::lexicon::DEFAULT_TOML as LEXICON_TOML;

/// The resolvers' internals: the journal's reader, secret redaction and
/// the remote backends' reply decoders.
pub mod resolve {
    pub use crate::resolve::journal::parse as parse_journal;
    pub use crate::resolve::redact::{Secrets, redact_question, restore};

    #[cfg(feature = "remote")]
    use crate::resolve::{Question, Reply, Usage, wire::Encoder};

    /// The Messages API backend's reply decoding: `bytes` as a reply to the
    /// questions `asked` (encoded by `encoder`), mapped onto them one reply
    /// each; `None` when the reply does not decode.
    #[cfg(feature = "remote")]
    pub fn anthropic_replies(bytes: &[u8], asked: &[Question], encoder: &Encoder) -> Option<Vec<Reply>> {
        let reply = crate::resolve::anthropic::decode_reply(bytes).ok()?;
        Some(crate::resolve::anthropic::map_answers(asked, encoder, &reply, Usage::from(reply.usage)))
    }

    /// Whether `bytes` decode as a page of the Dreams API's memory list.
    #[cfg(feature = "remote")]
    pub fn dreams_list_page(bytes: &[u8]) -> bool {
        serde_json::from_slice::<crate::resolve::dreams::ListPage>(bytes).is_ok()
    }

    /// The Dreams API backend's output decoding: the output store's
    /// `memories` (path, content) mapped onto the questions `asked`.
    #[cfg(feature = "remote")]
    pub fn dreams_replies(
        asked: &[Question],
        encoder: &Encoder,
        memories: &[(String, String)],
    ) -> Vec<Reply> {
        crate::resolve::dreams::map_answers(asked, encoder, memories)
    }
}

/// The hosted memory stores' reply decoders.
#[cfg(feature = "remote")]
pub mod hosted {
    pub use crate::hosted::api::{
        decode_created_store, decode_event_page, decode_memory, decode_memory_page, valid_id,
    };
}
