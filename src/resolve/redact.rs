//! Redaction: before a question leaves the machine, secrets in its memories
//! and excerpts are replaced by placeholders `[REDACTED:<kind>:<n>]`
//! (numbered per question in order of first appearance; one secret, one
//! placeholder). Redaction changes what is sent, never what is stored.
//!
//! What counts as a secret: API keys and tokens of Anthropic
//! (`sk-ant-…`), OpenAI (`sk-…`, `sk-proj-…`), AWS (access key ids
//! `AKIA…`/`ASIA…`), GitHub (`ghp_…`, `github_pat_…`, …), Slack (`xox?-…`,
//! webhook URLs), Google (`AIza…`, `ya29.…`); private key blocks (`-----BEGIN
//! … PRIVATE KEY-----`, also cut off); passwords in URLs
//! (`scheme://user:PASSWORD@host`); bearer and basic credentials; and the
//! values of `KEY=value` / `key: value` assignments whose name says secret,
//! token, password, passwd, pwd, api key, access key, private key,
//! credential or auth (a value of at least 6 characters with a digit or a
//! symbol, or of 16 or more; any quoted value). The placeholder kinds, in
//! the order their patterns are tried: `private-key`, `anthropic-key`,
//! `openai-key`, `aws-access-key`, `github-token`, `slack-token`,
//! `slack-webhook`, `google-key`, `google-oauth`, `url-password`,
//! `bearer-token`, `basic-auth`, `secret-value`.
//!
//! Answers are restored ([`restore`]): a placeholder in an output is
//! replaced by the secret it stands for when one of that output's sources
//! holds the secret, so a memory rewritten by a remote answer keeps its
//! secret. Any other placeholder in an output (invented, from an excerpt or
//! from another output's members, or in a pattern, which has no sources)
//! refuses the answer ([`OpenReason::Placeholder`]): nothing is stored with
//! a placeholder where a secret was, and no secret moves where it was not.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;

use super::{NewPattern, OpenReason, Outcome, Question};
use crate::memory::check_content;

struct Rule {
    kind: &'static str,
    regex: Regex,
    /// The capture group holding the secret (0: the whole match).
    group: usize,
    /// For assignments: whether the value looks like a secret.
    check_value: bool,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let rule = |kind, pattern: &str, group, check_value| Rule {
            kind,
            regex: Regex::new(pattern).expect("the redaction patterns are valid"),
            group,
            check_value,
        };
        vec![
            rule(
                "private-key",
                r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----(?s:.*?-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|.*)",
                0,
                false,
            ),
            rule("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{16,}", 0, false),
            rule("openai-key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}", 0, false),
            rule("aws-access-key", r"\b(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA)[0-9A-Z]{16}\b", 0, false),
            rule("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})", 0, false),
            rule("slack-token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}", 0, false),
            rule("slack-webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9/_\-]+", 0, false),
            rule("google-key", r"\bAIza[0-9A-Za-z_\-]{35}", 0, false),
            rule("google-oauth", r"\bya29\.[0-9A-Za-z_\-]{20,}", 0, false),
            rule("url-password", r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]+:([^\s@/]+)@", 1, false),
            rule("bearer-token", r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)", 1, false),
            rule("basic-auth", r"(?i)\bauthorization:\s*basic\s+([A-Za-z0-9+/]{8,}={0,2})", 1, false),
            rule(
                "secret-value",
                r#"(?i)\b[A-Za-z0-9_.\-]*(?:secret|token|password|passwd|pwd|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|auth)[A-Za-z0-9_.\-]*["']?\s*[:=]\s*("[^"\n]+"|'[^'\n]+'|[^\s"',;]+)"#,
                1,
                true,
            ),
        ]
    })
}

fn placeholder_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\[REDACTED:[a-z\-]+:[0-9]+\]").expect("the placeholder pattern is valid"))
}

/// Whether an assignment's value looks like a secret (see the module doc).
fn secret_looking(value: &str) -> bool {
    if value.len() >= 2 && (value.starts_with('"') || value.starts_with('\'')) {
        return true;
    }
    let n = value.chars().count();
    let symbol_or_digit = value.chars().any(|c| !c.is_alphabetic());
    n >= 16 || (n >= 6 && symbol_or_digit)
}

/// The secrets of one question: placeholder → secret, and back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    by_placeholder: BTreeMap<String, String>,
    by_secret: BTreeMap<String, String>,
}

impl Secrets {
    /// How many distinct secrets were redacted.
    pub fn len(&self) -> usize {
        self.by_placeholder.len()
    }

