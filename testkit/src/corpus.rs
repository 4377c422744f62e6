//! A seeded generator of a realistic team memory store and session
//! transcripts, with ground truth, and the scoring of a dream against it.
//!
//! The store holds facts about services (ports, replicas, flags, deploy
//! days, owners, timeouts, Python versions, databases, log retention, CI)
//! written in several phrasings, exact copies with Markdown noise, values
//! that changed over time (with and without update cues, sometimes twice),
//! look-alike facts about other services and environments, and unrelated
//! notes. Sessions hold ordinary work (tool calls with multi-line output,
//! facts mentioned in passing), recurring and one-off tool errors, recurring
//! and one-off user corrections, and preferences stated by several users and
//! by a single one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use dreamwork::dream::DreamOutput;
use dreamwork::report::{Action, PatternKind};
use dreamwork::session::{Role, Session, SessionFormat, SessionId, ToolCall, ToolResult, Turn};
use dreamwork::{Memory, MemoryPath, Timestamp};

/// SplitMix64: a small, seeded, portable generator.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

/// What a memory states, per the generator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// The subject and attribute (`port|staging|billing`); unique per fact.
    pub fact: String,
    /// The value stated.
    pub value: String,
}

/// A pattern planted in the sessions.
#[derive(Debug, Clone)]
pub struct PlantedPattern {
    pub kind: PatternKind,
    /// Text that a pattern memory about it must contain (case-insensitive).
    pub marker: String,
    pub sessions: BTreeSet<SessionId>,
    /// Whether it should be surfaced (recurring / shared) or not (one-off /
    /// one person's).
    pub should_surface: bool,
}

/// The generated corpus.
pub struct Corpus {
    pub memories: Vec<Memory>,
    pub sessions: Vec<Session>,
    /// Label of every input memory, by path.
    pub labels: BTreeMap<MemoryPath, Label>,
    /// The current value of every fact.
    pub current: BTreeMap<String, String>,
    pub patterns: Vec<PlantedPattern>,
}

/// Size of a corpus.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub seed: u64,
    /// Distinct facts (the store gets about 1.6 memories per fact).
    pub facts: usize,
    pub sessions: usize,
    /// Work in each session (tool calls, file reads, notes): 1 gives
    /// 15–45 blocks, about 9k tokens a session; k gives k times as many.
    pub session_scale: usize,
}

const DAY: i64 = 86_400_000;
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

const SERVICES: &[&str] = &[
    "billing",
    "search",
    "auth",
    "payments",
    "notifications",
    "gateway",
    "ledger",
    "analytics",
    "checkout",
    "inventory",
    "shipping",
    "catalog",
    "profiles",
    "media",
    "reports",
    "scheduler",
    "mailer",
    "webhooks",
    "exports",
    "pricing",
    "reviews",
    "recommendations",
    "onboarding",
    "audit",
];
const SYLLABLES: &[&str] =
    &["bar", "ko", "lin", "zen", "tor", "mi", "sa", "vel", "dra", "qu", "po", "ne", "ri", "fa", "lo", "ca"];
const ENVS: &[&str] = &["staging", "production", "sandbox"];
const PEOPLE: &[&str] = &[
    "Priya", "Marcus", "Lena", "Tomas", "Aiko", "Femi", "Sofia", "Jonas", "Mei", "Rafael", "Ingrid", "Kwame",
    "Noor", "Diego", "Hana", "Oskar",
];
const DAYS: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];
const DATABASES: &[&str] =
    &["Postgres", "MySQL", "SQLite", "MongoDB", "DynamoDB", "Cassandra", "CockroachDB"];
