//! Benchmark statistics over per-call timings (f64 nanoseconds per call).
//!
//! Everything here is std-only and deterministic: the bootstrap uses a small
//! seeded PRNG defined in this file, so the same samples and seed always give
//! the same confidence intervals (reports stay reproducible and diffable).
//! No function returns NaN for well-formed input; degenerate cases (one
//! sample, all values tied, zero medians) have explicit, finite answers.

/// Bootstrap resamples used by [`summarize`] and [`compare`]. 2,000 is the
/// usual choice for 95% percentile intervals: the 2.5%/97.5% tails then rest
/// on ~50 resamples each, while 200-sample inputs still summarize in a few ms.
pub const BOOTSTRAP_RESAMPLES: usize = 2_000;

/// Significance level for [`compare`]'s Mann-Whitney test.
const ALPHA: f64 = 0.05;

/// Descriptive statistics for one benchmark's samples, all in nanoseconds per
/// call unless the field name says otherwise. Serializable for reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Primary location estimate: robust to the long right tail timings have.
    pub median_ns: f64,
    pub mean_ns: f64,
    /// Sample standard deviation (n-1 denominator); 0 for a single sample.
    pub stddev_ns: f64,
    pub min_ns: f64,
    pub max_ns: f64,
    pub p25_ns: f64,
    pub p75_ns: f64,
    pub p95_ns: f64,
    pub p99_ns: f64,
    /// p75 - p25; the scale for the Tukey outlier fences.
    pub iqr_ns: f64,
    /// Samples beyond 1.5*IQR but within 3*IQR of the quartiles (either side).
    pub outliers_mild: usize,
    /// Samples beyond 3*IQR of the quartiles (either side).
    pub outliers_severe: usize,
    /// 95% bootstrap (percentile method) CI of the median.
    pub median_ci_ns: [f64; 2],
    /// 95% bootstrap (percentile method) CI of the mean.
    pub mean_ci_ns: [f64; 2],
    /// 1e9 / median_ns; 0 when the median is not positive (avoids inf in JSON).
    pub ops_per_sec: f64,
}

/// How a candidate relates to the baseline. `Baseline` is never produced by
/// [`compare`]; callers use it to label the reference row itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Baseline,
    Faster,
    Slower,
    Same,
}

