//! The `exec` backend: any program that reads questions and writes answers
//! as JSON lines (`--resolver exec --resolver-cmd "PROGRAM ARGS…"`).
//!
//! The program is started once, at the first question (never when there is
//! none), with the dream's working directory and environment. Questions
//! are written to its stdin in the compact [`wire`](super::wire) form: a
//! memory line (`{"m":"m1","path":…,"at":…,"text":…}`) or an excerpt line
//! (`{"e":"e1","s":"s1","at":…,"text":…}`) the first time a question needs
//! it — once per dream, so the program keeps them — then the question line
//! (`{"cluster":"q1","members":["m1","m2"],"excerpts":["e1"],…}` or
//! `{"pattern":"q2","excerpts":[…]}`). It writes one answer per line to its
//! stdout, matched by `id` (`q1`), in any order: the contract's
//! [`Answer`](super::Answer), where member ids may stand for paths and an
//! output without `content` keeps the text of the member its `path` names.
//! Blank lines are ignored and stderr is passed through to a bounded buffer
//! quoted in error messages. `examples/exec_resolver.py` is a complete
//! resolver in 30 lines. A dream asks in rounds (at most
//! `MAX_ROUNDS`), so the program must
//! answer each question as it reads it, without waiting for the end of its
//! input; stdin is closed when the dream has asked everything, and the
//! program should then exit.
//!
//! Faults never stop the dream; they leave questions open with a clear
//! message in the report:
//! - a line that is not an answer, or answers a question not asked (or
//!   twice): the program's output can no longer be trusted, so it is
//!   stopped and every question still waiting is left open as
//!   [`OpenReason::Malformed`] naming the line;
//! - a line that names a waiting question but breaks the answer's format:
//!   that one question is left open (malformed), the others go on;
//! - the program exits, or sends nothing for [`ExecResolver::timeout`]:
//!   every question still waiting is left open ([`OpenReason::Backend`],
//!   with the exit status and the end of its stderr), and so is every later
//!   one (it is not restarted).
//!
//! Journal entries name the backend `exec` with the model `cmd-` and a hash
//! of the command line (another program is another model; the command line
//! itself is never written anywhere).
//!
//! A program that cannot be started at all stops the dream with
//! [`ResolveError::Backend`] (a typo in the command is better told at once).
//! Ctrl-C kills the program and stops the dream.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::wire::Encoder;
use super::{OpenReason, Question, Reply, ResolveError, Resolver, Sent, Watch};

/// The backend's name.
pub const EXEC: &str = "exec";
/// How long the program may stay silent while questions wait, by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Most bytes of the program's stderr kept for error messages.
const STDERR_TAIL: usize = 2000;
/// How often a wait checks for Ctrl-C.
const TICK: Duration = Duration::from_millis(100);

/// Runs a program that answers questions (see the module doc).
#[derive(Debug)]
pub struct ExecResolver {
    argv: Vec<String>,
    timeout: Duration,
    state: Mutex<State>,
    sent: Mutex<Sent>,
}

#[derive(Debug)]
enum State {
    NotStarted,
    Running(Running),
    /// It failed; every later question is left open with this message.
    Failed(String),
    Finished,
}

#[derive(Debug)]
struct Running {
    child: Child,
    stdin: Option<Arc<Mutex<ChildStdin>>>,
    lines: Receiver<std::io::Result<String>>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_thread: Option<JoinHandle<()>>,
    /// Lines read so far (for messages).
    line_no: usize,
    /// What the program has read: each memory and excerpt goes once.
    encoder: Box<Encoder>,
}

impl ExecResolver {
    /// A backend running `command`, split as a shell would (quotes, escapes;
    /// no variables, globs or pipes).
    pub fn new(command: &str) -> Result<Self, ResolveError> {
        let argv = shlex::split(command).filter(|a| !a.is_empty()).ok_or_else(|| {
            ResolveError::Backend(format!("--resolver-cmd {command:?} is not a command line"))
        })?;
        Ok(ExecResolver {
            argv,
            timeout: DEFAULT_TIMEOUT,
            state: Mutex::new(State::NotStarted),
            sent: Mutex::new(Sent::default()),
        })
    }

    /// How long the program may stay silent while questions wait.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The program and its arguments.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    fn start(&self) -> Result<Running, ResolveError> {
        let mut child = Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| ResolveError::Backend(format!("cannot start {:?}: {e}", self.argv[0])))?;
        let missing = || ResolveError::Backend("the program's pipes were not set up".into());
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = child.stdout.take().ok_or_else(missing)?;
        let mut err = child.stderr.take().ok_or_else(missing)?;
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let stop = line.is_err();
                if tx.send(line).is_err() || stop {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let tail = Arc::clone(&stderr);
        let stderr_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut t) = tail.lock() {
                    t.extend_from_slice(&buf[..n]);
                    let excess = t.len().saturating_sub(STDERR_TAIL);
                    t.drain(..excess);
                }
            }
        });
        Ok(Running {
            child,
            stdin: Some(Arc::new(Mutex::new(stdin))),
            lines,
            stderr,
            stderr_thread: Some(stderr_thread),
            line_no: 0,
            encoder: Box::default(),
        })
    }
}

