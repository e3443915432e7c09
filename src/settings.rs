//! Everything a run needs, resolved once from the command line and the environment before
//! any work starts.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::bench::baseline::FailOn;
use crate::cli::{Cli, ColorChoice, Format, ModeCommand, Options, Workers};
use crate::config::{self, Config};
use crate::error::UserError;
use crate::pytest_config::{self, AddoptsSelection, PytestConfig};
use crate::runner::collect::{Collection, FileRule};
use crate::runner::discover::{Discovered, discover};
use crate::runner::filter::{Filter, Mode};
use crate::runner::limits;
use crate::runner::options::{BenchOptions, RunOptions};
use crate::runner::partition::Partition;
use crate::runner::venv::{Venv, find_venv};

#[derive(Debug)]
pub struct Settings {
    pub cwd: PathBuf,
    pub root: PathBuf,
    pub paths: Vec<PathBuf>,
    pub filter: Filter,
    pub jobs: usize,
    pub fail_fast: bool,
    pub list: bool,
    pub format: Format,
    pub output: Option<PathBuf>,
    pub color: bool,
    pub venv: Option<Venv>,
    /// `-j` was given explicitly (benchmarks ignore it, and say so).
    pub jobs_given: bool,
    /// Worker processes; 0 runs tests in this process.
    pub workers: usize,
    /// `--timeout`, for tests that set none.
    pub timeout: Option<f64>,
    pub bench: BenchSettings,
    /// `--junitxml`, `--json`, `--markdown` files.
    pub reports: ReportFiles,
    /// `--durations N` (0: off).
    pub durations: usize,
    /// `--partition`: this job's shard.
    pub partition: Option<Partition>,
    /// `--lf`.
    pub last_failed: bool,
    /// `--ff`.
    pub failed_first: bool,
    /// `--retries`, for tests that set none.
    pub retries: u32,
    /// Which files are test files and which folders are entered (pytest's `python_files`,
    /// `norecursedirs`).
    pub files: FileRule,
}

/// Report files a run writes besides its stdout report, each format to its own file
/// (`--junitxml`, `--json`, `--markdown`; `--html` is with the benchmark settings).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportFiles {
    pub junitxml: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct BenchSettings {
    pub options: BenchOptions,
    /// 0.02 for 2%.
    pub noise: f64,
    pub save_baseline: Option<String>,
    pub baseline: Option<String>,
    /// `--saved-samples`: never time the baseline's code again.
    pub saved_samples: bool,
    pub fail_on: Option<FailOn>,
    pub html: Option<PathBuf>,
}

/// The nearest folder upwards holding pyproject.toml, dbtest.toml, setup.py or .git; else `cwd`.
pub fn project_root(cwd: &Path) -> PathBuf {
    cwd.ancestors()
        .find(|d| {
            ["pyproject.toml", "dbtest.toml", "setup.py", ".git"]
                .iter()
                .any(|m| d.join(m).exists())
        })
        .unwrap_or(cwd)
        .to_path_buf()
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

fn default_jobs() -> usize {
    // Suites mostly wait on I/O; threads overlap those waits. More threads than this buys
    // little on CPU-bound suites (one GIL per worker) and costs memory.
    cores() * 4
}

/// `TERM=dumb`: a terminal that understands neither colour codes nor `\r` redraws.
pub fn dumb_terminal() -> bool {
    std::env::var_os("TERM").is_some_and(|t| t == "dumb")
}

/// Whether console output uses colour: `--color` first, then NO_COLOR / FORCE_COLOR, then
/// whether stdout is a terminal.
pub fn use_color(
    choice: ColorChoice,
    no_color: Option<&str>,
    force_color: Option<&str>,
    is_terminal: bool,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if no_color.is_some_and(|v| !v.is_empty()) {
                false
            } else if force_color.is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else {
                is_terminal
            }
        }
    }
}

