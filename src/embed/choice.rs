//! Choosing an embedder by name (`minilm`, the default, or `lexical`), as
//! the CLI's `--embedder` option and the dream do.

use std::fmt;
use std::str::FromStr;

use super::locate::LocateOptions;
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

/// Settings for loading the MiniLM embedder (`MiniLmEmbedder::load`, and
/// [`load_embedder`]); defined with or without the `minilm` feature, so
/// that turning it on adds the embedder without changing a signature.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct MiniLmOptions {
    /// Where to look for the model and the runtime.
    pub locate: LocateOptions,
    /// Sessions run in parallel (default: the number of cores).
    pub sessions: Option<usize>,
}

impl MiniLmOptions {
    /// Where to look for the model and the runtime.
    pub fn with_locate(mut self, locate: LocateOptions) -> Self {
        self.locate = locate;
        self
    }

    /// Sessions run in parallel (`None`: the number of cores).
    pub fn with_sessions(mut self, sessions: impl Into<Option<usize>>) -> Self {
        self.sessions = sessions.into();
        self
    }
}

/// Loads the chosen embedder. `minilm` finds its model by the search order
/// of [`locate`](super::locate) with `options`; a missing model is a
/// one-line [`EmbedError::ModelUnavailable`] saying to run
/// `dreamwork model fetch`. Without the `minilm` feature only `lexical` is
/// available (`minilm` is [`EmbedError::ModelUnavailable`], saying so).
pub fn load_embedder(
    choice: EmbedderChoice,
    options: &MiniLmOptions,
) -> Result<Box<dyn Embedder>, EmbedError> {
    match choice {
        #[cfg(feature = "minilm")]
        EmbedderChoice::MiniLm => Ok(Box::new(super::MiniLmEmbedder::load(options)?)),
        #[cfg(not(feature = "minilm"))]
        EmbedderChoice::MiniLm => {
            let _ = options;
            Err(EmbedError::ModelUnavailable(
                "this build has no minilm embedder (feature `minilm` is off); use --embedder lexical".into(),
            ))
        }
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
