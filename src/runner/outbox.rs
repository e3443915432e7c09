//! A worker's outgoing events: written to the supervisor's pipe in batches, yet never lost
//! when the worker dies.
//!
//! Writing each test's start at once costs a syscall per test (10,000 on a trivial corpus),
//! and the start must reach the supervisor for it to blame a crash on the right test. Events
//! wait instead in a file mapped into memory (`events_path`): appending is a copy, no
//! syscall, and what the worker appended is in the kernel's page cache, readable by the
//! supervisor, however the worker then dies (a segfault, `os._exit`, SIGKILL). A flushing
//! thread writes the batch to the pipe `FLUSH_AFTER` after its first event; an event the
//! sender marks urgent (a file done) goes at once, with the batch before it.
//!
//! The file starts with two little-endian u64: `base`, the stream offset (bytes written to
//! the pipe before) of the first waiting byte, and `len`, how many bytes wait. Knowing how
//! many bytes it read from the pipe, the supervisor takes the rest from the file (`recover`).
//!
//! A test's start matters only while the test runs (for a crash or a timeout): when its
//! result joins a batch that still holds its start, the start is marked skipped (`SKIPPED`,
//! the high bit of its frame's length, set after the result is in: at every moment the
//! waiting bytes read as a valid stream), and readers pass over it. For 10,000 fast tests the
//! supervisor handles 10,000 events rather than 20,000.
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// How long a batch gathers before it is written: the supervisor learns of a start (for its
/// timeouts and the progress bar) at most this late.
const FLUSH_AFTER: Duration = Duration::from_millis(10);
/// Room for waiting events; a batch that fills it is written at once.
const CAPACITY: usize = 1 << 20;
const HEADER: usize = 16;
/// Set in a frame's length: the frame is to be passed over (see the module's doc).
pub const SKIPPED: u32 = 1 << 31;

/// Where worker `pid` keeps its waiting events.
pub fn events_path(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("{pid}.events"))
}

/// The memory-mapped file holding the waiting events.
struct Mapped {
    ptr: *mut u8,
}

// SAFETY: the mapping is owned by one `Mapped`, used only under the outbox's mutex.
unsafe impl Send for Mapped {}

impl Mapped {
    fn create(path: &Path) -> std::io::Result<Mapped> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        file.set_len((HEADER + CAPACITY) as u64)?;
        // SAFETY: a fresh shared mapping of a file we sized; checked for failure below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                HEADER + CAPACITY,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Mapped { ptr: ptr.cast() })
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is HEADER + CAPACITY bytes long and lives as long as `self`.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, HEADER + CAPACITY) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: unmapping our own mapping, once.
        unsafe {
            libc::munmap(self.ptr.cast(), HEADER + CAPACITY);
        }
    }
}

struct State {
    /// None once the stream is closed.
    out: Option<File>,
    /// None when the file could not be made: then every event but a result is written at
    /// once, a syscall per test as before.
    mapped: Option<Mapped>,
    /// Waiting bytes when there is no mapping.
    heap: Vec<u8>,
    /// Waiting bytes in the mapping.
    len: usize,
    /// Bytes written to the pipe so far.
    written: u64,
    closed: bool,
    /// Starts in the waiting bytes whose results have not come: (key, offset of the frame).
    starts: Vec<(u64, usize)>,
}

impl State {
    fn waiting(&self) -> usize {
        if self.mapped.is_some() {
            self.len
        } else {
            self.heap.len()
        }
    }

    /// Append a frame; false if it does not fit (flush first, or write it directly).
    fn append(&mut self, frame: &[u8]) -> bool {
        let Some(m) = self.mapped.as_mut() else {
            self.heap.extend_from_slice(frame);
            return true;
        };
        if self.len + frame.len() > CAPACITY {
            return false;
        }
        let bytes = m.bytes();
        bytes[HEADER + self.len..HEADER + self.len + frame.len()].copy_from_slice(frame);
        self.len += frame.len();
        // The length last: a frame half copied when the worker dies is not counted.
        bytes[8..16].copy_from_slice(&(self.len as u64).to_le_bytes());
        true
    }

