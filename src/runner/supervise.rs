//! The supervisor side of worker processes. It hands files to whichever worker is free, saves
//! every event as it arrives, stops a worker whose test passes its deadline, replaces a worker
//! that dies, and reruns the rest of the affected files elsewhere: a crash or a hang costs one
//! test, never the run, and no test is lost or reported twice.
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tokio::sync::Notify;

use crate::runner::event::{ErrorKind, Event, TestResult, TestStart};
use crate::runner::filter::Part;
use crate::runner::outbox;
use crate::runner::plan::FileTask;
use crate::runner::python;
use crate::runner::schedule::Shared;
use crate::runner::siblings::{self, SiblingPipes};
use crate::runner::timeout;
use crate::runner::worker::{self, FrameReader, Request, WorkerConfig};

/// After SIGTERM, how long a worker gets before SIGKILL.
const KILL_GRACE: Duration = Duration::from_millis(500);
/// How long a worker whose files are done may take to tear down its session fixtures.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);
/// How often an idle driver looks at the queue and the stop flag.
const POLL: Duration = Duration::from_millis(20);
/// How long a busy driver waits for its worker's events before it looks at the stop flag.
const TICK: Duration = Duration::from_millis(5);
/// How long a worker may take to start its interpreter and shake hands.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
/// Workers in a row that die before their handshake, after which the run ends (exit 3).
const MAX_BOOT_FAILURES: usize = 3;
/// How much of a failed worker's start-up output the message shows.
const BOOT_LINES: usize = 50;
/// A worker's event pipe holds this much, so it rarely waits for the supervisor's next tick.
const PIPE_BYTES: i32 = 1 << 20;

#[derive(Debug, Clone)]
pub struct Pool {
    pub workers: usize,
    /// Files one worker runs at once (threads in its interpreter).
    pub per_worker: usize,
    /// `--timeout`: for tests that set none.
    pub default_timeout: Option<f64>,
    pub config: WorkerConfig,
}

/// A file waiting for, or handed to, a worker.
#[derive(Debug, Clone)]
struct Item {
    task: FileTask,
    /// Tests already reported, by their place in the file (`order.1`): a rerun in another
    /// worker leaves them out. (A list: one is added per result, 10,000 in a run, and it is
    /// read only when the file is handed out again.)
    skip: Vec<usize>,
    /// Run alone in its worker: after a worker died with several tests running, each of their
    /// files reruns alone so that a crash is pinned on the test that causes it.
    isolate: bool,
    /// Short last time: may wait in a busy worker (see `Durations::is_short`).
    short: bool,
    /// Computed (rather than waited) for most of its time last time: one such file per
    /// worker, as threads of one interpreter cannot compute at once.
    heavy: bool,
    /// Last run's milliseconds of its tests (None: not known).
    est_ms: Option<f64>,
    /// One part of a file split by class over workers (see `split`); None: the whole file.
    part: Option<Part>,
}

struct Queue {
    items: Mutex<VecDeque<Item>>,
    /// Items handed out and not finished.
    in_flight: AtomicUsize,
    changed: Notify,
    /// Workers in a row that died before their handshake (any driver's).
    boot_failures: AtomicUsize,
    /// Files split over workers, and the ids of their file-level and tear-down entries
    /// reported so far: each part imports the file and runs its module tear-down, but an
    /// import error or a failed `tearDownModule` is reported once.
    split: HashSet<usize>,
    once: Mutex<HashSet<String>>,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Item>> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn requeue(&self, items: impl IntoIterator<Item = Item>) {
        let mut q = self.lock();
        for it in items {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            q.push_front(it);
        }
        drop(q);
        self.changed.notify_waiters();
    }

    fn done(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }
}

struct Running {
    start: TestStart,
    since: Instant,
    deadline: Option<Instant>,
}

/// Files handed to a worker, by index, with the thread slot running each (`usize::MAX` until
/// a thread takes it); the slot names the file's output spool.
type Files = HashMap<usize, (Item, usize)>;

/// Process groups of workers started and not yet cleared: whatever path the run ends by
/// (an interrupt, an error, tasks dropped at shutdown), `kill_all` leaves none behind.
static GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Workers that finished and were stopped, whose exits are still to be waited for.
static EXITS: Mutex<Vec<tokio::task::JoinHandle<()>>> = Mutex::new(Vec::new());

/// Wait for the exits of the workers that finished (each bounded by its own timeout).
pub async fn exited() {
    let exits = std::mem::take(&mut *EXITS.lock().unwrap_or_else(PoisonError::into_inner));
    for exit in exits {
        let _ = exit.await;
    }
}

/// Clears its worker's process group (worker and whatever its tests started) when dropped.
struct Group(u32);

impl Group {
    fn new(pid: u32) -> Group {
        GROUPS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(pid);
        Group(pid)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        signal_group(self.0, libc::SIGKILL);
        GROUPS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|&p| p != self.0);
    }
}

/// Stop every worker process group still there, at once (SIGKILL): called on every way out of
/// a run, as tasks holding workers may not be dropped before the process exits.
pub fn kill_all() {
    siblings::forget();
    let groups = std::mem::take(&mut *GROUPS.lock().unwrap_or_else(PoisonError::into_inner));
    for pid in groups {
        signal_group(pid, libc::SIGKILL);
    }
}

