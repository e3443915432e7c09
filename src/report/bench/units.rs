//! Times, rates and ratios for people: three significant digits in the unit that fits.

/// Time units from the smallest up: the divisor from nanoseconds and the symbol.
const TIME_UNITS: [(f64, &str); 4] = [(1.0, "ns"), (1e3, "µs"), (1e6, "ms"), (1e9, "s")];

/// `x` rounded to three significant digits, so the unit is picked after rounding
/// (999.7 ns is `1.00 µs`, not `1000 ns`).
fn round_sig3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let factor = 10f64.powi(2 - x.abs().log10().floor() as i32);
    (x * factor).round() / factor
}

/// Decimals that give three significant digits for a value already in its unit.
fn decimals_for(v: f64) -> usize {
    let a = v.abs();
    if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        3
    }
}

/// The unit a time is best read in: the largest one it is at least 1 of.
pub fn time_unit(ns: f64) -> (f64, &'static str) {
    let r = round_sig3(ns).abs();
    TIME_UNITS
        .iter()
        .rev()
        .find(|(scale, _)| r >= *scale)
        .copied()
        .unwrap_or(TIME_UNITS[0])
}

/// Nanoseconds for people, three significant digits in the unit that fits:
/// `43.1 ns`, `6.36 µs`, `1.25 ms`.
pub fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "n/a".into();
    }
    if ns == 0.0 {
        return "0 ns".into();
    }
    let (scale, unit) = time_unit(ns);
    let v = round_sig3(ns) / scale;
    format!("{v:.*} {unit}", decimals_for(v))
}

/// The timer's resolution: usually a whole number of nanoseconds, which reads best bare (`1 ns`).
pub fn fmt_resolution(ns: f64) -> String {
    if ns.is_finite() && ns.fract() == 0.0 && ns < 1000.0 {
        format!("{ns:.0} ns")
    } else {
        fmt_ns(ns)
    }
}

/// A median and its interval, the bounds in the median's unit and precision so they compare
/// at a glance: `6.36 µs [6.30, 6.41]`.
pub fn fmt_ns_ci(ns: f64, ci: [f64; 2]) -> String {
    if !ns.is_finite() || ns == 0.0 {
        return fmt_ns(ns);
    }
    let (scale, _) = time_unit(ns);
    let d = decimals_for(round_sig3(ns) / scale);
    format!(
        "{} [{:.*}, {:.*}]",
        fmt_ns(ns),
        d,
        ci[0] / scale,
        d,
        ci[1] / scale
    )
}

/// Operations per second for people: `157k`, `1.2M`, `523`.
pub fn fmt_ops(ops: f64) -> String {
    if !ops.is_finite() || ops <= 0.0 {
        return "n/a".into();
    }
    const UNITS: [(f64, &str); 5] = [(1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T")];
    let mut i = UNITS
        .iter()
        .rposition(|(scale, _)| ops >= *scale)
        .unwrap_or(0);
    loop {
        let (scale, unit) = UNITS[i];
        let s = ops / scale;
        // Two digits are plenty for a rate; more would only repeat the median's noise.
        let text = if s >= 9.95 {
            format!("{s:.0}")
        } else if s >= 1.0 || i > 0 {
            format!("{s:.1}")
        } else {
            format!("{s:.2}")
        };
        // 999.7k rounds to 1000k: read it as 1.0M instead.
        if text.parse::<f64>().unwrap_or(0.0) >= 1000.0 && i + 1 < UNITS.len() {
            i += 1;
            continue;
        }
        return format!("{text}{unit}");
    }
}

/// `1.65x [1.61, 1.70]`; the interval is left out when it is exactly the point (the baseline).
pub fn fmt_ratio(ratio: f64, ci: Option<[f64; 2]>) -> String {
    if !ratio.is_finite() {
        return "n/a".into();
    }
    // Two decimals, or two significant digits for tiny ratios (0.0068x, not 0.01x).
    let d = match ratio.abs() {
        r if r >= 100.0 => 0,
        r if r >= 10.0 => 1,
        r if r >= 0.1 || r == 0.0 => 2,
        r => (-r.log10()).ceil() as usize + 1,
    };
    match ci {
        Some([lo, hi]) if !(lo == ratio && hi == ratio) => {
            format!("{ratio:.d$}x [{lo:.d$}, {hi:.d$}]")
        }
        _ => format!("{ratio:.d$}x"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanised_units() {
        assert_eq!(fmt_ns(6360.1), "6.36 µs");
        assert_eq!(fmt_ns(43.06), "43.1 ns");
        assert_eq!(fmt_ns(1_250_000.0), "1.25 ms");
        assert_eq!(fmt_ns(999.7), "1.00 µs");
        assert_eq!(fmt_ns(2.5e9), "2.50 s");
        assert_eq!(fmt_ns(0.0), "0 ns");
        assert_eq!(fmt_ns(0.5), "0.500 ns");
        assert_eq!(fmt_ns(f64::NAN), "n/a");
        assert_eq!(fmt_ops(157_233.0), "157k");
        assert_eq!(fmt_ops(1_234_567.0), "1.2M");
        assert_eq!(fmt_ops(999_700.0), "1.0M");
        assert_eq!(fmt_ops(523.0), "523");
        assert_eq!(fmt_ops(0.25), "0.25");
        assert_eq!(fmt_ratio(1.6512, Some([1.61, 1.7])), "1.65x [1.61, 1.70]");
        assert_eq!(fmt_ratio(1.0, Some([1.0, 1.0])), "1.00x");
        assert_eq!(fmt_ratio(0.0068, None), "0.0068x");
        assert_eq!(fmt_ratio(12.34, None), "12.3x");
        assert_eq!(fmt_ns_ci(6360.1, [6300.0, 6410.0]), "6.36 µs [6.30, 6.41]");
        assert_eq!(fmt_resolution(1.0), "1 ns");
    }
}
