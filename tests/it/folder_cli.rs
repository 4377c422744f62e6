//! A Claude Code memory folder dreamed in place, as a user runs it: a Claude
//! Code home built from `tests/fixtures/claude-code-home` (45 topic files,
//! an index with facts and a broken link, 11 transcripts, the user's and the
//! project's CLAUDE.md), then `claude-code path`, `dream`, `diff`, `review
//! --answers`, a refused `accept` after a write into the folder, `accept`,
//! and the checks: every memory is in the new folder, merged into a file
//! the report names, or superseded by one; the index's links resolve and
//! it fits; frontmatter survives; the backup is the old folder byte for
//! byte. Also a plain folder of Markdown files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use dreamwork::folder::{self, FolderRecord};
use dreamwork::fuzzing::folder::{frontmatter, index};
use dreamwork::report::Action;
use dreamwork::resolve::{Question, QuestionKind};
use dreamwork::review::{Choice, answer};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/claude-code-home");

fn dreamwork(home: &Path) -> Command {
    let mut cmd = Command::cargo_bin("dreamwork").expect("the binary is built");
    cmd.env("CLAUDE_CONFIG_DIR", home.join(".claude"));
    cmd.env("DREAMWORK_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("folder_cli-cache"));
    cmd
}

fn ok(cmd: &mut Command) -> String {
    let done = cmd.assert().success();
    String::from_utf8_lossy(&done.get_output().stdout).into_owned()
}

/// Every file under `dir` (relative path → bytes and modification time).
fn tree(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("walks"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).expect("under dir").to_owned();
            let time = e.metadata().expect("meta").modified().expect("mtime");
            (rel, (fs::read(e.path()).expect("reads"), time))
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from).sort_by_file_name() {
        let e = e.expect("walks");
        let target = to.join(e.path().strip_prefix(from).expect("under"));
        if e.file_type().is_dir() {
            fs::create_dir_all(&target).expect("dir");
        } else {
            fs::copy(e.path(), &target).expect("copied");
        }
    }
}

/// A Claude Code home with the fixture's project at `<tmp>/shop`: returns
/// (home, project, memory folder). Transcripts name the project's path as
/// their `cwd`; file times are fixed (a minute apart in name order; the
/// index, which an agent edits whenever it adds an entry, newer, and the
/// moved staging database newest).
fn claude_home(tmp: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let home = tmp.join("home");
    let project = tmp.join("shop");
    fs::create_dir_all(home.join(".claude")).expect("home");
    fs::create_dir_all(&project).expect("project");
    fs::copy(Path::new(FIXTURE).join("CLAUDE.md"), home.join(".claude/CLAUDE.md")).expect("global CLAUDE.md");
    fs::copy(Path::new(FIXTURE).join("project/CLAUDE.md"), project.join("CLAUDE.md")).expect("CLAUDE.md");
    let slug: String =
        project.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let dir = home.join(".claude/projects").join(slug);
    copy_dir(&Path::new(FIXTURE).join("projects/-home-ana-shop"), &dir);
    for e in fs::read_dir(&dir).expect("lists") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            let text = fs::read_to_string(&p).expect("transcript");
            fs::write(&p, text.replace("/home/ana/shop", &project.to_string_lossy())).expect("written");
        }
    }
    let memory = dir.join("memory");
    let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000);
    let mut names: Vec<PathBuf> =
        fs::read_dir(&memory).expect("lists").map(|e| e.expect("entry").path()).collect();
    names.sort();
    for (i, p) in names.iter().enumerate() {
        let secs = match p.file_name().and_then(|n| n.to_str()) {
            Some("project_staging_db_new.md") => 86_400,
            Some("MEMORY.md") => 43_200,
            _ => 60 * i as u64,
        };
        let at = base + Duration::from_secs(secs);
        fs::File::options().write(true).open(p).and_then(|f| f.set_modified(at)).expect("time set");
    }
    (home, project, memory)
}

/// The open cluster questions of OUT.
fn open_questions(out: &Path) -> Vec<Question> {
    let text = fs::read_to_string(out.join("dream/questions.jsonl")).expect("questions");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("question"))
        .collect()
}

