//! The scope of follow-ups (`find_original`): which terminals may act on a payment, by the
//! merchant's `follow_ups` and the terminals' `store_id`; and references that must agree.

use asw_core::domain::{FollowUpScope, Origin};
use asw_core::flows::{OriginalRef, StatusInquiry};

use crate::common::*;

/// A harness whose `M1` has this follow-up scope, with an approved purchase of `T1`.
async fn approved_with(scope: FollowUpScope) -> (Harness, asw_core::flows::PurchaseRequest) {
    let h = Harness::with_merchants(vec![
        merchant(MERCHANT, scope),
        merchant(OTHER_MERCHANT, FollowUpScope::Merchant),
    ]);
    let purchase = h.purchase_req(1);
    h.approved_purchase(&purchase).await;
    (h, purchase)
}

/// Whether `(mid, tid)` may see the purchase, by a status inquiry (no Antom call: it is final).
async fn sees(h: &Harness, mid: &str, tid: &str, original: OriginalRef) -> bool {
    let answer = h
        .status(StatusInquiry {
            origin: Origin::terminal(mid, tid),
            original,
        })
        .await;
    match answer.outcome {
        Outcome::Approved => true,
        Outcome::Refused(Refusal::OriginalNotFound) => {
            assert_eq!(answer, Answer::refused(Refusal::OriginalNotFound));
            false
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn terminal_scope_lets_only_the_paying_terminal_follow_up() {
    let (h, purchase) = approved_with(FollowUpScope::Terminal).await;
    assert!(sees(&h, MERCHANT, T1, by_prid(&purchase)).await);
    assert!(!sees(&h, MERCHANT, T2, by_prid(&purchase)).await);
    assert!(!sees(&h, MERCHANT, T3, by_prid(&purchase)).await);
}

#[tokio::test(start_paused = true)]
async fn store_scope_lets_the_terminals_of_the_same_store_follow_up() {
    let (h, purchase) = approved_with(FollowUpScope::Store).await;
    assert!(
        sees(&h, MERCHANT, T2, by_prid(&purchase)).await,
        "T2 is in S1"
    );
    assert!(
        !sees(&h, MERCHANT, T3, by_prid(&purchase)).await,
        "T3 is in S2"
    );
}

#[tokio::test(start_paused = true)]
async fn merchant_scope_lets_every_terminal_of_the_merchant_follow_up_but_no_other_merchant() {
    let (h, purchase) = approved_with(FollowUpScope::Merchant).await;
    assert!(sees(&h, MERCHANT, T3, by_prid(&purchase)).await);
    assert!(!sees(&h, OTHER_MERCHANT, T1, by_prid(&purchase)).await);
}

#[tokio::test(start_paused = true)]
async fn references_that_disagree_with_the_original_find_nothing() {
    let (h, purchase) = approved_with(FollowUpScope::Terminal).await;
    let wrong_receipt = OriginalRef {
        receipt_ref: Some("999999999999".into()),
        ..by_prid(&purchase)
    };
    let wrong_payment_id = OriginalRef {
        payment_id: Some("P-OTHER".into()),
        ..by_prid(&purchase)
    };
    let right_both = OriginalRef {
        receipt_ref: Some(purchase.request.receipt_ref.clone()),
        payment_id: Some("P-APPROVED".into()),
        ..by_prid(&purchase)
    };
    let payment_id_alone = OriginalRef {
        payment_id: Some("P-APPROVED".into()),
        ..OriginalRef::default()
    };
    assert!(!sees(&h, MERCHANT, T1, wrong_receipt).await);
    assert!(!sees(&h, MERCHANT, T1, wrong_payment_id).await);
    assert!(sees(&h, MERCHANT, T1, right_both).await);
    assert!(
        !sees(&h, MERCHANT, T1, payment_id_alone).await,
        "names nothing alone"
    );
}

#[tokio::test(start_paused = true)]
async fn an_own_request_key_finds_the_senders_purchase() {
    let (h, purchase) = approved_with(FollowUpScope::Terminal).await;
    let own = OriginalRef {
        own_request: Some((
            purchase.request.dedup_key.clone(),
            purchase.request.tag.clone(),
        )),
        ..OriginalRef::default()
    };
    assert!(sees(&h, MERCHANT, T1, own.clone()).await);
    assert!(!sees(&h, MERCHANT, T2, own).await);
}

#[tokio::test(start_paused = true)]
async fn a_void_and_a_refund_out_of_scope_touch_nothing() {
    let (h, purchase) = approved_with(FollowUpScope::Store).await;
    let before = h.record(&purchase.payment_request_id);

    let void = h.void(h.void_req(T3, &purchase)).await;
    let refund = h.refund(h.refund_req(T3, 2, &purchase, 100)).await;

    assert_eq!(void, Answer::refused(Refusal::OriginalNotFound));
    assert_eq!(refund, Answer::refused(Refusal::OriginalNotFound));
    assert_eq!(h.record(&purchase.payment_request_id), before);
    assert!(h.queue().is_empty());
    assert_eq!(h.upstream.total(CallKind::Refund), 0);
}

#[tokio::test(start_paused = true)]
async fn a_void_from_a_terminal_of_the_same_store_is_accepted() {
    let (h, purchase) = approved_with(FollowUpScope::Store).await;

    let answer = h.void(h.void_req(T2, &purchase)).await;

    assert_eq!(answer.outcome, Outcome::Accepted);
    assert!(is_cancel(only_entry(&h.queue())));
}
