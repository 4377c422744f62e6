//! The report for a person (`report.md`): counts, then each change with
//! its text before and after, its reason and its evidence, the patterns,
//! and what was left open.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{Action, EvidenceRef, MemoryEntry, PatternKind, Report};
use crate::memory::{Memory, MemoryPath};

impl Report {
    /// The Markdown story: counts, then each change with before and after
    /// text and its reason. `input` and `output` are the memories the
    /// report describes (for their texts).
    pub fn to_markdown(&self, input: &[Memory], output: &[Memory]) -> String {
        let before: BTreeMap<&MemoryPath, &Memory> = input.iter().map(|m| (&m.path, m)).collect();
        let after: BTreeMap<&MemoryPath, &Memory> = output.iter().map(|m| (&m.path, m)).collect();
        let mut md = String::new();
        let _ = writeln!(md, "# Dream report\n");
        let _ = writeln!(
            md,
            "Input: {} memories, {} sessions (store hash `{}`).  ",
            self.input.memories,
            self.input.sessions,
            short(&self.input.store_hash)
        );
        let _ = writeln!(
            md,
            "Output: {} memories (store hash `{}`). Embedder: `{}`. Resolver: `{}`.\n",
            self.output.memories,
            short(&self.output.store_hash),
            self.embedder,
            self.resolver
        );
        let _ = writeln!(md, "| action | output memories |\n|---|---:|");
        for action in [Action::Kept, Action::Merged, Action::Superseded, Action::Pattern, Action::Unresolved]
        {
            let _ = writeln!(md, "| {} | {} |", action.as_str(), self.count(action));
        }
        let _ = writeln!(md, "| *(input memories dropped)* | {} |", self.dropped.len());
        let _ = writeln!(md);
        let ratio = if self.tokens.sent == 0 {
            "nothing to send".to_owned()
        } else {
            format!("{:.1}× fewer", self.tokens.naive as f64 / self.tokens.sent as f64)
        };
        let _ = writeln!(
            md,
            "Tokens ({}): a whole-store dream would send {}; this plan sends {} ({ratio}).\n",
            self.tokens.tokenizer, self.tokens.naive, self.tokens.sent
        );
        if !self.tokens.usage.is_zero() {
            let u = &self.tokens.usage;
            let _ = writeln!(
                md,
                "The server reported for these answers: {} input, {} output, {} cache-write and {} cache-read tokens: {} in all, against {} for a whole-store dream.\n",
                u.input_tokens,
                u.output_tokens,
                u.cache_creation_input_tokens,
                u.cache_read_input_tokens,
                u.input_tokens + u.output_tokens + u.cache_creation_input_tokens + u.cache_read_input_tokens,
                self.tokens.naive
            );
        }
        let changes: Vec<&MemoryEntry> = self
            .memories
            .iter()
            .filter(|m| matches!(m.action, Action::Merged | Action::Superseded))
            .collect();
        if !changes.is_empty() {
            let _ = writeln!(md, "## Changes\n");
        }
        for entry in changes {
            let _ = writeln!(md, "### `{}` — {}\n", entry.path, entry.action.as_str());
            let _ = writeln!(md, "{}\n", entry.reason);
            let _ = writeln!(md, "Before:\n");
            for src in &entry.sources {
                if let Some(m) = before.get(src) {
                    let _ = writeln!(md, "- `{src}`:\n{}", quote(&m.content));
                }
            }
            let _ = writeln!(md, "After:\n");
            if let Some(m) = after.get(&entry.path) {
                let _ = writeln!(md, "{}", quote(&m.content));
            }
            evidence(&mut md, &entry.evidence);
        }
        if !self.judged.is_empty() {
            let _ = writeln!(md, "## Settled by the judge (most doubtful first)\n");
            for j in &self.judged {
                let _ = writeln!(md, "- {} (p = {:.4}): `{}` · `{}`", j.verdict, j.probability, j.a, j.b);
            }
            let _ = writeln!(md);
        }
        if !self.patterns.is_empty() {
            let _ = writeln!(md, "## Patterns\n");
        }
        for p in &self.patterns {
            let kind = match p.kind {
                PatternKind::RecurringMistake => "recurring mistake",
                PatternKind::SharedPreference => "shared preference",
            };
            let cited =
                if p.stated { " (already stated by this memory: cited, not written again)" } else { "" };
            let _ = writeln!(md, "### `{}` — {kind}, {} sessions{cited}\n", p.path, p.support);
            let _ = writeln!(md, "Sessions: {}\n", p.sessions.join(", "));
            if let Some(m) = after.get(&p.path) {
                let _ = writeln!(md, "{}", quote(&m.content));
            }
        }
        if !self.unresolved.is_empty() {
            let _ = writeln!(md, "## Unresolved (kept as they were, for review)\n");
        }
        if self.not_asked > 0 {
            let _ = writeln!(
                md,
                "{} more pairs of look-alike memories were not asked about: their clusters were full. Both sides are kept.\n",
                self.not_asked
            );
        }
        for u in &self.unresolved {
            let _ = writeln!(md, "### {}\n\n{}\n", u.cluster, u.why);
            for src in &u.sources {
                if let Some(m) = before.get(src) {
                    let _ = writeln!(
                        md,
                        "- `{src}` (updated {}):\n{}",
                        m.updated_at.to_rfc3339(),
                        quote(&m.content)
                    );
                }
            }
            let cited: BTreeSet<&EvidenceRef> = self
                .memories
                .iter()
                .filter(|e| e.action == Action::Unresolved && e.sources.iter().any(|s| u.sources.contains(s)))
                .flat_map(|e| e.evidence.iter())
                .collect();
            evidence(&mut md, &cited.into_iter().cloned().collect::<Vec<_>>());
        }
        md
    }
}

/// Most characters of a memory quoted in the Markdown report.
const QUOTE_CHARS: usize = 1200;

fn quote(text: &str) -> String {
    let mut t: String = text.chars().take(QUOTE_CHARS).collect();
    if text.chars().count() > QUOTE_CHARS {
        t.push('…');
    }
    let mut out = String::new();
    for line in t.lines() {
        out.push_str("  > ");
        out.push_str(line);
        out.push('\n');
    }
    if t.is_empty() {
        out.push_str("  > *(empty)*\n");
    }
    out
}

fn evidence(md: &mut String, refs: &[EvidenceRef]) {
    if refs.is_empty() {
        return;
    }
    let list: Vec<String> = refs
        .iter()
        .map(|e| format!("session `{}` turns {}–{}", short(&e.session), e.turns[0], e.turns[1]))
        .collect();
    let _ = writeln!(md, "Evidence: {}.\n", list.join("; "));
}

fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::super::tests::sample;
    use super::*;
    use crate::memory::Timestamp;

    fn p(s: &str) -> MemoryPath {
        MemoryPath::new(s).unwrap()
    }

    #[test]
    fn markdown_shows_before_and_after() {
        let input =
            vec![Memory::new(p("/a"), "port 1", Timestamp(0)), Memory::new(p("/b"), "Port 1.", Timestamp(0))];
        let output = vec![input[0].clone()];
        let md = sample().to_markdown(&input, &output);
        assert!(md.contains("### `/a` — merged"));
        assert!(md.contains("  > Port 1."));
        assert!(md.contains("| merged | 1 |"));
    }
}
