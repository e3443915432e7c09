//! Benchmark tables as GitHub-flavoured markdown, for `--format markdown`.
use super::model::{Group, NO_BASELINE, NUMERIC_COLUMNS, Run, Tone};
use crate::report::text::{md_fenced, md_inline};

/// A GFM table row; every cell is escaped, so no content can add or remove a cell.
fn md_row<I: IntoIterator<Item = String>>(cells: I) -> String {
    let mut line = String::from("|");
    for c in cells {
        line.push(' ');
        line.push_str(&c);
        line.push_str(" |");
    }
    line.push('\n');
    line
}

/// A `### Benchmarks` section; empty when no benchmark ran.
pub fn render(run: &Run) -> String {
    if run.groups.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n### Benchmarks\n");
    for g in &run.groups {
        group(&mut out, run, g);
    }
    out.push('\n');
    notes(&mut out, run);
    out
}

fn group(out: &mut String, run: &Run, g: &Group) {
    out.push_str(&format!("\n#### {}\n\n", md_inline(&g.name)));
    out.push_str(&format!(
        "<code>{}</code> · baseline: {}\n\n",
        md_inline(&g.file),
        g.baseline
            .as_deref()
            .map(|b| format!("<code>{}</code>", md_inline(b)))
            .unwrap_or_else(|| NO_BASELINE.into())
    ));
    table(out, run, g);
    for f in &g.failures {
        out.push_str(&format!(
            "\n<details><summary><code>{}</code> failed: {}</summary>\n\n",
            md_inline(&f.entry),
            md_inline(&f.error)
        ));
        if let Some(tb) = &f.traceback {
            out.push_str(&md_fenced(tb));
            out.push('\n');
        }
        out.push_str("</details>\n");
    }
    if !g.warnings.is_empty() {
        out.push('\n');
        for w in &g.warnings {
            match &w.entry {
                Some(name) => out.push_str(&format!(
                    "- ⚠️ <code>{}</code>: {}\n",
                    md_inline(name),
                    md_inline(&w.text)
                )),
                None => out.push_str(&format!("- ⚠️ {}\n", md_inline(&w.text))),
            }
        }
    }
}

fn table(out: &mut String, run: &Run, g: &Group) {
    out.push_str(&md_row(run.headers.iter().map(|h| md_inline(h))));
    out.push_str(&md_row((0..run.headers.len()).map(|i| {
        if NUMERIC_COLUMNS.contains(&i) {
            "---:".to_string()
        } else {
            "---".to_string()
        }
    })));
    for row in &g.rows {
        out.push_str(&md_row(row.cells.iter().enumerate().map(|(i, c)| {
            let text = md_inline(&c.text);
            match c.tone {
                _ if text.is_empty() => text,
                _ if i == 0 => format!("<code>{text}</code>"),
                Tone::Baseline | Tone::Failed => format!("**{text}**"),
                _ => text,
            }
        })));
    }
}

/// Under the tables: the harness and comparison in one line, warnings, the save, the gate.
fn notes(out: &mut String, run: &Run) {
    if let Some(h) = &run.harness {
        out.push_str(&format!("Harness overhead: {}.", md_inline(h)));
    }
    if let Some(c) = &run.compared {
        out.push_str(&format!(
            " Compared with baseline <code>{}</code>{}.",
            md_inline(&c.baseline),
            c.how
                .as_deref()
                .map(|how| format!(": {}", md_inline(how)))
                .unwrap_or_default()
        ));
    }
    out.push('\n');
    if !run.warnings.is_empty() {
        out.push('\n');
        for w in &run.warnings {
            out.push_str(&format!("- ⚠️ {}\n", md_inline(w)));
        }
    }
    if let Some(p) = &run.saved_to {
        out.push_str(&format!(
            "\nSaved baseline to <code>{}</code>.\n",
            md_inline(p)
        ));
    }
    if !run.regressions.is_empty() {
        let list: Vec<String> = run
            .regressions
            .iter()
            .map(|r| format!("<code>{}</code>", md_inline(r)))
            .collect();
        out.push_str(&format!(
            "\n**❌ Regressions (--fail-on):** {}\n",
            list.join(", ")
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, entry, failed, group, run, sorting};
    use super::*;
    use crate::bench::BenchRun;
    use crate::bench::stats::Verdict;

    fn show(run: &BenchRun) -> String {
        render(&Run::of(run))
    }

    #[test]
    fn nothing_without_groups() {
        assert_eq!(show(&run(Vec::new())), "");
    }

    /// Cells of a markdown table row: escaped content never holds a raw `|`.
    fn cells(line: &str) -> usize {
        line.matches('|').count()
    }

    #[test]
    fn markdown_tables_survive_hostile_names() {
        let nasty = "a|b <i>`c`</i> *d*";
        let g = group(
            nasty,
            nasty,
            vec![
                entry(nasty, 1000.0, 8, Verdict::Baseline, 1.0),
                entry("x|y", 2000.0, 8, Verdict::Slower, 2.0),
                failed("z|<w>`", "Error: | pipes | and `ticks` <b>"),
            ],
        );
        let out = show(&fixtures::compared(run(vec![g, sorting()])));
        assert!(out.starts_with("\n### Benchmarks\n"));
        assert!(out.contains("#### a&#124;b &lt;i&gt;&#96;c&#96;&lt;/i&gt; &#42;d&#42;"));
        // Raw markup only inside the fenced traceback, where it is literal.
        let outside_fences: String = out.split("```").step_by(2).collect();
        assert!(
            !outside_fences.contains("<i>") && !outside_fences.contains("<b>"),
            "{out}"
        );
        // Each table: a run of lines starting with `|`, all with the same number of cells.
        let mut tables: Vec<Vec<&str>> = Vec::new();
        let mut current: Vec<&str> = Vec::new();
        for line in out.lines() {
            if line.starts_with('|') {
                current.push(line);
            } else if !current.is_empty() {
                tables.push(std::mem::take(&mut current));
            }
        }
        assert_eq!(tables.len(), 2, "{out}");
        for t in &tables {
            assert!(t.len() >= 3, "{t:?}");
            let n = cells(t[0]);
            assert_eq!(n, 9, "{}", t[0]); // 8 columns with `vs main`
            for line in t {
                assert_eq!(cells(line), n, "{line}");
            }
        }
        assert!(out.contains("| **failed** |"));
        assert!(out.contains("<details><summary><code>z&#124;&lt;w&gt;&#96;</code> failed:"));
        assert!(out.contains("```text\nTraceback"));
        assert!(out.contains("- ⚠️ <code>list.sort</code>: unstable"));
        assert!(out.contains("Harness overhead: 43.1 ns per call"));
        assert!(out.contains("**❌ Regressions (--fail-on):**"));
    }
}
