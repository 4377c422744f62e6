//! The folder adapter end to end on small folders, with the lexical embedder.

use std::path::Path;

use super::*;
use crate::embed::LexicalEmbedder;
use crate::progress::Silent;
use crate::resolve::LocalResolver;

/// A word of eight letters that shares nothing with another seed's.
fn word(seed: usize) -> String {
    let h = blake3::hash(&seed.to_le_bytes());
    h.as_bytes()[..8].iter().map(|b| char::from(b'a' + b % 26)).collect()
}

fn dream_into(folder: &Path, out: &Path) -> FolderDream {
    let view = FolderStore::open(folder).unwrap();
    let mut asking = Asking::new(&LocalResolver);
    let request = FolderRequest { out: out.to_owned(), sessions: Vec::new(), vector_cache: None };
    super::dream(
        &view,
        &Dream::default(),
        request,
        &LexicalEmbedder::default(),
        &mut asking,
        &Silent,
        &CancelToken::new(),
    )
    .unwrap()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

#[test]
fn reads_topics_index_facts_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("memory");
    write(&f, "a.md", "---\nname: A\ndescription: first\ntype: user\n---\n\nAna likes tea.\n");
    write(&f, "empty.md", "---\nname: E\ndescription: only a description\n---\n");
    write(&f, "MEMORY.md", "# Memory\n\n- [A](a.md) — first\n- A fact.\n- [Gone](gone.md) — hook\n");
    write(&f, "CLAUDE.md", "- rule\n");
    write(&f, "notes.txt", "not a memory");
    let folder = Folder::read(&f).unwrap();
    assert_eq!(folder.layout(), Layout::Plain);
    let m = folder.memories().unwrap();
    let paths: Vec<&str> = m.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, ["/MEMORY.md#L4", "/MEMORY.md#L5", "/a.md", "/empty.md"]);
    assert_eq!(m[1].content, "Gone — hook");
    assert_eq!(m[2].content, "Ana likes tea.");
    assert_eq!(m[3].content, "only a description");
    assert_eq!(folder.manifest().len(), 5);
    assert!(is_folder(&f));
    assert!(!is_folder(dir.path().join("nothing").as_path()));
}

#[test]
fn bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ok.md", "fine");
    write(dir.path(), "sub/bad.md", "---\nname: x\n");
    let e = Folder::read(dir.path()).unwrap_err().to_string();
    assert!(e.contains("sub/bad.md:1: the frontmatter opened here is never closed"), "{e}");
    fs::remove_file(dir.path().join("sub/bad.md")).unwrap();
    fs::write(dir.path().join("bin.md"), [0xff, 0xfe]).unwrap();
    let e = Folder::read(dir.path()).unwrap_err().to_string();
    assert!(e.contains("bin.md: not UTF-8"), "{e}");
}

#[test]
fn an_index_too_long_overflows_into_a_linked_file_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("memory");
    let mut index = String::from("# Memory\n\n");
    for i in 0..230 {
        let words: Vec<String> = (0..6).map(|j| word(i * 10 + j)).collect();
        let name = format!("t{i:03}.md");
        write(
            &f,
            &name,
            &format!("---\nname: T{i}\ndescription: d{i}\ntype: project\n---\n\n{}\n", words.join(" ")),
        );
        index.push_str(&format!("- [T{i}]({name}) — d{i}\n"));
    }
    write(&f, "MEMORY.md", &index);
    let out = dir.path().join("out");
    let done = dream_into(&f, &out);
    let i = done.record.index.clone().unwrap();
    assert!(i.lines <= index::MAX_LINES && i.bytes <= index::MAX_BYTES, "{i:?}");
    assert!(i.moved > 0, "{i:?}");
    assert!(done.record.changes.iter().any(|c| c.file == OVERFLOW_FILE && c.change == ChangeKind::Added));
    let md = fs::read_to_string(out.join("dream/report.md")).unwrap();
    assert!(md.contains(&format!("move to `{OVERFLOW_FILE}`")), "{md}");

    let accepted = accept(&f, &out).unwrap();
    let head = fs::read_to_string(f.join(INDEX_FILE)).unwrap();
    let more = fs::read_to_string(f.join(OVERFLOW_FILE)).unwrap();
    assert!(head.lines().count() <= index::MAX_LINES);
    assert!(head.lines().last().unwrap().contains(&format!("({OVERFLOW_FILE})")));
    for i in 0..230 {
        let link = format!("(t{i:03}.md)");
        assert_eq!(head.matches(&link).count() + more.matches(&link).count(), 1, "{link}");
    }
    assert!(accepted.backup.join(INDEX_FILE).is_file());

    // A second dream reads the continuation as index, not as a memory, and
    // changes nothing.
    let again = Folder::read(&f).unwrap();
    assert_eq!(again.memories().unwrap().len(), 230);
    let out2 = dir.path().join("out2");
    let done = dream_into(&f, &out2);
    assert_eq!(done.record.changes, Vec::new(), "{:?}", done.record.changes);
}

#[test]
fn accept_refuses_a_changed_folder_and_keeps_names_and_frontmatter() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes");
    write(
        &f,
        "a.md",
        "---\nname: A\ndescription: tea\n# a comment\ntype: user\n---\n\nAna likes green tea.\n",
    );
    write(&f, "b.md", "---\nname: B\ndescription: copy\ntype: user\n---\n\nAna likes **green tea**\n");
    write(&f, "c.md", "Ben owns the catalogue.\n");
    let out = dir.path().join("out");
    let done = dream_into(&f, &out);
    let removed: Vec<&str> = done
        .record
        .changes
        .iter()
        .filter(|c| c.change == ChangeKind::Removed)
        .map(|c| c.file.as_str())
        .collect();
    assert_eq!(removed.len(), 1, "{:?}", done.record.changes);

    write(&f, "c.md", "Ben owns the catalogue and search.\n");
    write(&f, "d.md", "new\n");
    let e = accept(&f, &out).unwrap_err().to_string();
    assert!(e.contains("c.md changed") && e.contains("d.md added"), "{e}");
    assert_eq!(fs::read_to_string(f.join("c.md")).unwrap(), "Ben owns the catalogue and search.\n");
    write(&f, "c.md", "Ben owns the catalogue.\n");
    fs::remove_file(f.join("d.md")).unwrap();

    let done = accept(&f, &out).unwrap();
    assert!(done.backup.ends_with("notes.bak-1"));
    let kept = if removed[0] == "a.md" { "b.md" } else { "a.md" };
    let text = fs::read_to_string(f.join(kept)).unwrap();
    let fm = frontmatter::split(&text).unwrap().frontmatter.unwrap();
    assert_eq!(fm.get("name").as_deref(), Some(if kept == "a.md" { "A" } else { "B" }));
    assert_eq!(fm.get("type").as_deref(), Some("user"));
    assert!(!f.join(removed[0]).exists());
    assert_eq!(fs::read_to_string(f.join("c.md")).unwrap(), "Ben owns the catalogue.\n");
}
