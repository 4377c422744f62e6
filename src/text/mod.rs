//! Text analysis shared by the dream and the resolvers: word sequences,
//! documents as facts, and the certain-or-ask comparison of two texts.
//!
//! Everything here is a pure function of its input text and the
//! [`Lexicon`], the word lists the analysis reacts to (data, in
//! `lexicon.toml`, documented there).

pub mod compare;
pub mod facts;
pub mod lexicon;
pub mod normalize;
mod stem;
pub mod words;

pub use compare::{DistinctProof, OpenReason, Relation, Side, compare};
pub use facts::{Document, Fact};
pub use lexicon::{Lexicon, LexiconError};
pub use normalize::exact_key;
pub use stem::stem;
pub use words::{Kind, Word, words};
