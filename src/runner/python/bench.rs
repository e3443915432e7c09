//! Timing benchmark entries. Calibration and sampling follow timeit/pyperf: the inner loop is
//! Python (the shim's `_time_sync`/`_time_async`), the clock is read only at sample edges,
//! GC is off while timing, and a group's entries are interleaved sample by sample so that
//! drift affects them alike.
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyModule, PyTuple};

use super::engine::{FileRun, RunContext, with_file};
use super::failure::describe;
use crate::runner::event::{BenchEntry, BenchGroup, BenchHarness, BenchStatus, Event};
use crate::runner::options::BenchOptions;
use crate::runner::plan::FileTask;

const MIN_SAMPLES: u32 = 5;
/// Past this many calls per sample, calibration stops (an entry that takes no time at all).
const MAX_ITERATIONS: u64 = 1 << 40;

struct Entry<'py> {
    name: String,
    func: Bound<'py, PyAny>,
    is_async: bool,
    iterations: u64,
    samples: Vec<f64>,
    failed: Option<(String, String)>,
}

/// timeit's sequence: 1, 2, 5, 10, 20, 50, ...
fn next_count(n: u64) -> u64 {
    let mut base = 1;
    while base * 10 <= n {
        base *= 10;
    }
    match n / base {
        1 => 2 * base,
        2 => 5 * base,
        _ => 10 * base,
    }
}

/// Measure the harness's own per-call cost on an empty entry, and the timer's resolution.
pub fn measure_harness(task: &FileTask, cx: &RunContext<'_>, opts: &BenchOptions) {
    with_file(task, cx, |run| {
        let measured = (|| -> PyResult<BenchHarness> {
            let py = run.py;
            let shim = py.import("dbtest")?;
            let mut e = Entry {
                name: "<empty>".into(),
                func: shim.getattr("_noop")?,
                is_async: false,
                iterations: 0,
                samples: Vec::new(),
                failed: None,
            };
            let probe = BenchOptions {
                samples: 15,
                warmup: 1,
                ..*opts
            };
            calibrate(run, &mut e, &probe)?;
            for _ in 0..probe.samples {
                let s = sample(run, &e)?;
                e.samples.push(s);
            }
            e.samples.sort_by(f64::total_cmp);
            let info = py
                .import("time")?
                .call_method1("get_clock_info", ("perf_counter",))?;
            let resolution: f64 = info.getattr("resolution")?.extract()?;
            Ok(BenchHarness {
                overhead_ns: e.samples[e.samples.len() / 2],
                timer_resolution_ns: resolution * 1e9,
            })
        })();
        if let Ok(h) = measured {
            (run.cx.emit)(Event::BenchHarness(h));
        }
    });
}

/// Import a benchmark file and time each of its groups. With `baseline_tree` (the code of a
/// `--baseline`'s commit), the file's version there is imported too and its entries are timed
/// in the same rounds as the current ones.
pub fn run_bench_file(
    task: &FileTask,
    cx: &RunContext<'_>,
    opts: &BenchOptions,
    baseline_tree: Option<&Path>,
) {
    with_file(task, cx, |run| {
        let py = run.py;
        let Ok(groups) = py
            .import("dbtest")
            .and_then(|m| m.getattr("groups"))
            .and_then(|g| Ok(g.cast_into::<PyList>()?))
        else {
            return;
        };
        let old = baseline_tree.map(|tree| import_baseline_copy(run, &groups, tree));
        let before = groups.len();
        if run.import_or_report().is_none() {
            return;
        }
        // The groups this file created (creating a group registers it).
        let mine: Vec<Bound<'_, PyAny>> = (before..groups.len())
            .filter_map(|i| groups.get_item(i).ok())
            .collect();
        for group in mine {
            if cx.stop.load(Ordering::SeqCst) {
                break;
            }
            let old_group = match &old {
                Some(Ok(old_groups)) => Some(Ok(find_group(old_groups, &group))),
                Some(Err(why)) => Some(Err(why.clone())),
                None => None,
            };
            match run_group(run, &group, opts, old_group) {
                Ok(Some(g)) => (cx.emit)(Event::BenchGroupFinished(g)),
                Ok(None) => {}
                Err(e) => {
                    // The group object itself is unusable: report it as one failed entry.
                    let d = describe(py, &e, run.bridge);
                    let name = group
                        .getattr("name")
                        .and_then(|n| n.extract::<String>())
                        .unwrap_or_else(|_| "<group>".into());
                    let seq = run.next_seq();
                    (cx.emit)(Event::BenchGroupFinished(BenchGroup {
                        name,
                        file: task.rel.clone(),
                        baseline: None,
                        entries: vec![BenchEntry {
                            name: "<group>".into(),
                            status: BenchStatus::Failed,
                            error: Some(d.message()),
                            traceback: Some(d.traceback),
                            is_async: false,
                            iterations: 0,
                            samples_ns: Vec::new(),
                        }],
                        reference_ns: Vec::new(),
                        rerun: Vec::new(),
                        rerun_error: None,
                        order: (task.index, seq),
                    }));
                }
            }
        }
    });
}

