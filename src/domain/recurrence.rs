//! Recurrence rules, the ground recurring tasks will stand on (issue 25): an RFC 5545 RRULE in an
//! IANA time zone from a first local date-time, with local dates skipped (EXDATE). Expansion is
//! the `rrule` crate's (well kept, DST-correct through chrono-tz), not Docket's own: a weekly
//! 09:00 Europe/Berlin rule stays at 09:00 local on both sides of a clock change. Only daily and
//! coarser rules are taken: a task every minute is a loop, not a schedule.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use rrule::{Frequency, RRule, RRuleSet, Tz, Unvalidated};

/// Occurrences one call expands at most.
pub const MAX_EXPANDED: u16 = 1000;

/// Dates a rule may skip.
pub const MAX_SKIPPED: usize = 366;

/// Why a rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecurrenceError {
    #[error("{0:?} is not a time zone this server knows")]
    UnknownZone(String),
    #[error("not a recurrence rule: {0}")]
    Unreadable(String),
    #[error("repeats {0}: rules repeat daily, weekly, monthly or yearly")]
    TooFrequent(String),
    #[error("the first occurrence, {0}, does not exist in the zone (a daylight saving gap)")]
    NoSuchLocalTime(NaiveDateTime),
    #[error("at most {MAX_SKIPPED} skipped dates")]
    TooManySkipped,
}

/// A checked rule, ready to expand.
#[derive(Debug, Clone)]
pub struct Recurrence {
    set: RRuleSet,
    zone: chrono_tz::Tz,
}

impl Recurrence {
    /// `rule` as an RRULE's value ("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=10"), its occurrences from
    /// `first` in `zone`, none on the `skipped` dates (at `first`'s time of day).
    pub fn parse(
        rule: &str,
        zone: &str,
        first: NaiveDateTime,
        skipped: &[NaiveDate],
    ) -> Result<Self, RecurrenceError> {
        let named = zone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| RecurrenceError::UnknownZone(zone.to_owned()))?;
        let zone: Tz = named.into();
        if skipped.len() > MAX_SKIPPED {
            return Err(RecurrenceError::TooManySkipped);
        }
        let local = |at: NaiveDateTime| {
            zone.from_local_datetime(&at)
                .earliest()
                .ok_or(RecurrenceError::NoSuchLocalTime(at))
        };
        let start = local(first)?;
        // Parsed as one property's value: a line break cannot smuggle in another property.
        let unread = |e: &dyn std::fmt::Display| RecurrenceError::Unreadable(e.to_string());
        let parsed: RRule<Unvalidated> = rule.trim().parse().map_err(|e| unread(&e))?;
        let frequency = parsed.get_freq();
        if !matches!(
            frequency,
            Frequency::Daily | Frequency::Weekly | Frequency::Monthly | Frequency::Yearly
        ) {
            return Err(RecurrenceError::TooFrequent(
                format!("{frequency:?}").to_lowercase(),
            ));
        }
        let mut set = RRuleSet::new(start).rrule(parsed.validate(start).map_err(|e| unread(&e))?);
        for date in skipped {
            // A skipped date in a gap has no occurrence to skip.
            if let Ok(at) = local(date.and_time(first.time())) {
                set = set.exdate(at);
            }
        }
        Ok(Self { set, zone: named })
    }

    /// `time` on the local date of `at` in the rule's zone, or on the next day if that comes
    /// before `at`. A local time that does not exist that day (a spring-forward gap) is read with
    /// the offset before the gap, as RFC 5545 reads such times (02:30 becomes 03:30); one that
    /// exists twice (autumn) is the first of the two.
    pub fn local_time_on_or_after(
        &self,
        at: DateTime<Utc>,
        time: chrono::NaiveTime,
    ) -> Option<DateTime<Utc>> {
        let date = at.with_timezone(&self.zone).date_naive();
        let on = |date: NaiveDate| resolve_local(&self.zone, date.and_time(time));
        let same_day = on(date)?;
        if same_day >= at {
            Some(same_day)
        } else {
            on(date.succ_opt()?)
        }
    }

    /// The first occurrence strictly after `instant`, if the rule has one.
    pub fn next_after(&self, instant: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let from = instant.with_timezone(&Tz::UTC);
        self.set
            .clone()
            .after(from)
            .all(2)
            .dates
            .into_iter()
            .map(|at| at.with_timezone(&Utc))
            .find(|at| *at > instant)
    }

    /// The occurrences after `from` up to and including `to`, at most `limit` (and
    /// [`MAX_EXPANDED`]), earliest first; and whether there were more.
    pub fn between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u16,
    ) -> (Vec<DateTime<Utc>>, bool) {
        let limit = limit.min(MAX_EXPANDED);
        let expanded = self
            .set
            .clone()
            .after(from.with_timezone(&Tz::UTC))
            .before(to.with_timezone(&Tz::UTC))
            .all(limit.saturating_add(1));
        let mut dates: Vec<DateTime<Utc>> = expanded
            .dates
            .into_iter()
            .map(|at| at.with_timezone(&Utc))
            .filter(|at| *at > from && *at <= to)
            .collect();
        let more = dates.len() > usize::from(limit) || expanded.limited;
        dates.truncate(usize::from(limit));
        (dates, more)
    }
}

