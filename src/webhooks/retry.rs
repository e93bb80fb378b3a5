//! When a failed delivery is tried again: exponential back-off with jitter, the way the
//! Standard Webhooks guidance and most senders do it. Written out here (a few lines) rather than
//! taken from a retry crate, because the attempt count lives in the database (a subscription's
//! streak of failures survives a server's death) and `Retry-After` overrides the schedule.

use std::time::Duration;

/// The first retry's wait.
pub const FIRST: Duration = Duration::from_secs(1);
/// The longest wait, whatever the streak or `Retry-After` says.
pub const LONGEST: Duration = Duration::from_secs(3600);

/// The wait before trying again after the `failures`-th failure in a row (1 for the first): 1 s,
/// 2 s, 4 s, ... up to an hour, each between 80% and 120% of that (jitter, so that receivers
/// coming back are not hit by every sender at once). A receiver's `Retry-After` is taken as
/// asked, up to an hour.
pub fn wait(failures: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(asked) = retry_after {
        return asked.min(LONGEST);
    }
    let exponent = failures.saturating_sub(1).min(12);
    let base = FIRST.saturating_mul(1 << exponent).min(LONGEST);
    let jitter = 0.8 + 0.4 * f64::from(getrandom::u32().unwrap_or(0)) / f64::from(u32::MAX);
    base.mul_f64(jitter).min(LONGEST)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_a_second_to_an_hour_with_jitter() {
        for (failures, base) in [
            (1, 1.0),
            (2, 2.0),
            (3, 4.0),
            (10, 512.0),
            (13, 3600.0),
            (40, 3600.0),
        ] {
            for _ in 0..50 {
                let waited = wait(failures, None).as_secs_f64();
                assert!(waited >= base * 0.8 - 1e-9, "{failures}: {waited}");
                assert!(
                    waited <= (base * 1.2).min(3600.0) + 1e-9,
                    "{failures}: {waited}"
                );
            }
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_an_hour() {
        assert_eq!(
            wait(5, Some(Duration::from_secs(3))),
            Duration::from_secs(3)
        );
        assert_eq!(wait(1, Some(Duration::from_secs(86400))), LONGEST);
    }
}
