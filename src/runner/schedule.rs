//! Running files concurrently: each selected file is a task on a blocking thread, up to
//! `jobs` at once. While one file's test waits (sleep, I/O, an event loop), Python releases
//! the GIL and other files proceed.
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Semaphore;

use crate::runner::event::Event;
use crate::runner::filter::Filter;
use crate::runner::options::BenchOptions;
use crate::runner::plan::FileTask;
use crate::runner::python::{RunContext, measure_harness, run_bench_file, run_file};

/// Events on their way to the reporting side. A push is an uncontended lock, never a
/// syscall or a wake-up (a channel costs one per test on 10,000 trivial tests); the collector
/// drains it a few times a second, so every finished result is saved the moment it exists and
/// is there for the report even if the next test never returns.
#[derive(Default)]
pub struct EventQueue(Mutex<Vec<Event>>);

impl EventQueue {
    pub fn push(&self, e: Event) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(e);
    }

    /// Move the waiting events into `into` (empty), which gives its buffer to the queue in
    /// exchange: two buffers alternate and keep their capacity, so 20,000 events per run do
    /// not regrow (and page-fault) a fresh vector after every drain.
    pub fn drain_into(&self, into: &mut Vec<Event>) {
        debug_assert!(into.is_empty());
        std::mem::swap(
            &mut *self.0.lock().unwrap_or_else(PoisonError::into_inner),
            into,
        );
    }
}

/// What every file task shares.
pub struct Shared {
    pub filter: Filter,
    pub stop: AtomicBool,
    pub fail_fast: bool,
    pub events: EventQueue,
    /// Why the run cannot go on at all (workers that die before their handshake): the run
    /// stops and ends with this message and exit 3.
    pub fatal: Mutex<Option<String>>,
}

/// Run `files`, pushing events to `shared.events`; returns when every started file has finished.
pub async fn run_files(files: Vec<FileTask>, jobs: usize, shared: Arc<Shared>) {
    let permits = Arc::new(Semaphore::new(jobs));
    let mut handles = Vec::with_capacity(files.len());
    for task in files {
        // Acquired in file order, so files start in a deterministic order. A file that runs
        // alone in its process (`FileTask::exclusive`) takes every permit.
        let wanted = if task.exclusive { jobs } else { 1 };
        let wanted = u32::try_from(wanted)
            .unwrap_or(u32::MAX)
            .min(Semaphore::MAX_PERMITS as u32);
        let Ok(permit) = permits.clone().acquire_many_owned(wanted).await else {
            break;
        };
        if shared.stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        let shared = shared.clone();
        handles.push(tokio::task::spawn_blocking(move || {
            // A test's forked child returns through here: it must not report, nor linger.
            let emit = |e: Event| {
                crate::runner::worker::exit_if_forked();
                shared.events.push(e)
            };
            let cx = RunContext {
                filter: &shared.filter,
                stop: &shared.stop,
                fail_fast: shared.fail_fast,
                emit: &emit,
                skip: &Default::default(),
            };
            run_file(&task, &cx);
            crate::runner::worker::exit_if_forked();
            drop(permit);
        }));
    }
    for h in handles {
        let _ = h.await;
    }
}

/// Run benchmark files one at a time, never beside tests or each other: concurrent timings
/// would share cores, caches and the GIL and distort one another.
pub async fn run_benchmarks(
    files: Vec<FileTask>,
    options: BenchOptions,
    baseline_tree: Option<PathBuf>,
    shared: Arc<Shared>,
) {
    let Some(first) = files.first().cloned() else {
        return;
    };
    let ctx_shared = shared.clone();
    let _ = tokio::task::spawn_blocking(move || {
        let emit = |e: Event| ctx_shared.events.push(e);
        let cx = RunContext {
            filter: &ctx_shared.filter,
            stop: &ctx_shared.stop,
            fail_fast: false,
            emit: &emit,
            skip: &Default::default(),
        };
        measure_harness(&first, &cx, &options);
        for task in &files {
            if ctx_shared.stop.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            run_bench_file(task, &cx, &options, baseline_tree.as_deref());
        }
    })
    .await;
}
