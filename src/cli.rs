//! The command line, as clap sees it. Only parsing lives here; `settings` resolves it.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::bench::baseline::FailOn;
use crate::runner::partition::Partition;

#[derive(Debug, Parser)]
#[command(
    name = "dbtest",
    about = "Find, run and report Python tests and benchmarks, fast and in parallel",
    long_about = "Find, run and report Python tests and benchmarks, fast and in parallel.\n\n\
        With no mode, dbtest runs all tests, then benchmarks. Paths default to tests/ if it \
        exists, else the current folder.\n\n\
        Exit codes: 0 all selected tests passed or were skipped; 1 some failed or errored; \
        2 interrupted; 3 internal error; 4 usage error; 5 no tests collected.",
    disable_version_flag = true,
    override_usage = "dbtest [unit|integration|bench] [OPTIONS] [PATH]...",
    args_conflicts_with_subcommands = false,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub mode: Option<ModeCommand>,

    /// Files or folders to search for test_*.py, *_test.py and bench_*.py
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    #[command(flatten)]
    pub options: Options,
}

#[derive(Debug, Subcommand)]
pub enum ModeCommand {
    /// Run the tests not tagged `integration` and not under a folder named `integration`
    Unit {
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Run only the integration tests (tagged `integration`, or under a folder `integration`)
    Integration {
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Run only the benchmarks (bench_*.py)
    Bench {
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Progress, failures with details, a summary table (for people)
    Console,
    /// One JSON document (for machines; schema in docs/json.md)
    Json,
    /// GitHub-flavoured markdown (for pull-request comments and job summaries)
    Markdown,
}

/// `-n`: a count, or one per CPU core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    Auto,
    Count(usize),
}

impl std::str::FromStr for Workers {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Workers::Auto),
            n => n
                .parse()
                .map(Workers::Count)
                .map_err(|_| format!("expected a number or `auto`, got {n:?}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct Options {
    /// Run only tests whose file path or id (path::Suite::name) matches: a glob, or a plain substring
    #[arg(short = 'k', long, value_name = "GLOB", global = true)]
    pub pattern: Option<String>,

    /// Run only tests with any of these tags (comma-separated)
    #[arg(long, value_name = "TAGS", value_delimiter = ',', global = true)]
    pub tags: Vec<String>,

    /// Skip tests with any of these tags (comma-separated)
    #[arg(long, value_name = "TAGS", value_delimiter = ',', global = true)]
    pub exclude_tags: Vec<String>,

    /// How many files run at once, over all workers [default: 4 x CPU cores]
    #[arg(short = 'j', long, value_name = "N", global = true)]
    pub jobs: Option<usize>,

    /// Worker processes: a number, `auto` (one per CPU core), or 0 to run in this process
    /// (no crash isolation, no timeouts for sync tests) [default: auto]
    #[arg(short = 'n', long, value_name = "N|auto", global = true)]
    pub workers: Option<Workers>,

    /// Default timeout in seconds for tests that set none; past it the test's worker is stopped
    #[arg(long, value_name = "SECONDS", global = true)]
    pub timeout: Option<f64>,

    /// Stop starting new tests after the first failure or error
    #[arg(short = 'x', long, global = true)]
    pub fail_fast: bool,

    /// Print the tests that would run, without running (or importing) them
    #[arg(long, global = true)]
    pub list: bool,

    /// Report format
    #[arg(long, value_enum, default_value_t = Format::Console, global = true)]
    pub format: Format,

    /// Write the report to FILE instead of standard output (the console summary still prints)
    #[arg(short = 'o', long, value_name = "FILE", global = true)]
    pub output: Option<PathBuf>,

    /// Also write a JUnit XML report to FILE (one testsuite per file; for CI test tabs)
    #[arg(long, value_name = "FILE", global = true, help_heading = "Reports")]
    pub junitxml: Option<PathBuf>,

    /// Also write the JSON report to FILE
    #[arg(long, value_name = "FILE", global = true, help_heading = "Reports")]
    pub json: Option<PathBuf>,

    /// Also write the markdown report to FILE
    #[arg(long, value_name = "FILE", global = true, help_heading = "Reports")]
    pub markdown: Option<PathBuf>,

    /// Print the N slowest tests after the summary
    #[arg(long, value_name = "N", global = true, help_heading = "Reports")]
    pub durations: Option<usize>,

    /// Run one shard of the selected test files: slice:M/N (round-robin) or hash:M/N (by path)
    #[arg(long, value_name = "KIND:M/N", global = true, help_heading = "CI")]
    pub partition: Option<Partition>,

    /// Run only the tests that failed or errored last time (all tests if none did)
    #[arg(
        long = "lf",
        visible_alias = "last-failed",
        global = true,
        help_heading = "CI"
    )]
    pub last_failed: bool,

    /// Run the files of the tests that failed last time first, then the rest
    #[arg(
        long = "ff",
        visible_alias = "failed-first",
        global = true,
        help_heading = "CI"
    )]
    pub failed_first: bool,

    /// Rerun a failed or errored test up to N times; a pass on a retry counts, reported flaky
    #[arg(long, value_name = "N", global = true, help_heading = "CI")]
    pub retries: Option<u32>,

    /// Colour in console output (NO_COLOR and FORCE_COLOR are honoured under auto)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Benchmarks: sampling time budget per entry, in seconds [default: 1]
    #[arg(
        long,
        value_name = "SECONDS",
        global = true,
        help_heading = "Benchmarks"
    )]
    pub bench_time: Option<f64>,

    /// Benchmarks: samples per entry (fewer if --bench-time runs out first, never under 5) [default: 50]
    #[arg(long, value_name = "N", global = true, help_heading = "Benchmarks")]
    pub samples: Option<u32>,

    /// Benchmarks: warm-up samples per entry, taken and thrown away before sampling [default: 1]
    #[arg(long, value_name = "N", global = true, help_heading = "Benchmarks")]
    pub warmup: Option<u32>,

    /// Benchmarks: differences smaller than this (percent) are reported as `same` [default: 2]
    #[arg(
        long,
        value_name = "PERCENT",
        global = true,
        help_heading = "Benchmarks"
    )]
    pub noise: Option<f64>,

    /// Benchmarks: save this run's samples as baseline NAME (.dbtest/benchmarks/NAME.json)
    #[arg(long, value_name = "NAME", global = true, help_heading = "Benchmarks")]
    pub save_baseline: Option<String>,

    /// Benchmarks: compare with saved baseline NAME, timing its git commit's code again in this run when it can
    #[arg(long, value_name = "NAME", global = true, help_heading = "Benchmarks")]
    pub baseline: Option<String>,

    /// Benchmarks: compare with the samples saved in --baseline instead of timing its commit's code again
    #[arg(long, global = true, help_heading = "Benchmarks")]
    pub saved_samples: bool,

    /// Benchmarks: exit 1 when an entry is significantly slower than --baseline by more than this (median:5% or mean:5%)
    #[arg(
        long,
        value_name = "METRIC:PCT",
        global = true,
        help_heading = "Benchmarks"
    )]
    pub fail_on: Option<FailOn>,

    /// Benchmarks: also write a self-contained HTML page with a chart per group to FILE
    #[arg(long, value_name = "FILE", global = true, help_heading = "Benchmarks")]
    pub html: Option<PathBuf>,

    /// Run as if started in DIR (the project root is searched upwards from there)
    #[arg(short = 'C', long = "directory", value_name = "DIR", global = true)]
    pub directory: Option<PathBuf>,

    /// Print dbtest's version and the embedded Python's
    #[arg(short = 'V', long, global = true)]
    pub version: bool,
}
