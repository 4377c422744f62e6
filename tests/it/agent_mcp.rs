//! `dreamwork mcp` driven by a real MCP client: the official Python SDK
//! (`mcp` from PyPI), installed by this test into a virtual environment
//! under the target directory. The client script (`tests/mcp/client.py`)
//! initializes, lists the tools, calls each with good and bad arguments,
//! checks search ranking, and writes and dreams from other processes while
//! the server runs.
//!
//! Without network access to PyPI the test is skipped with a message —
//! except under CI (`CI` set) or with `DREAMWORK_REQUIRE_MCP=1`, where it
//! fails. The MiniLM variant needs the model (`dreamwork model fetch`), so
//! it is ignored unless asked for (`--include-ignored`, as
//! `bash scripts/test.sh` does).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The MCP SDK version the client is tested with.
const MCP_PACKAGE: &str = "mcp==2.3.0";

fn required(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| !v.is_empty() && v != "0")
}

/// A Python interpreter that can `import mcp`, installing the package into
/// a virtual environment on first use; `None` (skip) if pip cannot.
fn python_with_mcp() -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mcp-venv");
            let python =
                if cfg!(windows) { venv.join("Scripts/python.exe") } else { venv.join("bin/python") };
            let has_mcp = |python: &Path| {
                Command::new(python).args(["-c", "import mcp"]).output().is_ok_and(|o| o.status.success())
            };
            if python.exists() && has_mcp(&python) {
                return Some(python);
            }
            let created = Command::new("python3").args(["-m", "venv"]).arg(&venv).output();
            let installed = created.and_then(|o| {
                if !o.status.success() {
                    return Ok(o);
                }
                Command::new(&python).args(["-m", "pip", "install", "--quiet", MCP_PACKAGE]).output()
            });
            match installed {
                Ok(o) if o.status.success() && has_mcp(&python) => Some(python),
                other => {
                    let why = match other {
                        Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                        Err(e) => e.to_string(),
                    };
                    let message =
                        format!("cannot install the Python MCP SDK ({MCP_PACKAGE}) with pip: {why}");
                    assert!(!required("CI") && !required("DREAMWORK_REQUIRE_MCP"), "{message}");
                    eprintln!("SKIPPED: {message}");
                    None
                }
            }
        })
        .as_deref()
}

fn run_client(embedder: &str) {
    let Some(python) = python_with_mcp() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let bin = assert_cmd::cargo::cargo_bin("dreamwork");
    let init = Command::new(&bin).arg("init").arg(&store).output().expect("run dreamwork init");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(&bin)
        .arg(&store)
        .arg(work.path())
        .arg(embedder)
        .output()
        .expect("run the MCP client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "MCP client failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("checks held"), "{stdout}");
    eprintln!("{stdout}");
}

#[test]
fn mcp_server_with_the_python_sdk_client() {
    run_client("lexical");
}

#[test]
#[ignore = "needs the MiniLM model: run `dreamwork model fetch` (scripts/test.sh does)"]
fn mcp_server_search_by_meaning_with_minilm() {
    let model = Command::new(assert_cmd::cargo::cargo_bin("dreamwork"))
        .args(["model", "path"])
        .output()
        .expect("run dreamwork model path");
    assert!(
        model.status.success(),
        "the MiniLM model is not installed (run `dreamwork model fetch`): {}",
        String::from_utf8_lossy(&model.stderr)
    );
    run_client("minilm");
}