const CIS: &[&str] = &["Buildkite", "Jenkins", "CircleCI", "Drone", "TeamCity"];
const PYTHONS: &[&str] = &["3.9", "3.10", "3.11", "3.12", "3.13"];
const TIMEOUTS: &[&str] = &["5", "10", "15", "20", "30", "45", "60", "90", "120"];
const RETENTION: &[&str] = &["7", "14", "30", "60", "90", "180"];
const FLAG_SUFFIX: &[&str] = &["beta", "v2", "canary", "dark-launch"];
const AUTHORS: &[&str] = &["alice", "bob", "carol", "dave", "erin", "frank"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Attr {
    Port,
    Replicas,
    Flag,
    Deploy,
    Owner,
    Timeout,
    Python,
    Database,
    Retention,
    Ci,
}

const ATTRS: &[Attr] = &[
    Attr::Port,
    Attr::Replicas,
    Attr::Flag,
    Attr::Deploy,
    Attr::Owner,
    Attr::Timeout,
    Attr::Python,
    Attr::Database,
    Attr::Retention,
    Attr::Ci,
];

impl Attr {
    fn name(self) -> &'static str {
        match self {
            Attr::Port => "port",
            Attr::Replicas => "replicas",
            Attr::Flag => "flag",
            Attr::Deploy => "deploy",
            Attr::Owner => "owner",
            Attr::Timeout => "timeout",
            Attr::Python => "python",
            Attr::Database => "database",
            Attr::Retention => "retention",
            Attr::Ci => "ci",
        }
    }
    fn has_env(self) -> bool {
        matches!(self, Attr::Port | Attr::Replicas | Attr::Flag)
    }
    fn value(self, rng: &mut Rng) -> String {
        match self {
            Attr::Port => (1024 + rng.below(60_000)).to_string(),
            Attr::Replicas => (2 + rng.below(14)).to_string(),
            Attr::Flag => if rng.chance(50) { "enabled" } else { "disabled" }.to_owned(),
            Attr::Deploy => rng.pick(DAYS).to_string(),
            Attr::Owner => rng.pick(PEOPLE).to_string(),
            Attr::Timeout => rng.pick(TIMEOUTS).to_string(),
            Attr::Python => rng.pick(PYTHONS).to_string(),
            Attr::Database => rng.pick(DATABASES).to_string(),
            Attr::Retention => rng.pick(RETENTION).to_string(),
            Attr::Ci => rng.pick(CIS).to_string(),
        }
    }
    /// Plain statements: `{s}` subject, `{e}` environment, `{v}` value.
    fn templates(self) -> &'static [&'static str] {
        match self {
            Attr::Port => &[
                "The {e} {s} service listens on port {v}.",
                "{s} ({e}) port: {v}",
                "In {e}, {s} runs on port {v}.",
            ],
            Attr::Replicas => &[
                "{s} runs {v} replicas in {e}.",
                "Replica count for {s} in {e}: {v}",
                "The {e} {s} deployment is scaled to {v} replicas.",
            ],
            Attr::Flag => {
                &["The {s} feature flag is {v} in {e}.", "{s} flag ({e}): {v}", "In {e} the {s} flag is {v}."]
            }
            Attr::Deploy => &["{s} deploys on {v}s.", "We ship {s} every {v}.", "Deploy day for {s}: {v}"],
            Attr::Owner => &["{s} is owned by {v}.", "Owner of {s}: {v}", "{s} is maintained by {v}'s team."],
            Attr::Timeout => &[
                "{s} request timeout is {v} seconds.",
                "Request timeout for {s}: {v}s",
                "Requests to {s} time out after {v} seconds.",
            ],
            Attr::Python => {
                &["{s} runs on Python {v}.", "Python version for {s}: {v}", "{s} is built with Python {v}."]
            }
            Attr::Database => {
                &["{s} stores its data in {v}.", "{s} uses {v} as its database.", "Database for {s}: {v}"]
            }
            Attr::Retention => &[
                "{s} keeps logs for {v} days.",
                "Log retention for {s}: {v} days",
                "Logs of {s} are kept for {v} days.",
            ],
            Attr::Ci => &["{s} CI runs on {v}.", "CI for {s}: {v}", "{s} is built and tested on {v} in CI."],
        }
    }
    /// Update statements: `{o}` old value, `{v}` new value.
    fn cue_templates(self) -> &'static [&'static str] {
        match self {
            Attr::Port => &[
                "The {e} {s} port changed from {o} to {v}.",
                "{s} in {e} now listens on port {v} (was {o}).",
            ],
            Attr::Replicas => {
                &["{s} in {e} was scaled from {o} to {v} replicas.", "{s} now runs {v} replicas in {e}."]
            }
            Attr::Flag => &["The {s} feature flag is now {v} in {e}.", "{s} flag ({e}) switched to {v}."],
            Attr::Deploy => {
                &["{s} deploys moved from {o}s to {v}s.", "{s} now deploys on {v}s instead of {o}s."]
            }
            Attr::Owner => &["Ownership of {s} moved from {o} to {v}.", "{s} is now owned by {v}."],
            Attr::Timeout => &[
                "{s} request timeout changed from {o} to {v} seconds.",
                "{s} request timeout is now {v} seconds.",
            ],
            Attr::Python => &["{s} was upgraded from Python {o} to {v}.", "{s} now runs on Python {v}."],
            Attr::Database => {
                &["{s} moved from {o} to {v}.", "{s} now stores its data in {v} instead of {o}."]
            }
            Attr::Retention => {
                &["{s} log retention changed from {o} to {v} days.", "{s} now keeps logs for {v} days."]
            }
            Attr::Ci => &["{s} CI switched from {o} to {v}.", "{s} CI now runs on {v}."],
        }
    }
}

fn fill(t: &str, s: &str, e: &str, v: &str, o: &str) -> String {
    let mut out = t.replace("{s}", s).replace("{e}", e).replace("{v}", v).replace("{o}", o);
    if let Some(first) = out.chars().next()
        && first.is_lowercase()
        && !t.starts_with("{s}")
    {
        out = first.to_uppercase().collect::<String>() + &out[first.len_utf8()..];
    }
    out
}

/// Markdown noise that leaves the text the same for a reader.
fn noisy_copy(text: &str, rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => format!("**{}**", text.trim_end_matches('.')),
        1 => format!("- {text}"),
        2 => format!("# Note\n\n{}", text.to_uppercase()),
        _ => format!("  {}  \n", text.replace(' ', "  ")),
    }
}

struct Fact {
    attr: Attr,
    subject: String,
    env: &'static str,
}

impl Fact {
    fn key(&self) -> String {
        format!("{}|{}|{}", self.attr.name(), self.env, self.subject)
    }
    fn subject_word(&self) -> String {
        match self.attr {
            Attr::Flag => format!("{}-{}", self.subject, FLAG_SUFFIX[self.subject.len() % FLAG_SUFFIX.len()]),
            _ => self.subject.clone(),
        }
    }
    fn text(&self, template: &str, value: &str, old: &str) -> String {
        fill(template, &self.subject_word(), self.env, value, old)
    }
}

fn subjects(rng: &mut Rng, wanted: usize) -> Vec<String> {
    let mut names: Vec<String> = SERVICES.iter().map(|s| s.to_string()).collect();
    let mut seen: BTreeSet<String> = names.iter().cloned().collect();
    while names.len() < wanted {
        let n = 2 + rng.below(2);
        let name: String = (0..n).map(|_| *rng.pick(SYLLABLES)).collect();
        if seen.insert(name.clone()) {
            names.push(name);
        }
    }
    names
}

