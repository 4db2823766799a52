//! Latency distributions.
//!
//! Two forms, one per scenario entry:
//! - `{ fixed_ms = 30, jitter_ms = 120 }`: 30 ms plus a uniform draw up to 120 ms;
//! - `{ median_ms = 60, p99_ms = 400 }`: log-normal, the shape of real API latency (most calls
//!   near the median, a long tail), fitted so that half the calls take less than the median and
//!   99 % less than `p99_ms`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rng::CallRng;
use crate::scenario::ScenarioError;

/// The z-score of the 99th percentile of the standard normal distribution.
const Z_99: f64 = 2.326_347_874;

/// A latency distribution.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// A fixed part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_ms: Option<f64>,
    /// A uniform part on top of `fixed_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<f64>,
    /// The median of a log-normal distribution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_ms: Option<f64>,
    /// Its 99th percentile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
}

impl Latency {
    /// Checks that exactly one form is given with sensible values; `what` names it in errors.
    pub fn validate(&self, what: &str) -> Result<(), ScenarioError> {
        let invalid = |reason: &str| Err(ScenarioError::Invalid(format!("{what}: {reason}")));
        let nonneg = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v >= 0.0);
        let uniform = self.fixed_ms.is_some() || self.jitter_ms.is_some();
        let lognormal = self.median_ms.is_some() || self.p99_ms.is_some();
        match (uniform, lognormal) {
            (true, true) => invalid("either fixed_ms/jitter_ms or median_ms/p99_ms, not both"),
            (false, false) => invalid("needs fixed_ms/jitter_ms or median_ms and p99_ms"),
            (true, false) if !(nonneg(self.fixed_ms) && nonneg(self.jitter_ms)) => {
                invalid("fixed_ms and jitter_ms must be 0 or more")
            }
            (true, false) => Ok(()),
            (false, true) => match (self.median_ms, self.p99_ms) {
                (Some(m), Some(p)) if m > 0.0 && p >= m && p.is_finite() => Ok(()),
                (Some(_), Some(_)) => invalid("needs 0 < median_ms <= p99_ms"),
                _ => invalid("median_ms and p99_ms go together"),
            },
        }
    }

    /// One draw.
    pub fn sample(&self, rng: &mut CallRng) -> Duration {
        let ms = match (self.median_ms, self.p99_ms) {
            (Some(median), Some(p99)) if median > 0.0 && p99 >= median => {
                let mu = median.ln();
                let sigma = (p99.ln() - mu) / Z_99;
                // A cap keeps one freak draw from stalling a run: ten times the p99 is far
                // beyond anything the distribution is meant to describe.
                (mu + sigma * rng.normal()).exp().min(p99 * 10.0)
            }
            _ => {
                let fixed = self.fixed_ms.unwrap_or(0.0);
                let jitter = self.jitter_ms.unwrap_or(0.0);
                fixed + jitter * rng.next_f64()
            }
        };
        Duration::from_secs_f64(ms.max(0.0) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(latency: &Latency, n: u64) -> Vec<f64> {
        let mut out: Vec<f64> = (0..n)
            .map(|i| {
                let mut rng = CallRng::for_call(3, &["ec2"], i);
                latency.sample(&mut rng).as_secs_f64() * 1000.0
            })
            .collect();
        out.sort_by(f64::total_cmp);
        out
    }

    #[test]
    fn uniform_stays_within_its_bounds() {
        let l = Latency {
            fixed_ms: Some(30.0),
            jitter_ms: Some(120.0),
            ..Latency::default()
        };
        let d = draws(&l, 2000);
        assert!(
            d[0] >= 30.0 && d[d.len() - 1] <= 150.0,
            "{:?}",
            (d[0], d[d.len() - 1])
        );
        let mean = d.iter().sum::<f64>() / d.len() as f64;
        assert!((85.0..95.0).contains(&mean), "{mean}");
    }

    #[test]
    fn lognormal_hits_its_median_and_p99() {
        let l = Latency {
            median_ms: Some(60.0),
            p99_ms: Some(400.0),
            ..Latency::default()
        };
        let d = draws(&l, 20_000);
        let median = d[d.len() / 2];
        let p99 = d[d.len() * 99 / 100];
        assert!((55.0..65.0).contains(&median), "{median}");
        assert!((340.0..470.0).contains(&p99), "{p99}");
    }

    #[test]
    fn validation() {
        let ok = Latency {
            fixed_ms: Some(5.0),
            ..Latency::default()
        };
        assert!(ok.validate("l").is_ok());
        let both = Latency {
            fixed_ms: Some(5.0),
            median_ms: Some(5.0),
            p99_ms: Some(6.0),
            ..Latency::default()
        };
        assert!(both.validate("l").is_err());
        let backwards = Latency {
            median_ms: Some(50.0),
            p99_ms: Some(10.0),
            ..Latency::default()
        };
        assert!(backwards.validate("l").is_err());
        assert!(Latency::default().validate("l").is_err());
    }
}
