//! Per-test output capture. `sys.stdout`/`sys.stderr` are replaced by routers that write to the
//! buffers of the test running on the calling thread: each file runs on its own thread, one test
//! at a time, so concurrent tests' output never mixes. Output is bounded (head and tail kept).
use std::cell::RefCell;
use std::io::Write;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

/// Bytes kept from the start and from the end of each stream of each test.
const HEAD: usize = 32 * 1024;
const TAIL: usize = 32 * 1024;

#[derive(Debug, Default)]
pub struct Bounded {
    head: String,
    tail: String,
    dropped: usize,
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

impl Bounded {
    pub fn push(&mut self, mut s: &str) {
        if self.head.len() < HEAD {
            let take = floor_boundary(s, (HEAD - self.head.len()).min(s.len()));
            self.head.push_str(&s[..take]);
            s = &s[take..];
        }
        if s.is_empty() {
            return;
        }
        if s.len() >= TAIL {
            // The whole tail is replaced: never copy more than TAIL of a flood.
            self.dropped += self.tail.len();
            self.tail.clear();
            let start = ceil_boundary(s, s.len() - TAIL);
            self.dropped += start;
            self.tail.push_str(&s[start..]);
            return;
        }
        self.tail.push_str(s);
        if self.tail.len() > 2 * TAIL {
            let cut = ceil_boundary(&self.tail, self.tail.len() - TAIL);
            self.dropped += cut;
            self.tail.drain(..cut);
        }
    }