/// The instant a local date-time names in `zone`, by RFC 5545's rules for gaps and overlaps.
fn resolve_local(zone: &chrono_tz::Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    use chrono::{LocalResult, Offset};
    match zone.from_local_datetime(&local) {
        LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Some(at.with_timezone(&Utc)),
        LocalResult::None => {
            // In a gap: the offset in force before it (gaps last hours, not days).
            let before = local - chrono::Duration::hours(6);
            let offset = zone.from_local_datetime(&before).earliest()?.offset().fix();
            Some(Utc.from_utc_datetime(&(local - offset)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|day| day.and_hms_opt(h, min, 0))
            .expect("a date")
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.from_utc_datetime(&local(y, m, d, h, min))
    }

    #[test]
    fn weekly_at_nine_in_berlin_stays_at_nine_across_both_clock_changes() {
        let rule = "FREQ=WEEKLY;BYDAY=MO";
        let weekly = Recurrence::parse(rule, "Europe/Berlin", local(2026, 3, 23, 9, 0), &[])
            .expect("a rule");
        let (spring, _) = weekly.between(utc(2026, 3, 20, 0, 0), utc(2026, 4, 1, 0, 0), 10);
        assert_eq!(spring, [utc(2026, 3, 23, 8, 0), utc(2026, 3, 30, 7, 0)]);
        let (autumn, _) = weekly.between(utc(2026, 10, 19, 0, 0), utc(2026, 11, 1, 0, 0), 10);
        assert_eq!(autumn, [utc(2026, 10, 19, 7, 0), utc(2026, 10, 26, 8, 0)]);
    }

    #[test]
    fn monthly_by_weekday_position_count_and_skipped_dates() {
        // The last Friday of each month at 17:00 in New York, four times, skipping May's.
        let skipped = [NaiveDate::from_ymd_opt(2026, 5, 29).expect("date")];
        let rule = "FREQ=MONTHLY;BYDAY=-1FR;COUNT=4";
        let monthly = Recurrence::parse(
            rule,
            "America/New_York",
            local(2026, 3, 27, 17, 0),
            &skipped,
        )
        .expect("a rule");
        let (all, more) = monthly.between(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0), 10);
        assert_eq!(
            all,
            [
                utc(2026, 3, 27, 21, 0),
                utc(2026, 4, 24, 21, 0),
                utc(2026, 6, 26, 21, 0)
            ]
        );
        assert!(!more);
        assert_eq!(
            monthly.next_after(utc(2026, 3, 27, 21, 0)),
            Some(utc(2026, 4, 24, 21, 0)),
            "strictly after"
        );
        assert_eq!(monthly.next_after(utc(2026, 6, 26, 21, 0)), None, "done");
    }

    #[test]
    fn tokyo_has_no_clock_change_and_until_ends_a_daily_rule() {
        let rule = "FREQ=DAILY;UNTIL=20260105T000000Z";
        let daily =
            Recurrence::parse(rule, "Asia/Tokyo", local(2026, 1, 1, 9, 0), &[]).expect("a rule");
        let (days, _) = daily.between(utc(2025, 12, 31, 0, 0), utc(2026, 2, 1, 0, 0), 10);
        // UNTIL counts: the 5th's 09:00 in Tokyo is 00:00 UTC, UNTIL itself.
        assert_eq!(days.len(), 5, "1 to 5 January");
        assert!(
            days.iter()
                .all(|at| at.format("%H:%M").to_string() == "00:00")
        );
    }

    #[test]
    fn a_limit_says_there_were_more() {
        let daily =
            Recurrence::parse("FREQ=DAILY", "UTC", local(2026, 1, 1, 9, 0), &[]).expect("rule");
        let (days, more) = daily.between(utc(2026, 1, 1, 0, 0), utc(2027, 1, 1, 0, 0), 5);
        assert_eq!(days.len(), 5);
        assert!(more);
    }

    #[test]
    fn refused_rules_say_why() {
        let first = local(2026, 1, 1, 9, 0);
        let refused = |rule: &str, zone: &str, first| Recurrence::parse(rule, zone, first, &[]);
        assert!(matches!(
            refused("FREQ=HOURLY", "UTC", first),
            Err(RecurrenceError::TooFrequent(_))
        ));
        assert!(matches!(
            refused("FREQ=WEEKLY\nDTSTART:20200101T000000Z", "UTC", first),
            Err(RecurrenceError::Unreadable(_))
        ));
        assert!(matches!(
            refused("FREQ=SOMETIMES", "UTC", first),
            Err(RecurrenceError::Unreadable(_))
        ));
        assert!(matches!(
            refused("FREQ=DAILY", "Mars/Olympus", first),
            Err(RecurrenceError::UnknownZone(_))
        ));
        assert_eq!(
            refused("FREQ=DAILY", "Europe/Berlin", local(2026, 3, 29, 2, 30)).err(),
            Some(RecurrenceError::NoSuchLocalTime(local(2026, 3, 29, 2, 30)))
        );
    }
}
