//! Which occurrences a schedule makes when the worker comes to it: pure arithmetic over the rule's
//! expansion (`domain::recurrence`), the schedule's standing and the database's clock, so that
//! catch-up, lead time and the end of a rule are tested without a database.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::{recurrence::Recurrence, vocabulary::CatchUp};

/// An occurrence whose scheduled time passed longer ago than this when a server came to it was
/// missed (no server ran): the catch-up policy decides whether it is made.
pub const MISSED_AFTER: Duration = Duration::from_secs(60);

/// Occurrences one pass makes or skips at most; the rest follow in the next pass.
pub const PER_PASS: u16 = 100;

/// What one pass does.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Occurrences to make now, earliest first.
    pub make: Vec<DateTime<Utc>>,
    /// Occurrences missed and left by the catch-up policy (each an OCCURRENCE_SKIPPED event).
    pub missed: Vec<DateTime<Utc>>,
    /// The next occurrence not made after this pass; None: the rule has no more.
    pub next: Option<DateTime<Utc>>,
}

fn span(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// When an occurrence scheduled for `at` is to be made: `lead` before it.
pub fn make_at(at: DateTime<Utc>, lead: Duration) -> DateTime<Utc> {
    at.checked_sub_signed(span(lead)).unwrap_or(at)
}

/// The first occurrence a schedule set at `now` makes: the rule's first after now, less the
/// grace of a missed one (a schedule set a few seconds after its start still makes it), and after
/// the series' latest one.
pub fn first_from(
    recurrence: &Recurrence,
    now: DateTime<Utc>,
    latest: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    let from = now - span(MISSED_AFTER);
    recurrence.next_after(latest.map_or(from, |latest| latest.max(from)))
}

/// A fixed schedule's pass at `now`, from its next occurrence `next`: every occurrence whose time
/// to be made (`lead` before it) has come, those missed kept or left by `catch_up`.
pub fn fixed(
    recurrence: &Recurrence,
    next: DateTime<Utc>,
    lead: Duration,
    catch_up: CatchUp,
    now: DateTime<Utc>,
) -> Plan {
    if make_at(next, lead) > now {
        return Plan {
            next: Some(next),
            ..Plan::default()
        };
    }
    let horizon = now.checked_add_signed(span(lead)).unwrap_or(now);
    let (later, _) = recurrence.between(next, horizon, PER_PASS - 1);
    let due: Vec<DateTime<Utc>> = std::iter::once(next).chain(later).collect();
    let last = *due.last().unwrap_or(&next);
    let missed_before = now - span(MISSED_AFTER);
    let (missed, on_time): (Vec<_>, Vec<_>) = due.into_iter().partition(|at| *at < missed_before);
    let (kept, left) = match catch_up {
        CatchUp::All => (missed, Vec::new()),
        CatchUp::Latest => {
            let mut left = missed;
            let latest = left.pop();
            (latest.into_iter().collect(), left)
        }
        CatchUp::None => (Vec::new(), missed),
    };
    Plan {
        make: kept.into_iter().chain(on_time).collect(),
        missed: left,
        next: recurrence.next_after(last),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    fn utc(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, d, h, m, 0)
            .single()
            .expect("a time")
    }

    fn daily_at_nine() -> Recurrence {
        let first = NaiveDate::from_ymd_opt(2026, 3, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("a start");
        Recurrence::parse("FREQ=DAILY", "UTC", first, &[]).expect("a rule")
    }

    #[test]
    fn nothing_is_made_before_its_lead_time() {
        let plan = fixed(
            &daily_at_nine(),
            utc(5, 9, 0),
            Duration::ZERO,
            CatchUp::All,
            utc(5, 8, 59),
        );
        assert_eq!(
            plan,
            Plan {
                next: Some(utc(5, 9, 0)),
                ..Plan::default()
            }
        );
        let hour = Duration::from_secs(3600);
        let early = fixed(
            &daily_at_nine(),
            utc(5, 9, 0),
            hour,
            CatchUp::All,
            utc(5, 8, 0),
        );
        assert_eq!(early.make, [utc(5, 9, 0)], "an hour ahead");
        assert_eq!(early.next, Some(utc(6, 9, 0)));
    }

    #[test]
    fn missed_occurrences_follow_the_catch_up_policy() {
        // Down from the 2nd to the 5th at 09:00:30: the 2nd, 3rd and 4th were missed; the 5th is
        // within the minute of grace.
        let now = utc(5, 9, 0) + chrono::Duration::seconds(30);
        let rule = daily_at_nine();
        let all = fixed(&rule, utc(2, 9, 0), Duration::ZERO, CatchUp::All, now);
        assert_eq!(
            all.make,
            [utc(2, 9, 0), utc(3, 9, 0), utc(4, 9, 0), utc(5, 9, 0)]
        );
        assert!(all.missed.is_empty());
        let latest = fixed(&rule, utc(2, 9, 0), Duration::ZERO, CatchUp::Latest, now);
        assert_eq!(latest.make, [utc(4, 9, 0), utc(5, 9, 0)]);
        assert_eq!(latest.missed, [utc(2, 9, 0), utc(3, 9, 0)]);
        let none = fixed(&rule, utc(2, 9, 0), Duration::ZERO, CatchUp::None, now);
        assert_eq!(none.make, [utc(5, 9, 0)]);
        assert_eq!(none.missed.len(), 3);
        for plan in [all, latest, none] {
            assert_eq!(plan.next, Some(utc(6, 9, 0)));
        }
    }

    #[test]
    fn a_long_outage_is_made_up_a_pass_at_a_time_and_a_rule_runs_out() {
        let first = NaiveDate::from_ymd_opt(2020, 1, 1)
            .and_then(|d| d.and_hms_opt(9, 0, 0))
            .expect("a start");
        let rule = Recurrence::parse("FREQ=DAILY", "UTC", first, &[]).expect("a rule");
        let start = Utc
            .with_ymd_and_hms(2020, 1, 1, 9, 0, 0)
            .single()
            .expect("t");
        let plan = fixed(&rule, start, Duration::ZERO, CatchUp::All, utc(1, 0, 0));
        assert_eq!(plan.make.len(), usize::from(PER_PASS));
        assert_eq!(
            plan.next,
            Some(start + chrono::Duration::days(i64::from(PER_PASS)))
        );
        let twice = Recurrence::parse("FREQ=DAILY;COUNT=2", "UTC", first, &[]).expect("a rule");
        let ended = fixed(&twice, start, Duration::ZERO, CatchUp::All, utc(1, 0, 0));
        assert_eq!(ended.make.len(), 2);
        assert_eq!(ended.next, None);
    }

    #[test]
    fn a_schedule_starts_after_now_and_after_its_latest_occurrence() {
        let rule = daily_at_nine();
        assert_eq!(
            first_from(&rule, utc(5, 9, 0) + chrono::Duration::seconds(20), None),
            Some(utc(5, 9, 0))
        );
        assert_eq!(first_from(&rule, utc(5, 10, 0), None), Some(utc(6, 9, 0)));
        assert_eq!(
            first_from(&rule, utc(5, 8, 0), Some(utc(6, 9, 0))),
            Some(utc(7, 9, 0))
        );
    }
}
