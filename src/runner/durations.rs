//! How long each file took last time, kept in `.dbtest/durations.json`, so the next run starts
//! the longest files first and no worker is left with a long file at the end.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::runner::plan::FileTask;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Durations {
    pub version: u32,
    /// Milliseconds per file, by path relative to the project root.
    pub files: HashMap<String, f64>,
    /// CPU milliseconds the file's thread used, where a worker measured it.
    #[serde(default)]
    pub cpu: HashMap<String, f64>,
    /// Each file's top-level test classes with their tests' summed milliseconds, in report
    /// order: what a big file can be split by, even when only its import tells its tests.
    #[serde(default)]
    pub classes: HashMap<String, Vec<(String, f64)>>,
}

fn path(root: &Path) -> PathBuf {
    root.join(".dbtest").join("durations.json")
}

impl Durations {
    /// Unreadable or missing files are just no history.
    pub fn load(root: &Path) -> Self {
        std::fs::read_to_string(path(root))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    }

    /// Merge this run's figures in and write the file (best effort: a read-only checkout
    /// only loses the ordering hint).
    pub fn update(
        mut self,
        root: &Path,
        ran: impl IntoIterator<Item = (String, f64)>,
        cpu: impl IntoIterator<Item = (String, f64)>,
        classes: impl IntoIterator<Item = (String, Vec<(String, f64)>)>,
    ) {
        self.version = 1;
        for (file, ms) in ran {
            self.files.insert(file, ms);
        }
        for (file, ms) in cpu {
            self.cpu.insert(file, ms);
        }
        for (file, list) in classes {
            self.classes.insert(file, list);
        }
        if crate::runner::state::dir(root).is_some() {
            if let Ok(text) = serde_json::to_string(&self) {
                let _ = std::fs::write(path(root), text);
            }
        }
    }

    /// Whether `rel` took under 50 ms last time: such a file may wait inside a busy worker
    /// (its wait is short), so that worker's next file is at hand the moment a thread frees.
    pub fn is_short(&self, rel: &str) -> bool {
        self.files.get(rel).is_some_and(|ms| *ms < 50.0)
    }

    /// Whether `rel` computed for at least 100 ms last time. (Its CPU time, not its share of
    /// wall time: files sharing one interpreter's GIL take longer than they compute.)
    pub fn is_heavy(&self, rel: &str) -> bool {
        self.cpu.get(rel).is_some_and(|cpu| *cpu >= 100.0)
    }

    /// Longest first; files never timed first of all (they may be long), each group in
    /// discovery order.
    pub fn order(&self, tasks: &mut [FileTask]) {
        tasks.sort_by(|a, b| {
            let (da, db) = (self.files.get(&a.rel), self.files.get(&b.rel));
            match (da, db) {
                (None, None) => a.index.cmp(&b.index),
                (None, Some(_)) => std::cmp::Ordering::Less,
                (Some(_), None) => std::cmp::Ordering::Greater,
                (Some(x), Some(y)) => y.total_cmp(x).then(a.index.cmp(&b.index)),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(index: usize, rel: &str) -> FileTask {
        FileTask {
            index,
            exclusive: false,
            loop_hint: None,
            path: PathBuf::from(rel),
            rel: rel.into(),
        }
    }

    #[test]
    fn longest_first_unknown_before_known() {
        let d = Durations {
            version: 1,
            cpu: HashMap::new(),
            classes: HashMap::new(),
            files: HashMap::from([
                ("a.py".into(), 10.0),
                ("b.py".into(), 500.0),
                ("c.py".into(), 50.0),
            ]),
        };
        let mut tasks = vec![
            task(0, "a.py"),
            task(1, "b.py"),
            task(2, "new.py"),
            task(3, "c.py"),
        ];
        d.order(&mut tasks);
        let order: Vec<_> = tasks.iter().map(|t| t.rel.as_str()).collect();
        assert_eq!(order, vec!["new.py", "b.py", "c.py", "a.py"]);
    }

    #[test]
    fn round_trip_and_gitignore() {
        let dir = tempfile::tempdir().unwrap();
        Durations::load(dir.path()).update(
            dir.path(),
            [("x.py".to_string(), 12.5), ("c.py".to_string(), 400.0)],
            [("c.py".to_string(), 390.0)],
            [("c.py".to_string(), vec![("A".to_string(), 300.0)])],
        );
        let back = Durations::load(dir.path());
        assert_eq!(back.files.get("x.py"), Some(&12.5));
        assert!(back.is_heavy("c.py") && !back.is_heavy("x.py") && back.is_short("x.py"));
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".dbtest/.gitignore")).unwrap(),
            "*\n"
        );
    }
}
