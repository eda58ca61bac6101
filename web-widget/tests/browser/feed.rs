//! Following the agent's change feed: offers made elsewhere, failures, 410.

use super::*;

/// Virtual time for the widget's pauses: each pause adds its length and lets the page run on.
pub(super) struct VirtualPauses {
    pub(super) paused_millis: Rc<Cell<f64>>,
}

impl VirtualPauses {
    pub(super) fn pause(&self) -> tm_web_widget::widget::Pause {
        let total = Rc::clone(&self.paused_millis);
        Box::new(move |millis| {
            total.set(total.get() + millis);
            Box::pin(settle())
        })
    }
}

/// A widget that follows the feed (no interval refresh), with virtual pauses.
pub(super) async fn following(
    api: &Rc<InPageApi>,
    key: &str,
    user: &str,
) -> (Rc<Widget>, VirtualPauses) {
    let pauses = VirtualPauses {
        paused_millis: Rc::new(Cell::new(0.0)),
    };
    let widget = mount_in_page(api, key, user, true, pauses.pause()).await;
    (widget, pauses)
}

/// Lets the page run until `done` holds or the widget has paused `budget_millis` (virtual)
/// more; answers whether `done` held, and the virtual time it took.
pub(super) async fn within(
    pauses: &VirtualPauses,
    budget_millis: f64,
    done: impl Fn() -> bool,
) -> (bool, f64) {
    let start = pauses.paused_millis.get();
    // Each round lets the widget's loop take a step; the budget bounds the rounds.
    for _ in 0..10_000 {
        if done() {
            return (true, pauses.paused_millis.get() - start);
        }
        if pauses.paused_millis.get() - start > budget_millis {
            break;
        }
        settle().await;
    }
    (done(), pauses.paused_millis.get() - start)
}

/// How often the widget has listed the tasks.
pub(super) fn list_reads(api: &InPageApi) -> usize {
    api.sent
        .borrow()
        .iter()
        .filter(|r| r.path().ends_with("/tasks"))
        .count()
}

/// The cursors the widget read its feed after, in order.
pub(super) fn feed_reads(api: &InPageApi) -> Vec<String> {
    api.sent
        .borrow()
        .iter()
        .filter(|r| r.path().ends_with("/events"))
        .map(|r| r.query_param("after").unwrap_or_default().to_string())
        .collect()
}

/// The bar: an offer made through the API (not through this widget) is on the agent's
/// screen within 2 s, with no interval refresh (`refresh_seconds` 0); the in-page API answers
/// `wait` at once, so this is the widget's own pause between reads at work.
#[wasm_bindgen_test]
async fn an_offer_made_elsewhere_shows_up_within_two_seconds_without_interval_refresh() {
    let api = InPageApi::new();
    let key = api.key();
    let (widget, pauses) = following(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    assert!(
        !feed_reads(&api).is_empty(),
        "the widget reads the user's feed"
    );
    let id = api.task_for_anna(&key, &[]);
    let (shown, took) = within(&pauses, 2_000.0, || {
        buttons(&root, &id).contains(&"Accept".to_string())
    })
    .await;
    widget.unmount();
    assert!(
        shown,
        "the offer is not on screen after {took} ms of the widget's pauses"
    );
    assert!(took <= 2_000.0, "{took}");
}

/// After the network fails (laptop asleep, Wi-Fi gone) the widget reads on from the cursor it
/// had, so a change made meanwhile still shows; a cursor the feed no longer keeps (410) makes
/// it list again and follow on from the new list.
#[wasm_bindgen_test]
async fn the_feed_resumes_from_its_cursor_after_failures_and_relists_after_410() {
    let api = InPageApi::new();
    let key = api.key();
    let (widget, pauses) = following(&api, &key, "anna@contoso.com").await;
    let root = widget.root().clone();
    let before = feed_reads(&api).last().cloned().unwrap_or_default();
    api.feed_reads_failing.set(3);
    let first = api.task_for_anna(&key, &[]);
    let (shown, took) = within(&pauses, 60_000.0, || !buttons(&root, &first).is_empty()).await;
    assert!(shown, "not shown after the failures ({took} ms)");
    let reads = feed_reads(&api);
    let failed_from = reads.iter().position(|c| *c == before).unwrap_or(0);
    assert!(
        reads[failed_from..].iter().take(4).all(|c| *c == before),
        "the reads after the failures go on from the same cursor: {reads:?}"
    );
    // 1 s, 2 s, 4 s: the pause doubles while reads fail.
    assert!(took >= 7_000.0, "{took}");
    let lists_before = list_reads(&api);
    *api.feed_gone_after.borrow_mut() = feed_reads(&api).last().cloned();
    let second = api.task_for_anna(&key, &[]);
    let (shown, took) = within(&pauses, 2_000.0, || !buttons(&root, &second).is_empty()).await;
    let lists_after = list_reads(&api);
    widget.unmount();
    assert!(shown, "not shown after a 410 ({took} ms)");
    assert!(
        lists_after > lists_before,
        "a 410 makes the widget list again"
    );
    let reads_after = feed_reads(&api);
    assert!(
        reads_after.last().is_some_and(|c| *c != before),
        "it follows on from a newer cursor: {reads_after:?}"
    );
}