impl Settings {
    /// The test and benchmark files under the run's paths.
    pub fn discover(&self) -> Result<Vec<Discovered>, UserError> {
        discover(&self.paths, &self.cwd, &self.root, &self.files)
    }

    /// How test files are named, for messages: pytest's `python_files` when the project sets it.
    pub fn test_file_names(&self) -> String {
        match self.filter.spec.collection.python_files.as_slice() {
            [] => "test_*.py and *_test.py".into(),
            names => format!("{} (pytest's python_files)", names.join(", ")),
        }
    }

    pub fn filter_active(&self) -> bool {
        self.filter.is_active()
    }

    /// What the runner needs to run a plan.
    pub fn run_options(&self) -> RunOptions {
        RunOptions {
            root: self.root.clone(),
            venv: self.venv.clone(),
            filter: self.filter.clone(),
            jobs: self.jobs,
            workers: self.workers,
            timeout: self.timeout,
            fail_fast: self.fail_fast,
            bench: self.bench.options,
            first: Default::default(),
            record_history: true,
        }
    }

    pub fn resolve(cli: Cli) -> Result<Settings, UserError> {
        let mut cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
        if let Some(dir) = &cli.options.directory {
            let target = cwd.join(dir);
            // Tests see the same working directory as paths are resolved from.
            std::env::set_current_dir(&target).map_err(|_| UserError::PathNotFound {
                path: dir.clone(),
                cwd: cwd.clone(),
            })?;
            cwd = target;
        }
        let root = project_root(&cwd);
        let config = config::load(&root)?;
        let pytest = pytest_config::load(&root)?;
        let addopts = pytest.as_ref().and_then(PytestConfig::addopts_selection);
        let mut o = cli.options;
        let mut cli_paths = cli.paths;
        let own_paths = config.as_ref().is_some_and(|c| c.paths.is_some());
        let collection = apply_pytest(pytest, own_paths, &mut cli_paths, &cli.mode, &cwd, &root);
        if let Some(c) = config {
            apply_config(&mut o, &mut cli_paths, &cli.mode, c);
        }
        let (mode, paths) = mode_and_paths(cli.mode, cli_paths, &cwd);
        let (tags, exclude_tags) = (
            std::mem::take(&mut o.tags),
            std::mem::take(&mut o.exclude_tags),
        );
        let files = FileRule::new(&collection);
        let filter =
            filter(&mut o, tags, exclude_tags, mode, addopts.as_ref())?.with_collection(collection);
        let jobs = o.jobs.unwrap_or_else(default_jobs);
        if jobs == 0 {
            return Err(UserError::ZeroJobs);
        }
        limits::count("--jobs", jobs as u64, limits::MAX_JOBS as u64)
            .map_err(UserError::BadNumber)?;
        if let Some(Workers::Count(n)) = o.workers {
            limits::count("--workers", n as u64, limits::MAX_WORKERS as u64)
                .map_err(UserError::BadNumber)?;
        }
        // --list imports nothing, so it needs no virtualenv either.
        let venv = if o.list {
            None
        } else {
            find_venv(
                std::env::var_os("VIRTUAL_ENV")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from),
                &cwd,
                &root,
            )?
        };
        let color = use_color(
            o.color,
            std::env::var("NO_COLOR").ok().as_deref(),
            std::env::var("FORCE_COLOR").ok().as_deref(),
            std::io::stdout().is_terminal() && !dumb_terminal(),
        );
        if o.fail_on.is_some() && o.baseline.is_none() {
            return Err(UserError::FailOnWithoutBaseline);
        }
        if let Some(t) = o.timeout {
            limits::seconds("--timeout", t).map_err(UserError::BadNumber)?;
        }
        let bench = BenchSettings::resolve(&o)?;
        Ok(Settings {
            cwd,
            root,
            paths,
            filter,
            jobs,
            fail_fast: o.fail_fast,
            list: o.list,
            format: o.format,
            output: o.output,
            color,
            venv,
            jobs_given: o.jobs.is_some(),
            workers: match o.workers.unwrap_or(Workers::Auto) {
                Workers::Auto => cores(),
                Workers::Count(n) => n,
            },
            timeout: o.timeout,
            bench,
            reports: ReportFiles {
                junitxml: o.junitxml,
                json: o.json,
                markdown: o.markdown,
            },
            durations: o.durations.unwrap_or(0),
            partition: o.partition,
            last_failed: o.last_failed,
            failed_first: o.failed_first,
            retries: o.retries.unwrap_or(0),
            files,
        })
    }
}

