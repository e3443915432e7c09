//! The worker process: `dbtest __worker`, started by the supervisor (or forked from the first
//! worker, see `siblings`), never by users. It embeds its own interpreter, runs the files it
//! is handed with the in-process engine (several at
//! once, so waiting suites still overlap) and streams every event back as a length-prefixed
//! postcard frame, in batches that survive the worker's death (`outbox`).
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::fd::FromRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::runner::event::Event;
use crate::runner::filter::{Filter, FilterSpec, Part};
use crate::runner::inbox::{Exclusive, Inbox};
use crate::runner::options::BenchOptions;
use crate::runner::outbox::{self, Outbox};
use crate::runner::plan::FileTask;
use crate::runner::python::{self, RunContext};
use crate::runner::siblings::{self, Role, SiblingFds};
use crate::runner::stdio;
use crate::runner::venv::Venv;

/// The argument that starts worker mode.
pub const WORKER_ARG: &str = "__worker";
/// The environment variable carrying the worker's configuration (JSON).
pub const CONFIG_VAR: &str = "DBTEST_WORKER_CONFIG";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerConfig {
    pub root: PathBuf,
    pub venv: Option<Venv>,
    pub filter: FilterSpec,
    pub bench: BenchOptions,
    /// `-x`: stop this worker's files at their first failure too.
    pub fail_fast: bool,
    /// Files this worker runs at once (its threads).
    pub threads: usize,
    /// Where per-thread output spools and the faulthandler file go.
    pub spool_dir: PathBuf,
    /// Workers to fork once the interpreter has started (`siblings`): their pipes' ends.
    #[serde(default)]
    pub siblings: Vec<SiblingFds>,
}

/// A unittest or pytest-style file runs alone in this process (`FileTask::exclusive`):
/// the inbox starts it once the files running are done, and files after it wait for it.
impl Exclusive for Request {
    fn exclusive(&self) -> bool {
        matches!(self, Request::Tests { task, .. } if task.exclusive)
    }
}

/// What the supervisor asks of a worker, one JSON line each.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Run a file's tests, leaving out those already reported; with `part`, only that part
    /// of a file split by class over several workers.
    Tests {
        task: FileTask,
        skip: Vec<usize>,
        #[serde(default)]
        part: Option<Part>,
        /// Few files are left in the run: report this one's end at once, whatever waits here
        /// (the supervisor shares the last files out between workers on it).
        #[serde(default)]
        ending: bool,
    },
    /// Measure the harness, then run benchmark files one after another.
    /// With `baseline_tree`, each file's version there is timed beside it (`--baseline`).
    Bench {
        tasks: Vec<FileTask>,
        baseline_tree: Option<PathBuf>,
    },
}

/// Where a worker thread spools its tests' output: the supervisor reads these after a crash
/// or a timeout.
pub fn spool_paths(dir: &std::path::Path, pid: u32, slot: usize) -> [PathBuf; 2] {
    [
        dir.join(format!("{pid}-{slot}.out")),
        dir.join(format!("{pid}-{slot}.err")),
    ]
}

pub fn fault_path(dir: &std::path::Path, pid: u32) -> PathBuf {
    dir.join(format!("{pid}.fault"))
}

/// What a worker's standard streams got while its interpreter started: the supervisor shows
/// it when the worker dies before its handshake.
pub fn boot_path(dir: &std::path::Path, pid: u32) -> PathBuf {
    dir.join(format!("{pid}.boot"))
}

/// The first bytes a worker writes on its event pipe, followed by its pid (u32, little
/// endian), once its interpreter has started: it is alive and ready for work.
pub const HANDSHAKE: &[u8; 12] = b"dbtest-ready";
pub const HANDSHAKE_LEN: usize = HANDSHAKE.len() + 4;

/// Point fds 1 and 2 at `path` while the interpreter starts; returns the saved stderr.
fn boot_streams_to(path: &std::path::Path) -> Option<i32> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: descriptor juggling on descriptors this process owns.
    unsafe {
        let fd = libc::open(
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC,
            0o600,
        );
        if fd < 0 {
            return None;
        }
        let saved = libc::dup(2);
        if saved < 0 {
            libc::close(fd);
            return None;
        }
        libc::dup2(fd, 1);
        libc::dup2(fd, 2);
        libc::close(fd);
        Some(saved)
    }
}

