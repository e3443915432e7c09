//! TEMPORARY profiling marks: with DBTEST_TRACE=FILE, each mark appends "pid us what".
use std::io::Write;
use std::sync::OnceLock;

static FILE: OnceLock<Option<std::sync::Mutex<std::fs::File>>> = OnceLock::new();

pub fn mark(what: &str) {
    let f = FILE.get_or_init(|| {
        let p = std::env::var_os("DBTEST_TRACE")?;
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(p)
            .ok()
            .map(std::sync::Mutex::new)
    });
    if let Some(f) = f {
        let us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros())
            .unwrap_or(0);
        if let Ok(mut f) = f.lock() {
            let _ = f.write_all(format!("{} {} {}\n", std::process::id(), us, what).as_bytes());
        }
    }
}
