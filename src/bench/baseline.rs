//! Saved benchmark runs (`--save-baseline`), comparisons with them (`--baseline`) and the
//! regression gate (`--fail-on`).
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use super::analyze::{BaselineDelta, DeltaSource, GroupReport};
use super::stats::{compare, compare_paired, mean};
use crate::error::UserError;
use crate::runner::event::BenchStatus;

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

/// Which statistic the gate compares, and by how much it may grow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    Median,
    Mean,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailOn {
    pub metric: Metric,
    /// 0.05 for `5%`.
    pub threshold: f64,
}

impl std::str::FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("expected median:PCT% or mean:PCT% (e.g. median:5%), got {s:?}");
        let (metric, pct) = s.split_once(':').ok_or_else(bad)?;
        let metric = match metric.trim() {
            "median" => Metric::Median,
            "mean" => Metric::Mean,
            _ => return Err(bad()),
        };
        let pct: f64 = pct
            .trim()
            .trim_end_matches('%')
            .parse()
            .map_err(|_| bad())?;
        if !(0.0..1000.0).contains(&pct) {
            return Err(bad());
        }
        Ok(FailOn {
            metric,
            threshold: pct / 100.0,
        })
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

/// `git -C root ARGS`'s trimmed output, None if git is missing or fails.
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn git_commit(root: &Path) -> Option<String> {
    git(root, &["rev-parse", "HEAD"]).filter(|s| !s.is_empty())
}

/// No uncommitted changes to tracked files under `root`. Untracked files do not count: build
/// output and reports would otherwise make every checkout dirty.
fn git_clean(root: &Path) -> bool {
    git(
        root,
        &["status", "--porcelain", "--untracked-files=no", "--", "."],
    )
    .is_some_and(|s| s.is_empty())
}

fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

/// A baseline's code, extracted from its git commit so that `--baseline` can time it again
/// in the same run as the current code (the folder goes when this is dropped).
pub struct CodeTree {
    pub dir: tempfile::TempDir,
    pub commit: String,
}

impl CodeTree {
    /// The project root as it was in the baseline's commit.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn short_commit(&self) -> &str {
        short(&self.commit)
    }
}