/// Back to the real stderr (fd 1 too, as `stdio::isolate` left it), passing on what start-up
/// printed (a warning from a `.pth` file, say).
fn boot_streams_back(saved: i32, path: &std::path::Path) {
    // SAFETY: as above; `saved` is ours and closed here.
    unsafe {
        libc::dup2(saved, 1);
        libc::dup2(saved, 2);
        libc::close(saved);
    }
    if let Ok(text) = std::fs::read(path) {
        if !text.is_empty() {
            let _ = std::io::stderr().write_all(&text);
        }
    }
    let _ = std::fs::remove_file(path);
}

/// The environment variable carrying the supervisor's pid.
pub const SUPERVISOR_VAR: &str = "DBTEST_SUPERVISOR_PID";

/// The supervisor's pid, read from the environment at start (0: unknown).
static SUPERVISOR: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Die with the supervisor: the kernel sends SIGKILL when it exits, however it exits (a
/// second Ctrl-C, SIGKILL), so no worker outlives its run.
fn die_with_supervisor() {
    // SAFETY: prctl with an integer argument; getppid cannot fail.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        // It may have died before the call.
        let parent = std::env::var(SUPERVISOR_VAR)
            .ok()
            .and_then(|p| p.parse::<i32>().ok());
        if parent.is_some_and(|p| p != libc::getppid()) {
            libc::_exit(3);
        }
        SUPERVISOR.store(parent.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
    }
}

/// Run as a worker until the supervisor closes our stdin. Never returns.
pub fn main() -> ! {
    die_with_supervisor();
    // Started through /proc/self/exe, the process would be named `exe` in `ps` and `pgrep`.
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, c"dbtest".as_ptr());
    }
    let code = match serve() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("dbtest worker: {e:#}");
            3
        }
    };
    std::process::exit(code)
}

/// Set in a forked child of the process that runs tests (a worker, or dbtest itself with
/// -n 0), by the fork handler `claim_process` installs: only that process may speak on the
/// event pipe or queue.
static FORKED: AtomicBool = AtomicBool::new(false);
/// The process that runs tests, when the fork handler could not be installed (then each
/// check compares pids, a syscall); 0 otherwise.
static WORKER_PID: AtomicU32 = AtomicU32::new(0);
/// The fork handler could not be installed: `WORKER_PID` is checked instead.
static BY_PID: AtomicBool = AtomicBool::new(false);
static CLAIMED: std::sync::Once = std::sync::Once::new();