/// One live worker process.
pub struct Worker {
    child: Proc,
    _group: Group,
    /// 0 for a sibling until its handshake names it.
    pid: u32,
    stdin: Option<pipe::Sender>,
    frames: FrameReader<pipe::Receiver>,
    files: Files,
    /// Tests running in it, by their place in the report.
    tests: HashMap<(usize, usize), Running>,
    isolated: bool,
    /// Its handshake was read: it started and is ready for work.
    ready: bool,
    /// A suite hook running outside any test, by file index: what to blame if it dies there.
    hooks: HashMap<usize, Hook>,
}

struct Hook {
    hook: String,
    suite: String,
    blamed: Vec<TestStart>,
    since: Instant,
}

/// A worker process: started by the supervisor, or forked from the first worker as its
/// sibling (`siblings`) and adopted by the supervisor, then waited for by pid.
enum Proc {
    Spawned(Child),
    Forked {
        /// Its exit, waited for on a blocking thread once its pid is known.
        exit: Option<tokio::task::JoinHandle<std::process::ExitStatus>>,
        status: Option<std::process::ExitStatus>,
    },
}

impl Proc {
    /// Wait for the process to end (cancel-safe: a wait cut short by a timeout goes on where
    /// it was when called again).
    async fn wait(&mut self, pid: u32) -> std::io::Result<std::process::ExitStatus> {
        match self {
            Proc::Spawned(child) => child.wait().await,
            Proc::Forked { exit, status } => {
                if let Some(s) = status {
                    return Ok(*s);
                }
                if pid == 0 {
                    // Never forked, or gone before its handshake: no process to wait for.
                    use std::os::unix::process::ExitStatusExt;
                    return Ok(std::process::ExitStatus::from_raw(0));
                }
                let waiting = exit.get_or_insert_with(|| {
                    tokio::task::spawn_blocking(move || siblings::reap(pid))
                });
                let s = waiting.await.map_err(std::io::Error::other)?;
                *exit = None;
                *status = Some(s);
                Ok(s)
            }
        }
    }
}

/// Start a worker process (inside a tokio runtime).
pub fn spawn_worker(config: &WorkerConfig) -> anyhow::Result<Worker> {
    Ok(spawn_workers(config, 1)?.remove(0))
}

/// Start `n` workers (inside a tokio runtime): one process, which forks the others once its
/// interpreter has started (see `siblings`), or, where that cannot be, one.
pub fn spawn_workers(config: &WorkerConfig, n: usize) -> anyhow::Result<Vec<Worker>> {
    let mut pipes = Vec::new();
    if n > 1 && siblings::expect(n - 1) {
        for _ in 1..n {
            match SiblingPipes::new() {
                Ok(p) => pipes.push(p),
                Err(_) => siblings::settled(),
            }
        }
    }
    let mut config = config.clone();
    config.siblings = pipes.iter().map(SiblingPipes::fds).collect();
    let first = spawn_process(&config)?;
    let mut workers = vec![first];
    for p in pipes {
        let SiblingPipes {
            requests, events, ..
        } = p;
        set_pipe_size(&events);
        workers.push(Worker::new(
            Proc::Forked {
                exit: None,
                status: None,
            },
            0,
            pipe::Sender::from_owned_fd(requests)?,
            pipe::Receiver::from_owned_fd(events)?,
        ));
    }
    Ok(workers)
}

fn set_pipe_size(fd: &impl std::os::fd::AsRawFd) {
    // SAFETY: F_SETPIPE_SZ on a pipe we own; failure only leaves the default size.
    unsafe {
        libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_BYTES);
    }
}

fn spawn_process(config: &WorkerConfig) -> anyhow::Result<Worker> {
    // Workers run this very binary even if its file is replaced during the run (a rebuild, an
    // upgrade): /proc/self/exe is the running executable itself, not a path to look up again.
    // A worker of another version would speak another protocol, and its events be lost.
    let named = std::env::current_exe()?;
    let this = PathBuf::from("/proc/self/exe");
    let exe = if this.exists() { this } else { named.clone() };
    let inherited: Vec<i32> = config
        .siblings
        .iter()
        .flat_map(|s| [s.requests, s.events])
        .collect();
    let mut command = Command::new(exe);
    command
        .arg0(&named)
        .arg(worker::WORKER_ARG)
        .env(worker::CONFIG_VAR, serde_json::to_string(config)?)
        .env(worker::SUPERVISOR_VAR, std::process::id().to_string())
        // Started by the release launcher: the worker, an engine too, needs libpython's folder.
        .envs(crate::launched::worker_env())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        // Its own process group: the terminal's Ctrl-C reaches only the supervisor, and
        // stopping the group also stops whatever the tests started.
        .process_group(0)
        .kill_on_drop(true);
    if !inherited.is_empty() {
        // SAFETY: only fcntl (async-signal-safe) on descriptors this process owns, in the
        // child between fork and exec: its siblings' pipe ends survive the exec there alone.
        unsafe {
            command.pre_exec(move || {
                for &fd in &inherited {
                    libc::fcntl(fd, libc::F_SETFD, 0);
                }
                Ok(())
            });
        }
    }
    let mut child = command.spawn()?;
    let pid = child.id().unwrap_or(0);
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("worker has no stdin"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("worker has no stdout"))?;
    let stdout = stdout.into_owned_fd()?;
    set_pipe_size(&stdout);
    Ok(Worker::new(
        Proc::Spawned(child),
        pid,
        pipe::Sender::from_owned_fd(stdin.into_owned_fd()?)?,
        pipe::Receiver::from_owned_fd(stdout)?,
    ))
}

