//! Choosing an embedder by name (`minilm`, the default, or `lexical`), as
//! the CLI's `--embedder` option and the dream do.

use std::fmt;
use std::str::FromStr;

use super::{EmbedError, Embedder, LexicalEmbedder};

/// A named embedder backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EmbedderChoice {
    /// all-MiniLM-L6-v2 on ONNX Runtime (feature `minilm`).
    #[default]
    MiniLm,
    /// The built-in hashed n-gram embedder.
    Lexical,
}

impl EmbedderChoice {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            EmbedderChoice::MiniLm => "minilm",
            EmbedderChoice::Lexical => "lexical",
        }
    }
}

impl fmt::Display for EmbedderChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EmbedderChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "minilm" => Ok(EmbedderChoice::MiniLm),
            "lexical" => Ok(EmbedderChoice::Lexical),
            other => Err(format!("unknown embedder {other:?} (expected minilm or lexical)")),
        }
    }
}

/// Loads the chosen embedder. `minilm` finds its model by the search order
/// of [`locate`](super::locate) with `options`; a missing model is a
/// one-line [`EmbedError::ModelUnavailable`] saying to run
/// `dreamwork model fetch`.
#[cfg(feature = "minilm")]
pub fn load_embedder(
    choice: EmbedderChoice,
    options: &super::MiniLmOptions,
) -> Result<Box<dyn Embedder>, EmbedError> {
    match choice {
        EmbedderChoice::MiniLm => Ok(Box::new(super::MiniLmEmbedder::load(options)?)),
        EmbedderChoice::Lexical => Ok(Box::new(LexicalEmbedder::default())),
    }
}

/// Loads the chosen embedder; without the `minilm` feature only `lexical`
/// is available.
#[cfg(not(feature = "minilm"))]
pub fn load_embedder(choice: EmbedderChoice) -> Result<Box<dyn Embedder>, EmbedError> {
    match choice {
        EmbedderChoice::MiniLm => Err(EmbedError::ModelUnavailable(
            "this build has no minilm embedder (feature `minilm` is off); use --embedder lexical".into(),
        )),
        EmbedderChoice::Lexical => Ok(Box::new(LexicalEmbedder::default())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_default_is_minilm() {
        for c in [EmbedderChoice::MiniLm, EmbedderChoice::Lexical] {
            assert_eq!(c.name().parse::<EmbedderChoice>().unwrap(), c);
        }
        assert_eq!(EmbedderChoice::default(), EmbedderChoice::MiniLm);
        assert!("bert".parse::<EmbedderChoice>().unwrap_err().contains("bert"));
    }
}
