//! The call's deadline and its state, shared with the work that sets a deadline of its own.

use super::*;

#[tokio::test(start_paused = true)]
async fn work_past_its_deadline_is_dropped() {
    let until = Instant::now() + Duration::from_secs(2);
    let outcome = within(until, async {
        assert_eq!(deadline(), Some(until));
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    assert_eq!(outcome, Err(TimedOut(Duration::from_secs(2))));
    assert_eq!(deadline(), None);
}

#[tokio::test(start_paused = true)]
async fn work_within_its_deadline_answers() {
    let deadline = Instant::now() + Duration::from_secs(2);
    assert_eq!(within(deadline, async { 7 }).await, Ok(7));
}

#[tokio::test(start_paused = true)]
async fn work_with_its_own_deadline_keeps_the_calls_state() {
    let limits = StreamLimits::new(streams::StreamSizes {
        fetch_connections: 1,
        max_open: 1,
        stream_bytes: 1024,
        caller_bytes: 1024,
        total_bytes: 1024,
    });
    let workspace = Uuid::new_v4();
    let call_deadline = Instant::now() + Duration::from_secs(10);
    let ((own_deadline, own_owner), ended) = CallContext::serve(call_deadline, limits, async {
        set_owner("w/USER:u");
        let own = within(Instant::now() + Duration::from_secs(1), async {
            mark_written(workspace);
            mark_written(workspace);
            (deadline(), owner())
        })
        .await
        .expect("within its own deadline");
        assert_eq!(deadline(), Some(call_deadline));
        own
    })
    .await
    .unwrap();
    assert_eq!(own_deadline, Some(Instant::now() + Duration::from_secs(1)));
    assert_eq!(own_owner.as_deref(), Some("w/USER:u"));
    assert_eq!(ended.wrote_events, vec![workspace]);
    assert_eq!(owner(), None);
    mark_written(workspace);
}
