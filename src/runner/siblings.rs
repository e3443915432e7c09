//! Sibling workers: the first worker forks the others as soon as its interpreter has started,
//! so they begin where it is (interpreter up, site-packages' `.pth` files run, dbtest's own
//! modules imported) instead of each paying for that again: on a short run that start-up is
//! a large part of the work. Each sibling is then a worker like any other: its own process
//! group, its own pipes to the supervisor, adopted by the supervisor (a subreaper while they
//! are forked) so that it is waited for, and its exit status read, like a spawned one.
//! Whenever forking is not safe (another thread is running) or not possible, the first
//! worker closes the siblings' pipes and the supervisor starts them as usual.
use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::runner::python;

/// A sibling's ends of its two pipes, as descriptor numbers the first worker inherits.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SiblingFds {
    /// It reads its requests here.
    pub requests: i32,
    /// It writes its events here.
    pub events: i32,
}

/// One sibling's pipes: the supervisor's ends, and the ones the first worker inherits.
pub struct SiblingPipes {
    /// Write end: the sibling's requests.
    pub requests: OwnedFd,
    /// Read end: the sibling's events.
    pub events: OwnedFd,
    /// The sibling's ends (close-on-exec here: only the first worker gets them).
    pub theirs: [OwnedFd; 2],
}

impl SiblingPipes {
    pub fn new() -> std::io::Result<SiblingPipes> {
        let (req_read, req_write) = pipe()?;
        let (ev_read, ev_write) = pipe()?;
        Ok(SiblingPipes {
            requests: req_write,
            events: ev_read,
            theirs: [req_read, ev_write],
        })
    }

    pub fn fds(&self) -> SiblingFds {
        use std::os::fd::AsRawFd;
        SiblingFds {
            requests: self.theirs[0].as_raw_fd(),
            events: self.theirs[1].as_raw_fd(),
        }
    }
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors, each then owned by one OwnedFd.
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
}

const ON: libc::c_ulong = 1;
const OFF: libc::c_ulong = 0;

/// Siblings forked but not yet adopted and heard from: the supervisor stays a subreaper
/// until there are none (adopting orphans longer would keep every process a test leaves
/// behind as a zombie of the supervisor).
static PENDING: AtomicUsize = AtomicUsize::new(0);

/// In the supervisor, before starting a first worker with `n` siblings: adopt the processes
/// orphaned below it. False when the system cannot (then start no siblings).
pub fn expect(n: usize) -> bool {
    if n == 0 || std::env::var_os(NO_FORK_VAR).is_some_and(|v| v != "0") {
        return false;
    }
    // SAFETY: prctl with integer arguments.
    let ok = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, ON) } == 0;
    if ok {
        PENDING.fetch_add(n, Ordering::SeqCst);
    }
    ok
}

/// A sibling is adopted and ready, or will never be: once none is pending, stop adopting.
pub fn settled() {
    let before = PENDING.fetch_sub(1, Ordering::SeqCst);
    if before == 1 {
        // SAFETY: prctl with integer arguments.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, OFF);
        }
    } else if before == 0 {
        PENDING.store(0, Ordering::SeqCst);
    }
}

/// The run is over: siblings still pending never will be adopted.
pub fn forget() {
    if PENDING.swap(0, Ordering::SeqCst) > 0 {
        // SAFETY: prctl with integer arguments.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, OFF);
        }
    }
}

/// Set (to anything but `0`) to start every worker on its own instead of forking siblings.
pub const NO_FORK_VAR: &str = "DBTEST_NO_FORK";

/// Wait (blocking) for an adopted sibling to end; its exit status, or a plain exit 0 when it
/// is not this process's child (it was never adopted, or is already waited for).
pub fn reap(pid: u32) -> ExitStatus {
    ExitStatus::from_raw(wait_for(pid as libc::pid_t).unwrap_or(0))
}

/// `waitpid` on one child until it ends (a signal's interruption retried): its raw status,
/// or None if it is not this process's child.
fn wait_for(pid: libc::pid_t) -> Option<i32> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid on one pid, writing into a local.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Some(status);
        }
        if r < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return None;
    }
}

/// What this process is after `fork_siblings`.
pub enum Role {
    /// The first worker, its siblings' descriptors closed; `reap` its middle processes.
    First(Middles),
    /// A sibling: its requests and events pipes. It must `wait_for_adoption` before it says
    /// it is ready.
    Sibling {
        requests: File,
        events: File,
        adoption: Adoption,
    },
}