    pub fn finish(self) -> String {
        let mut out = self.head;
        if self.dropped > 0 {
            out.push_str(&format!(
                "\n[... {} bytes of output omitted by dbtest ...]\n",
                self.dropped
            ));
        }
        out.push_str(&self.tail);
        out
    }
}

thread_local! {
    static ACTIVE: RefCell<Option<[Bounded; 2]>> = const { RefCell::new(None) };
    /// In a worker process, each test's output is also written through to files, so that
    /// what a test printed survives the process if the test crashes it or hangs.
    static SPOOL: RefCell<Option<([std::fs::File; 2], [usize; 2])>> = const { RefCell::new(None) };
    /// Inside `capsys.disabled()`: this thread's output goes straight to dbtest's stderr.
    static DISABLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Bytes of each stream written through per test: enough to see why a test died.
const SPOOL_LIMIT: usize = HEAD + TAIL;

/// Write this thread's captured output through to `files` (stdout, stderr) as well.
pub fn spool_to(files: [&std::path::Path; 2]) -> std::io::Result<()> {
    let open = |p: &std::path::Path| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
    };
    let pair = [open(files[0])?, open(files[1])?];
    SPOOL.with(|s| *s.borrow_mut() = Some((pair, [0, 0])));
    Ok(())
}

/// Threads of this process between `begin` and `end`: tests running right now.
static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether a test is running on some thread (after this thread's `end`): then the process's
/// working directory and `sys.stdout` may be that test's own doing (a doctest, a
/// `redirect_stdout`, a `chdir`), not something to undo.
pub fn tests_running() -> bool {
    RUNNING.load(std::sync::atomic::Ordering::SeqCst) > 0
}

/// Start capturing this thread's Python output.
pub fn begin() {
    let was = ACTIVE.with(|a| {
        a.borrow_mut()
            .replace([Bounded::default(), Bounded::default()])
    });
    if was.is_none() {
        RUNNING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    SPOOL.with(|s| {
        if let Some((files, written)) = s.borrow_mut().as_mut() {
            // Append mode: after truncation, writes start again at the beginning. Most tests
            // print nothing: then there is nothing to truncate (and no syscall per test).
            for (f, w) in files.iter().zip(written.iter_mut()) {
                if *w > 0 {
                    let _ = f.set_len(0);
                    *w = 0;
                }
            }
        }
    });
}

/// Stop capturing; returns (stdout, stderr).
pub fn end() -> (String, String) {
    match ACTIVE.with(|a| a.borrow_mut().take()) {
        Some([out, err]) => {
            RUNNING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            (out.finish(), err.finish())
        }
        None => (String::new(), String::new()),
    }
}

/// What the calling thread's test wrote since capture began or since the last `take`, which
/// empties the buffers (`capsys.readouterr()`); empty when no test runs on this thread.
pub fn take() -> (String, String) {
    ACTIVE.with(|a| match a.borrow_mut().as_mut() {
        Some(bufs) => {
            let [out, err] = std::mem::take(bufs);
            (out.finish(), err.finish())
        }
        None => (String::new(), String::new()),
    })
}

/// Append text to the calling thread's buffers as if the test had written it (what
/// `capsys` took but the test never read goes back into the test's report). Not spooled
/// again: the spool saw it when it was first written.
pub fn put(out: &str, err: &str) {
    ACTIVE.with(|a| {
        if let Some(bufs) = a.borrow_mut().as_mut() {
            bufs[0].push(out);
            bufs[1].push(err);
        }
    });
}

/// Whether a test is running on the calling thread.
pub fn active() -> bool {
    ACTIVE.with(|a| a.borrow().is_some())
}

fn route(stream: usize, s: &str) {
    if DISABLED.with(std::cell::Cell::get) {
        let _ = std::io::stderr().write_all(s.as_bytes());
        return;
    }
    let captured = ACTIVE.with(|a| match a.borrow_mut().as_mut() {
        Some(bufs) => {
            bufs[stream].push(s);
            true
        }
        None => false,
    });
    if captured {
        SPOOL.with(|sp| {
            if let Some((files, written)) = sp.borrow_mut().as_mut() {
                let room = SPOOL_LIMIT.saturating_sub(written[stream]).min(s.len());
                if room > 0 {
                    let _ = files[stream].write_all(&s.as_bytes()[..room]);
                    written[stream] += room;
                }
            }
        });
    }
    if !captured {
        // Output from outside any test (a thread a test left behind): to stderr, so it is
        // seen but never corrupts a report on stdout.
        let _ = std::io::stderr().write_all(s.as_bytes());
    }
}

#[pyfunction(name = "take")]
fn py_take() -> (String, String) {
    take()
}

#[pyfunction(name = "put")]
fn py_put(out: &str, err: &str) {
    put(out, err);
}

#[pyfunction(name = "active")]
fn py_active() -> bool {
    active()
}

/// Turn capture off (`True`) or back on for the calling thread; returns the previous state.
#[pyfunction(name = "disable")]
fn py_disable(off: bool) -> bool {
    DISABLED.with(|d| d.replace(off))
}

/// `dbtest._capture`: the per-thread capture, for the built-in fixtures (`capsys`, `caplog`).
/// Made here and put in `sys.modules`, so `import dbtest._capture` finds it.
pub fn register(py: Python<'_>) -> PyResult<()> {
    let m = PyModule::new(py, "dbtest._capture")?;
    m.add_function(wrap_pyfunction!(py_take, &m)?)?;
    m.add_function(wrap_pyfunction!(py_put, &m)?)?;
    m.add_function(wrap_pyfunction!(py_active, &m)?)?;
    m.add_function(wrap_pyfunction!(py_disable, &m)?)?;
    m.add_class::<Router>()?;
    m.add_class::<BinaryRouter>()?;
    py.import("sys")?
        .getattr("modules")?
        .set_item("dbtest._capture", m)
}

/// Installed as `sys.stdout` (stream 0) and `sys.stderr` (stream 1).
#[pyclass(module = "dbtest._capture", frozen)]
pub struct Router {
    stream: usize,
}

impl Router {
    pub fn new(stream: usize) -> Self {
        Router { stream }
    }
}

#[pymethods]
impl Router {
    fn write(&self, s: &Bound<'_, PyString>) -> PyResult<usize> {
        match s.to_str() {
            Ok(text) => route(self.stream, text),
            Err(_) => route(self.stream, &s.to_string_lossy()),
        }
        s.len()
    }

    fn writelines(&self, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            let line = line?;
            route(self.stream, &line.str()?.to_string_lossy());
        }
        Ok(())
    }

    fn flush(&self) {}

    fn isatty(&self) -> bool {
        false
    }

    fn writable(&self) -> bool {
        true
    }

    fn readable(&self) -> bool {
        false
    }

    fn seekable(&self) -> bool {
        false
    }

    #[getter]
    fn closed(&self) -> bool {
        false
    }

    #[getter]
    fn encoding(&self) -> &'static str {
        "utf-8"
    }

    #[getter]
    fn errors(&self) -> &'static str {
        "replace"
    }

