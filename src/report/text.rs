//! Small text helpers shared by the exporters.

/// Milliseconds for people: `850 ms`, `1.24 s`.
pub fn duration(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// `3 failed, 1 error, 10 passed, 2 skipped`, leaving out zero counts but always one part.
pub fn counts(s: &super::Summary) -> String {
    let mut parts = Vec::new();
    if s.failed > 0 {
        parts.push(format!("{} failed", s.failed));
    }
    if s.errors > 0 {
        parts.push(format!(
            "{} error{}",
            s.errors,
            if s.errors == 1 { "" } else { "s" }
        ));
    }
    if s.passed > 0 || s.total == s.failed + s.errors + s.skipped {
        parts.push(format!("{} passed", s.passed));
    }
    if s.skipped > 0 {
        parts.push(format!("{} skipped", s.skipped));
    }
    if s.xfailed > 0 {
        parts.push(format!("{} xfailed", s.xfailed));
    }
    if s.xpassed > 0 {
        parts.push(format!("{} xpassed", s.xpassed));
    }
    parts.join(", ")
}

/// Control characters (a bell, an escape) made visible, so a message cannot beep or restyle
/// the terminal; newlines and tabs stay.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                format!("\\u{{{:04x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(
            printable("a\u{7}b\n\tc\u{1b}[31m"),
            "a\\u{0007}b\n\tc\\u{001b}[31m"
        );
    }

    #[test]
    fn formats() {
        assert_eq!(duration(0.25), "0.25 ms");
        assert_eq!(duration(850.0), "850 ms");
        assert_eq!(duration(1240.0), "1.24 s");
        let s = crate::report::Summary {
            total: 4,
            passed: 1,
            failed: 2,
            errors: 1,
            skipped: 0,
            xfailed: 0,
            xpassed: 0,
            duration_ms: 0.0,
        };
        assert_eq!(counts(&s), "2 failed, 1 error, 1 passed");
        let x = crate::report::Summary {
            total: 3,
            xfailed: 2,
            xpassed: 1,
            ..Default::default()
        };
        assert_eq!(counts(&x), "2 xfailed, 1 xpassed");
        assert_eq!(counts(&crate::report::Summary::default()), "0 passed");
    }
}
