//! What a reviewer sees of one cluster, as styled lines of at most a given
//! width (80 columns on a plain terminal): a heading with the cluster's
//! place in the review, why it is open, its members numbered 1…n (path,
//! last update, text with the differing words marked), the session
//! excerpts that bear on it, and the keys.
//!
//! The lines carry [`Style`]s, not escape codes: the terminal front end
//! decides how a style looks (and a test can read them back). Long member
//! texts and excerpts are cut to a few lines, saying how many were left
//! out, so a cluster fits a screen.

use unicode_width::UnicodeWidthChar;

use super::diff::{Segment, highlight};
use crate::resolve::{Question, QuestionKind};

/// How a span of a line is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Ordinary text.
    Plain,
    /// Headings, member numbers and paths.
    Strong,
    /// Secondary text: times, labels, notes.
    Dim,
    /// A word that differs between members.
    Changed,
}

/// One line of output: styled spans, at most the requested width in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StyledLine(pub Vec<(Style, String)>);

impl StyledLine {
    fn push(&mut self, style: Style, text: &str) {
        match self.0.last_mut() {
            Some((s, t)) if *s == style => t.push_str(text),
            _ => self.0.push((style, text.to_owned())),
        }
    }

    /// The text without styles.
    pub fn plain(&self) -> String {
        self.0.iter().map(|(_, t)| t.as_str()).collect()
    }

    /// Its width in terminal columns.
    pub fn width(&self) -> usize {
        self.0.iter().map(|(_, t)| cols(t)).sum()
    }
}

/// The columns `text` takes: the sum of its characters' widths.
fn cols(text: &str) -> usize {
    text.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// A character as it may be shown: control characters (escape sequences a
/// memory or a transcript may hold) become U+FFFD, so no text can drive the
/// terminal.
fn shown(c: char) -> char {
    if c.is_control() { '\u{FFFD}' } else { c }
}

/// A member of the cluster, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberView<'a> {
    /// Its path.
    pub path: &'a str,
    /// When it was last updated (RFC 3339).
    pub updated_at: String,
    /// Its text.
    pub content: &'a str,
}

/// A session excerpt, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcerptView<'a> {
    /// The session id (shown shortened).
    pub session: String,
    /// Turn range `[start, end)`.
    pub turns: [u32; 2],
    /// When it happened, where known (RFC 3339).
    pub at: Option<String>,
    /// The turns as text.
    pub text: &'a str,
}

/// The pattern memory a `pattern` question proposes, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftView<'a> {
    /// Where it would be written.
    pub path: &'a str,
    /// Its text: the rule, what happened, the evidence.
    pub content: &'a str,
}

/// One open question (a cluster of memories, or a pattern), as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterView<'a> {
    /// 1-based place in the review and the number of clusters.
    pub position: (usize, usize),
    /// The cluster id (`c-…`).
    pub id: &'a str,
    /// Why the dream left it open.
    pub why: &'a str,
    /// Its members, in the order they are numbered.
    pub members: Vec<MemberView<'a>>,
    /// The excerpts that bear on it.
    pub excerpts: Vec<ExcerptView<'a>>,
    /// Whether it is a `pattern` question (excerpts that may show one
    /// recurring mistake or shared preference) rather than a cluster.
    pub pattern: bool,
    /// For a pattern: the memory the dream proposes, if any.
    pub draft: Option<DraftView<'a>>,
}

/// Most lines of a member's text shown.
pub const MEMBER_LINES: usize = 8;
/// Most lines of an excerpt shown.
pub const EXCERPT_LINES: usize = 3;
/// Most lines of the reason shown.
pub const WHY_LINES: usize = 3;
/// Most lines of a proposed pattern memory shown.
pub const DRAFT_LINES: usize = 14;
/// Indent of member texts and excerpts.
const INDENT: &str = "    ";

