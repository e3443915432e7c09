//! Running files concurrently: each selected file is a task on a blocking thread, up to
//! `jobs` at once. While one file's test waits (sleep, I/O, an event loop), Python releases
//! the GIL and other files proceed.
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::sync::{Semaphore, mpsc};

use crate::runner::event::Event;
use crate::runner::filter::Filter;
use crate::runner::python::{FileTask, RunContext, run_file};

/// What every file task shares.
pub struct Shared {
    pub filter: Filter,
    pub stop: AtomicBool,
    pub fail_fast: bool,
}

/// Run `files`, sending events to `tx`; returns when every started file has finished.
pub async fn run_files(
    files: Vec<FileTask>,
    jobs: usize,
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Event>,
) {
    let permits = Arc::new(Semaphore::new(jobs));
    let mut handles = Vec::with_capacity(files.len());
    for task in files {
        // Acquired in file order, so files start in a deterministic order.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        if shared.stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        let shared = shared.clone();
        let tx = tx.clone();
        handles.push(tokio::task::spawn_blocking(move || {
            let emit = move |e: Event| {
                // The receiver only goes away when the run is being abandoned.
                let _ = tx.send(e);
            };
            let cx = RunContext {
                filter: &shared.filter,
                stop: &shared.stop,
                fail_fast: shared.fail_fast,
                emit: &emit,
            };
            run_file(&task, &cx);
            drop(permit);
        }));
    }
    for h in handles {
        let _ = h.await;
    }
}