    /// Whether nothing was redacted.
    pub fn is_empty(&self) -> bool {
        self.by_placeholder.is_empty()
    }

    /// The placeholder standing for `secret`, made if new.
    fn placeholder(&mut self, kind: &str, secret: &str) -> String {
        if let Some(p) = self.by_secret.get(secret) {
            return p.clone();
        }
        let p = format!("[REDACTED:{kind}:{}]", self.by_placeholder.len() + 1);
        self.by_placeholder.insert(p.clone(), secret.to_owned());
        self.by_secret.insert(secret.to_owned(), p.clone());
        p
    }

    /// `text` with every secret replaced by its placeholder. Passes repeat
    /// until one finds nothing: a match skipped as not secret-looking hides
    /// the matches that start inside it, and a replacement can move the
    /// next one's boundaries; each pass turns some text into placeholders,
    /// which are never looked into again, so this ends.
    pub fn redact(&mut self, text: &str) -> String {
        let mut out = self.redact_once(text);
        loop {
            let next = self.redact_once(&out);
            if next == out {
                return out;
            }
            out = next;
        }
    }

    /// One pass of every rule over `text`.
    fn redact_once(&mut self, text: &str) -> String {
        let mut out = text.to_owned();
        for rule in rules() {
            if !rule.regex.is_match(&out) {
                continue;
            }
            // Placeholders already put in are never looked into again.
            let taken: Vec<(usize, usize)> =
                placeholder_regex().find_iter(&out).map(|m| (m.start(), m.end())).collect();
            let mut next = String::with_capacity(out.len());
            let mut at = 0;
            for caps in rule.regex.captures_iter(&out) {
                let (Some(whole), Some(m)) = (caps.get(0), caps.get(rule.group)) else { continue };
                let secret = m.as_str();
                let overlaps = taken.iter().any(|&(s, e)| whole.start() < e && s < whole.end());
                if overlaps || (rule.check_value && !secret_looking(secret)) {
                    continue;
                }
                next.push_str(&out[at..m.start()]);
                next.push_str(&self.placeholder(rule.kind, secret));
                at = m.end();
            }
            next.push_str(&out[at..]);
            out = next;
        }
        out
    }

    /// `text` with the placeholders of this question put back, but only
    /// those whose secret is in one of `sources`; the first other one is
    /// returned as the error.
    pub fn restore(&self, text: &str, sources: &[&str]) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for m in placeholder_regex().find_iter(text) {
            let secret = self
                .by_placeholder
                .get(m.as_str())
                .filter(|s| sources.iter().any(|src| src.contains(s.as_str())))
                .ok_or_else(|| m.as_str().to_owned())?;
            out.push_str(&text[at..m.start()]);
            out.push_str(secret);
            at = m.end();
        }
        out.push_str(&text[at..]);
        Ok(out)
    }
}

/// A question as it may leave the machine, and its secrets. The redacted
/// question gets its own id (from its redacted form), and `raw` is given
/// that id too, so both forms answer to one id.
pub fn redact_question(raw: &Question) -> (Question, Question, Secrets) {
    let mut secrets = Secrets::default();
    let members = raw
        .members
        .iter()
        .map(|m| super::QuestionMemory { content: secrets.redact(&m.content), ..m.clone() })
        .collect();
    let excerpts = raw
        .excerpts
        .iter()
        .map(|e| super::QuestionExcerpt { text: secrets.redact(&e.text), ..e.clone() })
        .collect();
    let sent = Question::new(raw.kind, raw.why.clone(), members, excerpts, secrets.redact(&raw.instructions));
    // A differing word goes along only where the redacted texts still hold
    // it: a word of a secret never leaves as a hint.
    let shown: Vec<String> = sent.members.iter().map(|m| m.content.to_lowercase()).collect();
    let differ = raw
        .differ
        .iter()
        .filter(|w| shown.iter().any(|t| t.contains(w.to_lowercase().as_str())))
        .cloned()
        .collect();
    let draft =
        raw.draft.as_ref().map(|d| super::PatternDraft { content: secrets.redact(&d.content), ..d.clone() });
    let sent = sent.hinted(raw.open.clone(), differ).drafted(draft);
    let raw = Question { id: sent.id.clone(), ..raw.clone() };
    (sent, raw, secrets)
}