    /// Write what waits to the pipe. Err when the pipe is gone (the supervisor is).
    fn flush(&mut self) -> std::io::Result<()> {
        match self.mapped.as_mut() {
            Some(m) => {
                let len = self.len;
                let r = write(&mut self.out, &m.bytes()[HEADER..HEADER + len]);
                self.written += len as u64;
                self.len = 0;
                self.starts.clear();
                let bytes = m.bytes();
                bytes[0..8].copy_from_slice(&self.written.to_le_bytes());
                bytes[8..16].copy_from_slice(&0u64.to_le_bytes());
                r
            }
            None => {
                let r = write(&mut self.out, &self.heap);
                self.written += self.heap.len() as u64;
                self.heap.clear();
                r
            }
        }
    }

    /// Mark the waiting start of test `key` skipped, if there is one (after its result is in).
    fn skip_start(&mut self, key: u64) {
        let Some(i) = self.starts.iter().position(|(k, _)| *k == key) else {
            return;
        };
        let (_, at) = self.starts.swap_remove(i);
        if let Some(m) = self.mapped.as_mut() {
            // The high byte of the little-endian length: one byte, written at once.
            m.bytes()[HEADER + at + 3] |= (SKIPPED >> 24) as u8;
        }
    }

    fn write_direct(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.flush()?;
        let r = write(&mut self.out, bytes);
        self.written += bytes.len() as u64;
        if let Some(m) = self.mapped.as_mut() {
            m.bytes()[0..8].copy_from_slice(&self.written.to_le_bytes());
        }
        r
    }
}

fn write(out: &mut Option<File>, bytes: &[u8]) -> std::io::Result<()> {
    match out {
        Some(f) => f.write_all(bytes),
        None if bytes.is_empty() => Ok(()),
        None => Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe)),
    }
}

/// The worker's event stream to the supervisor.
pub struct Outbox {
    state: Mutex<State>,
    wake: Condvar,
    /// Set when the supervisor can no longer be written to (it is gone: EPIPE): results
    /// would go nowhere, so no further test starts.
    stop: Arc<AtomicBool>,
}

