//! Saved benchmark runs (`--save-baseline`), comparisons with them (`--baseline`) and the
//! regression gate (`--fail-on`).
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::analyze::{BaselineDelta, GroupReport};
use super::stats::{compare, mean};
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

fn git_commit(root: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
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
                        name: e.name.clone(),
                        iterations: e.iterations,
                        samples_ns: e.samples_ns.clone(),
                        relative: relative(&e.samples_ns, &g.reference_ns),
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

/// Compare every entry with its saved counterpart (same group and entry name), filling
/// `vs_saved`; returns the entries the gate fails, as `group::entry (+N%)`.
pub fn compare_with(
    groups: &mut [GroupReport],
    saved: &Baseline,
    noise: f64,
    fail_on: Option<FailOn>,
) -> Vec<String> {
    let mut regressions = Vec::new();
    for g in groups.iter_mut() {
        let Some(sg) = saved.groups.iter().find(|s| s.name == g.name) else {
            continue;
        };
        for (i, e) in g.entries.iter_mut().enumerate() {
            let Some(se) = sg.entries.iter().find(|s| s.name == e.name) else {
                continue;
            };
            if e.stats.is_none() || se.samples_ns.is_empty() {
                continue;
            }
            // Relative to the reference when both runs have one: the machine's own changes of
            // speed then cancel out. Else the raw times.
            let now_rel = relative(&e.samples_ns, &g.reference_ns);
            let (cur, base) = if !now_rel.is_empty() && !se.relative.is_empty() {
                (now_rel, se.relative.clone())
            } else {
                (e.samples_ns.clone(), se.samples_ns.clone())
            };
            let c = compare(&cur, &base, noise, 0x5a7e_d000 ^ i as u64);
            let base_median = super::stats::median(&se.samples_ns);
            e.vs_saved = Some(BaselineDelta {
                baseline_median_ns: base_median,
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
                        let r = mean(&cur) / mean(&base);
                        (r, r > 1.0 + f.threshold)
                    }
                };
                if c.p_value < 0.05 && beyond {
                    regressions.push(format!(
                        "{}::{} ({:+.1}%)",
                        g.name,
                        e.name,
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
    use crate::runner::event::{BenchEntry, BenchGroup, BenchStatus};

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
