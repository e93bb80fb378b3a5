//! Positions: their text sorts as their numbers do, and the old log's come first.

use super::*;

#[test]
fn positions_compare_as_text_as_they_do_as_numbers() {
    let positions = [0, 1, 9, 10, 0xff, 0x100, 0x1_0000_0000, i64::MAX].map(Position);
    for pair in positions.windows(2) {
        assert!(pair[0] < pair[1]);
        assert!(pair[0].to_string() < pair[1].to_string());
    }
    for position in positions {
        assert_eq!(position.to_string().len(), 32);
        assert_eq!(position.to_string().parse::<Position>(), Ok(position));
    }
    assert!("12".parse::<Position>().is_err());
    assert!("zz".repeat(16).parse::<Position>().is_err());
    assert!(
        format!("{}8{}", "0".repeat(16), "0".repeat(15))
            .parse::<Position>()
            .is_err(),
        "beyond i64"
    );
}

#[test]
fn positions_of_the_old_log_come_before_everything_kept() {
    // As the old log wrote them: the transaction id, then its sequence number.
    let old = format!("{:016x}{:016x}", 0x43_0076, 0x3e9);
    assert_eq!(old.parse::<Position>(), Ok(Position::FROM_OLD_LOG));
    assert!(Position::FROM_OLD_LOG < Position::START);
}