impl Worker {
    fn new(child: Proc, pid: u32, stdin: pipe::Sender, events: pipe::Receiver) -> Worker {
        Worker {
            child,
            _group: Group::new(pid),
            pid,
            stdin: Some(stdin),
            frames: FrameReader::new(events),
            files: HashMap::new(),
            tests: HashMap::new(),
            isolated: false,
            ready: false,
            hooks: HashMap::new(),
        }
    }

    /// A sibling before its handshake: its pid (and process group) are not known yet.
    fn unnamed(&self) -> bool {
        self.pid == 0 && matches!(self.child, Proc::Forked { .. })
    }

    /// Wait for it to end.
    async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait(self.pid).await
    }

    async fn send(&mut self, request: &Request) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(request).map_err(std::io::Error::other)?;
        line.push(b'\n');
        match self.stdin.as_mut() {
            Some(s) => s.write_all(&line).await,
            None => Err(std::io::Error::other("worker stdin closed")),
        }
    }

    fn next_deadline(&self) -> Option<(Instant, (usize, usize))> {
        self.tests
            .iter()
            .filter_map(|(key, r)| r.deadline.map(|d| (d, *key)))
            .min_by_key(|(d, _)| *d)
    }

    /// Stop the worker and everything its tests started: SIGTERM, then SIGKILL.
    async fn kill(&mut self) -> std::process::ExitStatus {
        signal_group(self.pid, libc::SIGTERM);
        let status = match tokio::time::timeout(KILL_GRACE, self.wait()).await {
            Ok(Ok(s)) => s,
            _ => {
                signal_group(self.pid, libc::SIGKILL);
                self.wait().await.unwrap_or_default()
            }
        };
        signal_group(self.pid, libc::SIGKILL);
        status
    }

    /// Close the stdin of a worker that ran no test file (it exits at once), then clear its
    /// process group.
    async fn shut_down(mut self) {
        self.stdin = None;
        if self.unnamed() {
            // A sibling says which process it is first: learn it, to wait for that process.
            let named = tokio::time::timeout(BOOT_TIMEOUT, self.frames.handshake()).await;
            siblings::settled();
            match named {
                Ok(Ok(Some(pid))) if pid != 0 => {
                    self.pid = pid;
                    self._group = Group::new(pid);
                }
                _ => return,
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.wait()).await;
        signal_group(self.pid, libc::SIGKILL);
    }

    /// Close its stdin (it exits when its files are done), reading what it still reports (its
    /// session fixtures' tear-down problems) until it ends, then clear its process group of
    /// anything tests left behind.
    async fn finish(mut self, queue: &Queue, pool: &Pool, shared: &Shared) {
        self.stdin = None;
        // Tear-downs may stop servers or containers: time enough for that, not forever.
        let until = Instant::now() + SHUTDOWN_GRACE;
        let ended = loop {
            match tokio::time::timeout_at(until.into(), self.frames.next()).await {
                Ok(Ok(Some(e))) => handle_event(&mut self, e, queue, pool, shared),
                Ok(_) => break true,
                Err(_) => break false,
            }
        };
        if ended {
            // It may have died tearing down: what it had not written yet.
            self.recover_events(queue, pool, shared);
            // It closes its stream after its last work: what is left is its exit (and
            // whatever its tests left running), cut short. Waited for (`exited`), so no
            // process of this run is still alive when the next starts (`tmp_path` keeps their
            // folders), but while the run's results are put in order: the kernel takes
            // milliseconds to free an interpreter's memory.
            signal_group(self.pid, libc::SIGKILL);
            let exit = tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), self.wait()).await;
            });
            EXITS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(exit);
            return;
        }
        eprintln!(
            "dbtest: a worker was still tearing down its session fixtures after {} s and was \
             stopped; make their teardown (after `yield`) finish sooner",
            SHUTDOWN_GRACE.as_secs()
        );
        signal_group(self.pid, libc::SIGKILL);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.wait()).await;
    }

    /// After its output ended: the events it had not yet written to its pipe (`outbox`),
    /// handled as if read from it.
    fn recover_events(&mut self, queue: &Queue, pool: &Pool, shared: &Shared) {
        let path = outbox::events_path(&pool.config.spool_dir, self.pid);
        let rest = outbox::recover(&path, self.frames.received());
        self.frames.append(&rest);
        while let Some(e) = self.frames.buffered() {
            handle_event(self, e, queue, pool, shared);
        }
    }

    fn spool(&self, dir: &std::path::Path, file_index: usize) -> (Option<String>, Option<String>) {
        let Some((_, slot)) = self
            .files
            .get(&file_index)
            .filter(|(_, slot)| *slot != usize::MAX)
        else {
            return (None, None);
        };
        let [out, err] = worker::spool_paths(dir, self.pid, *slot);
        let read = |p: PathBuf| {
            std::fs::read(&p)
                .ok()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
        };
        (read(out), read(err))
    }
}

/// How a worker's start went.
enum Boot {
    Ready,
    /// The run stopped while it started.
    Stopped,
    /// It died (or hung) before its handshake.
    Failed(BootFailure),
    /// A sibling its first worker did not fork: start one instead.
    NotForked,
}

struct BootFailure {
    /// How it ended.
    status: String,
    /// The start of what it printed.
    output: String,
}