struct Builder {
    rng: Rng,
    memories: Vec<Memory>,
    labels: BTreeMap<MemoryPath, Label>,
    paths: BTreeSet<String>,
}

impl Builder {
    fn add(&mut self, path: String, content: String, created: i64, updated: i64, label: Label) {
        let mut path = path;
        let mut n = 2;
        while self.paths.contains(&path) {
            path =
                format!("{}-{n}.md", path.trim_end_matches(".md").trim_end_matches(&format!("-{}", n - 1)));
            n += 1;
        }
        self.paths.insert(path.clone());
        let p = MemoryPath::new(&path).expect("generated paths are valid");
        let mut m = Memory::new(p.clone(), content, Timestamp(created));
        m.updated_at = Timestamp(updated.max(created));
        self.labels.insert(p, label);
        self.memories.push(m);
    }
}

/// Generates a corpus.
pub fn generate(spec: Spec) -> Corpus {
    let mut rng = Rng::new(spec.seed);
    // Enough subjects for the facts wanted: about 16 keys per subject.
    let names = subjects(&mut rng, spec.facts / 12 + 8);
    let mut keys: Vec<(usize, Attr, &'static str)> = Vec::new();
    for (si, _) in names.iter().enumerate() {
        for &attr in ATTRS {
            if attr.has_env() {
                for env in ENVS {
                    keys.push((si, attr, env));
                }
            } else {
                keys.push((si, attr, "-"));
            }
        }
    }
    rng.shuffle(&mut keys);
    keys.truncate(spec.facts);
    keys.sort();
    let mut b = Builder {
        rng: Rng::new(spec.seed ^ 0x5eed),
        memories: Vec::new(),
        labels: BTreeMap::new(),
        paths: BTreeSet::new(),
    };
    let mut current = BTreeMap::new();
    let mut mentions: Vec<String> = Vec::new();
    for (si, attr, env) in keys {
        let fact = Fact { attr, subject: names[si].clone(), env };
        let key = fact.key();
        let rng = &mut b.rng;
        let created = T0 + rng.below(60) as i64 * DAY + rng.below(DAY as usize) as i64;
        let base_path = if attr.has_env() {
            format!("/services/{}/{}-{}.md", fact.subject, attr.name(), env)
        } else {
            format!("/services/{}/{}.md", fact.subject, attr.name())
        };
        let templates = attr.templates();
        let t0 = rng.below(templates.len());
        let mut value = attr.value(rng);
        let first = fact.text(templates[t0], &value, "");
        let label = |v: &str| Label { fact: key.clone(), value: v.to_owned() };
        b.add(base_path.clone(), first.clone(), created, created, label(&value));
        // Paraphrase in another template (written before any change).
        if b.rng.chance(25) {
            let t = (t0 + 1 + b.rng.below(templates.len() - 1)) % templates.len();
            let at = created + b.rng.below(5) as i64 * DAY + 1;
            let text = fact.text(templates[t], &value, "");
            b.add(format!("/notes/{}-{}.md", fact.subject, attr.name()), text, at, at, label(&value));
        }
        // Exact copy with Markdown noise.
        if b.rng.chance(15) {
            let at = created + b.rng.below(5) as i64 * DAY + 2;
            let text = noisy_copy(&first, &mut b.rng);
            b.add(format!("/inbox/{}-{}.md", fact.subject, attr.name()), text, at, at, label(&value));
        }
        // Value changes over time, with or without an update cue.
        let changes = if b.rng.chance(22) { if b.rng.chance(20) { 2 } else { 1 } } else { 0 };
        let mut at = created + 5 * DAY;
        for c in 0..changes {
            let mut new = attr.value(&mut b.rng);
            while new == value {
                new = attr.value(&mut b.rng);
            }
            at += (5 + b.rng.below(40) as i64) * DAY;
            let with_cue = b.rng.chance(50);
            let text = if with_cue {
                let cue: &str = b.rng.pick::<&str>(attr.cue_templates());
                fact.text(cue, &new, &value)
            } else {
                fact.text(templates[b.rng.below(templates.len())], &new, "")
            };
            b.add(format!("/updates/{}-{}-{c}.md", fact.subject, attr.name()), text, at, at, label(&new));
            value = new;
        }
        mentions.push(fact.text(templates[t0], &value, ""));
        current.insert(key, value);
    }
    // Unrelated notes.
    for (i, note) in NOTES.iter().enumerate().take(spec.facts / 10 + 3) {
        let at = T0 + (i as i64 + 1) * DAY;
        let key = format!("note|{i}");
        b.add(
            format!("/team/note-{i}.md"),
            (*note).to_owned(),
            at,
            at,
            Label { fact: key.clone(), value: String::new() },
        );
        current.insert(key, String::new());
    }
    let (sessions, patterns) = sessions(spec, &mentions);
    Corpus { memories: b.memories, sessions, labels: b.labels, current, patterns }
}

const NOTES: &[&str] = &[
    "Rotate the API keys every quarter; the calendar reminder is in the team calendar.",
    "The design review happens in the Thursday architecture sync.",
    "Incident write-ups go into the postmortems folder within five working days.",
    "Use feature branches named after the ticket, like ABC-123-short-title.",
    "Customer data must never leave the EU region.",
    "The load tests run against the perf cluster, never against production.",
    "Release notes are drafted by whoever is on call that week.",
    "Screenshots in docs should use the light theme.",
    "Dependabot pull requests are merged by the on-call engineer on Mondays.",
    "The shared test account password lives in the team vault, not in the repository.",
    "Cost alerts are sent to the finops channel when a service exceeds its budget by 20 percent.",
    "New services need a runbook before their first production deploy.",
    "Database migrations are reviewed by two people.",
    "The mobile team owns the push notification templates.",
    "Every public endpoint needs rate limiting configured at the gateway.",
    "Integration tests must clean up the resources they create.",
];

struct Planted {
    kind: PatternKind,
    marker: &'static str,
    surface: bool,
    /// Turns to insert in one session; `variant` picks a phrasing, `k` varies values.
    make: fn(variant: usize, k: usize, author: &str) -> Vec<Turn>,
}

fn turn(role: Role, author: Option<&str>, text: &str) -> Turn {
    Turn {
        role,
        author: author.map(str::to_owned),
        text: text.to_owned(),
        tool_calls: vec![],
        tool_results: vec![],
        timestamp: None,
        sidechain: false,
    }
}

fn tool_exchange(id: &str, tool: &str, input: &str, output: &str, is_error: bool) -> Vec<Turn> {
    let mut call = turn(Role::Assistant, None, "");
    call.tool_calls.push(ToolCall {
        id: Some(id.to_owned()),
        name: tool.to_owned(),
        input: input.to_owned(),
    });
    let mut result = turn(Role::User, None, "");
    result.tool_results.push(ToolResult {
        call_id: Some(id.to_owned()),
        content: output.to_owned(),
        is_error,
    });
    vec![call, result]
}

fn fail_then_fix(
    k: usize,
    tool: &str,
    bad: &str,
    err: &str,
    fix_tool: &str,
    fix: &str,
    out: &str,
) -> Vec<Turn> {
    [
        tool_exchange(&format!("e{k}"), tool, bad, err, true),
        tool_exchange(&format!("f{k}"), fix_tool, fix, out, false),
    ]
    .concat()
}

fn said(text: &str, author: &str) -> Vec<Turn> {
    vec![turn(Role::User, Some(author), text), turn(Role::Assistant, None, "Understood, I will do that.")]
}

const PLANTED: &[Planted] = &[
    Planted {
        kind: PatternKind::RecurringMistake,
        marker: "Missing script",
        surface: true,
        make: |_, k, _| {
            fail_then_fix(
                k,
                "Bash",
                "{\"command\":\"npm run test:unit\"}",
                "npm ERR! Missing script: \"test:unit\"",
                "Bash",
                "{\"command\":\"pnpm test\"}",
                "PASS 42 tests",
            )
        },
    },
    Planted {
        kind: PatternKind::RecurringMistake,
        marker: "ENOENT",
        surface: true,
        make: |_, k, a| {
            let path = format!("/home/{a}/work/app/config/settings-{k}.json");
            fail_then_fix(
                k,
                "Read",
                &format!("{{\"file_path\":\"{path}\"}}"),
                &format!("ENOENT: no such file or directory, open '{path}'"),
                "Read",
                "{\"file_path\":\"config/settings.example.json\"}",
                "{\n  \"debug\": false\n}",
            )
        },
    },
    Planted {
        kind: PatternKind::RecurringMistake,
        marker: "Connection refused",
        surface: true,
        make: |_, k, _| {
            let port = 5400 + k % 90;
            fail_then_fix(
                k,
                "Bash",
                &format!("{{\"command\":\"psql -h localhost -p {port}\"}}"),
                &format!(
                    "psql: error: connection to server at \"localhost\" (127.0.0.1), port {port} failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?"
                ),
                "Bash",
                "{\"command\":\"docker compose up -d db && psql -h localhost\"}",
                "psql (16.2)",
            )
        },
    },
    Planted {
        kind: PatternKind::RecurringMistake,
        marker: "E0433",
        surface: true,
        make: |_, k, _| {
            let m = ["serde_yaml", "chrono", "regex", "anyhow"][k % 4];
            fail_then_fix(
                k,
                "Bash",
                "{\"command\":\"cargo test\"}",
                &format!("error[E0433]: failed to resolve: use of undeclared crate or module `{m}`"),
                "Bash",
                &format!("{{\"command\":\"cargo add {m} && cargo test\"}}"),
                "test result: ok. 12 passed",
            )
        },
    },
    Planted {
        kind: PatternKind::RecurringMistake,
        marker: "failed to push",
        surface: true,
        make: |_, k, _| {
            fail_then_fix(
                k,
                "Bash",
                &format!("{{\"command\":\"git push origin feature-{k}\"}}"),
                &format!(
                    "error: failed to push some refs to 'github.com:acme/service-{k}.git'\nhint: Updates were rejected because the remote contains work that you do not have locally."
                ),
                "Bash",
                "{\"command\":\"git pull --rebase && git push\"}",
                "Everything up-to-date",
            )
        },
    },
    Planted {
        kind: PatternKind::RecurringMistake,
        marker: "already allocated",
        surface: true,
        make: |_, k, _| {
            let port = 8000 + k % 100;
            fail_then_fix(
                k,
                "Bash",
                "{\"command\":\"docker compose up\"}",
                &format!(
                    "Error response from daemon: driver failed programming external connectivity: Bind for 0.0.0.0:{port} failed: port is already allocated"
                ),
                "Bash",
                "{\"command\":\"docker compose down && docker compose up\"}",
                "Started",
            )
        },
    },
    Planted {
        kind: PatternKind::RecurringMistake,
        marker: "pnpm",
        surface: true,
        make: |v, _, a| {
            said(
                ["No, use pnpm, not npm.", "Don't use npm here, we use pnpm.", "No - pnpm, not npm, please."]
                    [v % 3],
                a,
            )
        },
    },
    Planted {
        kind: PatternKind::RecurringMistake,
        marker: "main",
        surface: true,
        make: |v, _, a| {
            said(
                [
                    "Don't push directly to main, open a pull request.",
                    "No, never commit straight to main; open a pull request instead.",
                    "Stop pushing to main, open a pull request.",
                ][v % 3],
                a,
            )
        },
    },
    Planted {
        kind: PatternKind::RecurringMistake,
        marker: "comment",
        surface: true,
        make: |v, _, a| {
            said(
                [
                    "Stop adding a comment to every line.",
                    "No, don't comment every line.",
                    "Please don't add comments on every line.",
                ][v % 3],
                a,
            )
        },
    },
    Planted {
        kind: PatternKind::SharedPreference,
        marker: "tabs",
        surface: true,
        make: |v, _, a| {
            said(
                [
                    "I prefer tabs for indentation.",
                    "We like tabs for indentation, not spaces.",
                    "Please always use tabs for indentation.",
                ][v % 3],
                a,
            )
        },
    },
    Planted {
        kind: PatternKind::SharedPreference,
        marker: "conventional commit",
        surface: true,
        make: |v, _, a| {
            said(
                [
                    "Please use conventional commit messages.",
                    "I prefer conventional commit messages, like feat: and fix:.",
                    "We always write conventional commit messages.",
                ][v % 3],
                a,
            )
        },
    },
    Planted {
        kind: PatternKind::SharedPreference,
        marker: "small pull requests",
        surface: true,
        make: |v, _, a| {
            said(
                [
                    "I prefer small pull requests, under 300 lines.",
                    "We like small pull requests that are easy to review.",
                    "Please keep pull requests small.",
                ][v % 3],
                a,
            )
        },
    },
    Planted {
        kind: PatternKind::SharedPreference,
        marker: "British spelling",
        surface: true,
        make: |v, _, a| {
            said(
                ["Please use British spelling in the docs.", "We prefer British spelling in docs."][v % 2],
                a,
            )
        },
    },
    // Preferences of one person only: never surfaced as shared.
    Planted {
        kind: PatternKind::SharedPreference,
        marker: "dark theme",
        surface: false,
        make: |_, _, a| said("I prefer the dark theme for terminal screenshots.", a),
    },
    Planted {
        kind: PatternKind::SharedPreference,
        marker: "vim keybindings",
        surface: false,
        make: |_, _, a| said("I like vim keybindings in the editor config examples.", a),
    },
];

const ONE_OFF_ERRORS: &[(&str, &str)] = &[
    ("Bash", "Segmentation fault (core dumped)"),
    ("Bash", "fatal: not a git repository (or any of the parent directories): .git"),
    ("Bash", "Killed: out of memory"),
    ("WebFetch", "SSL certificate problem: certificate has expired"),
    ("Bash", "Error: Error acquiring the state lock"),
    ("Read", "EISDIR: illegal operation on a directory"),
    ("Bash", "ModuleNotFoundError: No module named 'pandas'"),
    ("Bash", "Permission denied (publickey)."),
    ("Bash", "E: Unable to locate package libfoo-dev"),
    ("Grep", "regex parse error: unclosed group"),
    ("Bash", "rsync: connection unexpectedly closed"),
    ("Write", "File has been modified since read"),
];
const ONE_OFF_CORRECTIONS: &[&str] = &[
    "No, the retro is on Thursday this week.",
    "Actually, call the module ledger_sync, not sync.",
    "Wrong ticket, I meant the one about invoices.",
    "No, leave the changelog alone for now.",
];

const REQUESTS: &[&str] = &[
    "Can you look into why the {s} build is slow?",
    "Please check the failing {s} tests.",
    "Could you update the {s} README with the new setup steps?",
    "Investigate the latency spike on {s} from last night.",
    "Add a health check endpoint to {s}.",
    "Can you review the open changes to {s}?",
];

fn sessions(spec: Spec, mentions: &[String]) -> (Vec<Session>, Vec<PlantedPattern>) {
    let mut rng = Rng::new(spec.seed ^ 0x5e55_1085);
    let n = spec.sessions.max(2);
    let authors: Vec<&str> = (0..n).map(|_| *rng.pick(AUTHORS)).collect();
    let mut inserts: Vec<Vec<(usize, Vec<Turn>)>> = vec![Vec::new(); n];
    let mut planted_sessions: Vec<BTreeSet<usize>> = Vec::new();
    let mut planted_meta: Vec<(PatternKind, String, bool)> = Vec::new();
    for (pi, p) in PLANTED.iter().enumerate() {
        let chosen: BTreeSet<usize> = if p.surface {
            let k = 2 + rng.below(4).min(n - 2);
            let mut set = BTreeSet::new();
            let first = rng.below(n);
            set.insert(first);
            // Shared preferences: at least two different authors.
            let other = (0..n)
                .map(|i| (first + 1 + i) % n)
                .find(|&i| authors[i] != authors[first])
                .unwrap_or((first + 1) % n);
            set.insert(other);
            while set.len() < k.min(n) {
                set.insert(rng.below(n));
            }
            set
        } else {
            // One person, several sessions of theirs.
            let who = authors[rng.below(n)];
            let theirs: Vec<usize> = (0..n).filter(|&i| authors[i] == who).collect();
            theirs.into_iter().take(3).collect()
        };
        for (v, &s) in chosen.iter().enumerate() {
            let k = pi * 1000 + s;
            inserts[s].push((pi, (p.make)(v + rng.below(3), k, authors[s])));
        }
        planted_sessions.push(chosen);
        planted_meta.push((p.kind, p.marker.to_owned(), p.surface));
    }
    for (i, (tool, err)) in ONE_OFF_ERRORS.iter().enumerate() {
        let s = rng.below(n);
        inserts[s].push((100 + i, tool_exchange(&format!("o{i}"), tool, "{\"command\":\"run\"}", err, true)));
        planted_sessions.push(BTreeSet::from([s]));
        planted_meta.push((PatternKind::RecurringMistake, err.to_string(), false));
    }
    for (i, text) in ONE_OFF_CORRECTIONS.iter().enumerate() {
        let s = rng.below(n);
        inserts[s].push((200 + i, said(text, authors[s])));
        planted_sessions.push(BTreeSet::from([s]));
        planted_meta.push((PatternKind::RecurringMistake, text.to_string(), false));
    }
    let mut out = Vec::with_capacity(n);
    for s in 0..n {
        let author = authors[s];
        let svc = rng.pick(SERVICES);
        let mut turns = vec![turn(Role::User, Some(author), &rng.pick(REQUESTS).replace("{s}", svc))];
        let blocks = (15 + rng.below(30)) * spec.session_scale.max(1);
        let mut planted = std::mem::take(&mut inserts[s]);
        planted.sort_by_key(|(pi, _)| *pi);
        let mut planted = planted.into_iter();
        for b in 0..blocks {
            match rng.below(3) {
                0 => {
                    let out: String = (0..5 + rng.below(25))
                        .map(|l| {
                            format!("src/{svc}/module_{l}.rs:{}: ok ({} ms)\n", rng.below(400), rng.below(90))
                        })
                        .collect();
                    turns.extend(tool_exchange(
                        &format!("t{b}"),
                        "Bash",
                        &format!("{{\"command\":\"make check SERVICE={svc}\"}}"),
                        &out,
                        false,
                    ));
                }
                1 if !mentions.is_empty() => {
                    let fact = &mentions[rng.below(mentions.len())];
                    turns.push(turn(
                        Role::Assistant,
                        None,
                        &format!("For reference: {fact} I will keep that in mind while working on {svc}."),
                    ));
                }
                _ => {
                    let body: String = (0..10 + rng.below(60))
                        .map(|l| format!("    let value_{l} = compute_{l}(input, {})?;\n", rng.below(1000)))
                        .collect();
                    turns.extend(tool_exchange(
                        &format!("r{b}"),
                        "Read",
                        &format!("{{\"file_path\":\"src/{svc}/lib.rs\"}}"),
                        &format!("fn handler() {{\n{body}}}"),
                        false,
                    ));
                    turns.push(turn(
                        Role::Assistant,
                        None,
                        &format!("I read the {svc} handler; the change belongs in the validation step."),
                    ));
                }
            }
            if rng.chance(45)
                && let Some((_, extra)) = planted.next()
            {
                turns.extend(extra);
            }
        }
        for (_, extra) in planted {
            turns.extend(extra);
        }
        turns.push(turn(Role::Assistant, None, "Done. The change is ready for review."));
        let start = T0 + (s as i64 * 90 * DAY) / n as i64 + rng.below(DAY as usize) as i64;
        for (i, t) in turns.iter_mut().enumerate() {
            t.timestamp = Some(Timestamp(start + i as i64 * 30_000));
        }
        out.push(Session::new(
            SessionFormat::ClaudeCode,
            Some(format!("session-{s:04}")),
            Some(format!("/work/{svc}")),
            turns,
        ));
    }
    let patterns = planted_meta
        .into_iter()
        .zip(planted_sessions)
        .map(|((kind, marker, should_surface), set)| PlantedPattern {
            kind,
            marker,
            sessions: set.into_iter().map(|i| out[i].id).collect(),
            should_surface,
        })
        .collect();
    (out, patterns)
}

/// How a dream did against the truth.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    pub memories_in: usize,
    pub memories_out: usize,
    pub sessions: usize,
    pub dup_pairs: usize,
    pub dup_pairs_found: usize,
    /// Duplicate pairs merged, or asked about together in one open cluster.
    pub dup_pairs_merged_or_asked: usize,
    pub merged_pairs: usize,
    pub merged_pairs_same_fact: usize,
    pub lookalike_merges: usize,
    pub stale: usize,
    pub stale_standing: usize,
    pub stale_flagged: usize,
    pub facts: usize,
    pub facts_lost: usize,
    pub unresolved_clusters: usize,
    pub patterns_wanted: usize,
    pub patterns_found: usize,
    pub mistakes_wanted: usize,
    pub mistakes_found: usize,
    pub preferences_wanted: usize,
    pub preferences_found: usize,
    pub not_wanted_surfaced: usize,
    pub spurious_patterns: usize,
    /// Pattern memories restating a planted pattern another memory already states.
    pub patterns_twice: usize,
    /// Planted patterns to surface that were found or are asked about.
    pub patterns_found_or_asked: usize,
    /// `pattern` questions left open (with the local resolver: all asked).
    pub pattern_questions: usize,
    /// Tokens of those questions, each sent alone in the wire form.
    pub pattern_question_tokens: u64,
    pub naive: u64,
    pub sent: u64,
}