/// The middle processes the first worker forked (each ends at once): its children to reap.
pub struct Middles(Vec<libc::pid_t>);

impl Middles {
    pub fn reap(self) {
        for pid in self.0 {
            wait_for(pid);
        }
    }
}

/// A new sibling's parent (the middle process) and the supervisor that is to adopt it.
pub struct Adoption {
    middle: libc::pid_t,
    supervisor: i32,
}

impl Adoption {
    /// Wait for the supervisor to adopt this sibling (its middle process ends at once), then
    /// die with the supervisor as every worker does. A sibling nobody would wait for (its
    /// parent became another process) ends here, before it is used.
    pub fn wait(self) {
        // SAFETY: getppid and prctl on this process, with integer arguments; _exit ends it.
        unsafe {
            let until = Instant::now() + Duration::from_secs(5);
            loop {
                let parent = libc::getppid();
                if parent == self.supervisor {
                    break;
                }
                if parent != self.middle || Instant::now() > until {
                    libc::_exit(3);
                }
                std::thread::sleep(Duration::from_micros(50));
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
            if libc::getppid() != self.supervisor {
                libc::_exit(3);
            }
        }
    }
}

/// In the first worker, its interpreter started: fork one sibling per entry. Each sibling
/// returns `Role::Sibling` with its own pipes (every other sibling's descriptors closed).
pub fn fork_siblings(siblings: &[SiblingFds], supervisor: i32) -> Role {
    let all: Vec<i32> = siblings
        .iter()
        .flat_map(|s| [s.requests, s.events])
        .collect();
    let mut middles = Vec::new();
    if single_threaded() {
        for s in siblings {
            match fork_one() {
                Ok(Forked::Sibling(middle)) => {
                    for &fd in all.iter().filter(|&&fd| fd != s.requests && fd != s.events) {
                        close(fd);
                    }
                    // SAFETY: descriptors inherited for this sibling alone, owned from here
                    // on by their Files; close-on-exec so tests' subprocesses never hold them.
                    unsafe {
                        libc::fcntl(s.requests, libc::F_SETFD, libc::FD_CLOEXEC);
                        libc::fcntl(s.events, libc::F_SETFD, libc::FD_CLOEXEC);
                        return Role::Sibling {
                            requests: File::from_raw_fd(s.requests),
                            events: File::from_raw_fd(s.events),
                            adoption: Adoption { middle, supervisor },
                        };
                    }
                }
                Ok(Forked::Middle(pid)) => middles.push(pid),
                Err(e) => {
                    eprintln!(
                        "dbtest worker: cannot fork a sibling worker ({e}); it is started instead"
                    );
                    break;
                }
            }
        }
    }
    // Siblings have their copies; pipes of siblings not forked end here, and the supervisor,
    // reading their end, starts them instead.
    for fd in all {
        close(fd);
    }
    Role::First(Middles(middles))
}

enum Forked {
    /// Back in the first worker, with the middle process's pid.
    Middle(libc::pid_t),
    /// In the sibling, with its parent (the middle process) at birth.
    Sibling(libc::pid_t),
}

fn close(fd: i32) {
    // SAFETY: a descriptor inherited for a sibling, not owned by anything in this process.
    unsafe {
        libc::close(fd);
    }
}

/// Only this thread runs: a fork copies no other thread, and a lock one of them held (in
/// malloc, in Python) would stay held in the copy forever.
fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|d| d.count() == 1)
}

/// Fork one sibling through a middle process that ends at once, so the sibling is orphaned
/// and adopted by the supervisor. The sibling takes its own process group at once: stopping
/// it then stops what its tests started, never its first worker.
fn fork_one() -> std::io::Result<Forked> {
    let middle = python::fork_interpreter()?;
    if middle != 0 {
        return Ok(Forked::Middle(middle));
    }
    if !matches!(python::fork_interpreter(), Ok(0)) {
        // SAFETY: ends the middle process at once; nothing of it is used again.
        unsafe { libc::_exit(0) }
    }
    // SAFETY: setpgid and getppid on this process, with integer arguments.
    unsafe {
        libc::setpgid(0, 0);
        Ok(Forked::Sibling(libc::getppid()))
    }
}
