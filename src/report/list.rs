//! `--list`: what a run would run, from the static scan, without importing anything.
use std::io::Write;

use crate::error::{ExitCode, UserError, write_stdout};
use crate::runner::filter::Filter;
use crate::runner::plan::{Plan, test_id};
use crate::runner::scan::{Tags, scan_bench};

/// Print the plan's test ids (and benchmark entries, `path::group::entry`, that `filter`
/// selects as a run's workers would); files whose tests only an import can tell are printed as
/// their path with a note. Exit 5 when nothing is listed.
pub fn list(plan: &Plan, filter: &Filter) -> Result<ExitCode, UserError> {
    // Written at once at the end, so a full or closed stdout is handled in one place.
    let mut out: Vec<u8> = Vec::new();
    let (mut n, mut entries, mut undecided) = (0, 0, 0);
    for f in &plan.test_files {
        if let Some(why) = &f.undecidable {
            undecided += 1;
            let _ = writeln!(out, "{} (tests known only on import: {why})", f.file.rel);
            continue;
        }
        if f.tests.is_empty() {
            let _ = writeln!(out, "{}", f.file.rel);
        }
        for t in &f.tests {
            n += 1;
            let _ = writeln!(
                out,
                "{}{}{}",
                test_id(&f.file.rel, t),
                if t.skip { " (skip)" } else { "" },
                if t.tags == Tags::Unknown {
                    " (tags known only on import)"
                } else {
                    ""
                }
            );
        }
    }
    for b in &plan.bench_files {
        let source = std::fs::read(&b.path)
            .map(|s| String::from_utf8_lossy(&s).into_owned())
            .unwrap_or_default();
        match scan_bench(&source) {
            Ok(groups) if groups.iter().all(|(_, e)| e.is_empty()) => {
                let _ = writeln!(out, "{}", b.rel);
            }
            Ok(groups) => {
                for (group, names) in groups {
                    for e in names {
                        // As `python::bench` selects entries: by `group::entry` or `group`.
                        let id = format!("{group}::{e}");
                        if !(filter.selects(&b.rel, &id, &[])
                            || filter.selects(&b.rel, &group, &[]))
                        {
                            continue;
                        }
                        entries += 1;
                        let _ = writeln!(out, "{}::{group}::{e}", b.rel);
                    }
                }
            }
            Err(why) => {
                undecided += 1;
                let _ = writeln!(out, "{} (benchmarks known only on import: {why})", b.rel);
            }
        }
    }
    write_stdout(
        &mut std::io::stdout().lock(),
        &String::from_utf8_lossy(&out),
    )?;
    let mut summary = format!("{n} tests in {} files", plan.test_files.len());
    if !plan.bench_files.is_empty() {
        summary += &format!(
            ", {entries} benchmark entries in {} files",
            plan.bench_files.len()
        );
    }
    if undecided > 0 {
        summary += &format!(" ({undecided} known only on import)");
    }
    eprintln!("{summary}");
    Ok(
        if plan.test_files.is_empty() && plan.bench_files.is_empty() {
            ExitCode::NoTests
        } else {
            ExitCode::Ok
        },
    )
}
