//! The folder adapter end to end on small folders, with the lexical embedder.