impl std::fmt::Display for BootFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}; its output while starting (first {BOOT_LINES} lines):\n{}",
            self.status, self.output
        )
    }
}

/// Wait for the worker's handshake: it proves the worker started its interpreter and is
/// ready, before any work is handed to it.
async fn handshake(w: &mut Worker, pool: &Pool, shared: &Shared) -> Boot {
    if w.ready {
        return Boot::Ready;
    }
    let deadline = Instant::now() + BOOT_TIMEOUT;
    let status = loop {
        if shared.stop.load(Ordering::SeqCst) {
            return Boot::Stopped;
        }
        match tokio::time::timeout(POLL, w.frames.handshake()).await {
            Ok(Ok(Some(pid))) if pid == w.pid => {
                w.ready = true;
                return Boot::Ready;
            }
            Ok(Ok(Some(pid))) if w.unnamed() && pid != 0 => {
                // A sibling, adopted before it wrote this: a worker like any other from now.
                siblings::settled();
                w.pid = pid;
                w._group = Group::new(pid);
                w.ready = true;
                return Boot::Ready;
            }
            // Its first worker did not fork it (or died first): start it as usual.
            Ok(_) if w.unnamed() => {
                siblings::settled();
                return Boot::NotForked;
            }
            // Its output ended, or began with something else.
            Ok(_) => match tokio::time::timeout(KILL_GRACE, w.wait()).await {
                Ok(Ok(status)) => break describe_exit(status),
                _ => {
                    w.kill().await;
                    break "it wrote something other than its handshake".to_string();
                }
            },
            Err(_) if Instant::now() >= deadline => {
                w.kill().await;
                break format!("it did not start within {} s", BOOT_TIMEOUT.as_secs());
            }
            Err(_) => {}
        }
    };
    signal_group(w.pid, libc::SIGKILL);
    let path = worker::boot_path(&pool.config.spool_dir, w.pid);
    let text = std::fs::read(&path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = lines[..lines.len().min(BOOT_LINES)].join("\n");
    if lines.len() > BOOT_LINES {
        shown.push_str(&format!("\n[... {} more lines]", lines.len() - BOOT_LINES));
    }
    if shown.trim().is_empty() {
        shown = "(it printed nothing)".into();
    }
    Boot::Failed(BootFailure {
        status,
        output: shown,
    })
}

/// A worker died before its handshake: false (and the run's fatal error set) once that
/// happened `MAX_BOOT_FAILURES` times in a row, rather than starting workers forever.
fn boot_failed(why: BootFailure, queue: &Queue, shared: &Shared) -> bool {
    let failures = queue.boot_failures.fetch_add(1, Ordering::SeqCst) + 1;
    if failures < MAX_BOOT_FAILURES {
        eprintln!(
            "dbtest: a worker process died before it was ready ({}); starting another",
            why.status
        );
        return true;
    }
    set_fatal(
        shared,
        format!(
            "worker processes died before they were ready, {failures} times in a row; the last: {why}"
        ),
    );
    false
}

/// The run cannot go on: stop it, to end with `message` (the first such message wins).
fn set_fatal(shared: &Shared, message: String) {
    let mut fatal = shared.fatal.lock().unwrap_or_else(PoisonError::into_inner);
    if fatal.is_none() {
        *fatal = Some(message);
    }
    shared.stop.store(true, Ordering::SeqCst);
}

fn signal_group(pid: u32, sig: i32) {
    if pid > 0 {
        // SAFETY: signalling a process group we created; a stale id at worst fails with ESRCH.
        unsafe {
            libc::kill(-(pid as i32), sig);
        }
    }
}

/// How a process ended, as a person would say it.
pub fn describe_exit(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(sig) = status.signal() {
        let name = match sig {
            libc::SIGSEGV => "SIGSEGV (segmentation fault)".to_string(),
            libc::SIGABRT => "SIGABRT (abort)".to_string(),
            libc::SIGBUS => "SIGBUS (bus error)".to_string(),
            libc::SIGFPE => "SIGFPE (arithmetic error)".to_string(),
            libc::SIGILL => "SIGILL (illegal instruction)".to_string(),
            libc::SIGKILL => "SIGKILL".to_string(),
            libc::SIGTERM => "SIGTERM".to_string(),
            n => format!("signal {n}"),
        };
        format!("killed by {name}")
    } else {
        match status.code() {
            Some(c) => format!("exit code {c}"),
            None => "unknown status".into(),
        }
    }
}

fn error_result(start: &TestStart, kind: ErrorKind, message: String, since: Instant) -> TestResult {
    let mut r = start.clone().interrupted();
    r.kind = Some(kind);
    r.message = Some(message);
    r.duration_ms = since.elapsed().as_secs_f64() * 1000.0;
    r
}

/// What the scheduler knows of the files beyond their order, by file index.
#[derive(Debug, Default)]
pub struct FileHints {
    /// Short last time.
    pub short: HashSet<usize>,
    /// Last time's milliseconds of each file's tests, where known.
    pub est: HashMap<usize, f64>,
    /// Computed for most of their time last time.
    pub heavy: HashSet<usize>,
    /// Files spread over workers by class, with their parts.
    pub parts: HashMap<usize, Vec<Part>>,
}

/// Run test files on a pool of workers; returns when all are done or the run stops.
/// `started` are workers started early (while discovery ran); the drivers take them first.
pub async fn run_tests(
    tasks: Vec<FileTask>,
    pool: Arc<Pool>,
    shared: Arc<Shared>,
    started: Vec<Worker>,
    mut hints: FileHints,
) {
    let mut started = started.into_iter();
    if tasks.is_empty() {
        for w in started {
            w.shut_down().await;
        }
        return;
    }
    let split: HashSet<usize> = hints.parts.keys().copied().collect();
    // A split file's parts take its place in the queue, one after another.
    let items: VecDeque<Item> = tasks
        .into_iter()
        .flat_map(|task| {
            let parts: Vec<Option<Part>> = match hints.parts.remove(&task.index) {
                Some(p) => p.into_iter().map(Some).collect(),
                None => vec![None],
            };
            let (short, heavy) = (
                hints.short.contains(&task.index),
                hints.heavy.contains(&task.index),
            );
            // (a part's share of the file is not known: its whole file's time)
            let est_ms = hints.est.get(&task.index).copied();
            parts.into_iter().map(move |part| Item {
                task: task.clone(),
                skip: Vec::new(),
                isolate: false,
                short,
                heavy,
                est_ms,
                part,
            })
        })
        .collect();
    let n = pool.workers.clamp(1, items.len());
    let queue = Arc::new(Queue {
        items: Mutex::new(items),
        in_flight: AtomicUsize::new(0),
        changed: Notify::new(),
        boot_failures: AtomicUsize::new(0),
        split,
        once: Mutex::new(HashSet::new()),
    });
    // Each driver takes a worker started early (the first and its forked siblings), or spawns
    // its own when there is none (or one never came).
    let drivers: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(drive(
                queue.clone(),
                pool.clone(),
                shared.clone(),
                started.next(),
            ))
        })
        .collect();
    // Early workers beyond the files to run (filters left fewer) are not needed.
    for w in started {
        w.shut_down().await;
    }
    for d in drivers {
        let _ = d.await;
    }
}

