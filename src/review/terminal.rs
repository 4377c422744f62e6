//! The terminal front end of a review: plain lines that scroll (no full
//! screen, no mouse, so it works over ssh and reads back as a transcript),
//! one key read in raw mode per answer, the editor run in the normal mode.
//!
//! Styles: paths and numbers bold, times and notes dim, the words that
//! differ between members in reverse video.

use std::io::Write;

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::style::{Attribute, Print, SetAttribute};
use crossterm::{queue, terminal};

use super::ReviewError;
use super::editor;
use super::render::{self, Style, StyledLine, view};
use super::session::{AnswerLog, Key, KeyOutcome, Review};
use crate::progress::CancelToken;

/// How a terminal review ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// Every cluster was answered or skipped.
    Finished,
    /// The reviewer pressed `q` (or Ctrl-C / Ctrl-D).
    Quit,
}

/// The width to lay out for: the terminal's, between 40 and 100 columns
/// (80 when it cannot be told).
fn width() -> usize {
    terminal::size().map(|(w, _)| usize::from(w).clamp(40, 100)).unwrap_or(80)
}

/// Writes styled lines.
fn print_lines(out: &mut impl Write, lines: &[StyledLine]) -> std::io::Result<()> {
    for line in lines {
        for (style, text) in &line.0 {
            let attribute = match style {
                Style::Plain => None,
                Style::Strong => Some(Attribute::Bold),
                Style::Dim => Some(Attribute::Dim),
                Style::Changed => Some(Attribute::Reverse),
            };
            match attribute {
                Some(a) => queue!(out, SetAttribute(a), Print(text), SetAttribute(Attribute::Reset))?,
                None => queue!(out, Print(text))?,
            }
        }
        queue!(out, Print("\n"))?;
    }
    out.flush()
}

/// Restores the normal mode when dropped (also on an error or a panic).
struct RawMode;

impl RawMode {
    fn enable() -> std::io::Result<Self> {
        terminal::enable_raw_mode()?;
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
    }
}

/// Reads one key press (in raw mode, restored afterwards).
fn read_key() -> std::io::Result<Key> {
    let _raw = RawMode::enable()?;
    loop {
        let Event::Key(k) = event::read()? else { continue };
        if k.kind != KeyEventKind::Press {
            continue;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        match k.code {
            KeyCode::Char('c' | 'd') if ctrl => return Ok(Key::Quit),
            KeyCode::Char(c) if !ctrl => return Ok(Key::from_char(c)),
            _ => {}
        }
    }
}

fn note(out: &mut impl Write, style: Style, text: &str) -> std::io::Result<()> {
    print_lines(out, &[StyledLine(vec![(style, format!("  {text}"))])])
}

/// Runs the review on the terminal until every cluster is answered or
/// skipped, or the reviewer quits. `editor` is the `$EDITOR` command. Once
/// `cancel` is cancelled (Ctrl-C while the editor ran, say: in raw mode
/// Ctrl-C is a key and quits) the review stops after the key at hand.
pub fn run_in_terminal<L: AnswerLog>(
    review: &mut Review<L>,
    editor: &str,
    cancel: &CancelToken,
) -> Result<Ending, ReviewError> {
    let mut out = std::io::stdout();
    let io = ReviewError::Terminal;
    let mut shown = None;
    loop {
        let Some((i, question)) = review.current() else { return Ok(Ending::Finished) };
        let width = width();
        if shown != Some(i) {
            print_lines(&mut out, &[StyledLine::default()]).map_err(io)?;
            print_lines(
                &mut out,
                &render::cluster(&view(question, (i + 1, review.len())), review.page(), width),
            )
            .map_err(io)?;
            shown = Some(i);
        }
        queue!(out, SetAttribute(Attribute::Bold), Print("answer> "), SetAttribute(Attribute::Reset))
            .map_err(io)?;
        out.flush().map_err(io)?;
        let key = read_key().map_err(io)?;
        let echo = match key {
            Key::Member(m) => (m + 1).to_string(),
            Key::NextPage => "]".into(),
            Key::PreviousPage => "[".into(),
            Key::KeepAll => "k".into(),
            Key::Edit => "e".into(),
            Key::Yes => "y".into(),
            Key::No => "n".into(),
            Key::Skip => "s".into(),
            Key::Undo => "u".into(),
            Key::Quit => "q".into(),
            Key::Help => "?".into(),
            Key::Other(c) => c.to_string(),
        };
        print_lines(&mut out, &[StyledLine(vec![(Style::Plain, echo)])]).map_err(io)?;
        let outcome = review.press(key, &mut |text| editor::edit(editor, text))?;
        match outcome {
            KeyOutcome::Answered { summary, .. } => note(&mut out, Style::Plain, &format!("✓ {summary}")),
            KeyOutcome::Skipped { id } => note(&mut out, Style::Dim, &format!("skipped {id}: it stays open")),
            KeyOutcome::Undone { id } => {
                shown = None;
                note(&mut out, Style::Plain, &format!("undone: {id} is open again"))
            }
            KeyOutcome::NothingToUndo => note(&mut out, Style::Dim, "nothing to undo in this review"),
            KeyOutcome::NoSuchMember(n) => note(
                &mut out,
                Style::Dim,
                &format!("there is no member {n} on this page (it shows {})", members_on_page(review)),
            ),
            KeyOutcome::Paged(page) => match review.current() {
                Some((i, question)) => {
                    let shown = view(question, (i + 1, review.len()));
                    let mut lines = render::members_page(&shown, page, width);
                    lines.extend(render::keys(&shown, page, width));
                    print_lines(&mut out, &lines)
                }
                None => Ok(()),
            },
            KeyOutcome::NoOtherPage => note(&mut out, Style::Dim, "there is no other page that way"),
            KeyOutcome::EditAbandoned(why) => {
                shown = None;
                note(&mut out, Style::Plain, &why)
            }
            KeyOutcome::Refused(why) => note(&mut out, Style::Plain, &why),
            KeyOutcome::Help => print_lines(&mut out, &render::help(width)),
            KeyOutcome::Unknown(c) => {
                note(&mut out, Style::Dim, &format!("{c:?} means nothing here; ? for help"))
            }
            KeyOutcome::Quit => return Ok(Ending::Quit),
            KeyOutcome::Finished => return Ok(Ending::Finished),
        }
        .map_err(io)?;
        if cancel.is_cancelled() {
            return Ok(Ending::Quit);
        }
    }
}

/// How many members the page shown holds.
fn members_on_page<L: AnswerLog>(review: &Review<L>) -> usize {
    let members = review.current().map_or(0, |(_, q)| q.members.len());
    members.saturating_sub(review.page() * render::MEMBERS_PER_PAGE).min(render::MEMBERS_PER_PAGE)
}