/// The run's filter from the options, with pytest's `addopts` selection applied as pytest
/// applies it: before the command line's (an expression read from there that dbtest cannot
/// parse is reported against that file and line).
fn filter(
    o: &mut Options,
    tags: Vec<String>,
    exclude_tags: Vec<String>,
    mode: Mode,
    addopts: Option<&AddoptsSelection>,
) -> Result<Filter, UserError> {
    let mut from_addopts = Vec::new();
    if let Some(a) = addopts {
        if o.markers.is_none() && a.markers.is_some() {
            o.markers = a.markers.clone();
            from_addopts.extend(a.markers.clone());
        }
        if o.pattern.is_none() && a.keyword.is_some() {
            o.pattern = a.keyword.clone();
            from_addopts.extend(a.keyword.clone());
        }
    }
    Filter::new(o.pattern.as_deref(), tags, exclude_tags, mode)
        .and_then(|f| f.with_markers(o.markers.as_deref()))
        .map_err(|e| match (e, addopts) {
            (UserError::BadPattern { pattern, reason }, Some(a))
                if from_addopts.contains(&pattern) =>
            {
                UserError::Config(crate::config::ConfigError {
                    file: a.file.clone(),
                    line: a.line,
                    message: format!(
                        "`{pattern}` in `addopts` is not an expression dbtest can read: {reason}"
                    ),
                    hint: "fix it there, or give -m/-k on the command line, which wins".into(),
                })
            }
            (e, _) => e,
        })
}

/// pytest's configuration: its naming rules, and its `testpaths` as the paths when nothing
/// else gives any (dbtest's own `paths` win, as the command line wins over both).
fn apply_pytest(
    pytest: Option<PytestConfig>,
    own_paths: bool,
    paths: &mut Vec<PathBuf>,
    mode: &Option<ModeCommand>,
    cwd: &Path,
    root: &Path,
) -> Collection {
    let Some(p) = pytest else {
        return Collection::default();
    };
    if !own_paths && paths.is_empty() && !mode_has_paths(mode) && cwd == root {
        *paths = testpaths(&p, root);
    }
    p.collection()
}

/// Whether a mode subcommand was given paths of its own (`dbtest unit tests/a`).
fn mode_has_paths(mode: &Option<ModeCommand>) -> bool {
    match mode {
        Some(
            ModeCommand::Unit { paths }
            | ModeCommand::Integration { paths }
            | ModeCommand::Bench { paths },
        ) => !paths.is_empty(),
        None => false,
    }
}

/// pytest's `testpaths`, used as pytest uses them: only when started from the project root
/// with no paths, each a path or glob relative to the root, those matching nothing dropped.
fn testpaths(p: &PytestConfig, root: &Path) -> Vec<PathBuf> {
    let Some(given) = &p.testpaths else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in given {
        if !t.contains(['*', '?', '[']) {
            if root.join(t).exists() {
                out.push(PathBuf::from(t));
            }
            continue;
        }
        let mut glob = globset::GlobBuilder::new(t.trim_start_matches("./"));
        let Ok(glob) = glob.literal_separator(true).build() else {
            continue;
        };
        let glob = glob.compile_matcher();
        let mut found: Vec<PathBuf> = walkdir::WalkDir::new(root)
            .min_depth(1)
            .max_depth(if t.contains("**") {
                32
            } else {
                t.split('/').count()
            })
            .into_iter()
            .filter_map(Result::ok)
            .filter_map(|e| e.path().strip_prefix(root).ok().map(Path::to_path_buf))
            .filter(|rel| glob.is_match(rel))
            .collect();
        found.sort();
        out.extend(found);
    }
    if out.is_empty() && !given.is_empty() {
        eprintln!(
            "dbtest: warning: no files were found in testpaths ({}); searching from the current folder instead",
            p.file.display()
        );
    }
    out
}