#[test]
fn a_claude_code_memory_folder_dreamed_reviewed_and_accepted_in_place() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (home, project, memory) = claude_home(tmp.path());
    let printed = ok(dreamwork(&home).args(["claude-code", "path"]).arg(&project));
    assert_eq!(Path::new(printed.trim()), memory.canonicalize().expect("exists"));
    let before = tree(&memory);
    let context_before = (tree(&project), fs::read(home.join(".claude/CLAUDE.md")).expect("reads"));
    let input = folder::Folder::read(&memory).expect("reads").memories().expect("memories");
    assert!(input.len() >= 45);

    // Dream: the project's transcripts are the sessions; the folder is only read.
    let out = tmp.path().join("out");
    let printed =
        ok(dreamwork(&home).arg("dream").arg(&memory).arg("--out").arg(&out).args(["--embedder", "lexical"]));
    assert!(printed.contains("11 sessions"), "{printed}");
    assert_eq!(tree(&memory), before, "the dream wrote into the folder");
    let record = FolderRecord::read(&out).expect("record");
    assert_eq!(record.layout, folder::Layout::ClaudeCode);
    let repeated: BTreeSet<&str> = record.repeats.iter().map(|r| r.memory.as_str()).collect();
    assert_eq!(
        repeated,
        BTreeSet::from(["/feedback_lint.md", "/feedback_no_emoji.md"]),
        "{:?}",
        record.repeats
    );
    let report_md = fs::read_to_string(out.join("dream/report.md")).expect("report.md");
    assert!(report_md.contains("## The folder") && report_md.contains("Repeats of CLAUDE.md"), "{report_md}");
    let diff = ok(dreamwork(&home).arg("diff").arg(&memory).arg(&out));
    assert!(
        diff.contains("- project_timezone_copy.md\tinto /user_timezone.md")
            || diff.contains("- user_timezone.md\tinto /project_timezone_copy.md"),
        "{diff}"
    );
    assert!(diff.lines().any(|l| l.starts_with("+ patterns/mistakes/")), "{diff}");

    // Review from a file of answers: every open cluster but the last keeps
    // all its members, a pattern question is rejected (the last stays open;
    // accept writes it as it was).
    let questions = open_questions(&out);
    assert!(questions.len() >= 2, "{questions:?}");
    let mut lines = String::new();
    for q in &questions[..questions.len() - 1] {
        let choice = if q.kind == QuestionKind::Pattern { Choice::NoPattern } else { Choice::KeepAll };
        lines.push_str(&answer(q, &choice).expect("an answer").to_line());
        lines.push('\n');
    }
    let answers = tmp.path().join("answers.jsonl");
    fs::write(&answers, lines).expect("answers written");
    let printed = ok(dreamwork(&home).arg("review").arg(&memory).arg(&out).arg("--answers").arg(&answers));
    assert!(printed.contains(&format!("rewritten with {} answers", questions.len() - 1)), "{printed}");
    assert_eq!(open_questions(&out).len(), 1);
    assert_eq!(tree(&memory), before, "the review wrote into the folder");
    let record = FolderRecord::read(&out).expect("record");
    // The moved staging database superseded the old one (by recency).
    assert!(
        record
            .changes
            .iter()
            .any(|c| c.file == "project_staging_db.md" && c.change == folder::ChangeKind::Removed),
        "{:?}",
        record.changes
    );

    // A write into the folder between dream and accept: refused, nothing changed.
    let role = memory.join("user_role.md");
    let original = fs::read(&role).expect("reads");
    fs::write(&role, [original.as_slice(), b"Ana also owns the deploys.\n"].concat()).expect("agent writes");
    fs::write(memory.join("feedback_new.md"), "Written by the agent meanwhile.\n").expect("agent writes");
    let changed = tree(&memory);
    let done = dreamwork(&home).arg("accept").arg(&memory).arg(&out).output().expect("runs");
    assert_eq!(done.status.code(), Some(1));
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(err.contains("user_role.md changed") && err.contains("feedback_new.md added"), "{err}");
    assert_eq!(tree(&memory), changed, "a refused accept changed the folder");
    assert!(!memory.with_file_name("memory.bak-1").exists());
    fs::remove_file(memory.join("feedback_new.md")).expect("removed");
    fs::write(&role, &original).expect("restored");
    let was = before[Path::new("user_role.md")].1;
    fs::File::options().write(true).open(&role).and_then(|f| f.set_modified(was)).expect("time restored");

    // Accept.
    let printed = ok(dreamwork(&home).arg("accept").arg(&memory).arg(&out));
    assert!(printed.contains("memory.bak-1"), "{printed}");
    let backup = memory.with_file_name("memory.bak-1");
    let after = tree(&memory);
    let report = dreamwork::dream::disk::read_report(&out).expect("report");
    let record = FolderRecord::read(&out).expect("record");

    // Every input memory is in the new folder, or merged into / superseded
    // by an output memory the report names, which is in the new folder.
    let index_text = fs::read_to_string(memory.join("MEMORY.md")).expect("index");
    let more_text = fs::read_to_string(memory.join(folder::OVERFLOW_FILE)).unwrap_or_default();
    let present = |path: &str, content: &str| -> bool {
        match path.split_once("#L") {
            Some(_) => index_text.lines().chain(more_text.lines()).any(|l| l.ends_with(content)),
            None => after.get(Path::new(&path[1..])).is_some_and(|(bytes, _)| {
                let text = String::from_utf8_lossy(bytes);
                let body = frontmatter::split(&text).expect("frontmatter").body.trim_end().to_owned();
                body == content.trim_end()
            }),
        }
    };
    let outputs: BTreeMap<&str, &dreamwork::report::MemoryEntry> =
        report.memories.iter().map(|e| (e.path.as_str(), e)).collect();
    let store = dreamwork::store::Store::open_read_only(&out).expect("OUT opens");
    for m in store.iter() {
        assert!(present(m.path.as_str(), &m.content), "output memory {} is not in the new folder", m.path);
    }
    drop(store);
    for m in &input {
        let p = m.path.as_str();
        if outputs.contains_key(p) {
            continue;
        }
        let dropped = report.dropped.iter().find(|d| d.path == m.path).expect("a dropped memory is reported");
        let into = dropped.into.as_ref().expect("names the memory it went into");
        let carrier = outputs.get(into.as_str()).expect("the carrier is an output");
        assert!(carrier.sources.contains(&m.path), "{into} does not name {p}");
        assert!(matches!(carrier.action, Action::Merged | Action::Superseded | Action::Unresolved));
    }
    assert!(!after.contains_key(Path::new("project_staging_db.md")));
    let zurich =
        ["project_timezone_copy.md", "user_timezone.md"].iter().filter(|p| after.contains_key(Path::new(p)));
    assert_eq!(zurich.count(), 1, "the two copies are one file now");

    // The index: links resolve, one entry per indexed survivor and per new file, and it fits.
    assert!(index_text.lines().count() <= index::MAX_LINES && index_text.len() <= index::MAX_BYTES);
    let mut entries: BTreeMap<String, usize> = BTreeMap::new();
    for line in index::parse(&index_text).into_iter().chain(index::parse(&more_text)) {
        if let index::LineKind::Link { target, .. } = line.kind {
            assert!(after.contains_key(Path::new(&target)), "MEMORY.md links {target}, which does not exist");
            *entries.entry(target).or_default() += 1;
        }
    }
    let old_index = String::from_utf8_lossy(&before[Path::new("MEMORY.md")].0).into_owned();
    for line in index::parse(&old_index) {
        if let index::LineKind::Link { target, .. } = line.kind
            && after.contains_key(Path::new(&target))
        {
            assert_eq!(entries.get(&target), Some(&1), "{target} lost its entry or has two");
        }
    }
    for p in after.keys().filter(|p| p.starts_with("patterns")) {
        assert_eq!(entries.get(&p.to_string_lossy().into_owned()), Some(&1), "new file {p:?} has no entry");
    }
    assert!(index_text.contains("- Old deploy notes — removed last month"), "the broken link's text is kept");
    assert!(record.index.as_ref().is_some_and(|i| i.notes.iter().any(|n| n.contains("link led to no file"))));

    // Frontmatter survives: unchanged files byte for byte (and time), others
    // keep name and type; a rewritten description is the text's.
    for (rel, (old, time)) in &before {
        let Some((new, new_time)) = after.get(rel) else { continue };
        if rel == Path::new("MEMORY.md") {
            continue;
        }
        let changed = record.changes.iter().any(|c| Path::new(&c.file) == rel);
        if !changed {
            assert_eq!((old, time), (new, new_time), "{rel:?} changed without a reason in the record");
            continue;
        }
        let (old, new) = (String::from_utf8_lossy(old), String::from_utf8_lossy(new));
        let (a, b) = (frontmatter::split(&old).expect("old"), frontmatter::split(&new).expect("new"));
        let (a, b) = (a.frontmatter.expect("had frontmatter"), b.frontmatter.expect("kept frontmatter"));
        assert_eq!(a.get("name"), b.get("name"), "{rel:?}");
        assert_eq!(a.get("type"), b.get("type"), "{rel:?}");
    }
    // What changed is what the record said.
    let changed: BTreeSet<PathBuf> = before
        .keys()
        .chain(after.keys())
        .filter(|p| before.get(*p).map(|x| &x.0) != after.get(*p).map(|x| &x.0))
        .cloned()
        .collect();
    let recorded: BTreeSet<PathBuf> = record.changes.iter().map(|c| PathBuf::from(&c.file)).collect();
    assert_eq!(changed, recorded);
    assert_eq!((tree(&project), fs::read(home.join(".claude/CLAUDE.md")).expect("reads")), context_before);

    // The backup is the old folder, byte for byte; renaming it back restores it.
    assert_eq!(tree(&backup), before);
    fs::rename(&memory, memory.with_file_name("memory.rejected")).expect("renamed");
    fs::rename(&backup, &memory).expect("renamed back");
    assert_eq!(tree(&memory), before);

    // The output stays as the record; discard removes it.
    ok(dreamwork(&home).arg("discard").arg(&out));
    assert!(!out.exists());
}