/// Lays out `segments` as lines of at most `width` columns, each starting
/// with `indent` (the first with `first` instead). Runs of spaces become one
/// space; a line break in the text starts a new line; a word wider than a
/// line is cut.
fn wrap(segments: &[Segment<'_>], first: &StyledLine, indent: &str, width: usize) -> Vec<StyledLine> {
    let mut lines = Vec::new();
    let mut line = first.clone();
    let mut fresh = true; // nothing but the indent on this line yet
    let mut space = false;
    let start_line = |lines: &mut Vec<StyledLine>, line: &mut StyledLine| {
        lines.push(std::mem::take(line));
        line.push(Style::Plain, indent);
    };
    for seg in segments {
        if seg.text.starts_with(char::is_whitespace) {
            let breaks = seg.text.matches('\n').count();
            if breaks > 0 && !fresh {
                start_line(&mut lines, &mut line);
                fresh = true;
                space = false;
            } else {
                space = !fresh;
            }
            continue;
        }
        let style = if seg.differs { Style::Changed } else { Style::Plain };
        let needed = cols(seg.text) + usize::from(space);
        if !fresh && line.width() + needed > width {
            start_line(&mut lines, &mut line);
            space = false;
        }
        if space {
            line.push(Style::Plain, " ");
        }
        let mut piece = String::new();
        for c in seg.text.chars().map(shown) {
            let w = c.width().unwrap_or(0);
            if line.width() + cols(&piece) + w > width && (line.width() > cols(indent) || !piece.is_empty()) {
                line.push(style, &piece);
                piece.clear();
                start_line(&mut lines, &mut line);
            }
            piece.push(c);
        }
        line.push(style, &piece);
        fresh = false;
        space = false;
    }
    lines.push(line);
    lines
}

/// Plain text as segments (nothing marked).
fn unmarked(text: &str) -> Vec<Segment<'_>> {
    highlight(&[text]).pop().unwrap_or_default()
}

/// Keeps at most `max` lines, the last saying how many were left out.
fn cap(mut lines: Vec<StyledLine>, max: usize) -> Vec<StyledLine> {
    if lines.len() > max {
        let left = lines.len() - (max - 1);
        lines.truncate(max - 1);
        let mut note = StyledLine::default();
        note.push(Style::Plain, INDENT);
        note.push(Style::Dim, &format!("… {left} more lines"));
        lines.push(note);
    }
    lines
}

/// `left` then `right` flush with column `width` (or after one space).
fn spread(left: StyledLine, right: &str, width: usize) -> StyledLine {
    let mut line = left;
    let gap = width.saturating_sub(line.width() + cols(right)).max(1);
    line.push(Style::Plain, &" ".repeat(gap));
    line.push(Style::Dim, right);
    line
}

/// ` N  PATH` with the time flush right; a path too long for one line is
/// cut over several, the time on the last if it fits, else below.
fn member_title(number: usize, path: &str, time: &str, width: usize) -> Vec<StyledLine> {
    let head = format!("{number:>2}  ");
    let mut first = StyledLine::default();
    first.push(Style::Strong, &head);
    let segments = [super::diff::Segment { text: path, differs: false }];
    let mut lines: Vec<StyledLine> = wrap(&segments, &first, INDENT, width)
        .into_iter()
        .map(|l| StyledLine(vec![(Style::Strong, l.plain())]))
        .collect();
    let last = lines.pop().unwrap_or_default();
    if last.width() + 1 + cols(time) <= width {
        lines.push(spread(last, time, width));
    } else {
        lines.push(last);
        lines.push(spread(StyledLine::default(), time, width));
    }
    lines
}

/// A time as `YYYY-MM-DD HH:MM` (UTC), from RFC 3339.
fn short_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(day), Some(hm)) => format!("{day} {hm}"),
        _ => rfc3339.to_owned(),
    }
}

/// The screen of one cluster, at most `width` columns wide, showing page
/// `page` of its members (see `members_page`).
pub fn cluster(view: &ClusterView<'_>, page: usize, width: usize) -> Vec<StyledLine> {
    let width = width.max(40);
    let mut out = Vec::new();
    let mut head = StyledLine::default();
    let what = if view.pattern { "pattern" } else { "cluster" };
    let title = format!("── {what} {} of {} · {} ", view.position.0, view.position.1, view.id);
    let title = if cols(&title) <= width {
        title
    } else {
        format!("── {}/{} ", view.position.0, view.position.1)
    };
    head.push(Style::Strong, &title);
    let rule = width.saturating_sub(head.width());
    head.push(Style::Dim, &"─".repeat(rule));
    out.push(head);

    let mut label = StyledLine::default();
    label.push(Style::Dim, "why ");
    out.extend(cap(wrap(&unmarked(view.why), &label, INDENT, width), WHY_LINES));

    out.extend(members_page(view, page, width));

    if let Some(d) = &view.draft {
        let mut title = StyledLine::default();
        title.push(Style::Dim, "proposed ");
        title.push(Style::Strong, d.path);
        out.extend(wrap(&unmarked(""), &title, INDENT, width));
        let mut first = StyledLine::default();
        first.push(Style::Plain, INDENT);
        out.extend(cap(wrap(&unmarked(d.content), &first, INDENT, width), DRAFT_LINES));
    }

    if !view.excerpts.is_empty() {
        let mut label = StyledLine::default();
        label.push(Style::Dim, if view.pattern { "occurrences" } else { "evidence" });
        out.push(label);
        for e in &view.excerpts {
            let short = e.session.get(..12).unwrap_or(&e.session);
            let mut about = format!("session {short} turns {}–{}", e.turns[0], e.turns[1]);
            if let Some(at) = &e.at {
                about.push_str(&format!(", {}", short_time(at)));
            }
            out.extend(
                wrap(&unmarked(&about), &StyledLine(vec![(Style::Plain, "  ".into())]), INDENT, width)
                    .into_iter()
                    .map(|l| StyledLine(vec![(Style::Dim, l.plain())])),
            );
            let mut first = StyledLine::default();
            first.push(Style::Plain, INDENT);
            out.extend(cap(wrap(&unmarked(e.text), &first, INDENT, width), EXCERPT_LINES));
        }
    }
    out.extend(keys(view, page, width));
    out
}