/// Fill in what the command line left unset from the project's configuration: the command
/// line overrides the file, key by key. (Flags such as `-x` can only be turned on.)
fn apply_config(o: &mut Options, paths: &mut Vec<PathBuf>, mode: &Option<ModeCommand>, c: Config) {
    if paths.is_empty() && !mode_has_paths(mode) {
        if let Some(p) = c.paths {
            *paths = p;
        }
    }
    fn fill<T>(slot: &mut Option<T>, from: Option<T>) {
        if slot.is_none() {
            *slot = from;
        }
    }
    fill(&mut o.timeout, c.timeout);
    fill(
        &mut o.workers,
        c.workers.map(|w| match w {
            config::Workers::Auto => Workers::Auto,
            config::Workers::Count(n) => Workers::Count(n),
        }),
    );
    fill(&mut o.jobs, c.jobs);
    if o.tags.is_empty() {
        o.tags = c.tags.unwrap_or_default();
    }
    if o.exclude_tags.is_empty() {
        o.exclude_tags = c.exclude_tags.unwrap_or_default();
    }
    o.fail_fast |= c.fail_fast.unwrap_or(false);
    fill(&mut o.retries, c.retries);
    fill(&mut o.durations, c.durations);
    fill(&mut o.junitxml, c.junitxml);
    fill(&mut o.json, c.json);
    fill(&mut o.markdown, c.markdown);
    fill(&mut o.html, c.html);
    fill(&mut o.bench_time, c.bench_time);
    fill(&mut o.samples, c.samples);
    fill(&mut o.warmup, c.warmup);
    fill(&mut o.noise, c.noise);
}

/// The mode subcommand, and the paths given before and after it (default: `tests/` if it
/// exists, else the current folder).
fn mode_and_paths(
    command: Option<ModeCommand>,
    before: Vec<PathBuf>,
    cwd: &Path,
) -> (Mode, Vec<PathBuf>) {
    let (mode, mut paths) = match command {
        None => (Mode::All, before),
        Some(ModeCommand::Unit { paths }) => (Mode::Unit, [before, paths].concat()),
        Some(ModeCommand::Integration { paths }) => (Mode::Integration, [before, paths].concat()),
        Some(ModeCommand::Bench { paths }) => (Mode::Bench, [before, paths].concat()),
    };
    if paths.is_empty() {
        paths.push(if cwd.join("tests").is_dir() {
            PathBuf::from("tests")
        } else {
            PathBuf::from(".")
        });
    }
    (mode, paths)
}

