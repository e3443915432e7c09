//! The tests that failed or errored last time, kept in `.dbtest/lastfailed.json`, for `--lf`
//! (run only those) and `--ff` (run their files first).
//!
//! The store is merged, as pytest's cache is: a run adds its failures and removes the tests it
//! saw pass or skip, and leaves alone the ids it did not run. So a shard, a `-k` run or an
//! `--lf` run never forgets failures elsewhere. A test interrupted by Ctrl-C neither failed nor
//! passed: it keeps whatever it had. Files that could not be imported are stored by path (their
//! id), which selects the whole file.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::runner::event::{ErrorKind, Status, TestResult};

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastFailed {
    pub version: u32,
    /// Ids (`path::Suite::name`, or a file's path for an import error).
    pub failed: BTreeSet<String>,
}

fn path(root: &Path) -> PathBuf {
    root.join(".dbtest").join("lastfailed.json")
}

impl LastFailed {
    /// Unreadable or missing files are no failures.
    pub fn load(root: &Path) -> Self {
        std::fs::read_to_string(path(root))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.failed.is_empty()
    }

    /// The stored ids, for a filter.
    pub fn ids(&self) -> Vec<String> {
        self.failed.iter().cloned().collect()
    }

    /// Merge a run's results in.
    pub fn record<'a>(&mut self, results: impl IntoIterator<Item = &'a TestResult>) {
        for r in results {
            match (r.status, r.kind) {
                (_, Some(ErrorKind::Interrupted)) => {}
                (Status::Failed | Status::Error, _) => {
                    self.failed.insert(r.id.clone());
                }
                (Status::Xpassed, _) if r.strict => {
                    self.failed.insert(r.id.clone());
                }
                (Status::Passed | Status::Skipped | Status::Xfailed | Status::Xpassed, _) => {
                    self.failed.remove(&r.id);
                    // A file that imports again is no longer an import error.
                    self.failed.remove(&r.file);
                }
            }
        }
    }

    /// Write the store (best effort, as the durations file: a read-only checkout only loses
    /// the hint).
    pub fn save(&self, root: &Path) {
        if crate::runner::state::dir(root).is_some() {
            let stored = LastFailed {
                version: 1,
                failed: self.failed.clone(),
            };
            if let Ok(text) = serde_json::to_string_pretty(&stored) {
                crate::runner::state::write_if_changed(&path(root), &text);
            }
        }
    }

    /// Whether anything in file `rel` failed last time.
    pub fn touches_file(&self, rel: &str) -> bool {
        if self.failed.contains(rel) {
            return true;
        }
        let prefix = format!("{rel}::");
        self.failed
            .range(prefix.clone()..)
            .next()
            .is_some_and(|id| id.starts_with(&prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::result;

    #[test]
    fn failures_are_added_passes_removed_and_the_rest_kept() {
        let mut lf = LastFailed::default();
        lf.record(&[
            result("t/a.py::x", Status::Failed),
            result("t/a.py::y", Status::Passed),
            result("t/b.py", Status::Error),
            result("t/c.py::S::z", Status::Error),
        ]);
        assert_eq!(
            lf.failed.iter().map(String::as_str).collect::<Vec<_>>(),
            vec!["t/a.py::x", "t/b.py", "t/c.py::S::z"]
        );
        // A later run of part of the suite: x passes, b imports, c is not run.
        let mut interrupted = result("t/d.py::w", Status::Error);
        interrupted.kind = Some(ErrorKind::Interrupted);
        lf.record(&[
            result("t/a.py::x", Status::Passed),
            result("t/b.py::fine", Status::Passed),
            interrupted,
        ]);
        assert_eq!(
            lf.failed.iter().map(String::as_str).collect::<Vec<_>>(),
            vec!["t/c.py::S::z"]
        );
        assert!(lf.touches_file("t/c.py") && !lf.touches_file("t/a.py") && !lf.touches_file("t/c"));
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert!(LastFailed::load(dir.path()).is_empty());
        let mut lf = LastFailed::default();
        lf.record(&[result("t/b.py", Status::Error)]);
        lf.save(dir.path());
        let back = LastFailed::load(dir.path());
        assert_eq!(back.ids(), vec!["t/b.py"]);
        assert!(back.touches_file("t/b.py"));
        assert_eq!(back.version, 1);
    }
}
