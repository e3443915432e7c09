//! Copying a worker whose interpreter has started: `fork(2)` wrapped in the interpreter's own
//! steps, as `os.fork()` does them (its locks, thread states, and the `os.register_at_fork`
//! callbacks: `random` reseeds, `logging` renews its locks), without `os.fork()`'s warning,
//! which is about threads the callers here check are absent.
use pyo3::prelude::*;

/// Fork this process, holding the GIL: the child's pid in the parent, 0 in the child. Call
/// it only while the calling thread is the process's only one: a copy has no other threads,
/// and a lock one of them held would stay held in it forever.
pub fn fork_interpreter() -> std::io::Result<libc::pid_t> {
    Python::attach(|_py| {
        // SAFETY: the GIL is held (as PyOS_BeforeFork and the after-fork calls require) and
        // each after-fork call runs in the process it is for, on the thread that forked.
        unsafe {
            pyo3::ffi::PyOS_BeforeFork();
            let pid = libc::fork();
            if pid == 0 {
                pyo3::ffi::PyOS_AfterFork_Child();
            } else {
                pyo3::ffi::PyOS_AfterFork_Parent();
            }
            if pid < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(pid)
            }
        }
    })
}
