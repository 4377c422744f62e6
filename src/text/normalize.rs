//! Text normalisation shared by the stages: the exact-duplicate key, the
//! content tokens the lexical checks compare, and the signatures that keep
//! paths, ids, numbers and hashes from splitting recurring errors.
//!
//! Everything here is a pure function of its input text.

use std::collections::{BTreeMap, BTreeSet};

use unicode_normalization::UnicodeNormalization;

/// What a content token is, as far as telling subjects from values goes.
///
/// Values are the tokens whose change keeps the subject and changes the
/// fact (a port, a version, a day, a flag, a negation); plain words may name
/// the subject, so a change in them is treated as a different fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenClass {
    /// An ordinary word (it may name a subject or a value: undecided).
    Word,
    /// A number, possibly with a unit folded in (`5432`, `30s`, `2.5`).
    Number,
    /// A version or another digit-bearing code (`3.11`, `v2.4.1`, `node18`).
    Version,
    /// A day of the week or a month.
    Date,
    /// A boolean-like state (`true`, `enabled`, `off`...).
    Boolean,
    /// A negation (`not`, `never`, `no`...).
    Negation,
}

impl TokenClass {
    /// Whether a change in this token keeps the subject and changes the value.
    pub fn is_value(self) -> bool {
        !matches!(self, TokenClass::Word)
    }
}

/// A content token: normalised text and class. Stop words, filler verbs and
/// update cues never become content tokens.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token {
    /// Lower-cased, synonym-folded, lightly stemmed text.
    pub text: String,
    /// Its class.
    pub class: TokenClass,
}

/// The analysed text of a memory: its content tokens in order, and whether
/// it carries an explicit update cue ("moved from", "now", "no longer"...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysed {
    /// Content tokens in text order.
    pub tokens: Vec<Token>,
    /// The first update cue found, as written in the cue list.
    pub cue: Option<&'static str>,
    /// The change stated, old value then new: for "… from X to Y" the last
    /// content token of X and the first of Y; for "Y instead of X" the
    /// last of Y and the first of X.
    pub change: Option<(String, String)>,
    /// Whether a generic predicate word ("uses", "gets", "runs"...) was
    /// dropped: the text has a verb that its tokens do not show.
    pub has_filler: bool,
}

/// Words dropped before comparing: grammar, pronouns, and words that carry
/// neither a subject nor a value.
const STOP_WORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "being", "am", "of", "for", "to", "in", "on",
    "at", "by", "with", "and", "or", "it", "its", "this", "that", "these", "those", "we", "our", "us", "i",
    "my", "me", "you", "your", "they", "their", "there", "here", "as", "so", "has", "have", "had", "will",
    "would", "can", "could", "should", "must", "also", "just", "which", "who", "via", "into", "onto", "than",
    "then", "do", "does", "did", "when", "where", "what", "all", "any", "every", "each", "per", "up", "out",
    "about", "only", "still", "both", "from", "s", "e", "g", "ie", "eg", "etc",
];

/// Generic predicate words: "X uses Y", "X runs on Y", "X listens on Y"
/// say the same as "X: Y". Dropped before comparing.
#[rustfmt::skip]
const FILLER_WORDS: &[&str] = &[
    "use", "using", "used", "run", "running", "ran", "listen", "listening", "set", "configured",
    "configure", "located", "live", "living", "lives", "currently", "please", "note", "remember",
    "always", "default", "value", "setting", "happen", "happens", "get", "gets", "go", "goes", "take",
    "takes", "need", "needs", "should", "kept", "keep", "stored", "store", "sits", "sit", "point",
    "points", "talk", "talks", "count", "number", "deployment", "scaled", "scale", "size", "amount",
    "total", "current", "built", "tested", "called", "named", "known", "service", "team", "after",
    "day",
];

/// Update cues: wording that says a memory replaces an earlier state.
/// Single words are matched as tokens, pairs as consecutive tokens.
#[rustfmt::skip]
const CUE_WORDS: &[&str] = &[
    "now", "moved", "switched", "replaced", "migrated", "changed", "instead", "anymore", "nowadays", "updated",
    "upgraded", "downgraded", "bumped", "renamed", "rotated", "reassigned", "transferred",
];
const CUE_PAIRS: &[(&str, &str)] = &[("no", "longer"), ("as", "of"), ("from", "now")];