/// Runs in the child of every `fork()` of this process (and of its forked children): a
/// flag, rather than a `getpid` per event, tells `exit_if_forked` where it runs.
extern "C" fn forked_child() {
    FORKED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// This process runs the tests: forked children of it are stopped by `exit_if_forked`. A
/// sibling worker (forked on purpose, `siblings`) claims itself again.
pub fn claim_process() {
    FORKED.store(false, std::sync::atomic::Ordering::Relaxed);
    CLAIMED.call_once(|| {
        // SAFETY: registers a handler that only stores to an atomic (async-signal-safe, as
        // a handler run in a forked child of a threaded process must be).
        let r = unsafe { libc::pthread_atfork(None, None, Some(forked_child)) };
        BY_PID.store(r != 0, std::sync::atomic::Ordering::Relaxed);
    });
    if BY_PID.load(std::sync::atomic::Ordering::Relaxed) {
        WORKER_PID.store(std::process::id(), std::sync::atomic::Ordering::Relaxed);
    }
}

/// A test that called `os.fork()` leaves a child that returns through the test into this
/// worker's code; it must never write events or take more work. Called before every write to
/// the pipe and before a thread goes back for its next file: in such a child, exit at once
/// (`_exit`: no atexit handlers, no flushing of buffers the worker shares with it).
pub fn exit_if_forked() {
    let worker = WORKER_PID.load(std::sync::atomic::Ordering::Relaxed);
    if FORKED.load(std::sync::atomic::Ordering::Relaxed)
        || (worker != 0 && std::process::id() != worker)
    {
        // SAFETY: _exit ends this (forked) process at once; nothing of it is used again.
        unsafe { libc::_exit(0) }
    }
}

fn serve() -> anyhow::Result<()> {
    claim_process();
    let config: WorkerConfig =
        serde_json::from_str(&std::env::var(CONFIG_VAR).context("no worker configuration")?)
            .context("reading the worker configuration")?;
    // Tests (and their subprocesses) never see the worker's own settings.
    // SAFETY: still the only thread of this process: nothing has started another yet.
    unsafe {
        std::env::remove_var(CONFIG_VAR);
        std::env::remove_var(SUPERVISOR_VAR);
    }
    // Requests arrive on stdin and events leave on stdout; user code gets neither.
    // SAFETY: dup of our own stdin; the File owns the new descriptor alone.
    let requests = unsafe { File::from_raw_fd(libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 0)) };
    let stop = Arc::new(AtomicBool::new(false));
    let out = stdio::isolate().context("redirecting standard streams")?;
    // Whatever starting the interpreter prints (a `Fatal Python error`, a `.pth` that exits)
    // goes to a file the supervisor reads if this worker dies before its handshake.
    let boot = boot_path(&config.spool_dir, std::process::id());
    let saved = boot_streams_to(&boot);
    python::set_collection(&config.filter.collection);
    python::start(&config.root, config.venv.as_ref())?;
    if let Some(saved) = saved {
        boot_streams_back(saved, &boot);
    }
    let (requests, mut out, middles) = with_siblings(&config, requests, out);
    let mut hello = HANDSHAKE.to_vec();
    hello.extend_from_slice(&std::process::id().to_le_bytes());
    out.write_all(&hello).context("writing the handshake")?;
    let events = Outbox::new(
        out,
        &outbox::events_path(&config.spool_dir, std::process::id()),
        HANDSHAKE_LEN as u64,
        stop.clone(),
    );
    let filter = Arc::new(Filter::from_spec(config.filter.clone())?);
    // A fixed pool of threads, each with its own output spool, created once.
    let share = ThreadShare {
        events: events.clone(),
        filter: filter.clone(),
        stop: stop.clone(),
        config: config.clone(),
        inbox: Arc::new(Inbox::default()),
        last: Arc::new(Mutex::new(None)),
    };
    let mut threads = Vec::new();
    for slot in 0..config.threads.max(1) {
        let share = share.clone();
        threads.push(
            std::thread::Builder::new()
                .stack_size(16 * 1024 * 1024)
                .spawn(move || run_thread(slot, share))?,
        );
    }
    let ThreadShare { inbox, last, .. } = share;
    // Ready for work, its threads waiting: what every file needs is imported while the first
    // files are on their way.
    python::warm_up();
    // The siblings' middle processes ended at once; their exits are collected only now, not
    // before the handshake.
    if let Some(middles) = middles {
        middles.reap();
    }
    for line in BufReader::new(requests).lines() {
        let line = line.context("reading a request")?;
        let request: Request = serde_json::from_str(&line).context("parsing a request")?;
        inbox.push(request);
    }
    inbox.close();
    for t in threads {
        let _ = t.join();
    }
    let last = last.lock().unwrap_or_else(PoisonError::into_inner).take();
    if let Some(last) = last {
        finish_process(&last, &events, &filter, &stop);
    }
    events.close();
    Ok(())
}

/// What a worker's threads share.
#[derive(Clone)]
struct ThreadShare {
    events: Arc<Outbox>,
    filter: Arc<Filter>,
    stop: Arc<AtomicBool>,
    config: WorkerConfig,
    inbox: Arc<Inbox<Request>>,
    /// The last test file this process ran: session fixtures' tear-down entries follow it.
    last: Arc<Mutex<Option<FileTask>>>,
}

/// One of a worker's threads: it runs the requests it takes from the inbox until it closes.
fn run_thread(slot: usize, share: ThreadShare) {
    let ThreadShare {
        events,
        filter,
        stop,
        config,
        inbox,
        last,
    } = share;
    let [out, err] = spool_paths(&config.spool_dir, std::process::id(), slot);
    let _ = python::spool_output([&out, &err]);
    // Without the inbox, `send` sends a file's end at once.
    let done_at_once = std::cell::Cell::new(false);
    let emit = |e: Event| {
        send(&events, &e, (!done_at_once.get()).then_some(&*inbox));
    };
    let mut finished = None;
    python::with_thread_state(|| {
        while let Some(request) = inbox.next(finished) {
            finished = Some(request.exclusive());
            done_at_once.set(matches!(&request, Request::Tests { ending: true, .. }));
            if let Request::Tests { task, .. } = &request {
                let mut last = last.lock().unwrap_or_else(PoisonError::into_inner);
                if last.as_ref().is_none_or(|l| l.index < task.index) {
                    *last = Some(task.clone());
                }
            }
            serve_one(request, slot, &config, &filter, &stop, &emit);
            exit_if_forked();
        }
    });
}

