//! Clock skew between switch instances: two cores share one store and one Antom, and their
//! clocks differ by up to `timing.max_clock_skew_ms`. A closing time one instance wrote is
//! judged by another's clock, so the one running ahead must not close early, and the one
//! running behind must not say 00 after the closing time. Beyond the tolerance the timing
//! promises weaken by the excess, but what the merchant is told still agrees with Antom.

use asw_core::flows::{OrderCodeRequest, OriginalRef, StatusInquiry};
use asw_core::ports::{Clock, PayReceipt, PaymentStatus, UpstreamOutcome};

use crate::common::*;

/// The tolerance of the default timing.
const TOLERANCE: i64 = 500;

fn order_code_req(h: &Harness, n: u32) -> OrderCodeRequest {
    let request = h.key(T1, n);
    OrderCodeRequest {
        payment_request_id: prid_of(&request),
        request,
        amount_minor: AMOUNT,
        currency_numeric: SGD,
        reference_order_id: None,
        content_digest: DIGEST.into(),
    }
}

fn code_created() -> UpstreamOutcome<PayReceipt> {
    UpstreamOutcome::Success(PayReceipt {
        payment_id: Some("P-OC".into()),
        order_code: Some("https://qr.example/1".into()),
        ..PayReceipt::default()
    })
}

fn poll(request: &OrderCodeRequest) -> StatusInquiry {
    StatusInquiry {
        origin: request.request.origin.clone(),
        original: OriginalRef {
            payment_request_id: Some(request.payment_request_id.as_str().to_string()),
            ..OriginalRef::default()
        },
    }
}

/// `h` shows an order code; returns the request and the closing time it stored (by its clock).
async fn order_code_shown_by(h: &Harness, n: u32) -> (OrderCodeRequest, i64) {
    let req = order_code_req(h, n);
    h.upstream
        .script_pay(req.payment_request_id.as_str(), [code_created()]);
    let (reply, sent) = reply(Delivery::Works);
    h.core.order_code(req.clone(), reply).await;
    assert_eq!(sent.only().outcome, Outcome::AwaitingBuyer, "set-up code");
    let closing = h.record(&req.payment_request_id).gateway_deadline_ms;
    (req, closing)
}

/// Sleeps until the shared time line reads `at`.
async fn until(h: &Harness, at: i64) {
    let now = h.clock.now_ms();
    assert!(at >= now, "the test went past {at}");
    h.sleep(ms(at - now)).await;
}

#[test]
fn the_default_tolerance_is_half_a_second_and_must_fit_in_the_close_margins() {
    let t = timing();
    assert_eq!(t.max_clock_skew_ms, TOLERANCE);
    assert!(t.problems().is_empty());

    let mut negative = timing();
    negative.max_clock_skew_ms = -1;
    assert!(
        negative
            .problems()
            .iter()
            .any(|(key, _)| *key == "timing.max_clock_skew_ms")
    );

    // A close margin no wider than the skew plus the delivery margin is refused, by name.
    let mut tight = timing();
    tight.max_clock_skew_ms = 1_000;
    tight.delivery_margin_ms = 500;
    tight.online_close_margin_ms = 1_500;
    tight.order_code_close_margin_ms = 1_500;
    let problems = tight.problems();
    for key in [
        "timing.online_close_margin_ms",
        "timing.order_code_close_margin_ms",
    ] {
        let (_, message) = problems
            .iter()
            .find(|(k, _)| *k == key)
            .unwrap_or_else(|| panic!("{key} not refused: {problems:?}"));
        assert!(message.contains("timing.max_clock_skew_ms"), "{message}");
    }
    tight.online_close_margin_ms = 1_501;
    tight.order_code_close_margin_ms = 1_501;
    assert!(tight.problems().is_empty(), "{:?}", tight.problems());
}

/// The instance whose clock runs ahead by the whole tolerance sweeps: nothing is closed before
/// the closing time the writing instance stored, on the shared time line.
#[tokio::test(start_paused = true)]
async fn a_sweeper_whose_clock_runs_ahead_never_closes_before_the_closing_time() {
    let writer = Harness::new();
    let fast = writer.twin(TOLERANCE);
    let (req, closing) = order_code_shown_by(&writer, 1).await;
    let prid = req.payment_request_id.clone();
    // The buyer has not paid: Antom reports the code processing at every look.
    writer.upstream.script_inquiry(
        prid.as_str(),
        [
            inquiry(PaymentStatus::Processing),
            inquiry(PaymentStatus::Processing),
        ],
    );

    // One millisecond before the closing time; the fast clock reads it past by 499 ms.
    until(&writer, closing - 1).await;
    assert!(fast.now_ms() > closing);
    assert!(
        fast.sweep().await.is_empty(),
        "closed before its closing time"
    );
    assert_eq!(writer.record(&prid).state, TxnState::Unknown);
    assert!(writer.queue().is_empty(), "nothing cancelled yet");

    // At the closing time it is closed (and cancelled at Antom through the queue).
    until(&writer, closing).await;
    assert_eq!(fast.sweep().await, vec![prid.as_str().to_string()]);
    assert_eq!(writer.record(&prid).state, TxnState::CancelPending);
    assert!(is_cancel(only_entry(&writer.queue())));
}

