//! Review: a person settles, cluster by cluster, what a dream left open.
//!
//! The parts: [`diff`] (the words that differ between members), [`render`]
//! (a cluster as lines of at most 80 columns), [`editor`] (the `$EDITOR`
//! round-trip) and [`rewrite`] (the atomic rewrite of OUT).

pub mod diff;
pub mod editor;
pub mod render;
pub mod rewrite;