impl Running {
    /// The end of the program's stderr, for a message (empty if none).
    /// Called once the program is gone: waits briefly for the stderr reader
    /// to see the last bytes, never for long (a grandchild may hold the pipe).
    fn stderr_tail(&mut self) -> String {
        if let Some(t) = self.stderr_thread.take() {
            let deadline = Instant::now() + Duration::from_millis(500);
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
        let bytes = self.stderr.lock().map(|b| b.clone()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).trim().to_owned();
        if text.is_empty() { String::new() } else { format!("; its stderr ends with: {text}") }
    }

    fn kill(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What waiting for the answers ended with.
enum Ended {
    /// Every question has its reply.
    Done,
    /// The rest stay open with this reason (the program is stopped).
    Broken(OpenReason),
    /// Ctrl-C.
    Cancelled,
}

impl Resolver for ExecResolver {
    fn name(&self) -> super::ResolverName {
        super::ResolverName::Exec
    }

    /// `cmd-` and 12 hex digits of the blake3 of the command line: another
    /// program (or other arguments) is another model, and the command line
    /// itself, which may hold a key, is never journaled.
    fn model(&self) -> String {
        let joined = self.argv.join("\0");
        format!("cmd-{}", &crate::memory::ContentHash::of(joined.as_bytes()).to_hex()[..12])
    }

    fn resolve(&self, batch: &[Question], watch: &Watch<'_>) -> Result<Vec<Reply>, ResolveError> {
        let mut state = self.state.lock().map_err(|_| ResolveError::Backend("exec state poisoned".into()))?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        if matches!(*state, State::NotStarted) {
            *state = State::Running(self.start()?);
            self.sent.lock().unwrap_or_else(|p| p.into_inner()).requests += 1;
        }
        let backend = |message: String| OpenReason::Backend { resolver: EXEC.into(), message };
        let run = match &mut *state {
            State::Running(run) => run,
            State::Failed(message) => {
                watch.answered(batch.len());
                return Ok(batch.iter().map(|_| Err(backend(message.clone()))).collect());
            }
            State::NotStarted | State::Finished => {
                return Err(ResolveError::Backend("exec was asked after it finished".into()));
            }
        };
        // Write the questions from another thread, so that a program that
        // answers before reading everything never deadlocks us.
        let lines: Vec<String> = batch.iter().flat_map(|q| run.encoder.encode(q)).collect();
        let text = super::wire::joined(&lines);
        self.sent.lock().unwrap_or_else(|p| p.into_inner()).add_text(&text);
        let stdin = run.stdin.clone();
        let writer = std::thread::spawn(move || -> std::io::Result<()> {
            let Some(stdin) = stdin else { return Ok(()) };
            let mut pipe = stdin.lock().map_err(|_| std::io::Error::other("stdin lock poisoned"))?;
            pipe.write_all(text.as_bytes())?;
            pipe.flush()
        });
        let waiting: BTreeMap<&str, usize> =
            batch.iter().enumerate().map(|(i, q)| (q.id.as_str(), i)).collect();
        let mut replies: Vec<Option<Reply>> = vec![None; batch.len()];
        let ended = collect(run, batch, &waiting, &mut replies, self.timeout, watch);
        if !matches!(ended, Ended::Done) {
            // A stopped program closes its stdin, so the writer ends too.
            run.kill();
        }
        let _ = writer.join();
        let ended = match ended {
            Ended::Done => None,
            Ended::Cancelled => {
                run.kill();
                *state = State::Failed("cancelled".into());
                return Err(ResolveError::Cancelled);
            }
            Ended::Broken(reason) => Some(reason),
        };
        if let Some(reason) = ended {
            run.kill();
            let open = replies.iter().filter(|r| r.is_none()).count();
            watch.answered(open);
            for r in replies.iter_mut().filter(|r| r.is_none()) {
                *r = Some(Err(reason.clone()));
            }
            *state = State::Failed(format!("an earlier fault stopped the program: {reason}"));
        }
        Ok(replies
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(OpenReason::NoAnswer { resolver: EXEC.into() })))
            .collect())
    }

    fn sent(&self) -> Sent {
        *self.sent.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn finish(&self) -> Result<(), ResolveError> {
        let mut state = self.state.lock().map_err(|_| ResolveError::Backend("exec state poisoned".into()))?;
        if let State::Running(run) = &mut *state {
            // Close stdin, then give the program the timeout to exit.
            run.stdin = None;
            let deadline = Instant::now() + self.timeout;
            loop {
                match run.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        run.kill();
                        break;
                    }
                    Ok(None) => std::thread::sleep(TICK.min(self.timeout)),
                }
            }
        }
        *state = State::Finished;
        Ok(())
    }
}

