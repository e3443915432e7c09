//! Spreading one big file's classes over several workers (as pytest-xdist's `loadscope`
//! does): the class is the unit, so class set-up still runs once per class, while the
//! module's own code and set-up (`setUpModule`, module fixtures) run once in each worker that
//! gets a part. Without this the longest file bounds the whole run.
use std::collections::HashMap;

use crate::runner::durations::Durations;
use crate::runner::filter::Part;
use crate::runner::plan::PlannedFile;

/// A file is split when it holds more than this fraction of one worker's share of the run.
const SHARE_FRACTION: f64 = 0.5;
/// ... and took at least this long last time (ms): a part costs a worker's time to import
/// the module again, and maybe a worker start.
const MIN_MS: f64 = 200.0;

/// The parts of the files worth splitting over `workers` workers, by file index (a file's
/// index is its place in `files`). Only files whose unittest or pytest-style tests sat in
/// two classes or more last run are split (the classes come from last run's results, so a
/// file only its import can tell is split too), when they took at least `MIN_MS` last time
/// and the run has fewer files than workers or the file weighs more than half a worker's
/// share of the run: by last run's CPU times, or else durations, when every file has one.
/// A file gets up to twice as many parts as there are workers, each at most about half a
/// share, so that a worker that finishes early can take another. Without a history nothing
/// is split: a small file is faster in one worker.
pub fn parts(
    files: &[PlannedFile],
    workers: usize,
    history: &Durations,
) -> HashMap<usize, Vec<Part>> {
    let mut out = HashMap::new();
    if workers < 2 || files.is_empty() {
        return out;
    }
    // CPU time first: a file's summed test durations grow while it shares its worker's
    // interpreter with other files, its CPU time does not.
    let from = |m: &HashMap<String, f64>| -> Option<Vec<f64>> {
        files.iter().map(|f| m.get(&f.file.rel).copied()).collect()
    };
    let Some(weights) = from(&history.cpu).or_else(|| from(&history.files)) else {
        return out;
    };
    let piece = weights.iter().sum::<f64>() / workers as f64 * SHARE_FRACTION;
    let few_files = files.len() < workers;
    for (index, (file, weight)) in files.iter().zip(&weights).enumerate() {
        let wanted = if *weight < MIN_MS {
            continue;
        } else if few_files {
            workers
        } else if piece > 0.0 && *weight > piece {
            ((weight / piece).ceil() as usize).min(2 * workers)
        } else {
            continue;
        };
        let Some(classes) = history.classes.get(&file.file.rel) else {
            continue;
        };
        let total = history.files.get(&file.file.rel).copied().unwrap_or(0.0);
        let in_classes: f64 = classes.iter().map(|(_, ms)| ms).sum();
        if let Some(p) = divide(classes.clone(), (total - in_classes).max(0.0), wanted) {
            out.insert(index, p);
        }
    }
    out
}