/// Fork the siblings the supervisor asked for (if any): in a sibling, its own pipes replace
/// the first worker's; in the first worker, nothing changes but the middle processes to reap.
fn with_siblings(
    config: &WorkerConfig,
    requests: File,
    out: File,
) -> (File, File, Option<siblings::Middles>) {
    // Each process opens its own crash report, once forked.
    let faulthandler = || {
        python::enable_faulthandler(&fault_path(&config.spool_dir, std::process::id()));
    };
    if config.siblings.is_empty() {
        faulthandler();
        return (requests, out, None);
    }
    let supervisor = SUPERVISOR.load(std::sync::atomic::Ordering::Relaxed);
    // Each imports dbtest's modules itself (`warm_up`), after its handshake, while its first
    // files are on their way. (Imported before the fork instead, they cost the first worker
    // more than the siblings save: 1.4 ms slower over 61 rounds.)
    match siblings::fork_siblings(&config.siblings, supervisor) {
        Role::First(middles) => {
            faulthandler();
            (requests, out, Some(middles))
        }
        Role::Sibling {
            requests: mine,
            events,
            adoption,
        } => {
            // A process of its own now: its events, its crash report, its output spools.
            claim_process();
            faulthandler();
            drop((requests, out));
            adoption.wait();
            (mine, events, None)
        }
    }
}

/// Every file is done: tear down the session and package fixtures this process set up
/// (pytest-xdist does the same per worker), before the supervisor, still reading, sees the
/// pipe close. Their entries follow `last`, the last file this process ran.
fn finish_process(last: &FileTask, events: &Outbox, filter: &Filter, stop: &AtomicBool) {
    let emit = |e: Event| send(events, &e, None);
    let skip = HashSet::new();
    let cx = RunContext {
        filter,
        stop,
        fail_fast: false,
        emit: &emit,
        skip: &skip,
    };
    python::finish_worker(last, &cx);
    // Its entries are results, which wait for the next batch.
    events.flush();
}

fn serve_one(
    request: Request,
    slot: usize,
    config: &WorkerConfig,
    filter: &Filter,
    stop: &AtomicBool,
    emit: &dyn Fn(Event),
) {
    match request {
        Request::Tests {
            task, skip, part, ..
        } => {
            let narrowed;
            let filter = match part {
                Some(part) => {
                    narrowed = filter.clone().in_part(part);
                    &narrowed
                }
                None => filter,
            };
            emit(Event::FileStarted {
                index: task.index,
                slot,
            });
            let skip: HashSet<usize> = skip.into_iter().collect();
            let cx = RunContext {
                filter,
                stop,
                fail_fast: config.fail_fast,
                emit,
                skip: &skip,
            };
            let cpu = thread_cpu_ms();
            python::run_file(&task, &cx);
            emit(Event::FileDone {
                index: task.index,
                cpu_ms: thread_cpu_ms() - cpu,
            });
        }
        Request::Bench {
            tasks,
            baseline_tree,
        } => {
            let skip = HashSet::new();
            let cx = RunContext {
                filter,
                stop,
                fail_fast: false,
                emit,
                skip: &skip,
            };
            if let Some(first) = tasks.first() {
                python::measure_harness(first, &cx, &config.bench);
            }
            for task in &tasks {
                emit(Event::FileStarted {
                    index: task.index,
                    slot,
                });
                python::run_bench_file(task, &cx, &config.bench, baseline_tree.as_deref());
                emit(Event::FileDone {
                    index: task.index,
                    cpu_ms: 0.0,
                });
            }
        }
    }
}

/// CPU time of the calling thread, in milliseconds.
fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    ts.tv_sec as f64 * 1000.0 + ts.tv_nsec as f64 / 1e6
}

/// An event on the wire, with its place in the report (which reports themselves leave out).
#[derive(Serialize, Deserialize)]
struct Wire<E> {
    order: Option<(usize, usize)>,
    event: E,
}

/// `encode_into` a new buffer.
#[cfg(test)]
pub fn encode(e: &Event) -> Result<Vec<u8>, postcard::Error> {
    encode_into(e, Vec::new())
}