/// `emit` for a test file's events: in a split file, an entry its parts each report (the
/// file's import error, a failed module tear-down) is passed on once.
fn emit_result(queue: &Queue, shared: &Shared, e: Event) {
    if let Event::TestFinished(r) | Event::FileError(r) = &e {
        let teardown = r.kind == Some(ErrorKind::Teardown);
        let shared_entry = matches!(e, Event::FileError(_)) || teardown;
        // A session fixture is torn down by every worker that set it up (as under
        // pytest-xdist): its failing tear-down, the same entry, is reported once.
        let session_entry = teardown && python::is_process_place(r.order.1);
        if (shared_entry && queue.split.contains(&r.order.0)) || session_entry {
            let mut once = queue.once.lock().unwrap_or_else(PoisonError::into_inner);
            if !once.insert(r.id.clone()) {
                return;
            }
        }
    }
    emit(shared, e);
}

fn emit(shared: &Shared, e: Event) {
    if let Event::TestFinished(r) | Event::FileError(r) = &e {
        if r.fails_run() && shared.fail_fast {
            shared.stop.store(true, Ordering::SeqCst);
        }
    }
    shared.events.push(e);
}

/// One worker's loop: keep it supplied with files, read its events, replace it when it dies
/// or is stopped at a deadline; returns when the queue is done or the run stops.
async fn drive(queue: Arc<Queue>, pool: Arc<Pool>, shared: Arc<Shared>, first: Option<Worker>) {
    let mut current: Option<Worker> = first;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            if let Some(w) = current.take() {
                stop(w, &queue, &pool, &shared).await;
            }
            return;
        }
        if !top_up(&mut current, &queue, &pool, &shared).await {
            return;
        }
        let Some(w) = current.as_mut().filter(|w| !w.files.is_empty()) else {
            if queue.lock().is_empty() && queue.in_flight.load(Ordering::SeqCst) == 0 {
                if let Some(w) = current.take() {
                    w.finish(&queue, &pool, &shared).await;
                }
                return;
            }
            // Nothing for us now; another worker may still requeue a file.
            let _ = tokio::time::timeout(POLL, queue.changed.notified()).await;
            continue;
        };
        if !read_events(w, &queue, &pool, &shared).await {
            let status = w.wait().await.unwrap_or_default();
            w.recover_events(&queue, &pool, &shared);
            if let Some(w) = current.take() {
                crashed(w, status, &queue, &pool, &shared);
            }
            continue;
        }
        if let Some((d, key)) = w.next_deadline() {
            if Instant::now() >= d {
                if let Some(w) = current.take() {
                    timed_out(w, key, &queue, &pool, &shared).await;
                }
            }
        }
    }
}

/// The run stopped: stop the worker, keeping what it wrote before it was stopped (still in
/// the pipe).
async fn stop(mut w: Worker, queue: &Queue, pool: &Pool, shared: &Shared) {
    w.kill().await;
    while let Ok(Ok(Some(e))) = tokio::time::timeout(KILL_GRACE, w.frames.next()).await {
        handle_event(&mut w, e, queue, pool, shared);
    }
    w.recover_events(queue, pool, shared);
}

