//! Saved runs on disk: `.dbtest/benchmarks/NAME.json`, written by `--save-baseline` and read
//! by `--baseline`, with where they were recorded.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::git::{self, CodeTree, CodeTreeError};
use crate::bench::analyze::GroupReport;
use crate::error::UserError;

pub const FORMAT: &str = "dbtest-benchmark-baseline";
pub const VERSION: u32 = 1;

/// Where a run happened; a baseline from elsewhere is compared with a warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub dbtest_version: String,
    pub python_version: String,
    pub cpu: String,
    pub os: String,
    pub arch: String,
    pub hostname: String,
}

impl Environment {
    pub fn current(python_version: &str) -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpu = read("/proc/cpuinfo")
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let release = read("/proc/sys/kernel/osrelease").trim().to_string();
        Environment {
            dbtest_version: env!("CARGO_PKG_VERSION").to_string(),
            python_version: python_version.to_string(),
            cpu,
            os: format!("{} {release}", std::env::consts::OS)
                .trim()
                .to_string(),
            arch: std::env::consts::ARCH.to_string(),
            hostname: read("/proc/sys/kernel/hostname").trim().to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedEntry {
    pub name: String,
    pub iterations: u64,
    pub samples_ns: Vec<f64>,
    /// Each sample divided by its round's reference sample (see `relative`).
    #[serde(default)]
    pub relative: Vec<f64>,
}

/// Samples relative to the reference entry sampled in the same round: a machine that runs
/// everything 1.5x slower leaves these unchanged. Empty when there is no reference.
pub fn relative(samples: &[f64], reference: &[f64]) -> Vec<f64> {
    if reference.len() < samples.len() {
        return Vec::new();
    }
    samples
        .iter()
        .zip(reference)
        .filter(|(_, r)| **r > 0.0)
        .map(|(s, r)| s / r)
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedGroup {
    pub name: String,
    pub file: String,
    pub entries: Vec<SavedEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Baseline {
    pub format: String,
    pub version: u32,
    pub name: String,
    pub created_unix: u64,
    pub git_commit: Option<String>,
    /// No uncommitted changes under the project when saved: `git_commit` is the code measured,
    /// so `--baseline` can time it again (false in baselines that do not say).
    #[serde(default)]
    pub git_clean: bool,
    pub environment: Environment,
    pub groups: Vec<SavedGroup>,
}

impl Baseline {
    /// This baseline's code, from its commit, to be timed again; Err says why it cannot be.
    pub fn code_tree(&self, root: &Path) -> Result<CodeTree, CodeTreeError> {
        git::code_tree(root, self.git_commit.as_deref(), self.git_clean)
    }
}

fn folder(root: &Path) -> PathBuf {
    root.join(".dbtest").join("benchmarks")
}

fn check_name(name: &str) -> Result<(), UserError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(UserError::BadBaselineName(name.to_string()))
    }
}

/// Store this run's raw samples under `.dbtest/benchmarks/NAME.json`; returns the path.
pub fn save(
    root: &Path,
    name: &str,
    groups: &[GroupReport],
    env: &Environment,
) -> Result<PathBuf, UserError> {
    check_name(name)?;
    let baseline = Baseline {
        format: FORMAT.into(),
        version: VERSION,
        name: name.into(),
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        git_commit: git::head(root),
        git_clean: git::clean(root),
        environment: env.clone(),
        groups: groups
            .iter()
            .map(|g| SavedGroup {
                name: g.name.clone(),
                file: g.file.clone(),
                entries: g
                    .entries
                    .iter()
                    .filter(|e| e.stats.is_some())
                    .map(|e| SavedEntry {
                        name: e.raw.name.clone(),
                        iterations: e.raw.iterations,
                        samples_ns: e.raw.samples_ns.clone(),
                        relative: relative(&e.raw.samples_ns, &g.reference_ns),
                    })
                    .collect(),
            })
            .collect(),
    };
    let dir = folder(root);
    let path = dir.join(format!("{name}.json"));
    let io = |source| UserError::Output {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    // Plain data cannot fail to serialise; were it to, say so rather than save an empty file.
    let text = serde_json::to_string_pretty(&baseline).map_err(|e| io(std::io::Error::other(e)))?;
    std::fs::write(&path, text + "\n").map_err(io)?;
    Ok(path)
}

pub fn load(root: &Path, name: &str) -> Result<Baseline, UserError> {
    check_name(name)?;
    let dir = folder(root);
    let path = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|_| {
        let mut saved: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()?
                            .strip_suffix(".json")
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        saved.sort();
        UserError::NoBaseline {
            name: name.into(),
            folder: dir.clone(),
            saved: if saved.is_empty() {
                "none".into()
            } else {
                saved.join(", ")
            },
        }
    })?;
    let b: Baseline = serde_json::from_str(&text).map_err(|e| UserError::BadBaseline {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if b.format != FORMAT || b.version != VERSION {
        return Err(UserError::BadBaseline {
            path,
            reason: format!(
                "format {} version {}, expected {FORMAT} version {VERSION}",
                b.format, b.version
            ),
        });
    }
    Ok(b)
}

/// Warnings when a baseline comes from another machine or Python.
pub fn environment_warnings(saved: &Environment, now: &Environment) -> Vec<String> {
    let mut w = Vec::new();
    if saved.python_version != now.python_version {
        w.push(format!(
            "baseline was recorded with Python {}, this run uses {}",
            saved.python_version, now.python_version
        ));
    }
    if saved.cpu != now.cpu || saved.hostname != now.hostname || saved.arch != now.arch {
        w.push(format!("baseline was recorded on another machine ({}, {}); differences may come from the machine", saved.hostname, saved.cpu));
    }
    w
}

/// Hand-made group reports for the baseline tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::bench::analyze::{GroupReport, analyze};
    use crate::runner::event::{BenchEntry, BenchGroup, BenchStatus};

    /// Group `g`: `a` at 1000 ns and `b` at `center_b`, 30 samples each spread by 2%.
    pub fn run(center_b: f64) -> Vec<GroupReport> {
        let mk = |name: &str, c: f64| BenchEntry {
            name: name.into(),
            status: BenchStatus::Ok,
            error: None,
            traceback: None,
            is_async: false,
            iterations: 10,
            samples_ns: (0..30)
                .map(|i| c * (1.0 + 0.01 * ((i % 5) as f64 - 2.0)))
                .collect(),
        };
        let g = BenchGroup {
            name: "g".into(),
            file: "bench_g.py".into(),
            baseline: None,
            entries: vec![mk("a", 1000.0), mk("b", center_b)],
            reference_ns: vec![40.0; 30],
            rerun: Vec::new(),
            rerun_error: None,
            order: (0, 0),
        };
        analyze(&[g], None, 0.02)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::run;
    use super::*;

    #[test]
    fn saved_and_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::current("3.11.7");
        let path = save(dir.path(), "main", &run(2000.0), &env).unwrap();
        assert!(path.ends_with(".dbtest/benchmarks/main.json"));
        let saved = load(dir.path(), "main").unwrap();
        assert_eq!(saved.groups[0].entries.len(), 2);
        assert_eq!(saved.environment, env);
    }

    #[test]
    fn a_commit_is_extracted_only_when_saved_from_a_clean_checkout() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .arg("-C")
                .arg(root)
                .args(["-c", "user.name=t", "-c", "user.email=t@t"])
                .args(args)
                .output()
                .unwrap()
                .status
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/bench_x.py"), "OLD = 1\n").unwrap();
        git(&["add", "."]);
        git(&["commit", "-q", "-m", "one"]);
        let project = root.join("sub");
        let env = Environment::current("3.11.7");
        save(&project, "clean", &run(2000.0), &env).unwrap();
        std::fs::write(project.join("bench_x.py"), "NEW = 2\n").unwrap();
        save(&project, "dirty", &run(2000.0), &env).unwrap();

        let clean = load(&project, "clean").unwrap();
        assert!(clean.git_clean && clean.git_commit.is_some());
        let tree = clean.code_tree(&project).unwrap();
        // The project folder as committed, not the edited one.
        assert_eq!(
            std::fs::read_to_string(tree.root().join("bench_x.py")).unwrap(),
            "OLD = 1\n"
        );
        let dirty = load(&project, "dirty").unwrap();
        let why = dirty.code_tree(&project).err().unwrap();
        assert!(matches!(why, CodeTreeError::SavedDirty { .. }), "{why}");
        assert!(why.to_string().contains("uncommitted changes"), "{why}");
        // A commit this clone lacks (a shallow CI checkout): say how to fetch it.
        let mut elsewhere = clean.clone();
        elsewhere.git_commit = Some("0123456789abcdef0123456789abcdef01234567".into());
        let why = elsewhere.code_tree(&project).err().unwrap();
        assert!(matches!(why, CodeTreeError::CommitMissing { .. }), "{why}");
        assert_eq!(
            why.to_string(),
            "its commit 0123456789 is not in this checkout (in a shallow CI clone, fetch it, e.g. \
             `git fetch --depth=1 origin 0123456789abcdef0123456789abcdef01234567`)"
        );
        // Saved outside git: nothing to extract.
        let outside = tempfile::tempdir().unwrap();
        save(outside.path(), "nogit", &run(2000.0), &env).unwrap();
        let nogit = load(outside.path(), "nogit").unwrap();
        assert!(matches!(
            nogit.code_tree(outside.path()),
            Err(CodeTreeError::NoCommit)
        ));
    }

    #[test]
    fn missing_and_bad_names_are_user_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            load(dir.path(), "nope"),
            Err(UserError::NoBaseline { .. })
        ));
        assert!(matches!(
            load(dir.path(), "../x"),
            Err(UserError::BadBaselineName(_))
        ));
    }

    #[test]
    fn other_machines_are_flagged() {
        let a = Environment::current("3.11.7");
        let mut b = a.clone();
        assert!(environment_warnings(&a, &b).is_empty());
        b.hostname = "elsewhere".into();
        b.python_version = "3.12.1".into();
        assert_eq!(environment_warnings(&a, &b).len(), 2);
    }
}