/// Members shown at once: a cluster with more is shown a page at a time,
/// its members numbered 1…9 on each page (the keys that pick them).
pub const MEMBERS_PER_PAGE: usize = 9;

/// How many pages `members` members fill (at least one).
pub fn pages(members: usize) -> usize {
    members.div_ceil(MEMBERS_PER_PAGE).max(1)
}

/// The members on page `page` (0-based; past the last, the last), numbered
/// 1…9, with the words that differ between them marked; for more than one
/// page, a line saying which members these are and how to turn the page.
pub fn members_page(view: &ClusterView<'_>, page: usize, width: usize) -> Vec<StyledLine> {
    let width = width.max(40);
    let total = view.members.len();
    let page = page.min(pages(total) - 1);
    let shown =
        &view.members[(page * MEMBERS_PER_PAGE).min(total)..((page + 1) * MEMBERS_PER_PAGE).min(total)];
    let mut out = Vec::new();
    let texts: Vec<&str> = shown.iter().map(|m| m.content).collect();
    for (n, (m, segments)) in shown.iter().zip(highlight(&texts)).enumerate() {
        out.extend(member_title(n + 1, m.path, &short_time(&m.updated_at), width));
        let mut first = StyledLine::default();
        first.push(Style::Plain, INDENT);
        out.extend(cap(wrap(&segments, &first, INDENT, width), MEMBER_LINES));
    }
    if total > MEMBERS_PER_PAGE {
        let first = page * MEMBERS_PER_PAGE + 1;
        let text = format!(
            "members {first}–{} of {total}, page {} of {} · ] next page · [ previous page",
            first + shown.len() - 1,
            page + 1,
            pages(total)
        );
        out.extend(
            wrap(&unmarked(&text), &StyledLine::default(), "", width)
                .into_iter()
                .map(|l| StyledLine(vec![(Style::Dim, l.plain())])),
        );
    }
    out
}

/// The reminder of the keys for page `page` of a question.
pub fn keys(view: &ClusterView<'_>, page: usize, width: usize) -> Vec<StyledLine> {
    let total = view.members.len();
    let on_page = total.saturating_sub(page.min(pages(total) - 1) * MEMBERS_PER_PAGE).min(MEMBERS_PER_PAGE);
    if view.pattern { pattern_keys_line(on_page, width) } else { keys_line(on_page, width) }
}

/// The reminder of the keys of a pattern question with `members` memories
/// that may already state it (one line at 80 columns), dim.
pub fn pattern_keys_line(members: usize, width: usize) -> Vec<StyledLine> {
    let stated = match members.min(9) {
        0 => String::new(),
        1 => "1 cite · ".to_owned(),
        n => format!("1-{n} cite · "),
    };
    let text = format!("y write · {stated}n no pattern · e edit · s skip · u undo · q quit · ? help");
    wrap(&unmarked(&text), &StyledLine::default(), "", width.max(40))
        .into_iter()
        .map(|l| StyledLine(vec![(Style::Dim, l.plain())]))
        .collect()
}

/// The reminder of the keys (one line at 80 columns), dim.
pub fn keys_line(members: usize, width: usize) -> Vec<StyledLine> {
    let keep = match members.min(9) {
        0 | 1 => "1 keep".to_owned(),
        n => format!("1-{n} keep one"),
    };
    let text = format!("{keep} · k keep all · e edit · s skip · u undo · q quit · ? help");
    wrap(&unmarked(&text), &StyledLine::default(), "", width.max(40))
        .into_iter()
        .map(|l| StyledLine(vec![(Style::Dim, l.plain())]))
        .collect()
}

