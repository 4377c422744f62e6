//! Stage 1: exact duplicates. Memories whose content is the same text for a
//! reader (blake3 of [`exact_key`]: case,
//! whitespace, Unicode form and Markdown noise removed) form one group.
//!
//! Promise: every input memory is in exactly one group; groups and their
//! members are in input (path) order, so the result does not depend on how
//! the input was listed.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::memory::{ContentHash, Memory};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A set of input memories with the same normalised content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactGroup {
    /// Indexes into the (path-sorted) input, ascending.
    pub members: Vec<usize>,
    /// The member whose text stands for the group: the longest content
    /// (it keeps the most formatting), then the first path.
    pub representative: usize,
}

/// The groups of stage 1, in order of their first member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactGroups {
    /// One group per distinct normalised content.
    pub groups: Vec<ExactGroup>,
}

#[cfg(test)]
impl ExactGroups {
    /// Number of input memories that were folded into another.
    pub fn folded(&self) -> usize {
        self.groups.iter().map(|g| g.members.len() - 1).sum()
    }
}

/// Groups `memories` (sorted by path) by the hash of their normalised text.
pub fn group(memories: &[Memory]) -> ExactGroups {
    let keys: Vec<ContentHash> =
        memories.par_iter().map(|m| ContentHash::of(exact_key(&m.content).as_bytes())).collect();
    let mut by_key: BTreeMap<ContentHash, Vec<usize>> = BTreeMap::new();
    for (i, key) in keys.iter().enumerate() {
        by_key.entry(*key).or_default().push(i);
    }
    let mut groups: Vec<ExactGroup> = by_key
        .into_values()
        .map(|members| {
            let representative = members
                .iter()
                .copied()
                .max_by(|&x, &y| memories[x].content.len().cmp(&memories[y].content.len()).then(y.cmp(&x)))
                .expect("a key has at least one member");
            ExactGroup { members, representative }
        })
        .collect();
    groups.sort_by_key(|g| g.members[0]);
    ExactGroups { groups }
}

/// The key of stage 1: content with case, whitespace, Unicode form and
/// Markdown noise (headings, emphasis, code ticks, quotes, bullets, trailing
/// full stops) removed. Equal keys mean the same text for a reader.
pub fn exact_key(content: &str) -> String {
    let nfc: String = content.nfc().collect();
    let mut lines = Vec::new();
    for line in nfc.lines() {
        let marked: Vec<char> = line.chars().filter(|c| !matches!(c, '*' | '`' | '~')).collect();
        // `_` is emphasis around words but part of an identifier inside one
        // (`MAX_CONN` is not `MAXCONN`). Before it, combining marks belong
        // to the letter they follow: lower-casing `İ` gives `i` and a
        // combining dot, and the key of the key must keep the same `_`.
        let inner = |i: usize| {
            marked[..i].iter().rev().find(|c| !is_combining_mark(**c)).is_some_and(|c| c.is_alphanumeric())
                && marked.get(i + 1).is_some_and(|c| c.is_alphanumeric())
        };
        let plain: String =
            marked.iter().enumerate().filter(|&(i, &c)| c != '_' || inner(i)).map(|(_, &c)| c).collect();
        let words = plain.to_lowercase().split_whitespace().collect::<Vec<_>>().join(" ");
        let mut l = words.as_str();
        loop {
            let before = l;
            l = l.trim_start_matches(['#', '>']).trim_start();
            for bullet in ["- ", "+ "] {
                if let Some(rest) = l.strip_prefix(bullet) {
                    l = rest.trim_start();
                }
            }
            l = l.trim_end_matches(['.', '!', ';', ',']).trim_end();
            if l == before {
                break;
            }
        }
        if !l.is_empty() {
            lines.push(l.to_owned());
        }
    }
    // Removing Markdown marks and lower-casing can bring a base letter and a
    // combining mark together; composing again at the end keeps the key
    // idempotent (found by the `dream_text` fuzz target).
    lines.join("\n").nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryPath, Timestamp};

    fn mem(path: &str, content: &str) -> Memory {
        Memory::new(MemoryPath::new(path).unwrap(), content, Timestamp(0))
    }

    #[test]
    fn groups_copies_and_picks_longest_text() {
        let ms = vec![
            mem("/a", "Staging port is 5433"),
            mem("/b", "**Staging** port is 5433."),
            mem("/c", "Production port is 5432"),
            mem("/d", "staging port is 5433"),
        ];
        let g = group(&ms);
        assert_eq!(g.groups.len(), 2);
        assert_eq!(g.groups[0].members, vec![0, 1, 3]);
        assert_eq!(g.groups[0].representative, 1);
        assert_eq!(g.groups[1].members, vec![2]);
        assert_eq!(g.folded(), 2);
    }

    #[test]
    fn exact_key_ignores_case_space_and_markdown() {
        let a = exact_key("# Staging port\n\n- The **staging** DB   listens on `5433`.");
        let b = exact_key("staging port\nthe staging db listens on 5433");
        assert_eq!(a, b);
        assert_ne!(exact_key("port 5433"), exact_key("port 5432"));
        assert_ne!(exact_key("MAX_CONN=10"), exact_key("MAXCONN=10"));
        assert_eq!(exact_key("_use tabs_"), exact_key("use tabs"));
    }

    #[test]
    fn exact_key_is_idempotent_when_marks_split_a_combining_sequence() {
        // A Markdown mark between a letter and its combining accent.
        let once = exact_key("1ml\0sry_\u{301})1 ?");
        assert_eq!(exact_key(&once), once);
        assert_eq!(exact_key("café"), exact_key("cafe_\u{301}"));
    }

    #[test]
    fn exact_key_is_idempotent_when_lower_casing_adds_a_combining_mark() {
        // `İ` lower-cases to `i` and U+0307; the `_` after it stays inside
        // the word both times (found by the `dream_text` fuzz target).
        let once = exact_key("?\u{130}_7h0");
        assert_eq!(exact_key(&once), once);
        assert_eq!(once, "?i\u{307}_7h0");
    }
}
