//! Writing a merged memory in the user's editor: the starting text goes to
//! a temporary file, `$EDITOR` (fallback `vi`) runs on it with the terminal,
//! and the file's text comes back.
//!
//! `$EDITOR` may hold arguments (`code --wait`, `emacs -nw`): like git, it
//! is run by `sh -c '$EDITOR "$@"'` with the file as the one argument. The
//! text read back loses its trailing white space (editors add a final
//! newline); an empty text or an editor that fails means "no answer".

use std::path::PathBuf;
use std::process::Command;

/// The editor command: `$EDITOR`, else `vi`.
pub fn editor_command() -> String {
    match std::env::var("EDITOR") {
        Ok(e) if !e.trim().is_empty() => e,
        _ => "vi".to_owned(),
    }
}

/// What came back from the editor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Edited {
    /// The text written (trailing white space removed; never empty).
    Text(String),
    /// The file was left empty: the user gave up.
    Empty,
}

/// Why the editor round-trip failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditorError {
    /// The temporary file could not be written or read back.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The editor could not be started.
    #[error("cannot start the editor {editor:?}: {source}")]
    Start {
        /// The editor command.
        editor: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The editor exited with a failure status.
    #[error("the editor {editor:?} failed ({status}); nothing was recorded")]
    Failed {
        /// The editor command.
        editor: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// The file is not UTF-8 text.
    #[error("{0}: the edited text is not UTF-8; nothing was recorded")]
    NotText(PathBuf),
}

/// Opens `initial` in `editor` (a shell command, see the module doc) and
/// returns what the user wrote. The terminal must be in its normal (cooked)
/// mode while this runs.
pub fn edit(editor: &str, initial: &str) -> Result<Edited, EditorError> {
    let dir = tempfile::tempdir().map_err(|source| EditorError::Io { path: std::env::temp_dir(), source })?;
    let path = dir.path().join("merged-memory.md");
    let io = |source| EditorError::Io { path: path.clone(), source };
    let mut text = initial.to_owned();
    text.push('\n');
    std::fs::write(&path, &text).map_err(io)?;
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(&path)
        .status()
        .map_err(|source| EditorError::Start { editor: editor.to_owned(), source })?;
    if !status.success() {
        return Err(EditorError::Failed { editor: editor.to_owned(), status });
    }
    let bytes = std::fs::read(&path).map_err(io)?;
    let text = String::from_utf8(bytes).map_err(|_| EditorError::NotText(path.clone()))?;
    let text = text.trim_end();
    Ok(if text.trim().is_empty() { Edited::Empty } else { Edited::Text(text.to_owned()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_a_scripted_editor() {
        // An "editor" that replaces a word, as a user would.
        let got = edit("sed -i s/5433/5434/", "port 5433").unwrap();
        assert_eq!(got, Edited::Text("port 5434".into()));
        assert_eq!(edit("true", "unchanged\n\n").unwrap(), Edited::Text("unchanged".into()));
        assert_eq!(edit("truncate -s 0", "gone").unwrap(), Edited::Empty);
        assert!(matches!(edit("false", "x"), Err(EditorError::Failed { .. })));
    }
}