    #[getter]
    fn name(&self) -> &'static str {
        if self.stream == 0 {
            "<stdout>"
        } else {
            "<stderr>"
        }
    }

    #[getter]
    fn buffer(&self) -> BinaryRouter {
        BinaryRouter {
            stream: self.stream,
        }
    }

    /// A real descriptor, for code that hands the stream to a subprocess or C code
    /// (`subprocess.run(..., stdout=sys.stdout)`, `faulthandler`): dbtest's stderr for both
    /// (fd 1 already points there in the process that runs tests, so no report on stdout is
    /// ever at risk). What goes through it is not captured per test, as with `pytest -s`.
    fn fileno(&self) -> i32 {
        if self.stream == 0 { 1 } else { 2 }
    }

    /// A test closing `sys.stdout` must not break capture for the tests after it: a no-op.
    fn close(&self) {}
}

/// `sys.stdout.buffer`, for code that writes bytes.
#[pyclass(module = "dbtest._capture", frozen)]
pub struct BinaryRouter {
    stream: usize,
}

#[pymethods]
impl BinaryRouter {
    fn write(&self, b: &Bound<'_, PyBytes>) -> usize {
        let bytes = b.as_bytes();
        route(self.stream, &String::from_utf8_lossy(bytes));
        bytes.len()
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let mut b = Bounded::default();
        b.push("hello ");
        b.push("world");
        assert_eq!(b.finish(), "hello world");
    }

    #[test]
    fn floods_keep_head_and_tail_and_say_what_was_dropped() {
        let mut b = Bounded::default();
        b.push("START");
        b.push(&"x".repeat(20_000_000));
        b.push("END");
        let out = b.finish();
        assert!(out.starts_with("START"));
        assert!(out.ends_with("END"));
        assert!(out.len() < HEAD + TAIL + 200);
        // The head keeps START and the first x's, the tail the last x's and END.
        let dropped = 5 + 20_000_000 - HEAD - TAIL;
        assert!(
            out.contains(&format!(
                "[... {dropped} bytes of output omitted by dbtest ...]"
            )),
            "{}",
            &out[HEAD - 10..HEAD + 100]
        );
    }

    #[test]
    fn many_small_writes_stay_bounded() {
        let mut b = Bounded::default();
        for i in 0..100_000 {
            b.push(&format!("line {i} é\n"));
        }
        let out = b.finish();
        assert!(out.len() < HEAD + 2 * TAIL + 200);
        assert!(out.ends_with("line 99999 é\n"));
    }

    #[test]
    fn take_drains_and_put_appends_for_this_thread_only() {
        begin();
        assert!(active());
        route(0, "before ");
        route(1, "err");
        assert_eq!(take(), ("before ".to_string(), "err".to_string()));
        // Drained: the next take sees only what came after.
        route(0, "after");
        let other = std::thread::spawn(|| {
            assert!(!active());
            put("lost", "lost");
            take()
        })
        .join()
        .unwrap();
        assert_eq!(other, (String::new(), String::new()));
        assert_eq!(take(), ("after".to_string(), String::new()));
        put("kept ", "");
        route(0, "tail");
        assert_eq!(end(), ("kept tail".to_string(), String::new()));
        assert!(!active());
        assert_eq!(take(), (String::new(), String::new()));
    }

    #[test]
    fn disabled_output_is_not_captured() {
        begin();
        let was = DISABLED.with(|d| d.replace(true));
        route(0, "to stderr\n");
        DISABLED.with(|d| d.set(was));
        route(0, "captured");
        assert_eq!(end().0, "captured");
    }

    #[test]
    fn capture_is_per_thread() {
        begin();
        route(0, "main");
        let other = std::thread::spawn(|| {
            begin();
            route(0, "other");
            end()
        })
        .join()
        .unwrap();
        assert_eq!(other.0, "other");
        assert_eq!(end().0, "main");
    }
}