/// The classes in up to `wanted` parts balanced by weight (heaviest class first, each to the
/// lightest part); None when there are fewer than two classes.
fn divide(classes: Vec<(String, f64)>, loose: f64, wanted: usize) -> Option<Vec<Part>> {
    if classes.len() < 2 {
        return None;
    }
    let k = wanted.min(classes.len()).max(2);
    let mut by_weight = classes;
    by_weight.sort_by(|a, b| b.1.total_cmp(&a.1));
    // Part 0 (the `Except` part) starts with the tests outside classes.
    let mut bins: Vec<(f64, Vec<String>)> = vec![(0.0, Vec::new()); k];
    bins[0].0 = loose;
    for (class, w) in by_weight {
        if let Some(bin) = bins.iter_mut().min_by(|a, b| a.0.total_cmp(&b.0)) {
            bin.0 += w;
            bin.1.push(class);
        }
    }
    bins.retain(|(_, names)| !names.is_empty());
    if bins.len() < 2 {
        return None;
    }
    // The first bin becomes the part of everything the others do not name.
    let others: Vec<String> = bins[1..].iter().flat_map(|(_, n)| n.clone()).collect();
    let mut parts = vec![Part::Except(others)];
    parts.extend(bins[1..].iter().map(|(_, n)| Part::Only(n.clone())));
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::discover::{Discovered, FileKind};

    fn file(rel: &str) -> PlannedFile {
        PlannedFile {
            file: Discovered {
                path: rel.into(),
                rel: rel.into(),
                kind: FileKind::Test,
            },
            tests: Vec::new(),
            undecidable: Some("load_tests adds tests when the module runs".into()),
            exclusive: true,
            loop_hint: Default::default(),
        }
    }

    /// A history where each file took `ms` (CPU and summed durations) in classes A-D.
    fn history(files: &[(&str, f64)]) -> Durations {
        let mut h = Durations::default();
        for (rel, ms) in files {
            h.files.insert(rel.to_string(), *ms);
            h.cpu.insert(rel.to_string(), *ms);
            let class = |c: &str, share: f64| (c.to_string(), ms * share);
            h.classes.insert(
                rel.to_string(),
                vec![
                    class("A", 0.4),
                    class("B", 0.3),
                    class("C", 0.2),
                    class("D", 0.1),
                ],
            );
        }
        h
    }

    /// Every test of classes A-D, a new class and a module-level test land in exactly one part.
    fn assert_partition(rel: &str, parts: &[Part]) {
        for id in [
            "A::t",
            "B::t",
            "C::t[1]",
            "D::Inner::t",
            "New::t",
            "loose",
            "loose[x]",
        ] {
            let id = format!("{rel}::{id}");
            let holders = parts.iter().filter(|p| p.holds(rel, &id)).count();
            assert_eq!(holders, 1, "{id} in {holders} parts of {parts:?}");
        }
    }

    #[test]
    fn a_lone_long_file_is_split_over_the_workers_by_last_run_s_classes() {
        let parts = parts(&[file("t.py")], 2, &history(&[("t.py", 1000.0)]));
        let p = &parts[&0];
        // Heaviest first, each to the lighter part: A + D (500) and B + C (500).
        let bc = vec!["B".to_string(), "C".to_string()];
        assert_eq!(p, &vec![Part::Except(bc.clone()), Part::Only(bc)]);
        assert_partition("t.py", p);
    }

    #[test]
    fn short_files_files_without_history_and_one_worker_are_not_split() {
        let f = [file("t.py")];
        assert!(parts(&f, 2, &history(&[("t.py", 150.0)])).is_empty());
        assert!(parts(&f, 2, &Durations::default()).is_empty());
        assert!(parts(&f, 1, &history(&[("t.py", 1000.0)])).is_empty());
        // One class, or none (dbtest suites and module-level tests are not recorded).
        let mut one = history(&[("t.py", 1000.0)]);
        one.classes.insert("t.py".into(), vec![("A".into(), 900.0)]);
        assert!(parts(&f, 2, &one).is_empty());
        one.classes.clear();
        assert!(parts(&f, 2, &one).is_empty());
    }

    #[test]
    fn the_file_that_took_more_than_half_a_share_is_split() {
        let files = [file("big.py"), file("small.py"), file("mid.py")];
        let mut h = history(&[("big.py", 3000.0), ("small.py", 300.0), ("mid.py", 500.0)]);
        let parts = parts(&files, 2, &h);
        assert_eq!(parts.keys().copied().collect::<Vec<_>>(), vec![0]);
        // 3000 ms against pieces of 950 ms: 4 parts, one class each.
        assert_eq!(parts[&0].len(), 4);
        assert_partition("big.py", &parts[&0]);
        // CPU times outweigh durations (which sharing a worker inflates).
        h.cpu.insert("big.py".into(), 250.0);
        h.cpu.insert("mid.py".into(), 2000.0);
        assert_eq!(
            super::parts(&files, 2, &h)
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            vec![2]
        );
    }
}