/// The instance whose clock runs behind by the whole tolerance learns the payment succeeded
/// just after the closing time (its clock still reads before it): it must not say 00 — the
/// fast instance is already entitled to close it — and the sweeper then cancels it.
#[tokio::test(start_paused = true)]
async fn an_instance_whose_clock_runs_behind_never_says_00_after_the_closing_time() {
    let mut t = timing();
    // A delivery margin narrower than the skew: without the tolerance, the slow clock would
    // still find time to hand the approval over after the closing time.
    t.delivery_margin_ms = 200;
    let writer = Harness::with_timing(t);
    let slow = writer.twin(-TOLERANCE);
    let fast = writer.twin(TOLERANCE);
    let (req, closing) = order_code_shown_by(&writer, 1).await;
    let prid = req.payment_request_id.clone();

    // 100 ms after the closing time: the slow clock reads 400 ms before it.
    until(&writer, closing + 100).await;
    assert!(slow.now_ms() < closing - 200);
    writer
        .upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Success)]);
    let answer = slow.status(poll(&req)).await;

    assert_ne!(
        answer.outcome,
        Outcome::Approved,
        "00 after the closing time"
    );
    assert_eq!(answer.approval_code, None);
    let record = writer.record(&prid);
    assert_eq!(record.state, TxnState::Approved, "Antom's success is kept");
    assert!(!record.delivery.handed_to_terminal());

    // The fast sweeper closes it: the approval nobody was told is cancelled.
    writer
        .upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Success)]);
    fast.sweep().await;
    assert_eq!(writer.record(&prid).state, TxnState::CancelPending);
    assert!(is_cancel(only_entry(&writer.queue())));
}

/// Inside the tolerance, up to the last moment before the closing time the slow instance may
/// still hand the approval over (minus the margins), and then the sweeper leaves it alone.
#[tokio::test(start_paused = true)]
async fn an_approval_well_before_the_closing_time_is_told_by_the_slow_instance_and_kept() {
    let writer = Harness::new();
    let slow = writer.twin(-TOLERANCE);
    let fast = writer.twin(TOLERANCE);
    let (req, closing) = order_code_shown_by(&writer, 1).await;
    let prid = req.payment_request_id.clone();
    let t = timing();

    // The last moment the slow clock may still say 00: the closing time less the delivery
    // margin, less the skew a faster clock may be ahead.
    until(&writer, closing - t.delivery_margin_ms - 1).await;
    assert!(slow.now_ms() + TOLERANCE < closing - t.delivery_margin_ms);
    writer
        .upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Success)]);
    let answer = slow.status(poll(&req)).await;
    assert_eq!(answer.outcome, Outcome::Approved);

    until(&writer, closing + TOLERANCE).await;
    fast.sweep().await;
    let record = writer.record(&prid);
    assert_eq!(record.state, TxnState::Approved, "a told approval stays");
    assert!(writer.queue().is_empty());
}

/// Beyond the tolerance (the clocks differ by three times it), the fast instance closes early
/// by the excess — the timing promise breaks — but never against Antom: a success learned
/// afterwards by the other instance is not told, and the cancel takes it back.
#[tokio::test(start_paused = true)]
async fn beyond_the_tolerance_a_payment_may_close_early_but_merchant_and_antom_still_agree() {
    let writer = Harness::new();
    let too_fast = writer.twin(3 * TOLERANCE);
    let (req, closing) = order_code_shown_by(&writer, 1).await;
    let prid = req.payment_request_id.clone();
    writer
        .upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Processing)]);

    // 2 × tolerance before the closing time, the too-fast clock's horizon reaches it.
    until(&writer, closing - 2 * TOLERANCE).await;
    assert_eq!(too_fast.sweep().await, vec![prid.as_str().to_string()]);
    assert_eq!(writer.record(&prid).state, TxnState::CancelPending);

    // The buyer pays in the last second: the terminal polling the writer is not told 00.
    writer
        .upstream
        .script_inquiry(prid.as_str(), [inquiry(PaymentStatus::Success)]);
    let answer = writer.status(poll(&req)).await;
    assert_ne!(answer.outcome, Outcome::Approved);
    assert_eq!(answer.approval_code, None);
    assert_eq!(writer.record(&prid).state, TxnState::CancelPending);
    assert!(is_cancel(only_entry(&writer.queue())), "the cancel stands");
}