/// The help shown for `?` (by the terminal front end).
#[cfg(any(feature = "cli", test))]
pub fn help(width: usize) -> Vec<StyledLine> {
    let rows = [
        (
            "1…9",
            "keep that member (numbered on the page shown); the others fold into it (superseded where older and stating another value, else merged); a pattern: cite that memory, which already states it; nothing is written",
        ),
        ("] [", "a cluster of more than 9 members: the next or the previous page of members"),
        ("k", "keep all members as separate memories (they are different facts)"),
        (
            "e",
            "write the merged memory in $EDITOR (fallback vi), starting from the newest member's text; for a pattern, edit the proposed memory",
        ),
        ("y", "a pattern: write the proposed memory as it is"),
        ("n", "a pattern: the occurrences are no recurring mistake or shared preference; nothing is written"),
        ("s", "skip: the cluster stays open"),
        ("u", "undo the last answer (it is taken out of the journal)"),
        ("q", "save and quit: OUT is rewritten with the answers so far; run review again to go on"),
        ("?", "this help"),
    ];
    let mut out = Vec::new();
    for (key, what) in rows {
        let mut first = StyledLine::default();
        first.push(Style::Strong, &format!("  {key:<5} "));
        out.extend(wrap(&unmarked(what), &first, "        ", width.max(40)));
    }
    out
}

