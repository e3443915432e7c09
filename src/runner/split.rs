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

/// The parts of the files worth splitting over `workers` workers, by file index (a file's
/// index is its place in `files`). Only files whose tests sit in two classes or more are
/// split, as the static scan or last run's results name the classes. A file is split when the run has fewer files
/// than workers, or when it weighs more than half a worker's share: by last run's CPU times
/// or else durations when every file has one, else by its number of tests. It gets up to twice as many parts
/// as there are workers, each at most about half a share, so that a worker that finishes
/// early can take another.
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
    let weights: Vec<f64> = from(&history.cpu)
        .or_else(|| from(&history.files))
        .unwrap_or_else(|| files.iter().map(|f| f.tests.len() as f64).collect());
    let piece = weights.iter().sum::<f64>() / workers as f64 * SHARE_FRACTION;
    let few_files = files.len() < workers;
    for (index, (file, weight)) in files.iter().zip(&weights).enumerate() {
        let wanted = if few_files {
            workers
        } else if piece > 0.0 && *weight > piece {
            ((weight / piece).ceil() as usize).min(2 * workers)
        } else {
            continue;
        };
        if let Some(p) = classes_of(file, history).and_then(|(c, loose)| divide(c, loose, wanted)) {
            out.insert(index, p);
        }
    }
    out
}

