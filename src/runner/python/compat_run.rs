//! Running a file's unittest and pytest-style tests (see `compat` for the bridge to the
//! shim's `_compat` module): filters, events, captured output, class and module tear-down
//! entries, in the runners' order.
use std::sync::atomic::Ordering;
use std::time::Instant;

use pyo3::prelude::*;

use super::capture;
use super::compat::{
    CompatTest, HookProblem, apply, collect, describe_hook, finish, one_line, session, step,
    stepper,
};
use super::engine::{FileRun, RunContext, with_file};
use super::failure::describe;
use crate::runner::event::{ErrorKind, Event, Status, TestResult, TestStart};
use crate::runner::plan::FileTask;

/// Where a file's unittest and pytest-style tests go in its report order: after its dbtest
/// tests, two declaration slots each (the odd one for a failed class or module tear-down).
pub(super) const DECL_BASE: usize = 1 << 20;

impl<'py> FileRun<'_, 'py> {
    fn compat_result(&self, id: String, suite: Option<&str>, name: &str) -> TestResult {
        let mut r = self.base_result(id, suite, Some(name), Status::Passed);
        r.order = (self.task.index, 0);
        r
    }

    fn compat_emit(&mut self, r: TestResult) {
        if r.fails_run() && self.cx.fail_fast {
            self.cx.stop.store(true, Ordering::SeqCst);
        }
        (self.cx.emit)(Event::TestFinished(r));
    }

    /// Report the error of collecting the file's tests: one entry for the file.
    fn compat_collect_error(&mut self, err: &PyErr) {
        let d = describe(self.py, err, self.bridge);
        let mut r = self.compat_result(self.task.rel.clone(), None, "");
        r.name = None;
        r.status = Status::Error;
        r.kind = Some(ErrorKind::Import);
        r.message = Some(format!("collecting tests failed: {}", d.message()));
        r.traceback = Some(d.traceback);
        (self.cx.emit)(Event::FileError(r));
    }

    /// A class or module tear-down that failed: an entry `path::Class::tearDownClass` (or
    /// `path::tearDownModule`) of kind `teardown`, placed after the test before it.
    fn compat_hook_entry(&mut self, p: &HookProblem, slot: usize, out: &(String, String)) {
        let (message, traceback) = describe_hook(self.py, self.bridge, p);
        let id = match &p.suite {
            Some(s) => format!("{}::{s}::{}", self.task.rel, p.hook),
            None => format!("{}::{}", self.task.rel, p.hook),
        };
        let mut r = self.compat_result(id, p.suite.as_deref(), &p.hook);
        r.status = Status::Error;
        r.kind = Some(ErrorKind::Teardown);
        r.message = Some(message);
        r.traceback = Some(traceback);
        r.order = (self.task.index, slot);
        r.stdout = Some(out.0.clone()).filter(|s| !s.is_empty());
        r.stderr = Some(out.1.clone()).filter(|s| !s.is_empty());
        self.compat_emit(r);
    }

    /// Run the file's unittest and pytest-style tests that the filters select, in their
    /// runners' order, with class and module set-up done once each.
    pub(super) fn run_compat(&mut self, module: &Bound<'py, PyAny>) {
        let py = self.py;
        let rel = self.task.rel.clone();
        let all = match collect(py, self.bridge, module, &rel) {
            Ok(t) => t,
            Err(e) => return self.compat_collect_error(&e),
        };
        let selected: Vec<(usize, String, CompatTest<'py>)> = all
            .into_iter()
            .enumerate()
            .map(|(i, t)| (DECL_BASE + 2 * i, t.id(&rel), t))
            .filter(|(decl, id, t)| {
                self.cx.filter.selects(&rel, id, &t.tags) && !self.cx.skip.contains(&(2 * decl))
            })
            .collect();
        if selected.is_empty() {
            return;
        }
        let (session, stepper) =
            match session(py, self.bridge, module, &rel).and_then(|s| Ok((stepper(&s)?, s))) {
                Ok((stepper, s)) => (s, stepper),
                Err(e) => return self.compat_collect_error(&e),
            };
        let mut last_decl = selected[0].0;
        for (decl, id, t) in selected {
            if self.cx.stop.load(Ordering::SeqCst) {
                break;
            }
            // Its strings move into the result: made once per test.
            let CompatTest {
                item,
                suite,
                name,
                tags,
                line,
            } = t;
            let mut r = self.compat_result(id, None, "");
            (r.suite, r.name, r.tags, r.line) = (suite, Some(name), tags, line);
            r.order = (self.task.index, 2 * decl);
            (self.cx.emit)(Event::TestStarted(TestStart {
                id: r.id.clone(),
                tags: r.tags.clone(),
                line: r.line,
                timeout: None,
                retries: None,
                order: r.order,
            }));
            capture::begin();
            let started = Instant::now();
            let ran = step(&stepper, &item);
            r.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            let out = capture::end();
            self.restore_streams();
            let applied = ran.and_then(|(problems, outcome)| {
                for p in &problems {
                    self.compat_hook_entry(p, 2 * last_decl + 1, &(String::new(), String::new()));
                }
                apply(py, self.bridge, &outcome, &mut r)
            });
            if let Err(e) = applied {
                let d = describe(py, &e, self.bridge);
                r.status = Status::Error;
                r.kind = Some(ErrorKind::Exception);
                r.message = Some(one_line(&d.message()));
                r.traceback = Some(d.traceback);
            }
            if r.is_problem() || r.fails_run() {
                r.stdout = Some(out.0);
                r.stderr = Some(out.1);
            }
            self.compat_emit(r);
            last_decl = decl;
        }
        capture::begin();
        let finished = finish(&session);
        let out = capture::end();
        // The working directory too, before the next file.
        self.restore();
        match finished {
            Ok(problems) => {
                for (k, p) in problems.iter().enumerate() {
                    // After the last test: its odd slot, then the unused even one after it.
                    self.compat_hook_entry(p, 2 * last_decl + 1 + k.min(1), &out);
                }
            }
            Err(e) => self.compat_collect_error(&e),
        }
    }
}