/// Hand the worker (started here if there is none) files, up to its share. False when no
/// worker could be started: the run stops.
async fn top_up(current: &mut Option<Worker>, queue: &Queue, pool: &Pool, shared: &Shared) -> bool {
    loop {
        let (item, ending) = {
            let mut q = queue.lock();
            let Some(item) = pick(&mut q, current.as_ref(), pool) else {
                return true;
            };
            // The files left would fit in the workers' inboxes: from now on the supervisor
            // needs each file's end at once to share them out evenly.
            (item, q.len() < pool.workers * 2 * pool.per_worker)
        };
        queue.in_flight.fetch_add(1, Ordering::SeqCst);
        if current.is_none() {
            match spawn_worker(&pool.config) {
                Ok(w) => *current = Some(w),
                Err(e) => {
                    // The files not run yet would be missing from the report without a
                    // word: the run cannot go on, and ends with exit 3 saying why.
                    queue.requeue([item]);
                    set_fatal(shared, format!("cannot start a worker process: {e:#}"));
                    return false;
                }
            }
        }
        let Some(w) = current.as_mut() else {
            return true;
        };
        match handshake(w, pool, shared).await {
            Boot::Ready => queue.boot_failures.store(0, Ordering::SeqCst),
            Boot::Stopped => {
                queue.requeue([item]);
                return true;
            }
            Boot::Failed(why) => {
                queue.requeue([item]);
                *current = None;
                if !boot_failed(why, queue, shared) {
                    return false;
                }
                continue;
            }
            Boot::NotForked => {
                queue.requeue([item]);
                *current = None;
                continue;
            }
        }
        let request = Request::Tests {
            task: item.task.clone(),
            skip: item.skip.clone(),
            part: item.part.clone(),
            ending,
        };
        w.isolated = item.isolate;
        let index = item.task.index;
        // The slot is known once a worker thread takes the file (FileStarted).
        w.files.insert(index, (item, usize::MAX));
        if w.send(&request).await.is_err() {
            // It died before reading: the read loop sees the end of its output.
            return true;
        }
    }
}

/// The next file for worker `w` (None: a worker yet to start), if it should take one now.
fn pick(q: &mut VecDeque<Item>, w: Option<&Worker>, pool: &Pool) -> Option<Item> {
    // No more files than its threads, as a file waiting inside a busy worker could have run
    // at once in an idle one; but short files may queue there (one per thread), so a thread
    // that frees finds its next file without a round trip.
    // Tiny files (known from last run) queue deeper while many files are left: see `deeper`.
    let many_left = q.len() >= pool.workers * 2 * pool.per_worker;
    let (free, spare, queued_ms) = match w {
        None => (true, true, 0.0),
        Some(w) if w.isolated => (false, false, 0.0),
        Some(w) => (
            w.files.len() < pool.per_worker,
            w.files.len() < 2 * pool.per_worker,
            w.files.values().map(|(it, _)| queue_estimate(it)).sum(),
        ),
    };
    let deep = many_left && w.is_some_and(|w| !w.isolated);
    if !(spare || (deep && queued_ms < DEEPER_MS)) {
        return None;
    }
    let busy = w.is_some_and(|w| !w.files.is_empty());
    let computing = w.is_some_and(|w| w.files.values().any(|(it, _)| it.heavy));
    // The first file this worker may take: not a second computing one, nor a second part of
    // a file it runs (its files are known by index).
    let holds = |it: &Item| w.is_some_and(|w| w.files.contains_key(&it.task.index));
    let i = q
        .iter()
        .position(|it| !(holds(it) || (computing && it.heavy)))?;
    let it = &q[i];
    // A unittest or pytest-style file runs alone in its worker (the worker makes it wait for
    // the files running there): it waits in a busy worker only if it is short, or, never
    // timed, while many files are left and behind at most `UNTIMED_BEHIND` others. (Without
    // last run's times, in a first run or a fresh CI checkout, each file otherwise waited for
    // a round trip through the supervisor: 100 files of a millisecond took 2.3x the floor.)
    let alone = it.isolate || (it.task.exclusive && !it.short);
    let untimed_queues = many_left
        && !it.isolate
        && it.est_ms.is_none()
        && w.is_some_and(|w| w.files.len() <= UNTIMED_BEHIND);
    if (alone && busy && !untimed_queues) || (!free && !it.short) {
        return None;
    }
    if !spare && !deeper(queued_ms, it) {
        return None;
    }
    q.remove(i)
}

/// How many files a file never timed may wait behind in a busy worker (while many are left).
const UNTIMED_BEHIND: usize = 2;

/// How much estimated work (last run's time of each file's tests, plus `PER_FILE_MS`) a
/// worker may hold beyond its usual two files per thread, while many files are left. The
/// supervisor shares two cores with the workers and hears of a worker's progress only every
/// few milliseconds: files of a millisecond each ran dry in a worker's inbox, its threads idle
/// 1-2 ms at a time (about 10 ms a worker in a run of 100 such files) until more came.
/// Bounded in time, not count, so that what one worker holds when the others run out is
/// little; near the end (few files left) the usual limit applies.
const DEEPER_MS: f64 = 32.0;

/// What a file costs a worker beside its tests' own time (import, collection, reporting), as
/// counted against `DEEPER_MS`: about a millisecond for a 100-test file here.
const PER_FILE_MS: f64 = 1.0;

fn queue_estimate(it: &Item) -> f64 {
    it.est_ms.map_or(f64::INFINITY, |ms| ms + PER_FILE_MS)
}

/// Whether `it` may join `queued_ms` of estimated work beyond a worker's usual share: only
/// a file whose time is known, short enough to fit.
fn deeper(queued_ms: f64, it: &Item) -> bool {
    it.short && queued_ms + queue_estimate(it) <= DEEPER_MS
}