/// A file's top-level classes with their weights, and the weight of its tests outside any
/// class: last run's times when the history has them (even for a file only its import can
/// tell, as its classes are named at run time), else the static scan's test counts.
fn classes_of(file: &PlannedFile, history: &Durations) -> Option<(Vec<(String, f64)>, f64)> {
    if let Some(timed) = history.classes.get(&file.file.rel) {
        let total = history.files.get(&file.file.rel).copied().unwrap_or(0.0);
        let in_classes: f64 = timed.iter().map(|(_, ms)| ms).sum();
        return Some((timed.clone(), (total - in_classes).max(0.0)));
    }
    if file.undecidable.is_some() {
        return None;
    }
    let mut classes: Vec<(String, f64)> = Vec::new();
    let mut loose = 0.0;
    for t in &file.tests {
        match &t.suite {
            // A nested class goes with the class it is in, as ids name it.
            Some(s) => {
                let top = s.split("::").next().unwrap_or(s);
                match classes.iter_mut().find(|(c, _)| c == top) {
                    Some((_, n)) => *n += 1.0,
                    None => classes.push((top.to_string(), 1.0)),
                }
            }
            None => loose += 1.0,
        }
    }
    Some((classes, loose))
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
    use crate::runner::scan::{StaticTest, Tags};

    fn file(rel: &str, tests: &[(Option<&str>, &str)]) -> PlannedFile {
        PlannedFile {
            file: Discovered {
                path: rel.into(),
                rel: rel.into(),
                kind: FileKind::Test,
            },
            tests: tests
                .iter()
                .map(|(suite, name)| StaticTest {
                    suite: suite.map(str::to_string),
                    name: name.to_string(),
                    line: 1,
                    tags: Tags::Known(Vec::new()),
                    skip: false,
                })
                .collect(),
            undecidable: None,
        }
    }

    /// Every planned test lands in exactly one part.
    fn assert_partition(f: &PlannedFile, parts: &[Part]) {
        for t in &f.tests {
            let id = crate::runner::plan::test_id(&f.file.rel, t);
            let holders = parts.iter().filter(|p| p.holds(&f.file.rel, &id)).count();
            assert_eq!(holders, 1, "{id} in {holders} parts of {parts:?}");
        }
    }

    #[test]
    fn a_lone_file_with_classes_is_split_over_the_workers() {
        let f = file(
            "t.py",
            &[
                (Some("A"), "a1"),
                (Some("A"), "a2"),
                (Some("B"), "b1"),
                (Some("C"), "c1"),
                (None, "free"),
            ],
        );
        let parts = parts(std::slice::from_ref(&f), 2, &Durations::default());
        let p = &parts[&0];
        assert_eq!(p.len(), 2);
        assert!(matches!(p[0], Part::Except(_)) && matches!(p[1], Part::Only(_)));
        assert_partition(&f, p);
    }

    #[test]
    fn files_with_one_class_unknown_tests_or_one_worker_are_not_split() {
        let one = file(
            "one.py",
            &[(Some("A"), "a1"), (Some("A"), "a2"), (None, "f")],
        );
        assert!(parts(std::slice::from_ref(&one), 2, &Durations::default()).is_empty());
        let mut unknown = file("u.py", &[(Some("A"), "a"), (Some("B"), "b")]);
        unknown.undecidable = Some("a base from a package".into());
        assert!(parts(std::slice::from_ref(&unknown), 2, &Durations::default()).is_empty());
        let two = file("two.py", &[(Some("A"), "a"), (Some("B"), "b")]);
        assert!(parts(std::slice::from_ref(&two), 1, &Durations::default()).is_empty());
    }

    #[test]
    fn the_history_picks_the_file_that_took_more_than_its_share() {
        let classes: Vec<(Option<&str>, &str)> = vec![
            (Some("A"), "a"),
            (Some("B"), "b"),
            (Some("C"), "c"),
            (Some("D"), "d"),
        ];
        let files = vec![
            file("big.py", &classes),
            file("small.py", &classes),
            file("mid.py", &classes),
        ];
        let mut history = Durations::default();
        history.files.insert("big.py".into(), 3000.0);
        history.files.insert("small.py".into(), 100.0);
        history.files.insert("mid.py".into(), 400.0);
        let parts = parts(&files, 2, &history);
        assert_eq!(parts.keys().copied().collect::<Vec<_>>(), vec![0]);
        // 3000 ms against pieces of 875 ms: 4 parts, one class each.
        assert_eq!(parts[&0].len(), 4);
        assert_partition(&files[0], &parts[&0]);
        // CPU times, when every file has one, outweigh durations (which sharing inflates).
        for (rel, ms) in [("big.py", 100.0), ("small.py", 100.0), ("mid.py", 2000.0)] {
            history.cpu.insert(rel.into(), ms);
        }
        assert_eq!(
            super::parts(&files, 2, &history)
                .keys()
                .copied()
                .collect::<Vec<_>>(),
            vec![2]
        );
        history.cpu.clear();
        // Without a history for every file, test counts decide: a third of the tests each is
        // more than half of a worker's share, so each file is split.
        history.files.remove("mid.py");
        assert_eq!(super::parts(&files, 2, &history).len(), 3);
    }

    #[test]
    fn a_file_only_its_import_can_tell_is_split_by_last_run_s_classes() {
        let mut f = file("dyn.py", &[]);
        f.undecidable = Some("load_tests adds tests when the module runs".into());
        let other = file("other.py", &[(Some("X"), "x")]);
        let mut history = Durations::default();
        history.files.insert("dyn.py".into(), 1000.0);
        history.files.insert("other.py".into(), 10.0);
        history.classes.insert(
            "dyn.py".into(),
            vec![
                ("Big".into(), 600.0),
                ("Small".into(), 100.0),
                ("Mid".into(), 250.0),
            ],
        );
        let parts = parts(&[f, other], 2, &history);
        // 1010 ms over 2 workers: pieces of 252 ms, so 4 parts wanted, 3 classes to give.
        assert_eq!(
            parts[&0],
            vec![
                Part::Except(vec!["Big".into(), "Mid".into()]),
                Part::Only(vec!["Big".into()]),
                Part::Only(vec!["Mid".into()]),
            ]
        );
        // Tests outside the classes, and classes new since, go to the `Except` part.
        assert!(parts[&0][0].holds("dyn.py", "dyn.py::Small::t"));
        assert!(!parts[&0][0].holds("dyn.py", "dyn.py::Big::t"));
        assert!(parts[&0][0].holds("dyn.py", "dyn.py::NewClass::t"));
        assert!(parts[&0][0].holds("dyn.py", "dyn.py::loose[1]"));
        assert!(!parts[&0][1].holds("dyn.py", "dyn.py::loose"));
    }
}