/// One event as a frame: a little-endian u32 length, then the event in postcard (compact
/// binary serde: a tenth of JSON's cost for both sides, and there are two events per test).
/// Written into `buf` (emptied first): a worker thread reuses one buffer for its frames, 20,000
/// in a run of 10,000 tests, rather than allocating (and copying) two for each.
fn encode_into(e: &Event, mut buf: Vec<u8>) -> Result<Vec<u8>, postcard::Error> {
    let order = match e {
        Event::TestFinished(r) | Event::FileError(r) => Some(r.order),
        Event::BenchGroupFinished(g) => Some(g.order),
        _ => None,
    };
    buf.clear();
    buf.extend_from_slice(&[0; 4]);
    let mut frame = postcard::to_extend(&Wire { order, event: e }, buf)?;
    let len = frame.len() - 4;
    if len >= outbox::SKIPPED as usize {
        // Its length would read as the skip mark.
        return Err(postcard::Error::SerializeBufferFull);
    }
    frame[..4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(frame)
}

fn decode(body: &[u8]) -> Result<Event, postcard::Error> {
    let Wire { order, mut event } = postcard::from_bytes::<Wire<Event>>(body)?;
    if let Some(order) = order {
        match &mut event {
            Event::TestFinished(r) | Event::FileError(r) => r.order = order,
            Event::BenchGroupFinished(g) => g.order = order,
            _ => {}
        }
    }
    Ok(event)
}

/// Reads a worker's frames. Every method is cancel-safe: bytes read stay buffered.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Where the unread bytes of `buf` start: frames are taken by moving this, not by
    /// shifting the rest of the buffer down after each one (a copy per event).
    pos: usize,
    /// Bytes read from the stream so far (the handshake included).
    received: u64,
}

impl<R: tokio::io::AsyncRead + Unpin> FrameReader<R> {
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            buf: Vec::with_capacity(64 * 1024),
            pos: 0,
            received: 0,
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Wait for the worker's handshake: Ok(Some(pid)) once it is read, Ok(None) if the stream
    /// ended (or began with anything else) first. Cancel-safe like the rest.
    pub async fn handshake(&mut self) -> std::io::Result<Option<u32>> {
        loop {
            let unread = self.unread();
            let have = unread.len().min(HANDSHAKE.len());
            if unread[..have] != HANDSHAKE[..have] {
                return Ok(None);
            }
            if unread.len() >= HANDSHAKE_LEN {
                let pid = u32::from_le_bytes(
                    unread[HANDSHAKE.len()..HANDSHAKE_LEN]
                        .try_into()
                        .unwrap_or_default(),
                );
                self.pos += HANDSHAKE_LEN;
                return Ok(Some(pid));
            }
            if self.fill().await? == 0 {
                return Ok(None);
            }
        }
    }

    /// The next event already read, if a whole frame is buffered (frames the worker marked
    /// skipped, `outbox::SKIPPED`, are passed over).
    pub fn buffered(&mut self) -> Option<Result<Event, postcard::Error>> {
        loop {
            let unread = self.unread();
            let word = u32::from_le_bytes(unread.get(..4)?.try_into().ok()?);
            let len = (word & !outbox::SKIPPED) as usize;
            let body = unread.get(4..4 + len)?;
            if word & outbox::SKIPPED != 0 {
                self.pos += 4 + len;
                continue;
            }
            let event = decode(body);
            self.pos += 4 + len;
            return Some(event);
        }
    }

    /// Read what the pipe holds now (waiting for it if empty); 0 at the end of the stream.
    pub async fn fill(&mut self) -> std::io::Result<usize> {
        use tokio::io::AsyncReadExt;
        // Drop the bytes already taken, once per read rather than once per frame.
        self.buf.drain(..self.pos);
        self.pos = 0;
        self.buf.reserve(64 * 1024);
        // Straight into the buffer's spare room: no copy through a chunk on the stack.
        let n = self.inner.read_buf(&mut self.buf).await?;
        self.received += n as u64;
        Ok(n)
    }

    /// Bytes read from the stream so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Bytes of the stream that came another way (`outbox::recover`), after those read.
    pub fn append(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.received += bytes.len() as u64;
    }

    /// The next event, waiting for it; None at the end of the stream.
    pub async fn next(&mut self) -> std::io::Result<Option<Result<Event, postcard::Error>>> {
        loop {
            if let Some(e) = self.buffered() {
                return Ok(Some(e));
            }
            if self.fill().await? == 0 {
                return Ok(None);
            }
        }
    }
}

