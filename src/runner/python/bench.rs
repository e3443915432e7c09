//! Timing benchmark entries. Calibration and sampling follow timeit/pyperf: the inner loop is
//! Python (the shim's `_time_sync`/`_time_async`), the clock is read only at sample edges,
//! GC is off while timing, and a group's entries are interleaved sample by sample so that
//! drift affects them alike.
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use super::FileTask;
use super::engine::{FileRun, RunContext, with_file};
use super::failure::describe;
use crate::runner::event::{BenchEntry, BenchGroup, BenchHarness, BenchStatus, Event};

/// How benchmarks are timed; per-group options override these.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct BenchOptions {
    /// Samples taken (and warm-up samples discarded) per entry.
    pub samples: u32,
    pub warmup: u32,
    /// Calibration grows the inner loop until one sample takes at least this long.
    pub target_time: Duration,
    /// Time budget per entry for sampling; fewer samples are taken past it (at least MIN_SAMPLES).
    pub max_time: Duration,
    /// A fixed inner-loop count, skipping calibration.
    pub iterations: Option<u64>,
}

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

/// Import a benchmark file and time each of its groups.
pub fn run_bench_file(task: &FileTask, cx: &RunContext<'_>, opts: &BenchOptions) {
    with_file(task, cx, |run| {
        let py = run.py;
        let Ok(groups) = py
            .import("dbtest")
            .and_then(|m| m.getattr("groups"))
            .and_then(|g| Ok(g.cast_into::<PyList>()?))
        else {
            return;
        };
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
            match run_group(run, &group, opts) {
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
                        order: (task.index, seq),
                    }));
                }
            }
        }
    });
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

fn run_group<'py>(
    run: &mut FileRun<'_, 'py>,
    group: &Bound<'py, PyAny>,
    base: &BenchOptions,
) -> PyResult<Option<BenchGroup>> {
    let py = run.py;
    let name: String = group.getattr("name")?.extract()?;
    let baseline: Option<String> = group.getattr("baseline")?.extract()?;
    let opts = group_options(group, base)?;
    let mut entries: Vec<Entry<'py>> = Vec::new();
    for item in group.getattr("entries")?.try_iter()? {
        let item = item?;
        let pair = item.cast::<PyTuple>()?;
        let entry_name: String = pair.get_item(0)?.extract()?;
        // --pattern also matches `group` and `group::entry`.
        let id = format!("{name}::{entry_name}");
        if !(run.cx.filter.selects(&run.task.rel, &id, &[])
            || run.cx.filter.selects(&run.task.rel, &name, &[]))
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
    if entries.is_empty() {
        return Ok(None);
    }
    let gc = py.import("gc")?;
    gc.call_method0("collect")?;
    for e in entries.iter_mut() {
        if let Err(err) = prepare(run, e, &opts) {
            let d = describe(py, &err, run.bridge);
            e.failed = Some((d.message(), d.traceback));
        }
    }
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
    // Interleaved sampling: one sample of each entry per round.
    let budget = opts.max_time * entries.len() as u32;
    let started = Instant::now();
    let was_enabled: bool = gc.call_method0("isenabled")?.extract()?;
    gc.call_method0("disable")?;
    for round in 0..opts.samples {
        if round >= MIN_SAMPLES && started.elapsed() > budget {
            break;
        }
        reference.samples.push(sample(run, &reference)?);
        for e in entries.iter_mut().filter(|e| e.failed.is_none()) {
            match sample(run, e) {
                Ok(s) => e.samples.push(s),
                Err(err) => {
                    let d = describe(py, &err, run.bridge);
                    e.failed = Some((d.message(), d.traceback));
                }
            }
        }
    }
    if was_enabled {
        gc.call_method0("enable")?;
    }
    let seq = run.next_seq();
    Ok(Some(BenchGroup {
        name,
        file: run.task.rel.clone(),
        baseline,
        entries: entries
            .into_iter()
            .map(|e| {
                let (status, error, traceback) = match e.failed {
                    Some((m, t)) => (BenchStatus::Failed, Some(m), Some(t)),
                    None => (BenchStatus::Ok, None, None),
                };
                BenchEntry {
                    name: e.name,
                    status,
                    error,
                    traceback,
                    is_async: e.is_async,
                    iterations: e.iterations,
                    samples_ns: e.samples,
                }
            })
            .collect(),
        reference_ns: reference.samples,
        order: (run.task.index, seq),
    }))
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
