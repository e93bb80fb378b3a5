//! The property: for random RRULEs, zones and date ranges, the occurrences Docket makes are the
//! `rrule` crate's expansion of the same rule, each once, in order. Each case creates a template
//! whose rule starts in the past and, as if no server had run since its start, sets its next
//! occurrence back to the first one (catch-up ALL); Docket then makes every occurrence up to
//! now plus the lead time. The expansion is the crate's, read here without Docket's wrapper.
//! `DOCKET_FUZZ_CASES` sets the number of cases (20 by default) and `DOCKET_FUZZ_SEED` the seed.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use docket::grpc::pb;
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use rrule::{RRuleSet, Tz};

use super::{create, database, fields, get, made, seconds};
use crate::helpers::team::Team;

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Pacific/Chatham",
];
const DAYS: &[&str] = &["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// A random rule of the kinds the contract names, sometimes bounded by COUNT or UNTIL.
fn rule(rng: &mut StdRng) -> String {
    let interval = rng.random_range(1..=3);
    let mut rule = match rng.random_range(0..5) {
        0 => format!("FREQ=DAILY;INTERVAL={interval}"),
        1 => {
            let days: Vec<&str> = DAYS
                .iter()
                .copied()
                .filter(|_| rng.random_bool(0.4))
                .collect();
            let days = if days.is_empty() { vec!["WE"] } else { days };
            format!("FREQ=WEEKLY;INTERVAL={interval};BYDAY={}", days.join(","))
        }
        2 => format!(
            "FREQ=MONTHLY;BYMONTHDAY={}",
            [1, 15, 28, 31, -1].choose(rng).expect("day")
        ),
        3 => {
            let position = [1, 2, -1].choose(rng).expect("position");
            format!(
                "FREQ=MONTHLY;BYDAY={position}{}",
                DAYS.choose(rng).expect("day")
            )
        }
        _ => format!(
            "FREQ=YEARLY;BYMONTH={};BYMONTHDAY={}",
            rng.random_range(1..=12),
            rng.random_range(1..=28)
        ),
    };
    match rng.random_range(0..3) {
        0 => rule.push_str(&format!(";COUNT={}", rng.random_range(1..=40))),
        1 => {
            let until = Utc::now() - chrono::Duration::days(rng.random_range(0..200));
            rule.push_str(&format!(";UNTIL={}", until.format("%Y%m%dT%H%M%SZ")));
        }
        _ => {}
    }
    rule
}

/// The crate's occurrences of `rule` from `start` (local, in `zone`) up to `horizon`.
fn expansion(rule: &str, zone: &str, start: &str, horizon: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let dtstart = start.replace(['-', ':'], "");
    let set: RRuleSet = format!("DTSTART;TZID={zone}:{dtstart}\nRRULE:{rule}")
        .parse()
        .expect("the crate reads the rule");
    set.before(horizon.with_timezone(&Tz::UTC))
        .all(2000)
        .dates
        .into_iter()
        .map(|at| at.with_timezone(&Utc))
        .filter(|at| *at <= horizon)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn occurrences_made_are_the_crates_expansion_each_once() {
    let cases: usize = std::env::var("DOCKET_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("DOCKET_FUZZ_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("expansion property: {cases} cases, DOCKET_FUZZ_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let team = Team::new().await;
    let db = database(&team).await;
    let token = &team.author.1;
    let mut checked = 0;
    while checked < cases {
        let rule = rule(&mut rng);
        let zone = *ZONES.choose(&mut rng).expect("zone");
        let day = NaiveDate::from_ymd_opt(2025, 1, 1).expect("date")
            + chrono::Duration::days(rng.random_range(0..600));
        let start = format!(
            "{}T{:02}:{:02}",
            day,
            rng.random_range(0..24),
            rng.random_range(0..60) / 15 * 15
        );
        let lead_days = rng.random_range(0..40);
        let schedule = pb::TaskSchedule {
            rrule: rule.clone(),
            time_zone: zone.into(),
            start: format!("{start}:00"),
            lead_time: seconds(lead_days * 86_400),
            ..Default::default()
        };
        let context = format!("{rule} in {zone} from {start}, lead {lead_days} days (seed {seed})");
        let template = match create(&team, token, "case", fields("case"), Some(schedule)).await {
            Ok(template) => template,
            // A start in a clock change's gap is refused; so is a rule the crate refuses.
            Err(status) if status.code() == tonic::Code::InvalidArgument => continue,
            Err(status) => panic!("{context}: {status:?}"),
        };
        let lead = chrono::Duration::days(lead_days);
        let before = Utc::now();
        let all = expansion(
            &rule,
            zone,
            &format!("{start}:00"),
            before + lead + chrono::Duration::days(400),
        );
        let Some(first) = all.first().copied() else {
            continue;
        };
        // As if no server had run since the rule's first occurrence.
        let id: uuid::Uuid = template.id.parse().expect("uuid");
        db.execute(
            "UPDATE task_templates SET state = 'ACTIVE', next_at = $2, wake_at = now(), \
             state_reason = NULL WHERE id = $1",
            &[&id, &first],
        )
        .await
        .expect("back to the first occurrence");
        let settled = settle(&team, token, &template.id).await;
        let after = Utc::now();
        let got = made(&db, &template.id).await;
        let times: Vec<DateTime<Utc>> = got
            .iter()
            .map(|m| m.scheduled_for.expect("scheduled"))
            .collect();
        let indexes: Vec<i32> = got.iter().map(|m| m.index.expect("index")).collect();
        assert_eq!(
            indexes,
            (1..=got.len() as i32).collect::<Vec<_>>(),
            "{context}"
        );
        assert_eq!(
            times,
            all[..times.len()],
            "{context}: a prefix of the expansion, in order"
        );
        let surely = all.iter().filter(|at| **at <= before + lead).count();
        let at_most = all.iter().filter(|at| **at <= after + lead).count();
        assert!(
            (surely..=at_most).contains(&times.len()),
            "{context}: {} made, the expansion has {surely} to {at_most} by now plus the lead",
            times.len()
        );
        assert_eq!(
            settled,
            all.get(times.len()).copied(),
            "{context}: the next is the one after"
        );
        checked += 1;
    }
}

/// Waits until the template has nothing left to make now; its next occurrence then.
async fn settle(team: &Team, token: &str, id: &str) -> Option<DateTime<Utc>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let status = get(team, token, id)
            .await
            .expect("get")
            .schedule_status
            .expect("status");
        let next = status.next_occurrence_at.map(|n| super::instant(&n));
        let lead = get(team, token, id)
            .await
            .expect("get")
            .schedule
            .and_then(|s| s.lead_time)
            .map_or(0, |l| l.seconds);
        let waiting = next.is_some_and(|n| n - chrono::Duration::seconds(lead) > Utc::now());
        if status.state == pb::ScheduleState::Ended as i32 || waiting {
            return next;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still making after a minute: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
