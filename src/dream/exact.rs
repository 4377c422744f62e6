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
use crate::text::exact_key;

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
}