/// Import the baseline's version of the file from `tree` and return the groups it made.
///
/// The project's modules leave `sys.modules` while it imports, and `sys.path` points at the
/// tree instead of the project, so the old file imports the old code all the way down. After
/// the import the old modules leave `sys.modules` again (the old functions keep them alive)
/// and the project's come back, so the current file imports the current code.
fn import_baseline_copy<'py>(
    run: &mut FileRun<'_, 'py>,
    groups: &Bound<'py, PyList>,
    tree: &Path,
) -> Result<Vec<Bound<'py, PyAny>>, String> {
    let py = run.py;
    let path = tree.join(&run.task.rel);
    if !path.is_file() {
        return Err(format!("{} is not in the baseline's commit", run.task.rel));
    }
    let root = run.bridge.root.clone();
    let swapped = (|| -> PyResult<_> {
        let sys = py.import("sys")?;
        let modules = sys.getattr("modules")?.cast_into::<PyDict>()?;
        let sys_path = sys.getattr("path")?.cast_into::<PyList>()?;
        let saved_path = sys_path.get_slice(0, sys_path.len());
        for i in 0..sys_path.len() {
            let Ok(entry) = sys_path.get_item(i)?.extract::<PathBuf>() else {
                continue;
            };
            if let Some(rel) = project_dir(&entry, &root) {
                sys_path.set_item(i, tree.join(rel).to_string_lossy())?;
            }
        }
        let stashed = take_modules(&modules, &root)?;
        Ok((modules, sys_path, saved_path, stashed))
    })();
    let (modules, sys_path, saved_path, stashed) = swapped.map_err(|e| e.to_string())?;
    let before = groups.len();
    let imported = run.import_from(&path, tree);
    let made: Vec<Bound<'py, PyAny>> = (before..groups.len())
        .filter_map(|i| groups.get_item(i).ok())
        .collect();
    let restored = (|| -> PyResult<()> {
        groups.del_slice(before, groups.len())?;
        take_modules(&modules, tree)?;
        for (name, module) in stashed {
            modules.set_item(name, module)?;
        }
        sys_path.set_slice(0, sys_path.len(), &saved_path)
    })();
    restored.map_err(|e| e.to_string())?;
    match imported {
        Ok(_) => Ok(made),
        Err((err, _, _)) => Err(format!(
            "importing the baseline's {} failed: {}",
            run.task.rel,
            describe(py, &err, run.bridge).message()
        )),
    }
}

/// `dir` relative to the project `root` when it holds project code: the root itself or a
/// folder under it, but not an installed-packages folder (a venv inside the project).
fn project_dir<'a>(dir: &'a Path, root: &Path) -> Option<&'a Path> {
    let rel = dir.strip_prefix(root).ok()?;
    let installed = rel.components().any(|c| {
        matches!(
            c.as_os_str().to_str(),
            Some("site-packages" | "dist-packages")
        )
    });
    (!installed).then_some(rel)
}

