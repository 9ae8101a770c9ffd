//! The statistic the performance gates decide with: the change of a figure's median
//! from the baseline's rounds to the run's, with a percentile bootstrap interval. Both
//! samples are small (a handful of rounds each), skewed and sometimes heavy-tailed, so
//! the interval assumes no distribution: the rounds of each side are resampled with
//! replacement and the change recomputed, many times, from a fixed seed (the same run
//! always gets the same verdict).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Resamples per interval: enough that the 5th percentile moves by well under a
/// percent between seeds.
const RESAMPLES: usize = 4_000;

/// The median of `values` (the mean of the middle two for an even count); `None` when
/// empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
}

/// A change and its interval, as fractions (0.1: 10% worse).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    pub estimate: f64,
    /// The one-sided 95% bounds: 95% of resamples are above `low`, 95% below `high`.
    pub low: f64,
    pub high: f64,
}

/// How much worse `run` is than `baseline`, `worse(run_median, baseline_median)` (for
/// example `run / baseline - 1` where higher is worse), with its bootstrap interval;
/// `None` when either side has no value or the change is not a number (a median of 0
/// to divide by).
pub fn change(baseline: &[f64], run: &[f64], worse: impl Fn(f64, f64) -> f64) -> Option<Change> {
    let estimate = worse(median(run)?, median(baseline)?);
    if !estimate.is_finite() {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut draws: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| {
            let b = median(&resample(baseline, &mut rng))?;
            let r = median(&resample(run, &mut rng))?;
            Some(worse(r, b))
        })
        .collect();
    // A resample whose change is not a number makes the interval unknown, not narrower.
    if draws.iter().any(|d| !d.is_finite()) {
        return None;
    }
    draws.sort_by(f64::total_cmp);
    let at = |q: f64| draws[((draws.len() - 1) as f64 * q).round() as usize];
    Some(Change {
        estimate,
        low: at(0.05),
        high: at(0.95),
    })
}

fn resample(values: &[f64], rng: &mut impl Rng) -> Vec<f64> {
    (0..values.len())
        .map(|_| values[rng.random_range(0..values.len())])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slower(run: f64, baseline: f64) -> f64 {
        run / baseline - 1.0
    }

    #[test]
    fn medians_of_odd_even_and_empty_samples() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::NAN, 1.0]), Some(1.0));
    }

    #[test]
    fn a_clear_shift_has_an_interval_that_excludes_no_change() {
        // Thousands of resamples: a core's worth, kept apart from the timing tests.
        let _alone = crate::TIMING_TESTS.blocking_lock();
        let baseline = [1.00, 1.02, 0.98, 1.01, 0.99, 1.00];
        let run = [1.12, 1.10, 1.09, 1.11, 1.13, 1.10];
        let change = change(&baseline, &run, slower).unwrap();
        assert!((change.estimate - 0.105).abs() < 0.01, "{change:?}");
        assert!(change.low > 0.07 && change.high < 0.14, "{change:?}");
    }

    #[test]
    fn the_same_sample_twice_is_no_change_and_its_interval_spans_zero() {
        // Thousands of resamples: a core's worth, kept apart from the timing tests.
        let _alone = crate::TIMING_TESTS.blocking_lock();
        let rounds = [1.0, 1.3, 0.8, 1.1, 0.9, 1.2];
        let change = change(&rounds, &rounds, slower).unwrap();
        assert_eq!(change.estimate, 0.0);
        assert!(change.low < 0.0 && change.high > 0.0, "{change:?}");
    }

    #[test]
    fn the_interval_is_the_same_every_time() {
        // Thousands of resamples: a core's worth, kept apart from the timing tests.
        let _alone = crate::TIMING_TESTS.blocking_lock();
        let (a, b) = ([1.0, 1.1, 0.9, 1.05], [1.2, 1.0, 1.1, 1.3]);
        assert_eq!(change(&a, &b, slower), change(&a, &b, slower));
        assert_eq!(change(&[], &b, slower), None);
        // Nothing to divide by: no change can be told.
        assert_eq!(change(&[0.0, 0.0], &b, slower), None);
        assert_eq!(change(&[0.0, 1.0, 1.0], &b, slower), None);
    }
}