/// Wait for the worker to write (or a test's deadline, or a tick), then handle every event
/// its pipe holds. False when the worker's output ended: it died.
async fn read_events(w: &mut Worker, queue: &Queue, pool: &Pool, shared: &Shared) -> bool {
    // Woken by each write: a worker writes its events in batches (`outbox`) and a file's end
    // at once, so 10,000 fast tests cost a few hundred wake-ups, and a finished file is
    // replaced from the queue without waiting for a clock.
    let mut handled = false;
    while let Some(e) = w.frames.buffered() {
        handle_event(w, e, queue, pool, shared);
        handled = true;
    }
    if !handled {
        let now = Instant::now();
        let wake = w
            .next_deadline()
            .map_or(now + TICK, |(d, _)| d.min(now + TICK));
        match tokio::time::timeout_at(wake.into(), w.frames.fill()).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return false,
            Err(_) => return true,
        }
    }
    loop {
        while let Some(e) = w.frames.buffered() {
            handle_event(w, e, queue, pool, shared);
        }
        match tokio::time::timeout(Duration::ZERO, w.frames.fill()).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return false,
            // Nothing more in the pipe for now.
            Err(_) => return true,
        }
    }
}

fn handle_event(
    w: &mut Worker,
    event: Result<Event, postcard::Error>,
    queue: &Queue,
    pool: &Pool,
    shared: &Shared,
) {
    let event = match event {
        Ok(e) => e,
        Err(e) => {
            eprintln!("dbtest: unreadable event from a worker: {e}");
            return;
        }
    };
    let file = match &event {
        Event::TestStarted(t) => Some(t.order.0),
        Event::TestFinished(r) | Event::FileError(r) => Some(r.order.0),
        Event::FileDone { index, .. } => Some(*index),
        _ => None,
    };
    if let Some(index) = file.filter(|_| !w.hooks.is_empty()) {
        // The hook it was in returned.
        w.hooks.remove(&index);
    }
    match &event {
        Event::HookStarted {
            index,
            hook,
            suite,
            blamed,
        } => {
            w.hooks.insert(
                *index,
                Hook {
                    hook: hook.clone(),
                    suite: suite.clone(),
                    blamed: blamed.clone(),
                    since: Instant::now(),
                },
            );
            return;
        }
        Event::TestStarted(t) => {
            let since = Instant::now();
            let deadline = timeout::deadline(t, pool.default_timeout, since);
            w.tests.insert(
                t.order,
                Running {
                    start: t.clone(),
                    since,
                    deadline,
                },
            );
        }
        Event::TestFinished(r) | Event::FileError(r) => {
            w.tests.remove(&r.order);
            if let Some((item, _)) = w.files.get_mut(&r.order.0) {
                item.skip.push(r.order.1);
            }
        }
        Event::FileStarted { index, slot } => {
            if let Some(f) = w.files.get_mut(index) {
                f.1 = *slot;
            }
            return;
        }
        Event::FileDone { index, .. } => {
            w.files.remove(index);
            if w.files.is_empty() {
                w.isolated = false;
            }
            queue.done();
            // The collector keeps the file's CPU time for the next run's scheduling.
        }
        _ => {}
    }
    emit_result(queue, shared, event);
}

/// A test passed its deadline: stop its worker, report the test, rerun the rest elsewhere.
async fn timed_out(
    mut w: Worker,
    key: (usize, usize),
    queue: &Queue,
    pool: &Pool,
    shared: &Shared,
) {
    w.kill().await;
    if let Some(run) = w.tests.remove(&key) {
        let limit = timeout::limit(&run.start, pool.default_timeout).unwrap_or_default();
        let mut r = error_result(
            &run.start,
            ErrorKind::Timeout,
            timeout::worker_stopped(limit),
            run.since,
        );
        (r.stdout, r.stderr) = w.spool(&pool.config.spool_dir, run.start.order.0);
        if let Some((item, _)) = w.files.get_mut(&run.start.order.0) {
            item.skip.push(r.order.1);
        }
        emit_result(queue, shared, Event::TestFinished(r));
    }
    // Other tests running in that worker were stopped too: their files rerun from there.
    queue.requeue(w.files.into_values().map(|(it, _)| it));
}