impl Scores {
    pub fn dup_merged_or_asked(&self) -> f64 {
        ratio(self.dup_pairs_merged_or_asked, self.dup_pairs)
    }

    pub fn dup_recall(&self) -> f64 {
        ratio(self.dup_pairs_found, self.dup_pairs)
    }
    pub fn merge_precision(&self) -> f64 {
        ratio(self.merged_pairs_same_fact, self.merged_pairs)
    }
    pub fn mistake_recall(&self) -> f64 {
        ratio(self.mistakes_found, self.mistakes_wanted)
    }
    pub fn preference_recall(&self) -> f64 {
        ratio(self.preferences_found, self.preferences_wanted)
    }
    pub fn token_ratio(&self) -> f64 {
        if self.sent == 0 { f64::INFINITY } else { self.naive as f64 / self.sent as f64 }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

impl fmt::Display for Scores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "| metric | value | target |")?;
        writeln!(f, "|---|---:|---|")?;
        writeln!(
            f,
            "| memories in / out, sessions | {} / {}, {} | |",
            self.memories_in, self.memories_out, self.sessions
        )?;
        writeln!(
            f,
            "| duplicate pairs merged on the device | {:.3} ({}/{}) | |",
            self.dup_recall(),
            self.dup_pairs_found,
            self.dup_pairs
        )?;
        writeln!(
            f,
            "| duplicate pairs merged or asked | {:.3} ({}/{}) | ≥ 0.95 |",
            self.dup_merged_or_asked(),
            self.dup_pairs_merged_or_asked,
            self.dup_pairs
        )?;
        writeln!(
            f,
            "| merge precision (pairs folded together that share the fact) | {:.3} ({}/{}) | |",
            self.merge_precision(),
            self.merged_pairs_same_fact,
            self.merged_pairs
        )?;
        writeln!(f, "| look-alike merges | {} | 0 |", self.lookalike_merges)?;
        writeln!(
            f,
            "| stale facts left standing (unflagged) | {} of {} stale | 0 |",
            self.stale_standing, self.stale
        )?;
        writeln!(f, "| stale facts kept but flagged for review | {} | |", self.stale_flagged)?;
        writeln!(f, "| facts lost | {} of {} | 0 |", self.facts_lost, self.facts)?;
        writeln!(f, "| unresolved clusters | {} | |", self.unresolved_clusters)?;
        writeln!(
            f,
            "| recurring mistakes found | {:.2} ({}/{}) | ≥ 0.9 |",
            self.mistake_recall(),
            self.mistakes_found,
            self.mistakes_wanted
        )?;
        writeln!(
            f,
            "| shared preferences found | {:.2} ({}/{}) | ≥ 0.9 |",
            self.preference_recall(),
            self.preferences_found,
            self.preferences_wanted
        )?;
        writeln!(f, "| one-offs / single-person preferences surfaced | {} | 0 |", self.not_wanted_surfaced)?;
        writeln!(f, "| patterns matching nothing planted (false) | {} | 0 |", self.spurious_patterns)?;
        writeln!(f, "| patterns reported twice | {} | 0 |", self.patterns_twice)?;
        writeln!(
            f,
            "| patterns found or asked | {}/{} | all |",
            self.patterns_found_or_asked, self.patterns_wanted
        )?;
        writeln!(
            f,
            "| pattern questions left open, per true pattern | {:.2} ({}/{}) | ≤ 1.5 |",
            ratio(self.pattern_questions, self.patterns_wanted),
            self.pattern_questions,
            self.patterns_wanted
        )?;
        writeln!(
            f,
            "| tokens per pattern question | {:.0} | reported |",
            if self.pattern_questions == 0 {
                0.0
            } else {
                self.pattern_question_tokens as f64 / self.pattern_questions as f64
            }
        )?;
        writeln!(
            f,
            "| tokens naive / sent (cl100k_base) | {} / {} = {:.1}× | ≥ 3× |",
            self.naive,
            self.sent,
            self.token_ratio()
        )
    }
}