/// Remove from `sys.modules` the modules loaded from project code under `dir`; returns them.
fn take_modules<'py>(
    modules: &Bound<'py, PyDict>,
    dir: &Path,
) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    let mut taken = Vec::new();
    for (name, module) in modules.copy()?.iter() {
        // The module's own dict, not getattr: a module-level __getattr__ must not run.
        let Ok(m) = module.cast::<PyModule>() else {
            continue;
        };
        let dict = m.dict();
        let file: Option<PathBuf> = match dict.get_item("__file__")? {
            Some(f) => f.extract().ok(),
            None => match dict.get_item("__path__")? {
                // A namespace package: where its first folder is.
                Some(p) => p
                    .try_iter()?
                    .next()
                    .transpose()?
                    .and_then(|d| d.extract().ok()),
                None => None,
            },
        };
        if file.is_some_and(|f| project_dir(&f, dir).is_some()) {
            modules.del_item(&name)?;
            taken.push((name, module));
        }
    }
    Ok(taken)
}

/// The baseline's group with the same name as `group`.
fn find_group<'py>(
    old: &[Bound<'py, PyAny>],
    group: &Bound<'py, PyAny>,
) -> Option<Bound<'py, PyAny>> {
    let name = group.getattr("name").ok()?;
    old.iter()
        .find(|g| {
            g.getattr("name")
                .is_ok_and(|n| n.eq(&name).unwrap_or(false))
        })
        .cloned()
}

fn group_options(group: &Bound<'_, PyAny>, base: &BenchOptions) -> PyResult<BenchOptions> {
    let o = group.getattr("options")?;
    let get = |k: &str| -> PyResult<Option<Bound<'_, PyAny>>> {
        o.get_item(k).map(Some).or_else(|_| Ok(None))
    };
    let mut opts = *base;
    if let Some(v) = get("warmup")? {
        opts.warmup = v.extract()?;
    }
    if let Some(v) = get("samples")? {
        opts.samples = v.extract::<u32>()?.max(2);
    }
    if let Some(v) = get("iterations")? {
        opts.iterations = Some(v.extract::<u64>()?.max(1));
    }
    if let Some(v) = get("target_time_ms")? {
        opts.target_time = Duration::from_secs_f64(v.extract::<f64>()?.max(0.001) / 1000.0);
    }
    if let Some(v) = get("max_time_s")? {
        opts.max_time = Duration::from_secs_f64(v.extract::<f64>()?.max(0.0));
    }
    Ok(opts)
}

/// The group's entries that the filter selects (`--pattern` also matches `group` and
/// `group::entry`).
fn selected_entries<'py>(
    run: &FileRun<'_, 'py>,
    group: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Vec<Entry<'py>>> {
    let mut entries = Vec::new();
    for item in group.getattr("entries")?.try_iter()? {
        let item = item?;
        let pair = item.cast::<PyTuple>()?;
        let entry_name: String = pair.get_item(0)?.extract()?;
        let id = format!("{name}::{entry_name}");
        if !(run.cx.filter.selects(&run.task.rel, &id, &[])
            || run.cx.filter.selects(&run.task.rel, name, &[]))
        {
            continue;
        }
        entries.push(Entry {
            name: entry_name,
            func: pair.get_item(1)?,
            is_async: false,
            iterations: 0,
            samples: Vec::new(),
            failed: None,
        });
    }
    Ok(entries)
}

/// Where the baseline's version of a group comes from: `None` without `--baseline` code,
/// else the group as the baseline's file made it (`Ok(None)`: it made no such group) or why
/// the file could not be imported.
type OldGroup<'py> = Option<Result<Option<Bound<'py, PyAny>>, String>>;

