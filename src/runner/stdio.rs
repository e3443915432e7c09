//! Keeping reports clean: user code (or a C extension) writing straight to file descriptor 1
//! must never corrupt a JSON report on stdout, and tests must never read the terminal.
use std::fs::File;
use std::os::fd::FromRawFd;

/// Point fd 0 at /dev/null and fd 1 at stderr, and return the original stdout for reports.
pub fn isolate() -> std::io::Result<File> {
    // SAFETY: plain descriptor juggling on descriptors this process owns; `dup` gives a new
    // descriptor that the returned File then owns alone.
    unsafe {
        // Close-on-exec: a test's subprocess must not hold the event pipe (or the report
        // stream) open after the process that owns it is done.
        let saved = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 0);
        if saved < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::close(null);
        }
        libc::dup2(2, 1);
        Ok(File::from_raw_fd(saved))
    }
}