/// Tear down the session and package fixtures this worker process set up (pytest-xdist's
/// rule: once per worker), after its last file. Call it once, after every file of the process
/// has finished (`-n 0`: `run.rs`; a worker process: where its request stream ends, in
/// `worker.rs`); `last` is the last file it ran (the entries take their place after its
/// tests). A teardown that raised is an entry `<where the fixture is defined>::<fixture>` of
/// kind `teardown`.
/// Where the process's own tear-down entries (session and package fixtures) go in the last
/// file's report order: after all of its tests.
pub(super) const PROCESS_PLACES: usize = usize::MAX - 64;

pub fn finish_worker(last: &FileTask, cx: &RunContext<'_>) {
    with_file(last, cx, |run| run.finish_process_fixtures());
}

impl FileRun<'_, '_> {
    fn finish_process_fixtures(&mut self) {
        let py = self.py;
        // Only a process that ran fixtures has any to tear down.
        let loaded = py
            .import("sys")
            .and_then(|s| s.getattr("modules"))
            .and_then(|m| m.contains("dbtest._fixtures"))
            .unwrap_or(false);
        if !loaded {
            return;
        }
        capture::begin();
        let problems = py
            .import("dbtest._fixtures")
            .and_then(|m| m.call_method0("finish_process"));
        let out = capture::end();
        self.restore();
        let problems = match problems.and_then(|p| p.try_iter().map(|i| i.collect::<Vec<_>>())) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("dbtest worker: tearing down session fixtures failed: {e}");
                return;
            }
        };
        for (k, p) in problems.into_iter().enumerate() {
            let Ok((place, name, exc)) =
                p.and_then(|p| p.extract::<(String, String, Bound<'_, PyAny>)>())
            else {
                continue;
            };
            let err = PyErr::from_value(exc);
            let d = describe(py, &err, self.bridge);
            let mut r = self.compat_result(format!("{place}::{name}"), None, &name);
            r.file = place;
            r.status = Status::Error;
            r.kind = Some(ErrorKind::Teardown);
            r.message = Some(format!(
                "teardown of session fixture '{name}' failed: {}",
                one_line(&d.message())
            ));
            r.traceback = Some(d.traceback);
            r.order = (self.task.index, PROCESS_PLACES + k.min(63));
            r.stdout = Some(out.0.clone()).filter(|s| !s.is_empty());
            r.stderr = Some(out.1.clone()).filter(|s| !s.is_empty());
            self.compat_emit(r);
        }
    }
}