/// The worker died. One running test: it is the cause. Several: rerun each file alone to
/// find out. None: the file being imported is the cause.
fn crashed(
    w: Worker,
    status: std::process::ExitStatus,
    queue: &Queue,
    pool: &Pool,
    shared: &Shared,
) {
    let how = describe_exit(status);
    let fault = std::fs::read_to_string(worker::fault_path(&pool.config.spool_dir, w.pid))
        .ok()
        .filter(|s| !s.trim().is_empty());
    signal_group(w.pid, libc::SIGKILL);
    // Files a worker thread had taken, and files only waiting in the worker.
    let (mut active, waiting): (Files, Files) = w
        .files
        .clone()
        .into_iter()
        .partition(|(_, (_, slot))| *slot != usize::MAX);
    queue.requeue(waiting.into_values().map(|(it, _)| it));
    if active.len() == 1 && w.tests.len() == 1 {
        // One file, one test running: that test is the cause.
        if let Some(run) = w.tests.values().next() {
            let mut r = error_result(
                &run.start,
                ErrorKind::Crash,
                format!("the worker process running this test died: {how}"),
                run.since,
            );
            (r.stdout, r.stderr) = w.spool(&pool.config.spool_dir, run.start.order.0);
            r.traceback = fault;
            if let Some((item, _)) = active.get_mut(&run.start.order.0) {
                item.skip.push(r.order.1);
            }
            emit_result(queue, shared, Event::TestFinished(r));
        }
        queue.requeue(active.into_values().map(|(it, _)| it));
    } else if let Some((index, hook)) = w
        .hooks
        .iter()
        .next()
        .filter(|_| active.len() == 1 && w.tests.is_empty())
    {
        // One file, in a suite hook: the tests it was setting up (or the teardown's own
        // entry) are reported as crashed in it; the rest of the file runs in a new worker.
        let (out, err) = w.spool(&pool.config.spool_dir, *index);
        for start in &hook.blamed {
            let mut r = error_result(
                start,
                ErrorKind::Crash,
                format!(
                    "the worker process died in {}.{} (before this test ran): {how}",
                    hook.suite, hook.hook
                ),
                hook.since,
            );
            if hook.hook == "teardown_suite" {
                r.message = Some(format!(
                    "the worker process died in {}.teardown_suite: {how}",
                    hook.suite
                ));
            }
            (r.stdout, r.stderr) = (out.clone(), err.clone());
            r.traceback = fault.clone();
            if let Some((item, _)) = active.get_mut(index) {
                item.skip.push(r.order.1);
            }
            emit_result(queue, shared, Event::TestFinished(r));
        }
        queue.requeue(active.into_values().map(|(it, _)| it));
    } else if active.len() == 1 && w.tests.is_empty() {
        // One file, no test running: its import (or the code between its tests) is the cause.
        for (index, (item, _)) in active {
            let mut r = TestStart::file(&item.task.rel, index).interrupted();
            r.kind = Some(ErrorKind::Crash);
            r.message = Some(format!(
                "the worker process died outside any test (while importing or between tests): {how}"
            ));
            (r.stdout, r.stderr) = w.spool(&pool.config.spool_dir, index);
            r.traceback = fault.clone();
            emit_result(queue, shared, Event::FileError(r));
            queue.done();
        }
    } else {
        // Several files were running: rerun each alone to find which one crashes.
        queue.requeue(active.into_values().map(|(mut it, _)| {
            it.isolate = true;
            it
        }));
    }
}

/// Run benchmark files in one fresh worker, one file after another.
pub async fn run_benchmarks(
    tasks: Vec<FileTask>,
    baseline_tree: Option<PathBuf>,
    pool: Arc<Pool>,
    shared: Arc<Shared>,
) {
    if tasks.is_empty() || shared.stop.load(Ordering::SeqCst) {
        return;
    }
    let mut w = match spawn_worker(&pool.config) {
        Ok(w) => w,
        Err(e) => {
            set_fatal(&shared, format!("cannot start a worker process: {e:#}"));
            return;
        }
    };
    match handshake(&mut w, &pool, &shared).await {
        Boot::Ready => {}
        // Started on its own (`spawn_worker`), never a sibling.
        Boot::Stopped | Boot::NotForked => return,
        Boot::Failed(why) => {
            set_fatal(
                &shared,
                format!("the benchmark worker process died before it was ready: {why}"),
            );
            return;
        }
    }
    let mut pending: VecDeque<FileTask> = tasks.iter().cloned().collect();
    let request = Request::Bench {
        tasks,
        baseline_tree,
    };
    if w.send(&request).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            event = w.frames.next() => match event {
                Ok(Some(Ok(Event::FileDone { .. }))) => {
                    pending.pop_front();
                    if pending.is_empty() {
                        break;
                    }
                }
                Ok(Some(Ok(e))) => emit(&shared, e),
                Ok(Some(Err(e))) => eprintln!("dbtest: unreadable event from a worker: {e}"),
                _ => {
                    let status = w.wait().await.unwrap_or_default();
                    if let Some(task) = pending.front() {
                        let mut r = TestStart::file(&task.rel, task.index).interrupted();
                        r.kind = Some(ErrorKind::Crash);
                        r.message = Some(format!("the worker process running these benchmarks died: {}", describe_exit(status)));
                        emit(&shared, Event::FileError(r));
                    }
                    return;
                }
            },
            _ = tokio::time::sleep(POLL) => {
                if shared.stop.load(Ordering::SeqCst) {
                    w.kill().await;
                    return;
                }
            }
        }
    }
    w.shut_down().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(short: bool, est_ms: Option<f64>) -> Item {
        Item {
            task: FileTask {
                index: 0,
                path: "t.py".into(),
                rel: "t.py".into(),
                exclusive: true,
                loop_hint: None,
            },
            skip: Vec::new(),
            isolate: false,
            short,
            heavy: false,
            est_ms,
            part: None,
        }
    }

    #[test]
    fn only_files_timed_last_run_queue_deeper_and_only_up_to_the_budget() {
        let tiny = item(true, Some(0.3));
        // Room while what the worker holds, with this file, stays within the budget.
        assert!(deeper(0.0, &tiny));
        assert!(deeper(DEEPER_MS - 1.3, &tiny));
        assert!(!deeper(DEEPER_MS - 1.0, &tiny));
        // A file never timed, or long last time, waits for the usual room.
        assert!(!deeper(0.0, &item(true, None)));
        assert!(!deeper(0.0, &item(false, Some(0.3))));
        assert!(!deeper(0.0, &item(true, Some(DEEPER_MS))));
        // A file without a time counts as more than any budget against others.
        assert!(queue_estimate(&item(true, None)) > DEEPER_MS);
    }
}