const NEGATIONS: &[&str] = &[
    "not", "no", "never", "none", "dont", "doesnt", "isnt", "arent", "wont", "cannot", "cant", "without",
    "nor",
];
const BOOLEANS: &[&str] = &[
    "true",
    "false",
    "yes",
    "enabled",
    "disabled",
    "enable",
    "disable",
    "off",
    "required",
    "optional",
    "allowed",
    "forbidden",
];
const DATES: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "weekday",
    "weekend",
    "daily",
    "weekly",
    "monthly",
    "nightly",
    "hourly",
];

/// Environment and region words: they qualify a subject ("the staging
/// port" and "the production port" are two facts), so a difference in one
/// of them always means a different subject.
#[rustfmt::skip]
const QUALIFIERS: &[&str] = &[
    "staging", "production", "sandbox", "development", "dev", "test", "testing", "qa", "uat", "preview",
    "local", "localhost", "canary", "demo", "perf", "internal", "external", "public", "private", "eu",
    "us", "emea", "apac", "primary", "secondary", "backup", "mobile", "web", "desktop", "ios",
    "android", "frontend", "backend", "client", "server",
];

/// Whether `word` (a content token) qualifies a subject (one of the qualifier words listed in this module).
pub fn is_qualifier(word: &str) -> bool {
    QUALIFIERS.contains(&word)
}