/// A question as shown: `position` is its 1-based place and the count.
pub fn view(question: &Question, position: (usize, usize)) -> ClusterView<'_> {
    ClusterView {
        position,
        id: &question.id,
        why: &question.why,
        members: question
            .members
            .iter()
            .map(|m| MemberView {
                path: m.path.as_str(),
                updated_at: m.updated_at.to_rfc3339(),
                content: &m.content,
            })
            .collect(),
        excerpts: question
            .excerpts
            .iter()
            .map(|e| ExcerptView {
                session: e.session.clone(),
                turns: e.turns,
                at: e.at.map(|t| t.to_rfc3339()),
                text: &e.text,
            })
            .collect(),
        pattern: question.kind == QuestionKind::Pattern,
        draft: question.draft.as_ref().map(|d| DraftView { path: d.path.as_str(), content: &d.content }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(a: &'a str, b: &'a str) -> ClusterView<'a> {
        ClusterView {
            position: (2, 5),
            id: "c-0123456789ab",
            why: "the texts differ in more than values, so they may be about different subjects",
            members: vec![
                MemberView { path: "/infra/db.md", updated_at: "2026-03-01T09:12:00Z".into(), content: a },
                MemberView { path: "/notes/db.md", updated_at: "2026-03-04T17:40:05Z".into(), content: b },
            ],
            excerpts: vec![ExcerptView {
                session: "1a2b3c4d5e6f7a8b9c0d".into(),
                turns: [12, 14],
                at: Some("2026-03-04T17:38:00Z".into()),
                text: "user: we moved staging to 5434",
            }],
            pattern: false,
            draft: None,
        }
    }

    #[test]
    fn fits_the_width_and_marks_the_difference() {
        let long = "word ".repeat(60);
        let lines = cluster(&view(&long, "The staging database listens on port 5434."), 0, 80);
        assert!(lines.iter().all(|l| l.width() <= 80), "{lines:#?}");
        let text: Vec<String> = lines.iter().map(StyledLine::plain).collect();
        assert!(text[0].starts_with("── cluster 2 of 5 · c-0123456789ab ─"));
        assert!(text.iter().any(|l| l.starts_with(" 1  /infra/db.md") && l.ends_with("2026-03-01 09:12")));
        assert!(text.iter().any(|l| l == "  session 1a2b3c4d5e6f turns 12–14, 2026-03-04 17:38"));
        assert!(text.last().unwrap().starts_with("1-2 keep one · k keep all"));
        let changed: Vec<&str> = lines
            .iter()
            .flat_map(|l| &l.0)
            .filter(|(s, _)| *s == Style::Changed)
            .map(|(_, t)| t.as_str())
            .collect();
        assert!(changed.contains(&"5434."), "{changed:?}");
    }

    #[test]
    fn long_texts_are_cut_with_a_note() {
        let long = "word ".repeat(200);
        let lines = cluster(&view(&long, "short"), 0, 80);
        assert!(lines.iter().any(|l| l.plain().contains("more lines")));
        assert!(lines.len() < 30, "{}", lines.len());
    }

    #[test]
    fn line_breaks_and_overlong_words() {
        let first = StyledLine(vec![(Style::Plain, INDENT.into())]);
        let text = format!("one\ntwo {}", "x".repeat(100));
        let lines = wrap(&unmarked(&text), &first, INDENT, 40);
        let plain: Vec<String> = lines.iter().map(StyledLine::plain).collect();
        assert_eq!(plain[0], "    one");
        assert_eq!(plain[1], "    two");
        assert!(lines.iter().all(|l| l.width() <= 40), "{plain:#?}");
        assert_eq!(plain[2..].concat().replace(' ', ""), "x".repeat(100));
    }

    #[test]
    fn long_paths_and_positions_fit() {
        let path = format!("/{}", "deep/".repeat(60));
        let mut v = view("a", "b");
        v.members[0].path = &path;
        v.position = (12345, 67890);
        for width in [40, 80] {
            let lines = cluster(&v, 0, width);
            let plain: Vec<(usize, String)> = lines.iter().map(|l| (l.width(), l.plain())).collect();
            assert!(lines.iter().all(|l| l.width() <= width), "{plain:#?}");
            assert!(lines.iter().any(|l| l.plain().ends_with("2026-03-01 09:12")));
        }
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let lines = cluster(&view("port \u{1b}[2J5433\u{7}", "port 5434"), 0, 80);
        assert!(lines.iter().all(|l| l.plain().chars().all(|c| !c.is_control())));
        assert!(lines.iter().any(|l| l.plain().contains("port \u{FFFD}[2J5433\u{FFFD}")));
    }

    #[test]
    fn a_pattern_shows_its_proposed_memory_and_its_keys() {
        let mut v = view("a", "b");
        v.members.clear();
        v.pattern = true;
        v.draft = Some(DraftView {
            path: "/patterns/preferences/no-mocks.md",
            content: "# Test against the real postgres, no mocks.\n\nShared preference, seen in 2 sessions.",
        });
        let text: Vec<String> = cluster(&v, 0, 80).iter().map(StyledLine::plain).collect();
        assert!(text[0].starts_with("── pattern 2 of 5"), "{text:#?}");
        assert!(text.iter().any(|l| l == "proposed /patterns/preferences/no-mocks.md"), "{text:#?}");
        assert!(text.iter().any(|l| l == "    # Test against the real postgres, no mocks."), "{text:#?}");
        assert_eq!(
            text.last().unwrap(),
            "y write · n no pattern · e edit · s skip · u undo · q quit · ? help"
        );
    }

    #[test]
    fn a_large_cluster_is_shown_a_page_at_a_time() {
        let paths: Vec<String> = (1..=20).map(|n| format!("/m/{n}.md")).collect();
        let texts: Vec<String> = (1..=20).map(|n| format!("The service listens on port {n}.")).collect();
        let mut v = view("a", "b");
        v.members = paths
            .iter()
            .zip(&texts)
            .map(|(p, t)| MemberView { path: p, updated_at: "2026-03-01T09:12:00Z".into(), content: t })
            .collect();
        let page = |n: usize| -> Vec<String> { cluster(&v, n, 80).iter().map(StyledLine::plain).collect() };
        let first = page(0);
        assert!(first.iter().any(|l| l.starts_with(" 1  /m/1.md")), "{first:#?}");
        assert!(first.iter().any(|l| l.starts_with(" 9  /m/9.md")), "{first:#?}");
        assert!(!first.iter().any(|l| l.contains("/m/10.md")), "{first:#?}");
        assert!(first.iter().any(|l| l.starts_with("members 1–9 of 20, page 1 of 3 · ] next page")));
        assert!(first.last().unwrap().starts_with("1-9 keep one"));
        let last = page(2);
        assert!(last.iter().any(|l| l.starts_with(" 1  /m/19.md")), "{last:#?}");
        assert!(last.iter().any(|l| l.starts_with(" 2  /m/20.md")), "{last:#?}");
        assert!(last.iter().any(|l| l.starts_with("members 19–20 of 20, page 3 of 3")));
        assert!(last.last().unwrap().starts_with("1-2 keep one"));
        assert_eq!(page(7), last, "a page past the last shows the last");
        assert_eq!(pages(0), 1);
        assert_eq!(pages(9), 1);
        assert_eq!(pages(10), 2);
    }

    #[test]
    fn help_fits() {
        assert!(help(80).iter().all(|l| l.width() <= 80));
        assert_eq!(keys_line(3, 80).len(), 1);
        assert_eq!(pattern_keys_line(3, 80).len(), 1);
        assert!(keys_line(3, 40).iter().all(|l| l.width() <= 40));
    }
}