#[test]
fn a_plain_folder_of_markdown_files() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let home = tmp.path().join("home");
    let notes = tmp.path().join("notes");
    fs::create_dir_all(notes.join("work")).expect("dirs");
    fs::write(notes.join("tea.md"), "Ana likes green tea.\n").expect("w");
    fs::write(notes.join("work/tea.md"), "Ana likes green tea\n").expect("w");
    fs::write(notes.join("work/deploy.md"), "Deploys happen on Tuesdays.\n").expect("w");
    fs::write(notes.join("todo.txt"), "not a memory").expect("w");
    let before = tree(&notes);
    let out = tmp.path().join("out");
    ok(dreamwork(&home).arg("dream").arg(&notes).arg("--out").arg(&out).args(["--embedder", "lexical"]));
    assert_eq!(tree(&notes), before);
    let diff = ok(dreamwork(&home).arg("diff").arg(&notes).arg(&out));
    assert_eq!(diff.lines().filter(|l| l.starts_with("- ")).count(), 1, "{diff}");
    ok(dreamwork(&home).arg("accept").arg(&notes).arg(&out));
    let after = tree(&notes);
    assert_eq!(after.len(), 3, "{:?}", after.keys());
    assert_eq!(after[Path::new("todo.txt")], before[Path::new("todo.txt")]);
    assert_eq!(after[Path::new("work/deploy.md")], before[Path::new("work/deploy.md")]);
    assert_eq!(tree(&notes.with_file_name("notes.bak-1")), before);

    // A directory without .md files is neither a folder nor a store.
    let empty = tmp.path().join("empty");
    fs::create_dir_all(&empty).expect("dir");
    let done = dreamwork(&home)
        .arg("dream")
        .arg(&empty)
        .arg("--out")
        .arg(tmp.path().join("o2"))
        .args(["--embedder", "lexical"])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&done.stderr).contains("no store here"));
    // A bad frontmatter is named with its file and line.
    fs::write(notes.join("bad.md"), "---\nname: x\n").expect("w");
    let done = dreamwork(&home)
        .arg("dream")
        .arg(&notes)
        .arg("--out")
        .arg(tmp.path().join("o3"))
        .args(["--embedder", "lexical"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(err.contains("bad.md:1: the frontmatter opened here is never closed"), "{err}");
}