/// Abbreviations and spellings folded to one form before comparing.
const SYNONYMS: &[(&str, &str)] = &[
    ("db", "database"),
    ("dbs", "database"),
    ("data", "database"),
    ("datastore", "database"),
    ("prod", "production"),
    ("stage", "staging"),
    ("repo", "repository"),
    ("config", "configuration"),
    ("cfg", "configuration"),
    ("env", "environment"),
    ("k8s", "kubernetes"),
    ("postgresql", "postgres"),
    ("pg", "postgres"),
    ("js", "javascript"),
    ("ts", "typescript"),
    ("py", "python"),
    ("deps", "dependency"),
    ("dev", "development"),
    ("secs", "second"),
    ("sec", "second"),
    ("seconds", "second"),
    ("mins", "minute"),
    ("minutes", "minute"),
    ("hrs", "hour"),
    ("hours", "hour"),
    ("ms", "millisecond"),
    ("likes", "prefer"),
    ("like", "prefer"),
    ("prefers", "prefer"),
    ("preferred", "prefer"),
    ("wants", "prefer"),
    ("want", "prefer"),
    ("ship", "deploy"),
    ("ships", "deploy"),
    ("shipped", "deploy"),
    ("release", "deploy"),
    ("releases", "deploy"),
    ("released", "deploy"),
    ("deployed", "deploy"),
    ("owned", "owner"),
    ("owns", "owner"),
    ("own", "owner"),
    ("ownership", "owner"),
    ("maintainer", "owner"),
    ("maintained", "owner"),
    ("maintains", "owner"),
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("tues", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("thurs", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
    ("on-call", "oncall"),
    ("pr", "pull-request"),
    ("prs", "pull-request"),
];

/// Words that end in `s` without being plurals.
const NO_STEM: &[&str] = &[
    "postgres",
    "kubernetes",
    "always",
    "status",
    "alias",
    "canvas",
    "jenkins",
    "series",
    "news",
    "analytics",
    "towards",
    "whereas",
    "perhaps",
    "nodejs",
    "vitals",
    "aws",
    "gcs",
    "dns",
    "https",
    "its",
    "this",
    "has",
    "was",
    "does",
    "yes",
];

/// Units folded into a number token: `30s` and `30 seconds` both read `30second`.
const UNITS: &[(&str, &str)] = &[
    ("ms", "millisecond"),
    ("s", "second"),
    ("sec", "second"),
    ("second", "second"),
    ("m", "minute"),
    ("min", "minute"),
    ("minute", "minute"),
    ("h", "hour"),
    ("hour", "hour"),
    ("d", "day"),
    ("day", "day"),
    ("kb", "kb"),
    ("mb", "mb"),
    ("gb", "gb"),
    ("%", "%"),
    ("percent", "%"),
];

/// The key of stage 1: content with case, whitespace, Unicode form and
/// Markdown noise (headings, emphasis, code ticks, quotes, bullets, trailing
/// full stops) removed. Equal keys mean the same text for a reader.
pub fn exact_key(content: &str) -> String {
    let nfc: String = content.nfc().collect();
    let mut lines = Vec::new();
    for line in nfc.lines() {
        let marked: Vec<char> = line.chars().filter(|c| !matches!(c, '*' | '`' | '~')).collect();
        // `_` is emphasis around words but part of an identifier inside one
        // (`MAX_CONN` is not `MAXCONN`).
        let inner = |i: usize| {
            i > 0 && marked[i - 1].is_alphanumeric() && marked.get(i + 1).is_some_and(|c| c.is_alphanumeric())
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

/// Splits text into raw lower-case words, keeping the inner punctuation of
/// versions, hosts, paths and identifiers (`3.11`, `db-1.internal`,
/// `/var/log`, `max_connections`).
pub fn raw_words(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let keep_inner = matches!(c, '.' | '-' | '_' | '/' | ':' | '@' | '+')
            && !current.is_empty()
            && chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        if c.is_alphanumeric() || c == '%' || keep_inner {
            current.push(c);
        } else if c == '\'' || c == '\u{2019}' {
            // "don't" → "dont"; a possessive "'s" is dropped ("Marcus's" → "marcus").
            let possessive =
                chars.get(i + 1) == Some(&'s') && !chars.get(i + 2).is_some_and(|n| n.is_alphanumeric());
            if possessive && !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

fn fold_synonym(word: &str) -> &str {
    SYNONYMS.iter().find(|(from, _)| *from == word).map_or(word, |(_, to)| to)
}

/// Light stemming: plural `s`/`ies`, which is enough to equate
/// "deploys"/"deploy" and "Fridays"/"Friday".
fn stem(word: &str) -> String {
    if word.chars().any(|c| !c.is_alphabetic()) || word.len() <= 3 || NO_STEM.contains(&word) {
        return word.to_owned();
    }
    if let Some(base) = word.strip_suffix("ies") {
        return format!("{base}y");
    }
    if word.ends_with("ss") || word.ends_with("us") || word.ends_with("is") {
        return word.to_owned();
    }
    word.strip_suffix('s').map_or_else(|| word.to_owned(), str::to_owned)
}

fn classify(word: &str) -> TokenClass {
    if NEGATIONS.contains(&word) {
        TokenClass::Negation
    } else if BOOLEANS.contains(&word) {
        TokenClass::Boolean
    } else if DATES.contains(&word) {
        TokenClass::Date
    } else if word.chars().all(|c| c.is_ascii_digit() || matches!(c, ',' | '%'))
        || (word.chars().next().is_some_and(|c| c.is_ascii_digit())
            && UNITS.iter().any(|(_, u)| word.ends_with(u))
            && word
                .trim_end_matches(|c: char| c.is_alphabetic() || c == '%')
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.'))
    {
        TokenClass::Number
    } else if is_version(word) {
        TokenClass::Version
    } else {
        TokenClass::Word
    }
}

/// `3.11`, `v2.4.1`, `1.2.0-rc1`: digits first (or `v` then a digit).
/// Identifiers that merely contain digits (`s3`, `node18`, `billing-v2`)
/// are names, not versions.
fn is_version(word: &str) -> bool {
    let body = word.strip_prefix('v').unwrap_or(word);
    body.chars().next().is_some_and(|c| c.is_ascii_digit())
        && body.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
}

/// Splits `30s` into (`30`, `second`) when the tail is a known unit.
fn split_unit(word: &str) -> Option<(&str, &'static str)> {
    let digits_end = word.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    if digits_end == 0 {
        return None;
    }
    let (num, unit) = word.split_at(digits_end);
    UNITS.iter().find(|(u, _)| *u == unit).map(|(_, canon)| (num, *canon))
}

/// Analyses a text into content tokens and its update cue.
pub fn analyse(text: &str) -> Analysed {
    let words = raw_words(text);
    // "from X to Y" states a change whatever the verb ("scaled from 3 to 5");
    // so does "Y instead of X".
    let from_to = words.iter().enumerate().find_map(|(i, w)| {
        let to = words.iter().enumerate().skip(i + 2).take(4).find(|(_, t)| *t == "to").map(|(j, _)| j)?;
        (w == "from").then_some((i, to))
    });
    let instead_of = words.windows(2).position(|p| p[0] == "instead" && p[1] == "of");
    let last = |ws: &[String]| analyse_words(ws).0.pop().map(|t| t.text);
    let first = |ws: &[String]| analyse_words(ws).0.into_iter().next().map(|t| t.text);
    let change = match (from_to, instead_of) {
        (Some((i, j)), _) => last(&words[i + 1..j]).zip(first(&words[j + 1..])),
        (None, Some(k)) => first(&words[k + 2..]).zip(last(&words[..k])),
        (None, None) => None,
    };
    let (tokens, cue) = analyse_words(&words);
    let cue = cue.or(from_to.map(|_| "from … to"));
    let has_filler = words.iter().any(|w| {
        let folded = fold_synonym(w);
        FILLER_WORDS.contains(&folded) || FILLER_WORDS.contains(&stem(folded).as_str())
    });
    Analysed { tokens, cue, change, has_filler }
}

/// The new value a text says something changed to: the `Y` of "… from X
/// to Y" or "Y instead of X", or the first content token after "to" that
/// follows an update cue within a few words ("we switched the CI to
/// Jenkins"). `None` when the text states no change.
pub fn stated_target(text: &str) -> Option<String> {
    let analysed = analyse(text);
    if let Some((_, to)) = analysed.change {
        return Some(to);
    }
    let words = raw_words(text);
    let cue = words.iter().position(|w| CUE_WORDS.contains(&w.as_str()))?;
    let to = words.iter().enumerate().skip(cue + 1).take(8).find(|(_, w)| *w == "to").map(|(j, _)| j)?;
    analyse_words(&words[to + 1..]).0.into_iter().next().map(|t| t.text)
}

/// Content tokens and the first update cue of a run of raw words.
fn analyse_words(words: &[String]) -> (Vec<Token>, Option<&'static str>) {
    let mut cue = None;
    let mut skip_next = false;
    let mut tokens: Vec<Token> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if skip_next {
            skip_next = false;
            continue;
        }
        let next = words.get(i + 1).map(String::as_str);
        if let Some(pair) = CUE_PAIRS.iter().find(|(a, b)| *a == w.as_str() && Some(*b) == next) {
            cue = cue.or(Some(pair.0));
            // "no longer" also negates the old state: keep the negation.
            if pair.0 == "no" {
                tokens.push(Token { text: "not".into(), class: TokenClass::Negation });
            }
            skip_next = true;
            continue;
        }
        // "not only" / "not just" adds rather than negates ("not just a
        // good idea, an excellent one"): neither word is a token.
        if matches!(w.as_str(), "not" | "dont" | "doesnt" | "isnt")
            && matches!(next, Some("only" | "just" | "merely"))
        {
            skip_next = true;
            continue;
        }
        // "times out" / "time out" / "timed out" read "timeout".
        if matches!(w.as_str(), "time" | "times" | "timed") && next == Some("out") {
            tokens.push(Token { text: "timeout".into(), class: TokenClass::Word });
            skip_next = true;
            continue;
        }
        if let Some(c) = CUE_WORDS.iter().find(|c| **c == w.as_str()) {
            cue = cue.or(Some(*c));
            continue;
        }
        if let Some((num, unit)) = split_unit(w) {
            tokens.push(Token { text: format!("{num}{unit}"), class: TokenClass::Number });
            continue;
        }
        // "30 seconds": fold a following unit word into the number.
        if let Some(last) = tokens.last_mut()
            && last.class == TokenClass::Number
            && last.text.chars().all(|c| c.is_ascii_digit() || c == '.')
            && let Some((_, canon)) = UNITS.iter().find(|(u, _)| *u == fold_synonym(w) || *u == stem(w))
            && w.chars().all(char::is_alphabetic)
        {
            last.text.push_str(canon);
            continue;
        }
        let folded = fold_synonym(w);
        if STOP_WORDS.contains(&folded) || FILLER_WORDS.contains(&folded) {
            continue;
        }
        let stemmed = stem(folded);
        let word = fold_synonym(&stemmed).to_owned();
        if STOP_WORDS.contains(&word.as_str()) || FILLER_WORDS.contains(&word.as_str()) {
            continue;
        }
        let class = classify(&word);
        let text = if class == TokenClass::Negation { "not".to_owned() } else { word };
        tokens.push(Token { text, class });
    }
    (tokens, cue)
}

/// A word is a typo candidate when it is purely alphabetic, at least this
/// long, and found in exactly one text.
pub const TYPO_MIN_CHARS: usize = 6;
/// ... and the word it is one edit away from (a Damerau-Levenshtein
/// distance of one) is found in at least this many texts. Two words that
/// are both common are two names ("kocami" and "locami"), never a typo.
pub const TYPO_MIN_DF: usize = 3;

/// Finds typos across a set of analysed texts: each word seen in a single
/// text that is one edit away from a word seen in [`TYPO_MIN_DF`] texts or
/// more maps to that word (the most frequent one, then the first).
pub fn typo_fixes(analysed: &[Analysed]) -> BTreeMap<String, String> {
    let mut df: BTreeMap<&str, usize> = BTreeMap::new();
    for a in analysed {
        let words: BTreeSet<&str> =
            a.tokens.iter().filter(|t| t.class == TokenClass::Word).map(|t| t.text.as_str()).collect();
        for w in words {
            *df.entry(w).or_insert(0) += 1;
        }
    }
    let plain = |w: &str| w.chars().count() >= TYPO_MIN_CHARS && w.chars().all(char::is_alphabetic);
    let common: Vec<(&str, usize)> =
        df.iter().filter(|(w, n)| **n >= TYPO_MIN_DF && plain(w)).map(|(w, n)| (*w, *n)).collect();
    let mut fixes = BTreeMap::new();
    for (&rare, _) in df.iter().filter(|(w, n)| **n == 1 && plain(w)) {
        let len = rare.chars().count();
        let best = common
            .iter()
            .filter(|(w, _)| {
                w.chars().count().abs_diff(len) <= 1 && strsim::damerau_levenshtein(rare, w) == 1
            })
            .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(x.0)));
        if let Some((fix, _)) = best {
            fixes.insert(rare.to_owned(), (*fix).to_owned());
        }
    }
    fixes
}

/// Applies [`typo_fixes`] to an analysed text.
pub fn fix_typos(analysed: &mut Analysed, fixes: &BTreeMap<String, String>) {
    if fixes.is_empty() {
        return;
    }
    for t in &mut analysed.tokens {
        if let Some(fix) = fixes.get(&t.text) {
            t.text.clone_from(fix);
        }
    }
    if let Some((from, to)) = &mut analysed.change {
        for w in [from, to] {
            if let Some(fix) = fixes.get(w.as_str()) {
                w.clone_from(fix);
            }
        }
    }
}

/// Replaces the parts of an error message that vary between occurrences
/// (paths, hex ids and hashes, numbers, quoted strings, UUIDs) with
/// placeholders, keeps the first non-empty line, and trims it to 160
/// characters, so that the same failure reads the same in every session.
pub fn error_signature(message: &str) -> String {
    let line = message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut out = String::new();
    for word in line.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&mask_word(word));
    }
    let mut masked = mask_quoted(&out);
    if masked.chars().count() > 160 {
        masked = masked.chars().take(160).collect();
    }
    masked
}

fn mask_word(word: &str) -> String {
    let trimmed = word.trim_matches(|c: char| matches!(c, ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}'));
    let core = trimmed.trim_end_matches([':', '.']);
    if core.is_empty() {
        return word.to_owned();
    }
    let is_path = core.contains('/') && core.len() > 1 || core.starts_with('~');
    let hexish = core.len() >= 7
        && core.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
        && core.chars().any(|c| c.is_ascii_digit());
    let has_digit = core.chars().any(|c| c.is_ascii_digit());
    let placeholder = if is_path {
        Some("<path>")
    } else if hexish {
        Some("<id>")
    } else if has_digit && core.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | ':' | '-' | '_')) {
        Some("<n>")
    } else if has_digit && core.chars().filter(char::is_ascii_digit).count() * 2 >= core.len() {
        Some("<id>")
    } else {
        None
    };
    match placeholder {
        Some(p) => word.replacen(core, p, 1),
        None => word.to_owned(),
    }
}

/// Masks the inside of '...', "..." and `...` quotes.
fn mask_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut open: Option<char> = None;
    for c in text.chars() {
        match open {
            Some(q) if c == q => {
                out.push_str("<s>");
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None if matches!(c, '\'' | '"' | '`') => {
                out.push(c);
                open = Some(c);
            }
            None => out.push(c),
        }
    }
    if let Some(q) = open {
        // An unbalanced quote is an apostrophe or a cut message: keep the rest as written.
        let start = out.rfind(q).map_or(out.len(), |i| i + q.len_utf8());
        out.truncate(start);
        let tail: String =
            text.chars().rev().take_while(|&c| c != q).collect::<Vec<_>>().into_iter().rev().collect();
        out.push_str(&tail);
    }
    out
}

/// A short, path-safe slug of at most `max_words` significant words.
pub fn slug(text: &str, max_words: usize) -> String {
    let words: Vec<String> = raw_words(text)
        .into_iter()
        .map(|w| w.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>())
        .map(|w| w.trim_matches('-').to_owned())
        .filter(|w| !w.is_empty() && !STOP_WORDS.contains(&w.as_str()) && !w.starts_with('<'))
        .take(max_words)
        .collect();
    if words.is_empty() { "item".to_owned() } else { words.join("-") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(a: &Analysed) -> Vec<&str> {
        a.tokens.iter().map(|t| t.text.as_str()).collect()
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
    fn tokens_fold_synonyms_plurals_and_fillers() {
        let a = analyse("The staging DB listens on port 5433.");
        assert_eq!(texts(&a), vec!["staging", "database", "port", "5433"]);
        let b = analyse("Deploys happen on Fridays");
        assert_eq!(texts(&b), vec!["deploy", "friday"]);
        assert_eq!(b.tokens[1].class, TokenClass::Date);
    }

    #[test]
    fn numbers_carry_units() {
        assert_eq!(texts(&analyse("timeout is 30s")), vec!["timeout", "30second"]);
        assert_eq!(texts(&analyse("timeout is 30 seconds")), vec!["timeout", "30second"]);
        assert_eq!(
            texts(&analyse("Requests time out after 30 seconds")),
            vec!["request", "timeout", "30second"]
        );
        assert_eq!(analyse("timeout 30 seconds").tokens[1].class, TokenClass::Number);
        assert_eq!(analyse("python 3.11").tokens[1].class, TokenClass::Version);
    }

    #[test]
    fn cues_are_found_and_removed() {
        let a = analyse("Billing moved from Postgres to MySQL");
        assert_eq!(a.cue, Some("moved"));
        assert_eq!(texts(&a), vec!["billing", "postgres", "mysql"]);
        assert_eq!(analyse("kosa was scaled from 15 to 7 replicas").cue, Some("from … to"));
        assert_eq!(analyse("data from the billing team").cue, None);
        assert_eq!(
            analyse("reports moved from MySQL to MongoDB").change,
            Some(("mysql".into(), "mongodb".into()))
        );
        let b = analyse("We no longer deploy on Fridays");
        assert_eq!(b.cue, Some("no"));
        assert_eq!(texts(&b), vec!["not", "deploy", "friday"]);
        assert_eq!(analyse("Don't deploy on Fridays").tokens[0].class, TokenClass::Negation);
    }

    #[test]
    fn stated_targets() {
        assert_eq!(stated_target("We switched the shop CI to Jenkins last week").as_deref(), Some("jenkins"));
        assert_eq!(stated_target("billing moved from MySQL to Postgres").as_deref(), Some("postgres"));
        assert_eq!(stated_target("Use pnpm instead of npm").as_deref(), Some("pnpm"));
        assert_eq!(stated_target("The shop CI runs on Jenkins"), None);
        assert_eq!(stated_target("send it to Jenkins"), None);
    }

    #[test]
    fn error_signatures_mask_what_varies() {
        let a = error_signature("ENOENT: no such file or directory, open '/home/ann/app/config.json'");
        let b = error_signature("ENOENT: no such file or directory, open '/srv/x/y.json'");
        assert_eq!(a, b);
        let c = error_signature("error[E0308]: mismatched types at src/main.rs:42:7");
        let d = error_signature("error[E0308]: mismatched types at src/lib.rs:7:1");
        assert_eq!(c, d);
        assert_eq!(
            error_signature("connection refused on port 5432"),
            error_signature("connection refused on port 6543")
        );
        assert_ne!(error_signature("permission denied"), error_signature("connection refused"));
    }

    #[test]
    fn typos_map_rare_words_to_common_ones() {
        let texts = [
            "Use the postgres client",
            "postgres port is 5432",
            "postgres user is admin",
            "Use the postgress client",
            "kocami port",
            "locami port",
            "kocami user",
            "locami user",
            "kocami db",
            "locami db",
        ];
        let mut analysed: Vec<Analysed> = texts.iter().map(|t| analyse(t)).collect();
        let fixes = typo_fixes(&analysed);
        assert_eq!(
            fixes.into_iter().collect::<Vec<_>>(),
            vec![("postgress".to_owned(), "postgres".to_owned())]
        );
        let fixes = typo_fixes(&analysed);
        fix_typos(&mut analysed[3], &fixes);
        assert_eq!(analysed[3].tokens, analysed[0].tokens);
    }

    #[test]
    fn slugs_are_path_safe() {
        assert_eq!(slug("The npm ERR! missing script: <s>", 4), "npm-err-missing-script");
        assert_eq!(slug("!!!", 3), "item");
    }
}