/// Scores a dream's output against the corpus' truth.
pub fn score(corpus: &Corpus, out: &DreamOutput) -> Scores {
    let report = &out.report;
    let mut s = Scores {
        memories_in: corpus.memories.len(),
        memories_out: out.memories.len(),
        sessions: corpus.sessions.len(),
        naive: report.tokens.naive,
        sent: report.tokens.sent,
        unresolved_clusters: report.unresolved.len(),
        ..Scores::default()
    };
    let labels = &corpus.labels;
    // Pairs that the truth says are the same statement.
    let mut by_statement: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for l in labels.values() {
        *by_statement.entry((l.fact.as_str(), l.value.as_str())).or_insert(0) += 1;
    }
    s.dup_pairs = by_statement.values().map(|&n| n * (n - 1) / 2).sum();
    let mut together: BTreeSet<(&MemoryPath, &MemoryPath)> = BTreeSet::new();
    for entry in report.memories.iter().filter(|e| e.action != Action::Pattern) {
        for (i, a) in entry.sources.iter().enumerate() {
            for b in &entry.sources[i + 1..] {
                together.insert((a, b));
            }
        }
    }
    let mut asked: BTreeSet<(&MemoryPath, &MemoryPath)> = BTreeSet::new();
    for u in &report.unresolved {
        for (i, a) in u.sources.iter().enumerate() {
            for b in &u.sources[i + 1..] {
                asked.insert((a.min(b), a.max(b)));
            }
        }
    }
    let mut paths_by_statement: BTreeMap<(&str, &str), Vec<&MemoryPath>> = BTreeMap::new();
    for (path, l) in labels {
        paths_by_statement.entry((l.fact.as_str(), l.value.as_str())).or_default().push(path);
    }
    for paths in paths_by_statement.values() {
        for (i, a) in paths.iter().enumerate() {
            for b in &paths[i + 1..] {
                let key = ((*a).min(*b), (*a).max(*b));
                let merged = together.contains(&key) || together.contains(&(key.1, key.0));
                if merged || asked.contains(&key) {
                    s.dup_pairs_merged_or_asked += 1;
                }
                if !merged && std::env::var_os("DREAMWORK_SCORE_VERBOSE").is_some() {
                    let text = |p: &MemoryPath| {
                        corpus.memories.iter().find(|m| &m.path == p).map(|m| m.content.as_str())
                    };
                    let how = if asked.contains(&key) { "asked" } else { "NOT ASKED" };
                    eprintln!("duplicate not merged ({how}): {:?} || {:?}", text(a), text(b));
                }
            }
        }
    }
    for (a, b) in &together {
        let (la, lb) = (&labels[*a], &labels[*b]);
        s.merged_pairs += 1;
        if la.fact == lb.fact {
            s.merged_pairs_same_fact += 1;
            if la.value == lb.value {
                s.dup_pairs_found += 1;
            }
        } else {
            s.lookalike_merges += 1;
        }
    }
    // What each output memory states: the label of an input with its text.
    let by_content: BTreeMap<&str, &Label> =
        corpus.memories.iter().map(|m| (m.content.as_str(), &labels[&m.path])).collect();
    let actions: BTreeMap<&MemoryPath, Action> =
        report.memories.iter().map(|e| (&e.path, e.action)).collect();
    let mut stated: BTreeSet<(&str, &str)> = BTreeSet::new();
    for m in &out.memories {
        let Some(label) = by_content.get(m.content.as_str()) else { continue };
        stated.insert((label.fact.as_str(), label.value.as_str()));
        if corpus.current.get(&label.fact).is_some_and(|v| v != &label.value) {
            s.stale += 1;
            if actions.get(&m.path) == Some(&Action::Unresolved) {
                s.stale_flagged += 1;
            } else {
                s.stale_standing += 1;
                if std::env::var_os("DREAMWORK_SCORE_VERBOSE").is_some() {
                    let entry = report.memories.iter().find(|e| e.path == m.path);
                    eprintln!("stale standing: {} {:?} ({:?})", m.path, m.content, entry.map(|e| &e.reason));
                }
            }
        }
    }
    s.facts = corpus.current.len();
    s.facts_lost = corpus.current.iter().filter(|(f, v)| !stated.contains(&(f.as_str(), v.as_str()))).count();
    // Patterns.
    let found: Vec<(&Memory, PatternKind, BTreeSet<String>)> = report
        .patterns
        .iter()
        .filter_map(|p| {
            let m = out.memories.iter().find(|m| m.path == p.path)?;
            Some((m, p.kind, p.session_hashes.iter().cloned().collect()))
        })
        .collect();
    let matches = |planted: &PlantedPattern,
                   (m, kind, sessions): &(&Memory, PatternKind, BTreeSet<String>)| {
        *kind == planted.kind
            && m.content.to_lowercase().contains(&planted.marker.to_lowercase())
            && planted.sessions.iter().filter(|id| sessions.contains(&id.to_string())).count() * 2
                >= planted.sessions.len()
    };
    // Each memory stands for the first planted pattern it states.
    let mut matched = vec![false; found.len()];
    let mut stated: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, f) in found.iter().enumerate() {
        if let Some(p) = corpus.patterns.iter().position(|p| matches(p, f)) {
            matched[i] = true;
            *stated.entry(p).or_default() += 1;
        }
    }
    s.patterns_twice = stated.values().map(|n| n - 1).sum();
    if std::env::var_os("DREAMWORK_SCORE_VERBOSE").is_some() {
        for ((m, kind, sessions), ok) in found.iter().zip(&matched) {
            if !ok {
                eprintln!(
                    "pattern matching nothing planted: {} {kind:?} {} sessions\n{}",
                    m.path,
                    sessions.len(),
                    m.content
                );
            }
        }
    }
    // The questions left open, by the sessions their excerpts quote.
    let names: BTreeMap<&str, String> = corpus
        .sessions
        .iter()
        .filter_map(|x| x.external_id.as_deref().map(|n| (n, x.id.to_string())))
        .collect();
    let open: Vec<&dreamwork::resolve::Question> =
        out.questions.iter().filter(|q| q.kind == dreamwork::resolve::QuestionKind::Pattern).collect();
    s.pattern_questions = open.len();
    for q in &open {
        let lines = dreamwork::resolve::wire::Encoder::new().encode(q);
        s.pattern_question_tokens +=
            dreamwork::dream::count_tokens(&dreamwork::resolve::wire::joined(&lines)).unwrap_or(0);
    }
    for (pi, planted) in corpus.patterns.iter().enumerate() {
        let hit = stated.contains_key(&pi);
        let asked = open.iter().any(|q| {
            let quoted: BTreeSet<&String> =
                q.excerpts.iter().filter_map(|e| names.get(e.session.as_str())).collect();
            planted.sessions.iter().filter(|id| quoted.contains(&id.to_string())).count() >= 2
        });
        if planted.should_surface && (hit || asked) {
            s.patterns_found_or_asked += 1;
        } else if planted.should_surface && std::env::var_os("DREAMWORK_SCORE_VERBOSE").is_some() {
            eprintln!("pattern neither found nor asked: {:?} {}", planted.kind, planted.marker);
        }
        match (planted.should_surface, planted.kind, hit) {
            (true, PatternKind::RecurringMistake, found) => {
                s.mistakes_wanted += 1;
                s.mistakes_found += usize::from(found);
            }
            (true, PatternKind::SharedPreference, found) => {
                s.preferences_wanted += 1;
                s.preferences_found += usize::from(found);
            }
            (false, _, true) => s.not_wanted_surfaced += 1,
            (false, _, false) => {}
            // A kind the corpus does not plant.
            (true, _, _) => {}
        }
    }
    s.patterns_wanted = s.mistakes_wanted + s.preferences_wanted;
    s.patterns_found = s.mistakes_found + s.preferences_found;
    s.spurious_patterns = matched.iter().filter(|m| !**m).count();
    s
}