impl Outbox {
    /// An outbox writing to `out`, its waiting events mapped from `path`; `written` bytes
    /// went to `out` before (the handshake).
    pub fn new(out: File, path: &Path, written: u64, stop: Arc<AtomicBool>) -> Arc<Outbox> {
        let mut mapped = Mapped::create(path).ok();
        if let Some(m) = mapped.as_mut() {
            m.bytes()[0..8].copy_from_slice(&written.to_le_bytes());
        }
        let outbox = Arc::new(Outbox {
            state: Mutex::new(State {
                out: Some(out),
                mapped,
                heap: Vec::new(),
                len: 0,
                written,
                closed: false,
                starts: Vec::new(),
            }),
            wake: Condvar::new(),
            stop,
        });
        let batched = outbox.lock().mapped.is_some();
        if batched {
            let flusher = outbox.clone();
            let started = std::thread::Builder::new()
                .name("dbtest-outbox".into())
                .spawn(move || flusher.flush_batches());
            if started.is_err() {
                // No thread to write batches: write each event at once.
                outbox.lock().mapped = None;
            }
        }
        outbox
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failed(&self, r: std::io::Result<()>) {
        if r.is_err() {
            self.stop.store(true, Ordering::SeqCst);
        }
    }

    /// Queue one frame: with `batch`, it waits for the next batch; else it goes out at once,
    /// with what waited before it.
    pub fn send(&self, frame: &[u8], batch: bool) {
        self.queue(frame, batch, |_, _| {});
    }

    /// Queue a test's start (batched), which its result (`send_result`, same `key`) makes
    /// redundant if it comes before the batch goes out.
    pub fn send_start(&self, frame: &[u8], key: u64) {
        self.queue(frame, true, |s, at| s.starts.push((key, at)));
    }

    /// Queue a test's result (batched), marking its start skipped if it still waits.
    pub fn send_result(&self, frame: &[u8], key: u64) {
        self.queue(frame, true, |s, _| s.skip_start(key));
    }

    /// Append `frame` (or write it at once: no room for it, no mapping, not `batch`), then let
    /// `waiting` note what it must of the frame, which begins at the given offset.
    fn queue(&self, frame: &[u8], batch: bool, waiting: impl FnOnce(&mut State, usize)) {
        let mut s = self.lock();
        let at = s.len;
        let was_empty = s.waiting() == 0;
        if !s.append(frame) {
            let r = s.write_direct(frame);
            return self.failed(r);
        }
        if !batch || s.mapped.is_none() {
            let r = s.flush();
            return self.failed(r);
        }
        waiting(&mut s, at);
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Write what waits now.
    pub fn flush(&self) {
        let r = self.lock().flush();
        self.failed(r);
    }

    /// The flushing thread: once events wait, let the batch gather, then write it.
    fn flush_batches(&self) {
        let mut s = self.lock();
        loop {
            if s.closed {
                return;
            }
            if s.waiting() == 0 {
                s = self.wake.wait(s).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            drop(s);
            std::thread::sleep(FLUSH_AFTER);
            s = self.lock();
            let r = s.flush();
            self.failed(r);
        }
    }

    /// Write what waits, stop the flushing thread and close the pipe: the supervisor sees the
    /// stream end now, not once this process has finished exiting.
    pub fn close(&self) {
        let mut s = self.lock();
        let r = s.flush();
        s.closed = true;
        s.out = None;
        drop(s);
        self.wake.notify_one();
        self.failed(r);
    }
}

/// The bytes of a dead worker's stream that never reached its pipe: those of the file at
/// `path` past the `received` bytes the supervisor read. Reads the header, then only them.
pub fn recover(path: &Path, received: u64) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    let mut header = [0u8; HEADER];
    if file.read_exact_at(&mut header, 0).is_err() {
        return Vec::new();
    }
    let word = |at: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(w)
    };
    let (base, len) = (word(0), word(8));
    let len = usize::try_from(len).unwrap_or(0).min(CAPACITY);
    let Some(skip) = received
        .checked_sub(base)
        .and_then(|s| usize::try_from(s).ok())
        .filter(|s| *s < len)
    else {
        return Vec::new();
    };
    let mut rest = vec![0u8; len - skip];
    match file.read_exact_at(&mut rest, (HEADER + skip) as u64) {
        Ok(()) => rest,
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipe() -> (File, File) {
        let mut fds = [0; 2];
        // SAFETY: pipe(2) fills the two descriptors, each owned by one File below.
        unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            use std::os::fd::FromRawFd;
            (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1]))
        }
    }

    /// An outbox writing to a fresh pipe (its read end returned), its events mapped from
    /// `path`, `written` bytes sent before.
    fn opened(path: &Path, written: u64) -> (Arc<Outbox>, File) {
        let (read, write) = pipe();
        let outbox = Outbox::new(write, path, written, Arc::new(AtomicBool::new(false)));
        (outbox, read)
    }

    /// Reads from `read` return what is there now rather than wait for more.
    fn nonblocking(read: &File) {
        // SAFETY: setting O_NONBLOCK on a descriptor this test owns.
        unsafe {
            libc::fcntl(read.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
        }
    }

    #[test]
    fn waiting_events_are_recovered_past_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = events_path(dir.path(), 1);
        let (outbox, mut read) = opened(&path, 16);
        outbox.send(b"first", false);
        outbox.send(b"second", true);
        outbox.send(b"third", true);
        // The first went out at once; the batch still waits (the flusher sleeps first).
        let mut got = [0u8; 5];
        use std::io::Read;
        read.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"first");
        assert_eq!(recover(&path, 16 + 5), b"secondthird");
        // The worker died while writing the batch, 3 bytes of it in the pipe: the rest.
        assert_eq!(recover(&path, 16 + 5 + 3), b"ondthird");
        outbox.flush();
        assert_eq!(recover(&path, 16 + 5 + 11), b"");
        let mut rest = [0u8; 11];
        read.read_exact(&mut rest).unwrap();
        assert_eq!(&rest, b"secondthird");
    }

    /// A frame as `worker::encode` makes it: a u32 length, then the body.
    fn frame(body: &[u8]) -> Vec<u8> {
        let mut f = (body.len() as u32).to_le_bytes().to_vec();
        f.extend_from_slice(body);
        f
    }

    #[test]
    fn a_start_whose_result_joins_its_batch_is_marked_skipped_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = events_path(dir.path(), 4);
        let (outbox, mut read) = opened(&path, 0);
        outbox.send_start(&frame(b"start-a"), 1);
        outbox.send_start(&frame(b"start-b"), 2);
        outbox.send_result(&frame(b"result-a"), 1);
        // Still waiting: a crash now gives the reader b's start, a's start skipped, a's result.
        let waiting = recover(&path, 0);
        let word = |at: usize| u32::from_le_bytes(waiting[at..at + 4].try_into().unwrap());
        assert_eq!(word(0), 7 | SKIPPED);
        assert_eq!(word(11), 7);
        assert_eq!(&waiting[15..22], b"start-b");
        outbox.flush();
        // b's start went out: its result cannot mark it any more.
        outbox.send_result(&frame(b"result-b"), 2);
        outbox.flush();
        let mut all = vec![0u8; waiting.len() + 12];
        use std::io::Read;
        read.read_exact(&mut all).unwrap();
        assert_eq!(&all[..waiting.len()], &waiting[..]);
        assert_eq!(
            u32::from_le_bytes(all[waiting.len()..waiting.len() + 4].try_into().unwrap()),
            8
        );
    }

    #[test]
    fn without_a_file_to_map_every_event_goes_out_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let nowhere = dir.path().join("missing").join("1.events");
        let (outbox, mut read) = opened(&nowhere, 0);
        outbox.send_start(&frame(b"start"), 1);
        outbox.send_result(&frame(b"result"), 1);
        // Already in the pipe: read without waiting (a regression fails, never hangs).
        nonblocking(&read);
        let mut got = vec![0u8; 64];
        use std::io::Read;
        let n = read.read(&mut got).unwrap_or(0);
        got.truncate(n);
        assert_eq!(n, 9 + 10, "{got:?}");
        // Nothing is marked skipped without the file: both frames, as sent.
        assert_eq!(&got[4..9], b"start");
        assert_eq!(&got[13..], b"result");
        assert!(recover(&nowhere, 0).is_empty());
    }

    #[test]
    fn an_event_sent_at_once_takes_the_batch_before_it_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = events_path(dir.path(), 5);
        let (outbox, mut read) = opened(&path, 0);
        outbox.send(b"done-1", true);
        outbox.send(b"start-2", true);
        outbox.send(b"done-2", false);
        // Already in the pipe, whether or not the flusher woke first: read without waiting.
        nonblocking(&read);
        let mut got = vec![0u8; 64];
        use std::io::Read;
        let n = read.read(&mut got).unwrap_or(0);
        assert_eq!(&got[..n], b"done-1start-2done-2");
        assert_eq!(recover(&path, n as u64), b"");
    }

    #[test]
    fn a_batch_is_written_soon_without_another_event() {
        let dir = tempfile::tempdir().unwrap();
        let (outbox, mut read) = opened(&events_path(dir.path(), 2), 0);
        outbox.send(b"started", true);
        let mut got = [0u8; 7];
        use std::io::Read;
        read.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"started");
    }

    #[test]
    fn a_frame_larger_than_the_room_goes_out_directly_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = events_path(dir.path(), 3);
        let (outbox, mut read) = opened(&path, 0);
        outbox.send(b"a", true);
        let big = vec![b'b'; CAPACITY + 1];
        let reader = std::thread::spawn(move || {
            let mut all = vec![0u8; CAPACITY + 2];
            use std::io::Read;
            read.read_exact(&mut all).unwrap();
            all
        });
        outbox.send(&big, true);
        let all = reader.join().unwrap();
        assert_eq!(all[0], b'a');
        assert!(all[1..].iter().all(|&b| b == b'b'));
        assert_eq!(recover(&path, (CAPACITY + 2) as u64), b"");
    }
}