fn run_group<'py>(
    run: &mut FileRun<'_, 'py>,
    group: &Bound<'py, PyAny>,
    base: &BenchOptions,
    old: OldGroup<'py>,
) -> PyResult<Option<BenchGroup>> {
    let py = run.py;
    let name: String = group.getattr("name")?.extract()?;
    let baseline: Option<String> = group.getattr("baseline")?.extract()?;
    let opts = group_options(group, base)?;
    let mut entries = selected_entries(run, group, &name)?;
    if entries.is_empty() {
        return Ok(None);
    }
    let (mut old_entries, rerun_error) = old_entries(run, old, &name);
    // Old entries in the order of the current ones, each beside its counterpart.
    old_entries.retain(|o| entries.iter().any(|e| e.name == o.name));
    py.import("gc")?.call_method0("collect")?;
    prepare_all(run, &mut entries, &mut old_entries, &opts);
    // A reference entry (the empty one) is sampled in every round too: comparisons with a
    // saved baseline use each sample relative to its round's reference, which cancels the
    // changes of speed shared machines go through between (and during) runs.
    let mut reference = Entry {
        name: "<reference>".into(),
        func: py.import("dbtest")?.getattr("_noop")?,
        is_async: false,
        iterations: 0,
        samples: Vec::new(),
        failed: None,
    };
    calibrate(run, &mut reference, &opts)?;
    sample_rounds(run, &mut reference, &mut entries, &mut old_entries, &opts)?;
    let seq = run.next_seq();
    Ok(Some(BenchGroup {
        name,
        file: run.task.rel.clone(),
        baseline,
        entries: entries.into_iter().map(Entry::into_event).collect(),
        reference_ns: reference.samples,
        rerun: old_entries.into_iter().map(Entry::into_event).collect(),
        rerun_error,
        order: (run.task.index, seq),
    }))
}

/// The baseline's entries of group `name`, or why there are none to time again.
fn old_entries<'py>(
    run: &mut FileRun<'_, 'py>,
    old: OldGroup<'py>,
    name: &str,
) -> (Vec<Entry<'py>>, Option<String>) {
    match old {
        None => (Vec::new(), None),
        Some(Err(why)) => (Vec::new(), Some(why)),
        Some(Ok(None)) => (
            Vec::new(),
            Some(format!(
                "the baseline's {} has no group {name:?}",
                run.task.rel
            )),
        ),
        Some(Ok(Some(g))) => match selected_entries(run, &g, name) {
            Ok(found) => (found, None),
            Err(err) => (
                Vec::new(),
                Some(describe(run.py, &err, run.bridge).message()),
            ),
        },
    }
}

