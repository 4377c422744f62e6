//! Word-level differences between the members of a cluster, so a reviewer
//! sees at a glance what the texts disagree on ("port **5433**" against
//! "port **5434**").
//!
//! A text is cut into words (maximal runs of non-space characters) and the
//! spaces between them; words are compared by their letters and digits,
//! lower-cased, so "5433." and "5433" or "Port" and "port" are the same word.
//! A word of one member is marked as differing when a longest-common-
//! subsequence diff ([`similar`], Myers) against any other member does not
//! match it. Spaces are never marked.

use similar::{Algorithm, DiffOp, capture_diff_slices};

/// A piece of a member's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment<'a> {
    /// The exact text (a word, or the spaces between words).
    pub text: &'a str,
    /// Whether this is a word another member does not have at this place.
    pub differs: bool,
}

/// Splits `text` into words and runs of white space, in order.
fn pieces(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_space = None;
    for (i, c) in text.char_indices() {
        let space = c.is_whitespace();
        if in_space.is_some_and(|s| s != space) {
            out.push(&text[start..i]);
            start = i;
        }
        in_space = Some(space);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// The comparison key of a word: its letters and digits, lower-cased
/// (a word of punctuation only keeps itself).
fn key(word: &str) -> String {
    let k: String = word.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    if k.is_empty() { word.to_owned() } else { k }
}

/// Each member's text as segments, words that differ from another member marked.
pub fn highlight<'a>(texts: &[&'a str]) -> Vec<Vec<Segment<'a>>> {
    let split: Vec<Vec<&str>> = texts.iter().map(|t| pieces(t)).collect();
    // Word positions (indexes into `split[i]`) and their keys.
    let words: Vec<Vec<usize>> = split
        .iter()
        .map(|p| (0..p.len()).filter(|&k| !p[k].starts_with(char::is_whitespace)).collect())
        .collect();
    let keys: Vec<Vec<String>> =
        words.iter().zip(&split).map(|(w, p)| w.iter().map(|&k| key(p[k])).collect()).collect();
    let mut differs: Vec<Vec<bool>> = keys.iter().map(|k| vec![false; k.len()]).collect();
    for i in 0..texts.len() {
        for j in 0..texts.len() {
            if i == j {
                continue;
            }
            for op in capture_diff_slices(Algorithm::Myers, &keys[i], &keys[j]) {
                if !matches!(op, DiffOp::Equal { .. }) {
                    for k in op.old_range() {
                        differs[i][k] = true;
                    }
                }
            }
        }
    }
    split
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut marked = vec![false; p.len()];
            for (w, &k) in words[i].iter().enumerate() {
                marked[k] = differs[i][w];
            }
            p.iter().zip(marked).map(|(&text, differs)| Segment { text, differs }).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(texts: &[&str]) -> Vec<Vec<String>> {
        highlight(texts)
            .into_iter()
            .map(|segs| segs.into_iter().filter(|s| s.differs).map(|s| s.text.to_owned()).collect())
            .collect()
    }

    #[test]
    fn marks_only_the_changed_words() {
        let m = marked(&["The staging DB listens on port 5433.", "The staging db listens on port 5434."]);
        assert_eq!(m, vec![vec!["5433."], vec!["5434."]]);
    }

    #[test]
    fn insertions_and_three_members() {
        let m = marked(&["CI runs on Jenkins", "CI runs on Jenkins nightly", "CI runs on Buildkite"]);
        assert_eq!(m[0], vec!["Jenkins"]); // differs from the third
        assert_eq!(m[1], vec!["Jenkins", "nightly"]);
        assert_eq!(m[2], vec!["Buildkite"]);
    }

    #[test]
    fn segments_rebuild_the_text() {
        let texts = ["  two  spaces\nand a line ", "", "ü wörds — dash"];
        for (text, segs) in texts.iter().zip(highlight(&texts)) {
            assert_eq!(segs.iter().map(|s| s.text).collect::<String>(), *text);
            assert!(segs.iter().all(|s| !(s.differs && s.text.trim().is_empty())));
        }
    }

    #[test]
    fn identical_texts_mark_nothing() {
        assert!(marked(&["same words here", "Same words, here"]).iter().all(Vec::is_empty));
    }
}