impl BenchSettings {
    fn resolve(o: &Options) -> Result<BenchSettings, UserError> {
        let (bench_time, noise) = (o.bench_time.unwrap_or(1.0), o.noise.unwrap_or(2.0));
        let (samples, warmup) = (o.samples.unwrap_or(50), o.warmup.unwrap_or(1));
        limits::seconds_or_zero("--bench-time", bench_time).map_err(UserError::BadNumber)?;
        for (what, n) in [("--samples", samples), ("--warmup", warmup)] {
            limits::count(what, n.into(), limits::MAX_SAMPLES).map_err(UserError::BadNumber)?;
        }
        limits::percent("--noise", noise).map_err(UserError::BadNumber)?;
        Ok(BenchSettings {
            options: BenchOptions {
                samples: samples.max(2),
                warmup,
                target_time: std::time::Duration::from_millis(20),
                max_time: std::time::Duration::from_secs_f64(bench_time),
                iterations: None,
            },
            noise: noise / 100.0,
            save_baseline: o.save_baseline.clone(),
            baseline: o.baseline.clone(),
            saved_samples: o.saved_samples,
            fail_on: o.fail_on,
            html: o.html.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn color_precedence() {
        assert!(use_color(ColorChoice::Always, Some("1"), None, false));
        assert!(!use_color(ColorChoice::Never, None, Some("1"), true));
        assert!(!use_color(ColorChoice::Auto, Some("1"), Some("1"), true));
        assert!(use_color(ColorChoice::Auto, None, Some("1"), false));
        assert!(!use_color(ColorChoice::Auto, None, Some("0"), false));
        assert!(use_color(ColorChoice::Auto, Some(""), None, true));
        assert!(!use_color(ColorChoice::Auto, None, None, false));
    }

    #[test]
    fn testpaths_are_paths_or_globs_from_the_root_and_missing_ones_dropped() {
        let d = tempfile::tempdir().unwrap();
        for f in ["pkg/a/tests", "pkg/b/tests", "pkg/c/src", "docs"] {
            std::fs::create_dir_all(d.path().join(f)).unwrap();
        }
        let p = PytestConfig {
            testpaths: Some(vec!["docs".into(), "gone".into(), "pkg/*/tests".into()]),
            ..PytestConfig::default()
        };
        assert_eq!(
            testpaths(&p, d.path()),
            vec![
                PathBuf::from("docs"),
                PathBuf::from("pkg/a/tests"),
                PathBuf::from("pkg/b/tests")
            ]
        );
        // Only from the root, and only when nothing else gives paths.
        let mut paths = Vec::new();
        let sub = d.path().join("pkg");
        apply_pytest(Some(p.clone()), false, &mut paths, &None, &sub, d.path());
        assert!(paths.is_empty());
        apply_pytest(Some(p.clone()), true, &mut paths, &None, d.path(), d.path());
        assert!(paths.is_empty(), "dbtest's own paths win");
        apply_pytest(Some(p), false, &mut paths, &None, d.path(), d.path());
        assert_eq!(paths.len(), 3);
    }

    #[test]
    fn root_is_nearest_marker() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("proj/sub/deeper")).unwrap();
        std::fs::write(d.path().join("proj/pyproject.toml"), "").unwrap();
        assert_eq!(
            project_root(&d.path().join("proj/sub/deeper")),
            d.path().join("proj")
        );
    }

    #[test]
    fn the_command_line_overrides_the_file_key_by_key() {
        use clap::Parser;
        let cli = Cli::parse_from(["dbtest", "--timeout", "9", "--tags", "db", "-n", "2"]);
        let mut o = cli.options;
        let mut paths = Vec::new();
        let c = Config {
            paths: Some(vec![PathBuf::from("/p/tests")]),
            timeout: Some(30.0),
            workers: Some(config::Workers::Auto),
            tags: Some(vec!["unit".into()]),
            exclude_tags: Some(vec!["slow".into()]),
            retries: Some(2),
            samples: Some(7),
            ..Config::default()
        };
        apply_config(&mut o, &mut paths, &cli.mode, c);
        assert_eq!(paths, vec![PathBuf::from("/p/tests")]);
        assert_eq!(o.timeout, Some(9.0));
        assert_eq!(o.workers, Some(Workers::Count(2)));
        assert_eq!(o.tags, vec!["db".to_string()]);
        assert_eq!(o.exclude_tags, vec!["slow".to_string()]);
        assert_eq!((o.retries, o.samples), (Some(2), Some(7)));
        // Paths on the command line (or after a mode) win too.
        let cli = Cli::parse_from(["dbtest", "unit", "tests/a"]);
        let mut o = cli.options;
        let mut paths = Vec::new();
        let c = Config {
            paths: Some(vec![PathBuf::from("/p/tests")]),
            ..Config::default()
        };
        apply_config(&mut o, &mut paths, &cli.mode, c);
        assert!(paths.is_empty());
    }
}
