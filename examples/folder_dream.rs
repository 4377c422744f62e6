//! A Claude Code memory folder dreamed in place, timed: a Claude Code home
//! holding a project whose `memory/` has 200 topic files (from the seeded
//! corpus, with `name` / `description` / `type` frontmatter) and a
//! `MEMORY.md` linking each, next to 100 transcripts written in Claude
//! Code's JSONL format; then `dreamwork dream MEMORY --out OUT` by the CLI
//! next to this example (transcripts found by the folder's layout). Prints
//! the wall time of the dream and of `accept`.
//!
//! ```sh
//! cargo build --release --bin dreamwork
//! cargo run --release --example folder_dream [-- FILES SESSIONS EMBEDDER]
//! ```
//!
//! Defaults: 200 files, 100 sessions, `minilm` (its model must be
//! installed: `dreamwork model fetch`; `lexical` needs none).

use std::error::Error;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dreamwork::embed::locate::{LocateOptions, locate};
use dreamwork::session::{Role, Session};
use dreamwork_testkit::corpus::{Spec, generate};
use serde_json::json;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files: usize = args.first().map_or(Ok(200), |a| a.parse())?;
    let sessions: usize = args.get(1).map_or(Ok(100), |a| a.parse())?;
    let embedder = args.get(2).map_or("minilm", String::as_str);
    let exe = std::env::current_exe()?;
    let bin =
        exe.parent().and_then(Path::parent).map(|dir| dir.join("dreamwork")).filter(|p| p.is_file()).ok_or(
            "no dreamwork binary next to this example: run `cargo build --release --bin dreamwork` first",
        )?;

    let tmp = tempfile::tempdir()?;
    let home = tmp.path().join(".claude");
    let project = tmp.path().join("shop");
    std::fs::create_dir_all(&project)?;
    let slug: String =
        project.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let dir = home.join("projects").join(slug);
    let memory = dir.join("memory");
    std::fs::create_dir_all(&memory)?;

    let corpus = generate(Spec { seed: 11, facts: files, sessions, session_scale: 1 });
    let mut index = String::from("# Memory\n\n");
    for (i, m) in corpus.memories.iter().take(files).enumerate() {
        let name = format!("{}.md", m.path.as_str()[1..].trim_end_matches(".md").replace('/', "_"));
        let first = m.content.lines().next().unwrap_or("").replace(['"', '\\'], "");
        let kind = ["project", "reference", "feedback", "user"][i % 4];
        let text =
            format!("---\nname: \"{first}\"\ndescription: \"{first}\"\ntype: {kind}\n---\n\n{}\n", m.content);
        std::fs::write(memory.join(&name), text)?;
        let _ = writeln!(index, "- [{first}]({name})");
    }
    std::fs::write(memory.join("MEMORY.md"), index)?;
    for s in &corpus.sessions {
        std::fs::write(dir.join(format!("{}.jsonl", s.id)), transcript(s, &project))?;
    }
    println!(
        "folder: {} files, {} transcripts; embedder {embedder}; binary {}",
        files + 1,
        corpus.sessions.len(),
        bin.display()
    );

    // The model is found as the CLI finds it; the vector cache is fresh.
    let mut model: Vec<std::ffi::OsString> = vec!["--embedder".into(), embedder.into()];
    if embedder == "minilm" {
        let located = locate(&LocateOptions::default());
        let (dir, lib) = located.paths().ok_or_else(|| located.missing_message())?;
        model.extend(["--model-dir".into(), dir.into(), "--ort-lib".into(), lib.into()]);
    }
    model.extend(["--cache-dir".into(), tmp.path().join("cache").into()]);
    let out = tmp.path().join("out");
    let t = Instant::now();
    let done = Command::new(&bin)
        .env("CLAUDE_CONFIG_DIR", &home)
        .arg("dream")
        .arg(&memory)
        .arg("--out")
        .arg(&out)
        .args(&model)
        .output()?;
    let dreamed = t.elapsed();
    if !done.status.success() {
        return Err(String::from_utf8_lossy(&done.stderr).into_owned().into());
    }
    print!("{}", String::from_utf8_lossy(&done.stdout));
    let t = Instant::now();
    let accepted =
        Command::new(&bin).env("CLAUDE_CONFIG_DIR", &home).arg("accept").arg(&memory).arg(&out).output()?;
    if !accepted.status.success() {
        return Err(String::from_utf8_lossy(&accepted.stderr).into_owned().into());
    }
    println!("dream: {dreamed:.2?} wall (fresh vector cache); accept: {:.2?}", t.elapsed());
    Ok(())
}

/// `s` as Claude Code writes it: one JSON line per turn.
fn transcript(s: &Session, project: &Path) -> String {
    let mut out = String::new();
    let id = s.id.to_string();
    for (n, turn) in s.turns.iter().enumerate() {
        let mut line = json!({
            "parentUuid": null, "isSidechain": false, "userType": "external",
            "cwd": project.to_string_lossy(), "sessionId": id, "version": "2.0.14",
            "uuid": format!("{id}-{n}"),
            "timestamp": turn.timestamp.map(|t| t.to_rfc3339()),
        });
        let (kind, message) = match turn.role {
            Role::Assistant => {
                let mut content = vec![json!({"type": "text", "text": turn.text})];
                for (k, c) in turn.tool_calls.iter().enumerate() {
                    let input: serde_json::Value = serde_json::from_str(&c.input).unwrap_or(json!({}));
                    let call = c.id.clone().unwrap_or_else(|| format!("toolu_{n}_{k}"));
                    content.push(json!({"type": "tool_use", "id": call, "name": c.name, "input": input}));
                }
                ("assistant", json!({"id": format!("msg_{n}"), "role": "assistant", "content": content}))
            }
            Role::Tool => {
                let content: Vec<_> = turn
                    .tool_results
                    .iter()
                    .enumerate()
                    .map(|(k, r)| {
                        let call = r.call_id.clone().unwrap_or_else(|| format!("toolu_{}_{k}", n.saturating_sub(1)));
                        json!({"type": "tool_result", "tool_use_id": call, "content": r.content, "is_error": r.is_error})
                    })
                    .collect();
                ("user", json!({"role": "user", "content": content}))
            }
            _ => ("user", json!({"role": "user", "content": turn.text})),
        };
        line["type"] = json!(kind);
        line["message"] = message;
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}
