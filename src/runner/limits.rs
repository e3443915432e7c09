//! The one place user-given numbers are checked: `--timeout`, `--bench-time`, `--noise` on
//! the command line, and `@test(timeout=...)` where the engine reads it. The rule (also in
//! `docs/reliability.md`): a number of seconds is finite, above 0 (or at least 0 where 0
//! means "none") and at most `MAX_SECONDS`, about a year; past that a deadline could not be
//! computed on every platform's clock, and no test means it. Messages show numbers in their
//! shortest form (`1e-300`, never 300 digits).

/// The largest number of seconds a timeout or a time budget may be: 3.15e7 s, about a year.
pub const MAX_SECONDS: f64 = 3.15e7;

/// The largest percentage (`--noise`).
pub const MAX_PERCENT: f64 = 1e6;

/// The most files running at once (`-j`): far past any machine's useful threads.
pub const MAX_JOBS: usize = 4096;
/// The most worker processes (`-n`).
pub const MAX_WORKERS: usize = 1024;
/// The most samples or warm-up samples per benchmark entry.
pub const MAX_SAMPLES: u64 = 1_000_000;

/// A count of at most `max` (0 allowed; callers that need more check that themselves).
pub fn count(what: &str, n: u64, max: u64) -> Result<u64, String> {
    if n > max {
        return Err(format!(
            "{what} takes a whole number of at most {max}; got {n}"
        ));
    }
    Ok(n)
}

/// `x` as people write it: plain for everyday sizes, scientific beyond (`1e-300`, `1e19`).
pub fn show(x: f64) -> String {
    if x.is_finite() && (x == 0.0 || (1e-4..1e15).contains(&x.abs())) {
        format!("{x}")
    } else {
        // Debug prints the shortest exact form, in scientific notation outside that range.
        format!("{x:?}")
    }
}

/// A number of seconds, above 0 and at most `MAX_SECONDS`; the error says which rule it broke.
pub fn seconds(what: &str, x: f64) -> Result<f64, String> {
    check(what, x, false, MAX_SECONDS, "seconds")
}

/// Like `seconds`, but 0 is allowed.
pub fn seconds_or_zero(what: &str, x: f64) -> Result<f64, String> {
    check(what, x, true, MAX_SECONDS, "seconds")
}

/// A percentage, at least 0 and at most `MAX_PERCENT`.
pub fn percent(what: &str, x: f64) -> Result<f64, String> {
    check(what, x, true, MAX_PERCENT, "percent")
}

fn check(what: &str, x: f64, zero_ok: bool, max: f64, unit: &str) -> Result<f64, String> {
    let floor = if zero_ok { "at least 0" } else { "above 0" };
    let rule = format!(
        "{what} takes a number of {unit}: finite, {floor} and at most {}",
        show(max)
    );
    if !x.is_finite() {
        return Err(format!("{rule}; got {}", show(x)));
    }
    if x < 0.0 || (x == 0.0 && !zero_ok) || x > max {
        return Err(format!("{rule}; got {}", show(x)));
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_finite_positive_and_bounded() {
        assert_eq!(seconds("--timeout", 1.5), Ok(1.5));
        assert_eq!(seconds("--timeout", 1e-300), Ok(1e-300));
        assert_eq!(seconds("--timeout", MAX_SECONDS), Ok(MAX_SECONDS));
        for bad in [
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e19,
            1e300,
        ] {
            let e = seconds("--timeout", bad).unwrap_err();
            assert!(
                e.starts_with("--timeout takes a number of seconds: finite"),
                "{e}"
            );
            assert!(e.len() < 200, "{e}");
        }
        assert_eq!(seconds_or_zero("--bench-time", 0.0), Ok(0.0));
        assert!(percent("--noise", -1.0).is_err());
        assert!(count("-j", 5, MAX_JOBS as u64).is_ok());
        assert!(count("-j", u64::MAX, MAX_JOBS as u64).is_err());
    }

    #[test]
    fn numbers_show_short() {
        assert_eq!(show(5.0), "5");
        assert_eq!(show(0.25), "0.25");
        assert_eq!(show(1e-300), "1e-300");
        assert_eq!(show(1e19), "1e19");
        assert_eq!(show(f64::NAN), "NaN");
        assert_eq!(show(f64::INFINITY), "inf");
    }
}