/// Puts the secrets back into a checked answer's outputs (see the module
/// doc); `raw` is the unredacted question.
pub fn restore(outcome: Outcome, raw: &Question, secrets: &Secrets) -> Outcome {
    let refuse =
        |path: String, placeholder: String| Outcome::Open(OpenReason::Placeholder { path, placeholder });
    match outcome {
        Outcome::Partition(mut parts) => {
            for part in &mut parts {
                let sources: Vec<&str> = raw
                    .members
                    .iter()
                    .filter(|m| part.sources.contains(&m.path))
                    .map(|m| m.content.as_str())
                    .collect();
                match secrets.restore(&part.content, &sources) {
                    Ok(text) => {
                        if let Err(e) = check_content(&part.path, &text) {
                            return Outcome::Open(OpenReason::InvalidContent {
                                path: part.path.to_string(),
                                message: e.to_string(),
                            });
                        }
                        part.content = text;
                    }
                    Err(p) => return refuse(part.path.to_string(), p),
                }
            }
            Outcome::Partition(parts)
        }
        Outcome::Patterns(found) => {
            // A pattern may keep what the draft held.
            let draft: Vec<&str> = raw.draft.iter().map(|d| d.content.as_str()).collect();
            let mut restored = Vec::with_capacity(found.len());
            for NewPattern { path, content, stated, kind, sessions } in found {
                if stated {
                    // A cited member: its text as the question held it.
                    let content =
                        raw.members.iter().find(|m| m.path == path).map_or(content, |m| m.content.clone());
                    restored.push(NewPattern { path, content, stated, kind, sessions });
                    continue;
                }
                match secrets.restore(&content, &draft) {
                    Ok(content) => restored.push(NewPattern { path, content, stated, kind, sessions }),
                    Err(p) => return refuse(path.to_string(), p),
                }
            }
            Outcome::Patterns(restored)
        }
        open @ Outcome::Open(_) => open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{MemoryPath, Timestamp};
    use crate::resolve::{Part, PartAction, QuestionKind, QuestionMemory};
    use proptest::prelude::*;

    /// One sample of every kind, built at run time so no scanner mistakes
    /// this file for a leak.
    fn samples() -> Vec<(&'static str, String)> {
        let r = |c: char, n: usize| c.to_string().repeat(n);
        vec![
            ("anthropic-key", format!("sk-ant-api03-{}", r('a', 40))),
            ("openai-key", format!("sk-proj-{}", r('B', 40))),
            ("aws-access-key", format!("AKIA{}", r('Q', 16))),
            ("github-token", format!("ghp_{}", r('x', 36))),
            ("github-token", format!("github_pat_{}", r('Y', 30))),
            ("slack-token", format!("xoxb-1234-5678-{}", r('z', 20))),
            ("slack-webhook", format!("https://hooks.slack.com/services/T000/B000/{}", r('k', 24))),
            ("google-key", format!("AIza{}", r('g', 35))),
            ("google-oauth", format!("ya29.{}", r('o', 30))),
        ]
    }

    #[test]
    fn every_kind_is_redacted_and_restored() {
        for (kind, secret) in samples() {
            let mut s = Secrets::default();
            let text = format!("use {secret} for the deploy");
            let red = s.redact(&text);
            assert!(!red.contains(&secret), "{kind}: {red}");
            assert_eq!(red, format!("use [REDACTED:{kind}:1] for the deploy"), "{kind}");
            assert_eq!(s.restore(&red, &[&text]).unwrap(), text);
        }
    }

    #[test]
    fn passwords_bearers_keys_and_assignments() {
        let mut s = Secrets::default();
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----";
        let cut = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA…";
        let cases = [
            (
                "postgres://app:hunter2secret@db.internal:5432/app",
                "hunter2secret",
                "postgres://app:[REDACTED:url-password:1]@db.internal:5432/app",
            ),
            (
                "curl -H 'Authorization: Bearer abcdef123456.xyz'",
                "abcdef123456.xyz",
                "curl -H 'Authorization: Bearer [REDACTED:bearer-token:1]'",
            ),
            ("DATABASE_PASSWORD=s3cr3t-pass", "s3cr3t-pass", "DATABASE_PASSWORD=[REDACTED:secret-value:1]"),
            ("api_key: \"abc\"", "\"abc\"", "api_key: [REDACTED:secret-value:1]"),
            (pem, pem, "[REDACTED:private-key:1]"),
            (cut, cut, "[REDACTED:private-key:1]"),
        ];
        for (text, secret, want) in cases {
            let mut s1 = Secrets::default();
            let red = s1.redact(text);
            assert_eq!(red, want, "{text}");
            assert!(!red.contains(secret));
        }
        // A fuzz find: a skipped match hid a secret that a second pass saw.
        let found = "\u{6}pwpwd:'d\u{7}&\u{7}A:\0d\0B%pwd:':pwd\n::pwd\n:\0d\0B%pwd:':pw::(\0:";
        let mut once = Secrets::default();
        let red = once.redact(found);
        assert_eq!(once.clone().redact(&red), red, "redaction is idempotent");
        assert_eq!(once.restore(&red, &[found]).as_deref(), Ok(found));
        // Prose about tokens is left alone.
        for prose in
            ["the token: we rotate it monthly", "password: see vault", "Use tabs, not spaces.", "auth=none"]
        {
            assert_eq!(s.redact(prose), prose);
        }
        assert!(s.is_empty());
    }

    #[test]
    fn one_secret_one_placeholder_and_foreign_placeholders_refused() {
        let mut s = Secrets::default();
        let key = format!("ghp_{}", "q".repeat(36));
        let a = s.redact(&format!("token {key} in CI"));
        let b = s.redact(&format!("CI uses {key}; also AKIA{}", "W".repeat(16)));
        assert_eq!(a, "token [REDACTED:github-token:1] in CI");
        assert_eq!(b, "CI uses [REDACTED:github-token:1]; also [REDACTED:aws-access-key:2]");
        assert_eq!(s.len(), 2);
        let raw = format!("token {key} in CI");
        assert_eq!(s.restore("[REDACTED:github-token:1] now", &[&raw]).unwrap(), format!("{key} now"));
        assert_eq!(
            s.restore("[REDACTED:aws-access-key:2]", &[&raw]).unwrap_err(),
            "[REDACTED:aws-access-key:2]"
        );
        assert_eq!(s.restore("[REDACTED:github-token:7]", &[&raw]).unwrap_err(), "[REDACTED:github-token:7]");
    }

    #[test]
    fn a_question_is_sent_redacted_and_its_answer_keeps_the_secret() {
        let key = format!("sk-ant-api03-{}", "Z".repeat(40));
        let member = |p: &str, c: String, t| QuestionMemory {
            path: MemoryPath::new(p).unwrap(),
            content: c,
            updated_at: Timestamp(t),
        };
        let raw = Question::new(
            QuestionKind::Cluster,
            "open",
            vec![
                member("/a", format!("ANTHROPIC_API_KEY={key} for staging"), 1),
                member("/b", "staging uses the old key".into(), 2),
            ],
            vec![],
            "",
        );
        let (sent, raw, secrets) = redact_question(&raw);
        assert!(!sent.to_line().contains(&key));
        assert!(sent.id_matches());
        assert_eq!(raw.id, sent.id);
        let part = |content: &str, sources: &[&str]| Part {
            path: MemoryPath::new(sources[0]).unwrap(),
            content: content.into(),
            sources: sources.iter().map(|s| MemoryPath::new(s).unwrap()).collect(),
            action: PartAction::Merged,
        };
        let merged = restore(
            Outcome::Partition(vec![part(
                "ANTHROPIC_API_KEY=[REDACTED:anthropic-key:1] for staging (current)",
                &["/a", "/b"],
            )]),
            &raw,
            &secrets,
        );
        let Outcome::Partition(parts) = merged else { panic!("{merged:?}") };
        assert_eq!(parts[0].content, format!("ANTHROPIC_API_KEY={key} for staging (current)"));
        // Moved into an output whose sources do not hold it: refused.
        let moved = restore(
            Outcome::Partition(vec![
                part("staging: [REDACTED:anthropic-key:1]", &["/b"]),
                part("x", &["/a"]),
            ]),
            &raw,
            &secrets,
        );
        assert!(matches!(moved, Outcome::Open(OpenReason::Placeholder { .. })), "{moved:?}");
    }

    proptest! {
        #[test]
        fn redaction_hides_every_planted_secret_and_restores_exactly(
            prefix in "[ -~]{0,40}", suffix in "[ -~]{0,40}", which in 0usize..9, twice in any::<bool>()
        ) {
            let (_, secret) = samples()[which].clone();
            let text = if twice { format!("{prefix} {secret} {suffix} {secret}") } else { format!("{prefix} {secret} {suffix}") };
            let mut s = Secrets::default();
            let red = s.redact(&text);
            prop_assert!(!red.contains(&secret), "{}", red);
            prop_assert_eq!(s.restore(&red, &[&text]).unwrap(), text.clone());
            // Redacting again changes nothing more.
            let mut again = s.clone();
            prop_assert_eq!(again.redact(&red), red);
        }

        #[test]
        fn text_without_secrets_is_unchanged(text in "[a-zA-Z ,.]{0,80}") {
            let mut s = Secrets::default();
            prop_assert_eq!(s.redact(&text), text);
        }
    }
}