/// Result of [`compare`]. A ratio above 1 means the candidate is slower.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// median(candidate) / median(baseline).
    pub ratio: f64,
    /// 95% bootstrap CI of `ratio` (both sides resampled independently).
    pub ratio_ci: [f64; 2],
    /// Two-sided Mann-Whitney U p-value.
    pub p_value: f64,
    pub verdict: Verdict,
}

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, statistically fine for
/// resampling, and fully determined by its seed, which is all we need.
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform index in `0..n` via Lemire's multiply-shift (no division; the
    /// bias is < n / 2^64, irrelevant at sample sizes we see).
    fn index(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

impl Comparison {
    /// The verdict rule: `faster`/`slower` only when the test agrees (p < 0.05) and the ratio's
    /// whole interval lies outside the noise band.
    fn judged(ratio: f64, ratio_ci: [f64; 2], p_value: f64, noise: f64) -> Self {
        // NaN noise would silently disable both checks; treat it (and negatives)
        // as "no noise band".
        let noise = noise.max(0.0);
        let verdict = if p_value < ALPHA && ratio_ci[0] > 1.0 + noise {
            Verdict::Slower
        } else if p_value < ALPHA && ratio_ci[1] < 1.0 - noise {
            Verdict::Faster
        } else {
            Verdict::Same
        };
        Comparison {
            ratio,
            ratio_ci,
            p_value,
            verdict,
        }
    }
}

/// Derives an independent stream seed so that, e.g., the median and mean CIs
/// of one summary do not reuse the same resample indices.
fn sub_seed(seed: u64, stream: u64) -> u64 {
    SplitMix64::new(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64()
}

fn sorted_copy(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// Timers never produce NaN/inf; if one slips in it would poison every
/// statistic, so the entry points drop non-finite values up front.
fn finite_only(xs: &[f64]) -> Vec<f64> {
    xs.iter().copied().filter(|x| x.is_finite()).collect()
}

/// Percentile `p` (0..=100) of already-sorted data, interpolating linearly
/// between the closest ranks (numpy's default: rank = p/100 * (n-1)), so
/// results match what people get when checking our numbers in numpy.
/// `p` is clamped to [0, 100]; an empty slice yields 0.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 100.0) };
    let rank = p / 100.0 * (n - 1) as f64;
    let lo_idx = rank.floor() as usize;
    let hi_idx = (lo_idx + 1).min(n - 1);
    let (lo, hi) = (sorted[lo_idx], sorted[hi_idx]);
    let frac = rank - lo_idx as f64;
    // The equality guard keeps inf (possible in ratio bootstraps) from
    // turning into inf - inf = NaN.
    if frac == 0.0 || lo == hi {
        lo
    } else {
        lo + (hi - lo) * frac
    }
}

/// Median of unsorted data (mean of the two middle values for even n);
/// 0 for empty input.
pub fn median(xs: &[f64]) -> f64 {
    let mut buf = xs.to_vec();
    median_in_place(&mut buf)
}

/// Median in O(n) via `select_nth_unstable` (reorders `buf`), so one-off
/// medians of unsorted data need no full sort.
fn median_in_place(buf: &mut [f64]) -> f64 {
    let n = buf.len();
    if n == 0 {
        return 0.0;
    }
    let mid = n / 2;
    let (left, upper, _) = buf.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        upper
    } else {
        // After selection everything left of `mid` is <= upper, so the lower
        // middle value is the maximum of that part.
        let lower = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

/// Arithmetic mean; 0 for empty input.
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n-1 denominator, the unbiased-variance form
/// used for samples of a larger population); 0 for n < 2. Two-pass for
/// numerical stability with large, close-together timings.
pub fn stddev(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (n - 1) as f64).sqrt()
}

/// 2.5th/97.5th percentiles of bootstrap estimates, ignoring NaN estimates
/// (a user `stat` may produce them); `fallback` if nothing usable is left.
fn ci_from_estimates(mut estimates: Vec<f64>, fallback: f64) -> [f64; 2] {
    estimates.retain(|x| !x.is_nan());
    if estimates.is_empty() {
        let f = if fallback.is_nan() { 0.0 } else { fallback };
        return [f, f];
    }
    estimates.sort_unstable_by(f64::total_cmp);
    [percentile(&estimates, 2.5), percentile(&estimates, 97.5)]
}

/// Runs `resamples` bootstrap replicates on one seeded stream and returns the
/// 95% percentile interval (`fallback` twice when there are none).
fn bootstrap_interval<F>(resamples: usize, seed: u64, fallback: f64, mut replicate: F) -> [f64; 2]
where
    F: FnMut(&mut SplitMix64) -> f64,
{
    let mut rng = SplitMix64::new(seed);
    let estimates = (0..resamples).map(|_| replicate(&mut rng)).collect();
    ci_from_estimates(estimates, fallback)
}

// The resampling helpers below are the bootstrap's hot path (2,000 x n
// draws per interval). They use plain `while` loops over slices because
// iterator adapters are not inlined in debug builds and cost several times
// more there.

/// Draws one bootstrap resample of `counts.len()` items, recorded as how many
/// times each index was drawn. Over sorted data this turns the resample's
/// median into a linear scan ([`median_of_counts`]) instead of a sort or
/// selection per resample, keeping 2,000 resamples cheap even in debug builds.
fn draw_counts(counts: &mut [u32], rng: &mut SplitMix64) {
    let n = counts.len();
    let mut i = 0;
    while i < n {
        counts[i] = 0;
        i += 1;
    }
    i = 0;
    while i < n {
        counts[rng.index(n)] += 1;
        i += 1;
    }
}

/// Median of the multiset in which `sorted[i]` occurs `counts[i]` times and
/// `total` is the sum of `counts`; 0 if the multiset is empty.
fn median_of_counts(sorted: &[f64], counts: &[u32], total: usize) -> f64 {
    if total == 0 {
        return 0.0;
    }
    // 0-based positions of the lower/upper middle elements (equal for odd).
    let (lo_pos, hi_pos) = ((total - 1) / 2, total / 2);
    let mut lower = f64::NAN;
    let mut seen = 0;
    let mut i = 0;
    while i < sorted.len() {
        let before = seen;
        seen += counts[i] as usize;
        if before <= lo_pos && lo_pos < seen {
            lower = sorted[i];
        }
        if hi_pos < seen {
            // `lower` is set: lo_pos <= hi_pos, so it was passed by now.
            return if lo_pos == hi_pos {
                sorted[i]
            } else {
                (lower + sorted[i]) / 2.0
            };
        }
        i += 1;
    }
    0.0 // unreachable when `total` matches `counts`
}

/// Mean of one bootstrap resample of `samples`, drawn without a buffer.
fn resampled_mean(samples: &[f64], rng: &mut SplitMix64) -> f64 {
    let n = samples.len();
    let mut sum = 0.0;
    let mut i = 0;
    while i < n {
        sum += samples[rng.index(n)];
        i += 1;
    }
    sum / n as f64
}

/// 95% confidence interval for `stat` by the percentile bootstrap:
/// assumption-free, which suits skewed timing distributions. Deterministic
/// for a given `seed`. Empty input gives [0, 0]; n = 1 gives [x, x].
/// The general form, for any statistic; `summarize` uses faster specialised loops for the
/// median and mean, and the tests check them against this.
#[cfg(test)]
pub fn bootstrap_ci(
    samples: &[f64],
    stat: fn(&[f64]) -> f64,
    resamples: usize,
    seed: u64,
) -> [f64; 2] {
    let n = samples.len();
    if n == 0 {
        return [0.0, 0.0];
    }
    let point = stat(samples);
    if n == 1 {
        // Every resample of one value is that value.
        return ci_from_estimates(Vec::new(), point);
    }
    let mut buf = vec![0.0; n];
    bootstrap_interval(resamples, seed, point, |rng| {
        for slot in buf.iter_mut() {
            *slot = samples[rng.index(n)];
        }
        stat(&buf)
    })
}

/// Full summary of one benchmark's samples; `None` if there are no (finite)
/// samples. `seed` makes the bootstrap CIs reproducible.
pub fn summarize(samples: &[f64], seed: u64) -> Option<Summary> {
    let sorted = sorted_copy(&finite_only(samples));
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let median_ns = percentile(&sorted, 50.0);
    let p25_ns = percentile(&sorted, 25.0);
    let p75_ns = percentile(&sorted, 75.0);
    let iqr_ns = p75_ns - p25_ns;

    // Tukey fences. Strict comparisons: a value exactly on a fence is not
    // beyond it. Severe is checked first so each value counts once.
    let (mild_lo, mild_hi) = (p25_ns - 1.5 * iqr_ns, p75_ns + 1.5 * iqr_ns);
    let (severe_lo, severe_hi) = (p25_ns - 3.0 * iqr_ns, p75_ns + 3.0 * iqr_ns);
    let (mut outliers_mild, mut outliers_severe) = (0, 0);
    for &x in &sorted {
        if x < severe_lo || x > severe_hi {
            outliers_severe += 1;
        } else if x < mild_lo || x > mild_hi {
            outliers_mild += 1;
        }
    }

    let mut counts = vec![0; n];
    let median_ci_ns =
        bootstrap_interval(BOOTSTRAP_RESAMPLES, sub_seed(seed, 1), median_ns, |rng| {
            draw_counts(&mut counts, rng);
            median_of_counts(&sorted, &counts, n)
        });
    let mean_ns = mean(&sorted);
    let mean_ci_ns = bootstrap_interval(BOOTSTRAP_RESAMPLES, sub_seed(seed, 2), mean_ns, |rng| {
        resampled_mean(&sorted, rng)
    });

    Some(Summary {
        median_ns,
        mean_ns,
        stddev_ns: stddev(&sorted),
        min_ns: sorted[0],
        max_ns: sorted[n - 1],
        p25_ns,
        p75_ns,
        p95_ns: percentile(&sorted, 95.0),
        p99_ns: percentile(&sorted, 99.0),
        iqr_ns,
        outliers_mild,
        outliers_severe,
        median_ci_ns,
        mean_ci_ns,
        ops_per_sec: if median_ns > 0.0 {
            1e9 / median_ns
        } else {
            0.0
        },
    })
}

/// Complementary error function, Numerical Recipes `erfcc` (Chebyshev fit,
/// fractional error < 1.2e-7 everywhere): ample for p-values, and std has no
/// stable `erfc`.
fn erfc(x: f64) -> f64 {
    // Coefficients c0..c9 of the exponent polynomial in t, highest last.
    const C: [f64; 10] = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ];
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = C.iter().rev().fold(0.0, |acc, &c| acc * t + c);
    let r = t * (-z * z + poly).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// Two-sided Mann-Whitney U test p-value (normal approximation with tie and
/// continuity corrections, as scipy's `mannwhitneyu(method="asymptotic")`).
/// Rank-based, so it does not assume normal timings and shrugs off outliers.
/// Returns 1.0 when either side is empty or every value is tied (no evidence).
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> f64 {
    let a = finite_only(a);
    let b = finite_only(b);
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    // Pool with a side marker, sort, assign average ranks to tie groups.
    let mut pooled: Vec<(f64, bool)> = a
        .iter()
        .map(|&x| (x, true))
        .chain(b.iter().map(|&x| (x, false)))
        .collect();
    pooled.sort_unstable_by(|x, y| x.0.total_cmp(&y.0));
    let n = pooled.len();
    let mut rank_sum_a = 0.0;
    let mut tie_term = 0.0; // sum over tie groups of t^3 - t
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        let t = (j - i) as f64;
        // Ranks are 1-based: the group occupies ranks i+1..=j.
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum_a += avg_rank * pooled[i..j].iter().filter(|e| e.1).count() as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u1 = rank_sum_a - n1f * (n1f + 1.0) / 2.0;
    let mu = n1f * n2f / 2.0;
    let var = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((u1 - mu).abs() - 0.5).max(0.0) / var.sqrt();
    // Two-sided: 2 * (1 - Phi(z)) = erfc(z / sqrt 2).
    erfc(z / std::f64::consts::SQRT_2).min(1.0)
}

/// Two-sided Wilcoxon signed-rank test p-value for paired differences `d` (normal
/// approximation with tie and continuity corrections, zero differences dropped: scipy's
/// `wilcoxon(d, zero_method="wilcox", correction=True, method="approx")`). Returns 1.0 when
/// nothing is left to rank.
pub fn wilcoxon_signed_rank(d: &[f64]) -> f64 {
    let mut d: Vec<f64> = finite_only(d).into_iter().filter(|x| *x != 0.0).collect();
    let n = d.len();
    if n == 0 {
        return 1.0;
    }
    d.sort_unstable_by(|x, y| x.abs().total_cmp(&y.abs()));
    let mut w_plus = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && d[j].abs() == d[i].abs() {
            j += 1;
        }
        let t = (j - i) as f64;
        let avg_rank = (i + 1 + j) as f64 / 2.0;
        w_plus += avg_rank * d[i..j].iter().filter(|x| **x > 0.0).count() as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let nf = n as f64;
    let mu = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term / 48.0;
    if var <= 0.0 {
        return 1.0;
    }
    let z = ((w_plus - mu).abs() - 0.5).max(0.0) / var.sqrt();
    erfc(z / std::f64::consts::SQRT_2).min(1.0)
}

/// Compare samples taken in pairs: `candidate[i]` and `baseline[i]` were timed one right after
/// the other, so whatever speed the machine had at that moment cancels out of their ratio.
/// The ratio is the median of the per-pair ratios (bootstrap 95% interval), the test a
/// Wilcoxon signed-rank test on their logarithms; the verdict follows the same rule as
/// [`compare`].
pub fn compare_paired(candidate: &[f64], baseline: &[f64], noise: f64, seed: u64) -> Comparison {
    let ratios: Vec<f64> = candidate
        .iter()
        .zip(baseline)
        .filter(|(c, b)| c.is_finite() && b.is_finite() && **c > 0.0 && **b > 0.0)
        .map(|(c, b)| c / b)
        .collect();
    if ratios.is_empty() {
        return Comparison::judged(1.0, [1.0, 1.0], 1.0, noise);
    }
    let sorted = sorted_copy(&ratios);
    let ratio = percentile(&sorted, 50.0);
    let mut counts = vec![0; sorted.len()];
    let ratio_ci = bootstrap_interval(BOOTSTRAP_RESAMPLES, sub_seed(seed, 4), ratio, |rng| {
        draw_counts(&mut counts, rng);
        median_of_counts(&sorted, &counts, sorted.len())
    });
    let logs: Vec<f64> = ratios.iter().map(|r| r.ln()).collect();
    let p_value = wilcoxon_signed_rank(&logs);
    Comparison::judged(ratio, ratio_ci, p_value, noise)
}

/// Candidate/baseline ratio that never yields NaN: a zero baseline median is
/// "infinitely slower" unless the candidate is zero too (then equal).
fn safe_ratio(candidate: f64, baseline: f64) -> f64 {
    if baseline > 0.0 {
        candidate / baseline
    } else if candidate > 0.0 {
        f64::INFINITY
    } else {
        1.0
    }
}

/// Compare `candidate` against `baseline` samples: ratio =
/// median(candidate)/median(baseline) with a seeded bootstrap 95% CI
/// (resample both sides independently), p from Mann-Whitney U.
/// Verdict is Slower only if p < 0.05 AND ratio_ci[0] > 1 + noise; Faster
/// only if p < 0.05 AND ratio_ci[1] < 1 - noise; else Same.
///
/// Requiring both a significant test and a CI clear of the `noise` band keeps
/// small-but-real and large-but-unstable differences from being flagged.
/// If either side has no finite samples: ratio 1, CI [1, 1], p 1, `Same`.
pub fn compare(candidate: &[f64], baseline: &[f64], noise: f64, seed: u64) -> Comparison {
    let cand = sorted_copy(&finite_only(candidate));
    let base = sorted_copy(&finite_only(baseline));
    if cand.is_empty() || base.is_empty() {
        return Comparison {
            ratio: 1.0,
            ratio_ci: [1.0, 1.0],
            p_value: 1.0,
            verdict: Verdict::Same,
        };
    }
    let ratio = safe_ratio(percentile(&cand, 50.0), percentile(&base, 50.0));

    let mut ccounts = vec![0; cand.len()];
    let mut bcounts = vec![0; base.len()];
    let ratio_ci = bootstrap_interval(BOOTSTRAP_RESAMPLES, sub_seed(seed, 3), ratio, |rng| {
        draw_counts(&mut ccounts, rng);
        draw_counts(&mut bcounts, rng);
        safe_ratio(
            median_of_counts(&cand, &ccounts, cand.len()),
            median_of_counts(&base, &bcounts, base.len()),
        )
    });
    let p_value = mann_whitney_u(&cand, &base);

    Comparison::judged(ratio, ratio_ci, p_value, noise)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Noisy timings around `center`: center * (1 + 0.1 * N(0,1)), plus an
    /// occasional 3x spike, like real measurements.
    fn noisy(center: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix64::new(seed);
        let mut uniform = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        (0..n)
            .map(|_| {
                // Box-Muller; 1 - u keeps the log argument in (0, 1].
                let (u1, u2) = (1.0 - uniform(), uniform());
                let g = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                let spike = if uniform() < 0.03 { 3.0 } else { 1.0 };
                center * (1.0 + 0.1 * g).max(0.5) * spike
            })
            .collect()
    }

    #[test]
    fn percentile_matches_numpy_linear() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        // rank = p/100 * (n-1) = p/100 * 3
        // p=25: rank 0.75 -> 1 + 0.75*(2-1) = 1.75
        assert!(close(percentile(&xs, 25.0), 1.75, 1e-12));
        // p=50: rank 1.5 -> 2 + 0.5*(3-2) = 2.5
        assert!(close(percentile(&xs, 50.0), 2.5, 1e-12));
        // p=95: rank 2.85 -> 3 + 0.85*(4-3) = 3.85
        assert!(close(percentile(&xs, 95.0), 3.85, 1e-12));
        // Endpoints and clamping.
        assert_eq!(percentile(&xs, 0.0), 1.0);
        assert_eq!(percentile(&xs, 100.0), 4.0);
        assert_eq!(percentile(&xs, 150.0), 4.0);
        assert_eq!(percentile(&xs, -5.0), 1.0);
        assert_eq!(percentile(&[7.0], 30.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }

    #[test]
    fn mean_median_stddev_small_set() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        // mean = 40 / 8 = 5
        assert!(close(mean(&xs), 5.0, 1e-12));
        // sorted middle pair (4th, 5th) = 4, 5 -> 4.5
        assert!(close(median(&xs), 4.5, 1e-12));
        // squared deviations: 9+1+1+1+0+0+4+16 = 32; 32/(8-1) = 4.571428...; sqrt = 2.138089935...
        assert!(close(stddev(&xs), (32.0f64 / 7.0).sqrt(), 1e-12));
        assert!(close(stddev(&xs), 2.138_089_935_299_395, 1e-12));
        // Odd count, unsorted input: sorted [1,3,8] -> 3.
        assert_eq!(median(&[8.0, 1.0, 3.0]), 3.0);
        assert_eq!(stddev(&[5.0]), 0.0);
        assert_eq!(mean(&[]), 0.0);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn outlier_counts_one_mild_one_severe() {
        // n = 12, sorted: 10..=19, 30, 100
        // p25: rank 0.25*11 = 2.75 -> 12 + 0.75 = 12.75
        // p75: rank 0.75*11 = 8.25 -> 18 + 0.25 = 18.25
        // IQR = 5.5; mild fences 12.75 - 8.25 = 4.5 and 18.25 + 8.25 = 26.5
        // severe fences 12.75 - 16.5 = -3.75 and 18.25 + 16.5 = 34.75
        // 30 is in (26.5, 34.75] -> mild; 100 > 34.75 -> severe.
        let mut xs: Vec<f64> = (10..20).map(f64::from).collect();
        xs.extend([100.0, 30.0]);
        let s = summarize(&xs, 7).unwrap();
        assert!(close(s.p25_ns, 12.75, 1e-12));
        assert!(close(s.p75_ns, 18.25, 1e-12));
        assert!(close(s.iqr_ns, 5.5, 1e-12));
        assert_eq!(s.outliers_mild, 1);
        assert_eq!(s.outliers_severe, 1);
        assert_eq!(s.min_ns, 10.0);
        assert_eq!(s.max_ns, 100.0);
        // median: rank 5.5 -> (15 + 16) / 2 = 15.5; ops/s = 1e9 / 15.5
        assert!(close(s.median_ns, 15.5, 1e-12));
        assert!(close(s.ops_per_sec, 1e9 / 15.5, 1e-3));

        // Low side counts too: mirror the set.
        let mirrored: Vec<f64> = xs.iter().map(|x| 200.0 - x).collect();
        let s = summarize(&mirrored, 7).unwrap();
        assert_eq!((s.outliers_mild, s.outliers_severe), (1, 1));
    }

    #[test]
    fn summarize_degenerate_inputs() {
        assert_eq!(summarize(&[], 1), None);
        assert_eq!(summarize(&[f64::NAN], 1), None);
        let s = summarize(&[42.0], 1).unwrap();
        assert_eq!(s.median_ci_ns, [42.0, 42.0]);
        assert_eq!(s.mean_ci_ns, [42.0, 42.0]);
        assert_eq!(s.stddev_ns, 0.0);
        assert_eq!(s.p99_ns, 42.0);
        // NaN samples are dropped, not propagated.
        let s = summarize(&[1.0, f64::NAN, 3.0], 1).unwrap();
        assert_eq!(s.median_ns, 2.0);
        assert!(
            s.median_ci_ns
                .iter()
                .chain(&s.mean_ci_ns)
                .all(|x| x.is_finite())
        );
        // Zero median -> 0 ops/s, not inf.
        assert_eq!(summarize(&[0.0, 0.0], 1).unwrap().ops_per_sec, 0.0);
    }

    #[test]
    fn mann_whitney_separated_samples() {
        // a = 1..=10, b = 11..=20: no ties, rank sum of a = 55,
        // U1 = 55 - 10*11/2 = 0, mu = 10*10/2 = 50,
        // var = 10*10/12 * (20 + 1) = 175, sigma = 13.228756555
        // z = (|0 - 50| - 0.5) / 13.228756555 = 3.741809...
        // p = erfc(z / sqrt 2) = 1.8267e-4 (python: math.erfc(49.5/175**0.5/2**0.5)
        //   = 0.00018267...; scipy mannwhitneyu(method="asymptotic") agrees by formula)
        let a: Vec<f64> = (1..=10).map(f64::from).collect();
        let b: Vec<f64> = (11..=20).map(f64::from).collect();
        let p = mann_whitney_u(&a, &b);
        assert!(p < 0.001, "p = {p}");
        assert!(close(p, 1.826_7e-4, 1e-7), "p = {p}");
        // Symmetric in its arguments.
        assert!(close(mann_whitney_u(&b, &a), p, 1e-15));
    }

    #[test]
    fn mann_whitney_with_ties() {
        // a = [1,2,2,3], b = [2,3,4,5]. Pooled sorted: 1,2,2,2,3,3,4,5
        // ranks: 1 -> 1; 2,2,2 -> (2+3+4)/3 = 3; 3,3 -> (5+6)/2 = 5.5; 4 -> 7; 5 -> 8
        // R_a = 1 + 3 + 3 + 5.5 = 12.5; U1 = 12.5 - 4*5/2 = 2.5; mu = 8
        // tie term = (27-3) + (8-2) = 30; var = 16/12 * (9 - 30/56) = 11.285714...
        // z = (5.5 - 0.5) / sqrt(11.285714) = 5 / 3.359422 = 1.488351
        // p = erfc(1.488351 / sqrt 2) = 0.136658 (python math.erfc: 0.1366582477)
        let p = mann_whitney_u(&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 4.0, 5.0]);
        assert!(close(p, 0.136_658, 1e-5), "p = {p}");
    }

    #[test]
    fn mann_whitney_identical_and_degenerate() {
        // a = b = 1..=10: each value is a tie pair at ranks 2k-1, 2k -> avg 2k - 0.5,
        // R_a = 110 - 5 = 105, U1 = 105 - 55 = 50 = mu -> z clamps to 0 -> p = 1.
        let a: Vec<f64> = (1..=10).map(f64::from).collect();
        assert!(close(mann_whitney_u(&a, &a), 1.0, 1e-9));
        assert_eq!(mann_whitney_u(&[], &a), 1.0);
        assert_eq!(mann_whitney_u(&a, &[]), 1.0);
        assert_eq!(mann_whitney_u(&[3.0; 5], &[3.0; 7]), 1.0);
    }

    #[test]
    fn erfc_reference_values() {
        // Known values: erfc(0) = 1, erfc(1) = 0.157299207, erfc(-1) = 1.842700793,
        // erfc(2) = 0.004677735.
        assert!(close(erfc(0.0), 1.0, 1e-7));
        assert!(close(erfc(1.0), 0.157_299_207, 1e-7));
        assert!(close(erfc(-1.0), 1.842_700_793, 1e-7));
        assert!(close(erfc(2.0), 0.004_677_735, 1e-8));
    }

    #[test]
    fn bootstrap_deterministic_and_contains_estimate() {
        let xs = noisy(1000.0, 200, 11);
        let a = bootstrap_ci(&xs, median, 1000, 99);
        let b = bootstrap_ci(&xs, median, 1000, 99);
        assert_eq!(a, b);
        let c = bootstrap_ci(&xs, median, 1000, 100);
        assert_ne!(a, c, "different seeds should give different resamples");
        let m = median(&xs);
        assert!(a[0] <= m && m <= a[1], "{a:?} vs {m}");
        let mci = bootstrap_ci(&xs, mean, 1000, 5);
        let mu = mean(&xs);
        assert!(mci[0] <= mu && mu <= mci[1], "{mci:?} vs {mu}");
        assert!(a[0] < a[1]);

        let s1 = summarize(&xs, 3).unwrap();
        assert_eq!(s1, summarize(&xs, 3).unwrap());
        assert!(s1.median_ci_ns[0] <= s1.median_ns && s1.median_ns <= s1.median_ci_ns[1]);
        assert!(s1.mean_ci_ns[0] <= s1.mean_ns && s1.mean_ns <= s1.mean_ci_ns[1]);

        assert_eq!(bootstrap_ci(&[5.0], median, 100, 1), [5.0, 5.0]);
        assert_eq!(bootstrap_ci(&[], median, 100, 1), [0.0, 0.0]);
        assert_eq!(bootstrap_ci(&xs, median, 0, 1), [m, m]);
    }

    #[test]
    fn median_of_counts_matches_expanded_median() {
        // sorted [1, 2, 3, 4] with counts [2, 0, 1, 3] is the multiset
        // 1,1,3,4,4,4: middle pair (3rd, 4th) = 3, 4 -> 3.5
        assert_eq!(
            median_of_counts(&[1.0, 2.0, 3.0, 4.0], &[2, 0, 1, 3], 6),
            3.5
        );
        // counts [0, 3, 0, 2] -> 2,2,2,4,4: middle (3rd) = 2
        assert_eq!(
            median_of_counts(&[1.0, 2.0, 3.0, 4.0], &[0, 3, 0, 2], 5),
            2.0
        );
        assert_eq!(median_of_counts(&[1.0], &[0], 0), 0.0);
        // Random resamples: scan result equals the median of the expanded data.
        let sorted = sorted_copy(&noisy(100.0, 37, 8));
        let mut counts = vec![0; sorted.len()];
        let mut rng = SplitMix64::new(5);
        for _ in 0..50 {
            draw_counts(&mut counts, &mut rng);
            assert_eq!(counts.iter().sum::<u32>(), 37);
            let expanded: Vec<f64> = sorted
                .iter()
                .zip(&counts)
                .flat_map(|(&x, &c)| std::iter::repeat_n(x, c as usize))
                .collect();
            assert_eq!(median_of_counts(&sorted, &counts, 37), median(&expanded));
        }
    }

    #[test]
    fn median_in_place_matches_sorted_median() {
        let xs = noisy(50.0, 101, 4);
        for len in [1, 2, 3, 10, 101] {
            let sorted = sorted_copy(&xs[..len]);
            assert_eq!(median(&xs[..len]), percentile(&sorted, 50.0), "len {len}");
        }
    }

    #[test]
    fn compare_verdicts() {
        let base = noisy(1000.0, 100, 1);
        let slow = noisy(2000.0, 100, 2);
        let same = noisy(1000.0, 100, 3);
        let fast = noisy(500.0, 100, 4);

        let c = compare(&slow, &base, 0.02, 42);
        assert_eq!(c.verdict, Verdict::Slower, "{c:?}");
        assert!(c.ratio > 1.8 && c.ratio < 2.2, "{c:?}");
        assert!(c.ratio_ci[0] <= c.ratio && c.ratio <= c.ratio_ci[1]);
        assert!(c.p_value < 1e-6);

        let c = compare(&same, &base, 0.02, 42);
        assert_eq!(c.verdict, Verdict::Same, "{c:?}");
        assert!(c.ratio_ci[0] < 1.0 && 1.0 < c.ratio_ci[1], "{c:?}");

        let c = compare(&fast, &base, 0.02, 42);
        assert_eq!(c.verdict, Verdict::Faster, "{c:?}");
        assert!(c.ratio > 0.4 && c.ratio < 0.6, "{c:?}");

        // Deterministic for a seed.
        assert_eq!(
            compare(&slow, &base, 0.02, 9),
            compare(&slow, &base, 0.02, 9)
        );
        // A huge noise band swallows even a 2x change.
        assert_eq!(compare(&slow, &base, 1.5, 42).verdict, Verdict::Same);
    }

    #[test]
    fn compare_degenerate_inputs() {
        let c = compare(&[], &[1.0], 0.0, 1);
        assert_eq!(
            (c.ratio, c.ratio_ci, c.p_value, c.verdict),
            (1.0, [1.0, 1.0], 1.0, Verdict::Same)
        );
        let c = compare(&[3.0; 4], &[3.0; 4], 0.0, 1);
        assert_eq!(
            (c.ratio, c.ratio_ci, c.p_value, c.verdict),
            (1.0, [1.0, 1.0], 1.0, Verdict::Same)
        );
        // Zero baseline: no NaN anywhere.
        let c = compare(&[1.0, 2.0], &[0.0, 0.0], 0.0, 1);
        assert!(!c.ratio.is_nan() && c.ratio_ci.iter().all(|x| !x.is_nan()));
    }

    #[test]
    fn wilcoxon_matches_scipy() {
        // scipy.stats.wilcoxon(d, zero_method="wilcox", correction=True, method="approx")
        let p = wilcoxon_signed_rank(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, -9.0, 10.0]);
        assert!((p - 0.066_545_721_343_716_14).abs() < 1e-6, "{p}");
        // Ties share their average rank; zeros are dropped.
        let p = wilcoxon_signed_rank(&[0.0, 1.0, 1.0, -1.0, 2.0, 3.0, 3.0, 3.0, 4.0]);
        assert!((p - 0.028_377_266_737_987_44).abs() < 1e-6, "{p}");
        assert_eq!(wilcoxon_signed_rank(&[0.0, 0.0]), 1.0);
    }

    #[test]
    fn paired_comparison_cancels_a_shared_change_of_speed() {
        // Half the rounds ran at twice the time: unpaired, the two sides' medians land
        // anywhere in between; paired, every ratio is 1.1.
        let base: Vec<f64> = (0..40)
            .map(|i| if i % 3 == 0 { 2000.0 } else { 1000.0 } + (i % 7) as f64)
            .collect();
        let cand: Vec<f64> = base.iter().map(|b| b * 1.1).collect();
        let c = compare_paired(&cand, &base, 0.02, 7);
        assert!((c.ratio - 1.1).abs() < 1e-9, "{c:?}");
        assert!(c.ratio_ci[0] > 1.099 && c.ratio_ci[1] < 1.101, "{c:?}");
        assert_eq!(c.verdict, Verdict::Slower);
        assert!(c.p_value < 1e-6);

        let same = compare_paired(&base, &base, 0.02, 7);
        assert_eq!(same.verdict, Verdict::Same);
        assert_eq!(same.p_value, 1.0);
        assert_eq!(compare_paired(&[], &base, 0.02, 7).verdict, Verdict::Same);
    }
}