/// Reads answer lines until every question of `waiting` has a reply, or a
/// fault, a timeout or Ctrl-C ends the wait.
fn collect(
    run: &mut Running,
    batch: &[Question],
    waiting: &BTreeMap<&str, usize>,
    replies: &mut [Option<Reply>],
    timeout: Duration,
    watch: &Watch<'_>,
) -> Ended {
    let backend = |message: String| OpenReason::Backend { resolver: EXEC.into(), message };
    let mut open = replies.len();
    let mut last = Instant::now();
    while open > 0 {
        if watch.is_cancelled() {
            return Ended::Cancelled;
        }
        let line = match run.lines.recv_timeout(TICK) {
            Ok(Ok(line)) => line,
            Ok(Err(e)) => return Ended::Broken(backend(format!("reading its output failed: {e}"))),
            Err(RecvTimeoutError::Timeout) => {
                if last.elapsed() >= timeout {
                    run.kill();
                    return Ended::Broken(backend(format!(
                        "no answer within {:?} ({open} of {} questions waiting){}",
                        timeout,
                        replies.len(),
                        run.stderr_tail()
                    )));
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = run.child.wait().map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                return Ended::Broken(backend(format!(
                    "the program ended ({status}) with {open} of {} questions unanswered{}",
                    replies.len(),
                    run.stderr_tail()
                )));
            }
        };
        last = Instant::now();
        run.line_no += 1;
        if line.trim().is_empty() {
            continue;
        }
        let malformed = |message: String| OpenReason::Malformed { message };
        let at = run.line_no;
        let value: Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(e) => return Ended::Broken(malformed(format!("output line {at} is not an answer: {e}"))),
        };
        let Some(id) = value.get("id").and_then(Value::as_str) else {
            return Ended::Broken(malformed(format!("output line {at} is not an answer: it has no \"id\"")));
        };
        let slot = match run.encoder.question_id(id).and_then(|full| waiting.get(full)) {
            Some(&i) if replies[i].is_none() => i,
            Some(_) => {
                return Ended::Broken(malformed(format!("output line {at} answers {id} a second time")));
            }
            None => {
                return Ended::Broken(malformed(format!(
                    "output line {at} answers {id}, which was not asked"
                )));
            }
        };
        let reply = match run.encoder.answer(&batch[slot], &value) {
            Ok(answer) => Ok(answer.into()),
            Err(e) => Err(malformed(format!("output line {at}: malformed answer for {id}: {e}"))),
        };
        replies[slot] = Some(reply);
        open -= 1;
        watch.answered(1);
    }
    Ended::Done
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::{CancelToken, Silent};
    use crate::resolve::{QuestionKind, Verdict};

    fn questions(n: usize) -> Vec<Question> {
        (0..n).map(|i| Question::new(QuestionKind::Pattern, format!("q{i}"), vec![], vec![], "")).collect()
    }

    fn sh(script: &str) -> ExecResolver {
        ExecResolver::new(&format!("sh -c {}", shlex::try_quote(script).unwrap()))
            .unwrap()
            .timeout(Duration::from_secs(5))
    }

    fn ask(r: &ExecResolver, qs: &[Question]) -> Vec<Reply> {
        r.resolve(qs, &Watch::new(&Silent, &CancelToken::new(), qs.len())).unwrap()
    }

    /// Echoes each question's id back as "unresolved" (sed, no JSON parser
    /// needed; table lines are skipped).
    const ECHO: &str = r#"while read -r line; do case "$line" in '{"cluster"'*|'{"pattern"'*) id=$(printf '%s' "$line" | sed 's/^{"[a-z]*":"\([^"]*\)".*/\1/'); printf '{"id":"%s","unresolved":true,"reason":"echo"}\n' "$id";; esac; done"#;

    #[test]
    fn answers_are_matched_by_id_across_rounds() {
        let r = sh(ECHO);
        let qs = questions(3);
        let replies = ask(&r, &qs);
        assert!(replies.iter().all(|r| matches!(&r.as_ref().unwrap().answer.verdict, Verdict::Unresolved)));
        for (q, reply) in qs.iter().zip(&replies) {
            assert_eq!(reply.as_ref().unwrap().answer.id, q.id);
        }
        // The same process answers a second round, then exits when stdin closes.
        let more = questions(5);
        assert!(ask(&r, &more[3..]).iter().all(Result::is_ok));
        r.finish().unwrap();
    }

    #[test]
    fn nothing_is_started_without_questions() {
        let r = ExecResolver::new("/nonexistent/program").unwrap();
        assert!(ask(&r, &[]).is_empty());
        r.finish().unwrap();
        let err = r.resolve(&questions(1), &Watch::new(&Silent, &CancelToken::new(), 1));
        assert!(err.is_err());
        let r = ExecResolver::new("/nonexistent/program").unwrap();
        let err = r.resolve(&questions(1), &Watch::new(&Silent, &CancelToken::new(), 1)).unwrap_err();
        assert!(err.to_string().contains("cannot start \"/nonexistent/program\""), "{err}");
        assert!(ExecResolver::new("  ").is_err());
        assert!(ExecResolver::new("prog 'unclosed").is_err());
    }
}
