//! A switch upgraded in place finishes what the previous release journaled: records written in
//! the earlier shape (`terminal_key` with the terminal's date, time and STAN; `rrn`; the F39 it
//! answered) are read, answered and swept by this release.

// A failed step must stop the test with a clear message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use asw_core::ids::IdGenerator;
use asw_e2e::pos::Pos;
use asw_e2e::{Harness, MID, TID};
use asw_front_iso::terminal_ids::{DatedKey, TerminalKey, rrn};
use asw_terminal_sim::{Answer, Reference};

/// The ids the previous release derived for a terminal key (the derivation is unchanged).
struct OldIds {
    dedup: String,
    tag: String,
    prid: String,
    rrn: String,
    key: TerminalKey,
}

fn old_ids(h: &Harness, stan: &str, amount: u64) -> OldIds {
    let secret = h.config.ids.secret.clone().expect("ids secret");
    let ids = IdGenerator::new(secret.as_bytes());
    let now = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+8));
    let key = TerminalKey {
        merchant_id: MID.into(),
        terminal_id: TID.into(),
        local_date: format!("{:02}{:02}", u8::from(now.month()), now.day()),
        local_time: format!("{:02}{:02}{:02}", now.hour(), now.minute(), now.second()),
        stan: stan.into(),
    };
    let dated = DatedKey {
        key: &key,
        year: now.year(),
    };
    OldIds {
        dedup: dated.dedup_string(),
        tag: dated.tag(&ids),
        prid: dated.payment_request_id(&ids, amount).as_str().to_string(),
        rrn: rrn(&dated).expect("rrn"),
        key: key.clone(),
    }
}

/// A purchase record exactly as the previous release wrote it.
fn old_record(ids: &OldIds, state: &str, delivery: &str, deadlines_ms: i64, amount: u64) -> String {
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms");
    serde_json::json!({
        "version": 4, "kind": "purchase", "state": state, "delivery": delivery,
        "payment_request_id": ids.prid, "tag": ids.tag, "dedup_key": ids.dedup,
        "terminal_key": {
            "merchant_id": ids.key.merchant_id, "terminal_id": ids.key.terminal_id,
            "local_date": ids.key.local_date, "local_time": ids.key.local_time,
            "stan": ids.key.stan
        },
        "content_digest": "digest-of-the-old-release", "client": "default",
        "amount_minor": amount, "currency": "SGD", "currency_numeric": 702,
        "masked_payment_code": "281012******0000", "payment_id": "OLD-PAYMENT-ID",
        "rrn": ids.rrn, "approval_code": "A1B2C3",
        "response_code": if state == "APPROVED" { "00" } else { "91" },
        "result_code": if state == "APPROVED" { "SUCCESS" } else { "UNKNOWN_EXCEPTION" },
        "wallet": "Alipay", "refunded_minor": 0,
        "created_at_ms": now_ms - 60_000, "updated_at_ms": now_ms - 60_000,
        "call_over_at_ms": now_ms - 50_000, "response_deadline_ms": now_ms - 40_000,
        "terminal_deadline_ms": now_ms - 30_000, "gateway_deadline_ms": now_ms + deadlines_ms,
        "payment_expiry_ms": now_ms + deadlines_ms
    })
    .to_string()
}

/// Writes a record as the previous release's `begin` and `commit` scripts left it: the record,
/// its duplicate key, its deadline entry and the start of its audit trail in a `log:` list
/// (lines naming their journal id).
fn journal_old(h: &Harness, ids: &OldIds, state: &str, json: &str, deadline: Option<i64>) {
    let base = "asw:{0}:";
    let txn = format!("{base}txn:{}", ids.prid);
    h.redis_cli(&["HSET", &txn, "v", "4", "s", state, "d", json]);
    let line = serde_json::json!({
        "at_ms": 1, "journal_id": ids.prid, "from": "PENDING", "to": state,
        "event": "old_release", "cause": "written by the previous release", "version": 4
    })
    .to_string();
    let log = format!("{base}log:{}", ids.prid);
    h.redis_cli(&["RPUSH", &log, &line]);
    h.redis_cli(&["PEXPIRE", &log, "600000"]);
    h.redis_cli(&["SET", &format!("{base}dedup:{}", ids.dedup), &ids.prid]);
    if let Some(at) = deadline {
        let member = format!("{}:{}", ids.tag, ids.prid);
        h.redis_cli(&[
            "ZADD",
            &format!("{base}deadlines"),
            &at.to_string(),
            &member,
        ]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_journaled_by_the_previous_release_are_answered_and_finished() {
    let h = Harness::start().await;
    // An approval the previous release handed to the terminal: a status inquiry by its RRN
    // (which this release turns back into the old key) finds it and answers as before.
    let paid = old_ids(&h, "700001", 4_200);
    let json = old_record(&paid, "APPROVED", "SENDING", 60_000, 4_200);
    journal_old(&h, &paid, "APPROVED", &json, None);
    let t = Pos::connect(h.downstream()).await;
    let by_rrn = Reference {
        rrn: Some(paid.rrn.clone()),
        ..Reference::default()
    };
    let status = t
        .request(&t.follow_up_message("900000", 700_002, 0, &by_rrn))
        .await;
    assert_eq!(status.response_code(), "00");
    assert_eq!(status.payment_request_id(), Some(paid.prid.as_str()));
    assert_eq!(status.rrn(), Some(paid.rrn.as_str()));

    // A purchase the previous release left unknown, past its gateway deadline: this release's
    // sweeper cancels it at Antom.
    let unknown = old_ids(&h, "700003", 4_300);
    let json = old_record(&unknown, "UNKNOWN", "NONE", -1_000, 4_300);
    let due = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis(),
    )
    .expect("ms")
        - 1_000;
    journal_old(&h, &unknown, "UNKNOWN", &json, Some(due));
    h.wait_for_calls("cancel", &unknown.prid, 1, Duration::from_secs(15))
        .await;
    let start = Instant::now();
    loop {
        let state = h.redis_cli(&["HGET", &format!("asw:{{0}}:txn:{}", unknown.prid), "s"]);
        if state == "CANCELLED" {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the old record is {state}, not cancelled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Its audit trail reads on from the old release's list into this release's lines (kept in
    // the record), in version order, and the list is renewed with the record.
    let store = asw_store::RedisStore::connect(asw_store::StoreConfig {
        url: h.redis.url(),
        ..asw_store::StoreConfig::default()
    })
    .await
    .expect("store");
    let view = store
        .show_txn(&unknown.prid)
        .await
        .expect("txn show")
        .expect("the record");
    let trail: Vec<(&str, &str, u64)> = view
        .audit
        .iter()
        .map(|a| (a.from.as_str(), a.to.as_str(), a.version))
        .collect();
    assert_eq!(trail.first(), Some(&("PENDING", "UNKNOWN", 4)), "{trail:?}");
    assert_eq!(trail.last().map(|t| t.1), Some("CANCELLED"), "{trail:?}");
    assert!(
        trail
            .windows(2)
            .all(|w| w[0].2 < w[1].2 && w[0].1 == w[1].0),
        "one line per version, each from the state the one before left: {trail:?}"
    );
    assert!(view.audit.iter().all(|a| a.journal_id == unknown.prid));
    let ttl: i64 = h
        .redis_cli(&["PTTL", &format!("asw:{{0}}:log:{}", unknown.prid)])
        .parse()
        .expect("pttl");
    assert!(
        ttl > 600_000,
        "the old list is renewed with the record: {ttl}"
    );
}