/// A file done goes out at once when no more than this many requests wait to start in the
/// worker's inbox; with more, it joins the next batch.
const DONE_AT_ONCE_BELOW: usize = 3;

/// Send one event. A file done goes out at once, with what waited before it, when the
/// worker runs low on files (`inbox`'s waiting requests; always without an inbox, which
/// the caller leaves out near the run's end: `Request::Tests::ending`): the
/// supervisor hands this worker its next files on it. Every write wakes the supervisor
/// (tens of microseconds on each side), and while files still wait here, nothing hurries.
/// Everything else waits for the next batch (see `outbox`: at most 10 ms, in order, and
/// never lost to a crash).
fn send(out: &Outbox, e: &Event, inbox: Option<&Inbox<Request>>) {
    exit_if_forked();
    thread_local! {
        static FRAME: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    let Ok(frame) = encode_into(e, FRAME.take()) else {
        return;
    };
    // A start the collector needs whatever happens (`retries`) is never made redundant.
    match e {
        Event::TestStarted(t) if t.retries.is_none() => out.send_start(&frame, key(t.order)),
        Event::TestFinished(r) => out.send_result(&frame, key(r.order)),
        Event::FileDone { .. } => {
            let busy = inbox.is_some_and(|i| i.waiting() >= DONE_AT_ONCE_BELOW);
            out.send(&frame, busy)
        }
        _ => out.send(&frame, true),
    }
    // (Not one a rare long traceback grew: kept for the life of the thread.)
    if frame.capacity() <= 1 << 16 {
        FRAME.set(frame);
    }
}

/// A test's place in the run as one number (file index, place in the file).
fn key((file, place): (usize, usize)) -> u64 {
    ((file as u64) << 32) ^ place as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::event::{Status, TestResult, TestStart};

    #[tokio::test]
    async fn frames_marked_skipped_are_passed_over() {
        let start = TestStart::file("t.py", 1);
        let mut skipped = encode(&Event::TestStarted(start.clone())).unwrap();
        skipped[3] |= (outbox::SKIPPED >> 24) as u8;
        let mut bytes = skipped;
        bytes.extend(
            encode(&Event::FileDone {
                index: 1,
                cpu_ms: 0.5,
            })
            .unwrap(),
        );
        let mut frames = FrameReader::new(&bytes[..]);
        match frames.next().await.unwrap().unwrap().unwrap() {
            Event::FileDone { index, .. } => assert_eq!(index, 1),
            other => panic!("the skipped start was read: {other:?}"),
        }
        assert!(frames.next().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn events_and_their_order_survive_the_wire_in_pieces() {
        let r = TestResult {
            id: "t.py::x".into(),
            file: "t.py".into(),
            suite: None,
            name: Some("x".into()),
            status: Status::Passed,
            kind: None,
            strict: false,
            duration_ms: 1.0,
            tags: vec!["a".into()],
            line: Some(3),
            message: Some("ü <&>".into()),
            traceback: None,
            source: None,
            values: vec![],
            stdout: None,
            stderr: None,
            order: (4, 6),
            earlier: Vec::new(),
        };
        let start = TestStart {
            id: "t.py::x".into(),
            tags: Vec::new(),
            line: Some(3),
            timeout: Some(1.5),
            order: (4, 6),
            retries: Some(2),
        };
        let mut bytes = encode(&Event::TestStarted(start)).unwrap();
        bytes.extend(encode(&Event::TestFinished(r)).unwrap());
        // Delivered a few bytes at a time, as a pipe may.
        let (mut tx, rx) = tokio::io::duplex(7);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for piece in bytes.chunks(5) {
                tx.write_all(piece).await.unwrap();
            }
        });
        let mut frames = FrameReader::new(rx);
        match frames.next().await.unwrap().unwrap().unwrap() {
            Event::TestStarted(t) => assert_eq!((t.id.as_str(), t.timeout), ("t.py::x", Some(1.5))),
            other => panic!("{other:?}"),
        }
        match frames.next().await.unwrap().unwrap().unwrap() {
            Event::TestFinished(back) => {
                assert_eq!(
                    (back.order, back.message.as_deref(), back.tags.len()),
                    ((4, 6), Some("ü <&>"), 1)
                )
            }
            other => panic!("{other:?}"),
        }
        writer.await.unwrap();
        assert!(frames.next().await.unwrap().is_none(), "end of stream");
    }
}