/// Calibrate every entry; an entry that fails is marked failed, not timed.
fn prepare_all<'py>(
    run: &mut FileRun<'_, 'py>,
    entries: &mut [Entry<'py>],
    old_entries: &mut [Entry<'py>],
    opts: &BenchOptions,
) {
    for e in entries.iter_mut() {
        if let Err(err) = prepare(run, e, opts) {
            let d = describe(run.py, &err, run.bridge);
            e.failed = Some((d.message(), d.traceback));
        }
    }
    for o in old_entries.iter_mut() {
        // The same loop count as the current entry, so the two differ only in their code.
        let fixed = entries
            .iter()
            .find(|e| e.name == o.name && e.failed.is_none())
            .map(|e| e.iterations);
        let o_opts = BenchOptions {
            iterations: fixed.or(opts.iterations),
            ..*opts
        };
        if let Err(err) = prepare(run, o, &o_opts) {
            let d = describe(run.py, &err, run.bridge);
            o.failed = Some((d.message(), d.traceback));
        }
    }
}

/// Interleaved sampling with GC off: one sample of each entry per round. An entry's baseline
/// version is sampled right before or after it, alternating, so neither always goes first.
fn sample_rounds<'py>(
    run: &mut FileRun<'_, 'py>,
    reference: &mut Entry<'py>,
    entries: &mut [Entry<'py>],
    old_entries: &mut [Entry<'py>],
    opts: &BenchOptions,
) -> PyResult<()> {
    let gc = run.py.import("gc")?;
    let budget = opts.max_time * (entries.len() + old_entries.len()) as u32;
    let started = Instant::now();
    let was_enabled: bool = gc.call_method0("isenabled")?.extract()?;
    gc.call_method0("disable")?;
    for round in 0..opts.samples {
        if round >= MIN_SAMPLES && started.elapsed() > budget {
            break;
        }
        reference.samples.push(sample(run, reference)?);
        for e in entries.iter_mut() {
            let o = old_entries.iter_mut().find(|o| o.name == e.name);
            let mut pair = [Some(e), o];
            if round % 2 == 1 {
                pair.reverse();
            }
            for x in pair.into_iter().flatten() {
                take_sample(run, x);
            }
        }
    }
    if was_enabled {
        gc.call_method0("enable")?;
    }
    Ok(())
}

fn take_sample(run: &mut FileRun<'_, '_>, e: &mut Entry<'_>) {
    if e.failed.is_some() {
        return;
    }
    match sample(run, e) {
        Ok(s) => e.samples.push(s),
        Err(err) => {
            let d = describe(run.py, &err, run.bridge);
            e.failed = Some((d.message(), d.traceback));
        }
    }
}

impl Entry<'_> {
    fn into_event(self) -> BenchEntry {
        let (status, error, traceback) = match self.failed {
            Some((m, t)) => (BenchStatus::Failed, Some(m), Some(t)),
            None => (BenchStatus::Ok, None, None),
        };
        BenchEntry {
            name: self.name,
            status,
            error,
            traceback,
            is_async: self.is_async,
            iterations: self.iterations,
            samples_ns: self.samples,
        }
    }
}

/// Call the entry once (does it work, is it async?), calibrate, warm up.
fn prepare<'py>(
    run: &mut FileRun<'_, 'py>,
    e: &mut Entry<'py>,
    opts: &BenchOptions,
) -> PyResult<()> {
    let result = e.func.call0()?;
    if !result.is_none() && result.hasattr("__await__")? {
        e.is_async = true;
        run.event_loop()?
            .call_method1("run_until_complete", (result,))?;
    }
    calibrate(run, e, opts)?;
    for _ in 0..opts.warmup {
        sample(run, e)?;
    }
    Ok(())
}

fn calibrate(run: &mut FileRun<'_, '_>, e: &mut Entry<'_>, opts: &BenchOptions) -> PyResult<()> {
    if let Some(n) = opts.iterations {
        e.iterations = n;
        return Ok(());
    }
    let target = opts.target_time.as_nanos() as f64;
    let mut n = 1;
    loop {
        e.iterations = n;
        let per_call = sample(run, e)?;
        if per_call * n as f64 >= target || n >= MAX_ITERATIONS {
            return Ok(());
        }
        n = next_count(n);
    }
}

/// One sample: time per call over `e.iterations` calls.
fn sample(run: &mut FileRun<'_, '_>, e: &Entry<'_>) -> PyResult<f64> {
    let py = run.py;
    let shim = py.import("dbtest")?;
    let elapsed: u64 = if e.is_async {
        let coro = shim
            .getattr("_time_async")?
            .call1((&e.func, e.iterations))?;
        run.event_loop()?
            .call_method1("run_until_complete", (coro,))?
            .extract()?
    } else {
        shim.getattr("_time_sync")?
            .call1((&e.func, e.iterations))?
            .extract()?
    };
    Ok(elapsed as f64 / e.iterations as f64)
}

#[cfg(test)]
mod tests {
    use super::next_count;

    #[test]
    fn counts_follow_timeit() {
        let mut n = 1;
        let mut seen = vec![n];
        for _ in 0..6 {
            n = next_count(n);
            seen.push(n);
        }
        assert_eq!(seen, vec![1, 2, 5, 10, 20, 50, 100]);
    }
}
