//! The one stemmer of the text analysis: English Snowball (Porter 2), so
//! that "sitting", "sits" and "sit" meet.

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// The stem of a lower-case word (English Snowball).
pub fn stem(word: &str) -> String {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English)).stem(word).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflections_meet() {
        assert_eq!(stem("sitting"), stem("sit"));
        assert_eq!(stem("stands"), stem("standing"));
        assert_eq!(stem("deploys"), stem("deploy"));
        assert_ne!(stem("stand"), stem("sit"));
    }
}