/// Extract the project folder of the baseline's commit; Err says why it cannot be.
pub fn code_tree(root: &Path, saved: &Baseline) -> Result<CodeTree, String> {
    let commit = saved
        .git_commit
        .clone()
        .ok_or("it records no git commit (it was not saved in a git checkout)")?;
    if !saved.git_clean {
        return Err(format!(
            "it was saved with uncommitted changes, so commit {} is not the code it measured",
            short(&commit)
        ));
    }
    let (Some(top), Some(prefix)) = (
        git(root, &["rev-parse", "--show-toplevel"]),
        git(root, &["rev-parse", "--show-prefix"]),
    ) else {
        return Err("this project is not in a git checkout now".into());
    };
    if git(root, &["cat-file", "-e", &format!("{commit}^{{commit}}")]).is_none() {
        return Err(format!(
            "its commit {} is not in this checkout (in a shallow CI clone, fetch it, e.g. `git fetch --depth=1 origin {commit}`)",
            short(&commit)
        ));
    }
    let dir = tempfile::Builder::new()
        .prefix("dbtest-baseline-")
        .tempdir()
        .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let prefix = prefix.trim_end_matches('/');
    let tree = if prefix.is_empty() {
        commit.clone()
    } else {
        format!("{commit}:{prefix}")
    };
    // From the top: run in a subfolder, `git archive` would read the tree path from there.
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&top)
        .args(["archive", "--format=tar", &tree])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let unpacked = match child.stdout.take() {
        Some(out) => tar::Archive::new(out).unpack(dir.path()),
        None => Ok(()),
    };
    let out = child
        .wait_with_output()
        .map_err(|e| format!("git archive: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`git archive {tree}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    unpacked.map_err(|e| format!("cannot extract commit {}: {e}", short(&commit)))?;
    Ok(CodeTree { dir, commit })
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
        git_commit: git_commit(root),
        git_clean: git_clean(root),
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
    let text = serde_json::to_string_pretty(&baseline).unwrap_or_default();
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

/// Compare every entry with its baseline counterpart (same group and entry name), filling
/// `vs_saved`; returns the entries the gate fails, as `group::entry (+N%)`.
///
/// When the baseline's code was timed in this run (`GroupReport::rerun`), the comparison is
/// with those samples, taken in the same rounds as the current ones. Otherwise it is with the
/// saved samples, each relative to its round's empty entry when both runs have one, so that
/// a machine running everything slower leaves the comparison alone (as far as it can).
pub fn compare_with(
    groups: &mut [GroupReport],
    saved: &Baseline,
    noise: f64,
    fail_on: Option<FailOn>,
) -> Vec<String> {
    let mut regressions = Vec::new();
    for g in groups.iter_mut() {
        let sg = saved.groups.iter().find(|s| s.name == g.name);
        if let Some(why) = &g.rerun_error {
            g.warnings.push(format!(
                "compared with the samples saved in {:?}, not with its code timed again: {why}",
                saved.name
            ));
        }
        for (i, e) in g.entries.iter_mut().enumerate() {
            if e.stats.is_none() {
                continue;
            }
            let rerun = g.rerun.iter().find(|r| r.name == e.raw.name);
            if let Some(error) = rerun.and_then(|r| r.error.as_ref()) {
                g.warnings.push(format!(
                    "{}: the baseline's version failed ({error}); compared with the samples saved in {:?}",
                    e.raw.name, saved.name
                ));
            }
            let rerun = rerun.filter(|r| r.status == BenchStatus::Ok && !r.samples_ns.is_empty());
            let saved_entry = sg
                .and_then(|sg| sg.entries.iter().find(|s| s.name == e.raw.name))
                .filter(|se| !se.samples_ns.is_empty());
            let (source, cur, base, base_samples) = match (rerun, saved_entry) {
                (Some(r), _) => (
                    DeltaSource::Rerun,
                    e.raw.samples_ns.clone(),
                    r.samples_ns.clone(),
                    r.samples_ns.clone(),
                ),
                (None, Some(se)) => {
                    let now_rel = relative(&e.raw.samples_ns, &g.reference_ns);
                    let (cur, base) = if !now_rel.is_empty() && !se.relative.is_empty() {
                        (now_rel, se.relative.clone())
                    } else {
                        (e.raw.samples_ns.clone(), se.samples_ns.clone())
                    };
                    (DeltaSource::Saved, cur, base, se.samples_ns.clone())
                }
                (None, None) => continue,
            };
            let seed = 0x5a7e_d000 ^ i as u64;
            // Timed in the same rounds: pairs, whose ratios the machine's speed cancels out of.
            let c = match source {
                DeltaSource::Rerun => compare_paired(&cur, &base, noise, seed),
                DeltaSource::Saved => compare(&cur, &base, noise, seed),
            };
            e.vs_saved = Some(BaselineDelta {
                source,
                baseline_median_ns: super::stats::median(&base_samples),
                baseline_samples_ns: base_samples,
                ratio: c.ratio,
                ratio_ci: c.ratio_ci,
                p_value: c.p_value,
                verdict: c.verdict,
            });
            if let Some(f) = fail_on {
                // Significantly slower (the same test as the verdicts) by more than the threshold.
                let (ratio, beyond) = match f.metric {
                    Metric::Median => (c.ratio, c.ratio_ci[0] > 1.0 + f.threshold),
                    Metric::Mean => {
                        let r = match source {
                            DeltaSource::Rerun => mean(
                                &cur.iter()
                                    .zip(&base)
                                    .map(|(c, b)| c / b)
                                    .collect::<Vec<_>>(),
                            ),
                            DeltaSource::Saved => mean(&cur) / mean(&base),
                        };
                        (r, r > 1.0 + f.threshold)
                    }
                };
                if c.p_value < 0.05 && beyond {
                    regressions.push(format!(
                        "{}::{} ({:+.1}%)",
                        g.name,
                        e.raw.name,
                        (ratio - 1.0) * 100.0
                    ));
                }
            }
        }
    }
    regressions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::analyze::analyze;
    use crate::runner::event::{BenchEntry, BenchGroup};

    fn run(center_b: f64) -> Vec<GroupReport> {
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

    #[test]
    fn fail_on_parses() {
        assert_eq!(
            "median:5%".parse::<FailOn>(),
            Ok(FailOn {
                metric: Metric::Median,
                threshold: 0.05
            })
        );
        assert_eq!("mean:12.5".parse::<FailOn>().unwrap().metric, Metric::Mean);
        assert!("p99:5%".parse::<FailOn>().is_err());
        assert!("median".parse::<FailOn>().is_err());
    }

    #[test]
    fn save_load_and_gate_a_regression() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::current("3.11.7");
        let path = save(dir.path(), "main", &run(2000.0), &env).unwrap();
        assert!(path.ends_with(".dbtest/benchmarks/main.json"));
        let saved = load(dir.path(), "main").unwrap();
        assert_eq!(saved.groups[0].entries.len(), 2);

        // b got 20% slower, a did not move.
        let mut now = run(2400.0);
        let fail = compare_with(&mut now, &saved, 0.02, Some("median:5%".parse().unwrap()));
        assert_eq!(fail.len(), 1, "{fail:?}");
        assert!(fail[0].starts_with("g::b (+20"), "{fail:?}");
        assert_eq!(
            now[0].entries[0].vs_saved.as_ref().unwrap().verdict,
            crate::bench::stats::Verdict::Same
        );

        let mut same = run(2000.0);
        assert!(
            compare_with(&mut same, &saved, 0.02, Some("median:5%".parse().unwrap())).is_empty()
        );
    }

    #[test]
    fn code_timed_again_wins_over_saved_samples() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::current("3.11.7");
        // Saved when the machine was fast: b at 2000.
        save(dir.path(), "main", &run(2000.0), &env).unwrap();
        let saved = load(dir.path(), "main").unwrap();
        // This run is slow for everything: against the saved samples b looks 50% slower, but
        // the baseline's own code, timed in the same rounds, is just as slow.
        let mut now = run(3000.0);
        let rerun = run(3000.0);
        now[0].rerun = rerun[0].entries.iter().map(|e| e.raw.clone()).collect();
        // a's baseline version raised: a falls back to the saved samples, with a warning.
        now[0].rerun[0].status = BenchStatus::Failed;
        now[0].rerun[0].error = Some("ValueError: old".into());
        let fail = compare_with(&mut now, &saved, 0.02, Some("median:5%".parse().unwrap()));
        assert!(fail.is_empty(), "{fail:?}");
        let b = now[0].entries[1].vs_saved.as_ref().unwrap();
        assert_eq!(b.source, DeltaSource::Rerun);
        assert_eq!(b.verdict, crate::bench::stats::Verdict::Same);
        assert!((b.baseline_median_ns - 3000.0).abs() < 60.0);
        let a = now[0].entries[0].vs_saved.as_ref().unwrap();
        assert_eq!(a.source, DeltaSource::Saved);
        assert!(
            now[0]
                .warnings
                .iter()
                .any(|w| w.starts_with("a: the baseline's version failed")),
            "{:?}",
            now[0].warnings
        );
    }

    #[test]
    fn a_commit_is_extracted_only_when_saved_from_a_clean_checkout() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let git = |args: &[&str]| {
            let ok = Command::new("git")
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
        let tree = code_tree(&project, &clean).unwrap();
        // The project folder as committed, not the edited one.
        assert_eq!(
            std::fs::read_to_string(tree.root().join("bench_x.py")).unwrap(),
            "OLD = 1\n"
        );
        let dirty = load(&project, "dirty").unwrap();
        let why = code_tree(&project, &dirty).err().unwrap();
        assert!(why.contains("uncommitted changes"), "{why}");
        // A commit this clone lacks (a shallow CI checkout): say how to fetch it.
        let mut elsewhere = clean.clone();
        elsewhere.git_commit = Some("0123456789abcdef0123456789abcdef01234567".into());
        let why = code_tree(&project, &elsewhere).err().unwrap();
        assert!(
            why.contains("not in this checkout") && why.contains("git fetch"),
            "{why}"
        );
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
