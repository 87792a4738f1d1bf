//! The terminal client and the load generator against a real downstream server.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::time::Duration;

use asw_downstream::Profile;
use asw_terminal_sim::load::{self, LoadConfig, Scenario, TxRecord};
use asw_terminal_sim::{
    Answer, Clock, LinkConfig, MessageFactory, ProfileName, Terminal, TerminalError,
};
use serde_json::Value;

#[tokio::test]
async fn several_outstanding_requests_are_matched_out_of_order() {
    let (server, _) = common::server(Profile::PosBinary).await;
    let link = LinkConfig::for_profile(ProfileName::PosBinary).unwrap();
    let terminal = Terminal::connect(server.local_addr(), link.clone())
        .await
        .unwrap();
    let factory = MessageFactory::new(&link.dialect, "M00000000000001", "T0000001");
    let clock = Clock::utc();
    let mut pending = Vec::new();
    // Amount modulo 1000 is the handler's delay in ms: answers come back 2, 3, 1.
    for (stan, amount) in [(1, 1300), (2, 1010), (3, 1150)] {
        let request = factory
            .purchase(&clock.stamp(stan), amount, 344, "281234567890123456")
            .unwrap();
        pending.push((stan, terminal.send(&request).await.unwrap()));
    }
    // A reversal with the same STAN as an outstanding purchase is a different key.
    for (stan, p) in pending {
        let answer = p.wait(Duration::from_secs(5)).await.unwrap();
        assert_eq!(answer.get_str(11), Some(format!("{stan:06}").as_str()));
    }
    assert_eq!(terminal.unmatched_answers(), 0);
    server.shutdown().await;
}

#[tokio::test]
async fn a_repeated_outstanding_request_gets_both_answers() {
    let (server, recorder) = common::server(Profile::PosBinary).await;
    let link = LinkConfig::for_profile(ProfileName::PosBinary).unwrap();
    let terminal = Terminal::connect(server.local_addr(), link.clone())
        .await
        .unwrap();
    let factory = MessageFactory::new(&link.dialect, "M00000000000001", "T0000001");
    // 200 ms of handler delay: the repeat is written while the first is outstanding.
    let request = factory
        .purchase(&Clock::utc().stamp(7), 1200, 344, "281234567890123456")
        .unwrap();
    let first = terminal.send(&request).await.unwrap();
    assert!(matches!(
        terminal.send(&request).await,
        Err(TerminalError::DuplicateOutstanding)
    ));
    terminal.send_again(&request).await.unwrap();
    let a = first.wait(Duration::from_secs(5)).await.unwrap();
    let b = terminal
        .next_unmatched(Duration::from_secs(5))
        .await
        .expect("the repeat's answer");
    assert_eq!((a.response_code(), b.response_code()), ("00", "00"));
    assert_eq!(a.get_str(11), b.get_str(11));
    assert_eq!(recorder.requests.lock().unwrap().len(), 2);
    assert_eq!(terminal.unmatched_answers(), 1);
    assert!(
        terminal
            .next_unmatched(Duration::from_millis(100))
            .await
            .is_none()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_two_second_load_produces_a_complete_report() {
    let (server, recorder) = common::server(Profile::PosBinary).await;
    let link = LinkConfig::for_profile(ProfileName::PosBinary).unwrap();
    let mut config = LoadConfig::new(server.local_addr(), link);
    config.connections = 4;
    config.rate_per_s = 150.0;
    config.duration = Duration::from_secs(2);
    config.mix =
        "purchase=40,void=10,refund=10,advice=10,disconnect=10,resend=10,foreign=5,refundvoid=5"
            .parse()
            .unwrap();
    config.amount_min = 1000;
    config.amount_max = 1000;
    config.terminal_prefix = "LT".into();
    config.response_timeout = Duration::from_secs(5);
    config.seed = 42;
    let report = load::run(config).await.unwrap();
    let s = &report.summary;
    assert_eq!(s.scheduled, 300);
    assert_eq!(report.transactions.len(), 300);
    assert_eq!(s.sent, 300);
    assert_eq!(s.send_errors, 0);
    assert_eq!(s.timeouts, 0);
    let disconnects = report
        .transactions
        .iter()
        .filter(|r| r.scenario == Scenario::Disconnect)
        .count() as u64;
    assert!(disconnects > 0);
    assert_eq!(s.disconnects, disconnects);
    assert_eq!(s.answered, 300 - disconnects);
    assert_eq!(s.response_codes.get("00"), Some(&(300 - disconnects)));
    assert_eq!(s.latency_us.count, 300 - disconnects);
    assert!(s.latency_us.p50 > 0 && s.latency_us.p50 <= s.latency_us.p99);
    assert!(s.latency_us.max < 2_000_000);
    for r in &report.transactions {
        assert!(r.terminal_id.starts_with("LT") && r.terminal_id.len() == 8);
        assert_eq!(r.stan.len(), 6);
        assert!(r.payment_code.contains('*'), "payment code must be masked");
        match r.scenario {
            Scenario::Purchase => {
                assert!(r.terminal_believes_paid);
                assert!(r.rrn.is_some() && r.payment_request_id.is_some());
                assert!(r.follow_up.is_none());
            }
            Scenario::Void | Scenario::Refund => {
                let f = r.follow_up.as_ref().unwrap();
                assert_eq!(f.response_code.as_deref(), Some("00"));
                assert_eq!(
                    f.kind,
                    if r.scenario == Scenario::Void {
                        "void"
                    } else {
                        "refund"
                    }
                );
                assert_eq!(r.terminal_believes_paid, r.scenario == Scenario::Refund);
            }
            Scenario::Advice => {
                let f = r.follow_up.as_ref().unwrap();
                assert_eq!(f.kind, "reversal_advice");
                assert_eq!(f.mti, "0420");
                assert_eq!(f.stan, r.stan, "the advice carries the original STAN");
                assert_eq!(f.response_code.as_deref(), Some("00"));
                assert!(!r.terminal_believes_paid);
            }
            Scenario::Disconnect => {
                assert!(r.disconnected_before_answer);
                assert!(r.response_code.is_none());
                assert!(!r.terminal_believes_paid);
            }
            Scenario::Foreign => {
                assert!(r.follow_up.is_none());
                let kinds: Vec<_> = r.other_follow_ups.iter().map(|f| f.kind).collect();
                assert_eq!(kinds, ["foreign_refund", "foreign_void"]);
                // Sent by another terminal: the server saw them under another F41.
                for f in &r.other_follow_ups {
                    assert!(f.error.is_none(), "{f:?}");
                    let senders: Vec<String> = recorder
                        .requests
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|m| {
                            m.get_str(11) == Some(f.stan.as_str()) && m.get_str(3) != Some("000000")
                        })
                        .filter_map(|m| m.get_str(41).map(String::from))
                        .collect();
                    assert!(
                        !senders.is_empty() && senders.iter().all(|t| t != &r.terminal_id),
                        "{senders:?}"
                    );
                }
                assert!(
                    r.terminal_believes_paid,
                    "a foreign follow-up changes no belief"
                );
            }
            Scenario::RefundVoid => {
                assert_eq!(r.other_follow_ups.len(), 1);
                assert_eq!(r.other_follow_ups[0].kind, "partial_refund");
                let f = r.follow_up.as_ref().unwrap();
                assert_eq!(f.kind, "void");
                // The stand-in server approves the void too (the switch would decline it).
                assert!(!r.terminal_believes_paid);
            }
            Scenario::Resend => {
                let f = r.follow_up.as_ref().unwrap();
                assert_eq!(f.kind, "resend");
                assert_eq!(f.stan, r.stan, "the duplicate is the same request");
                assert!(f.response_code.is_none() && f.error.is_none(), "{f:?}");
                assert!(r.terminal_believes_paid, "the first answer stands");
            }
        }
    }
    // Every duplicate reached the server: its purchase arrived twice, from two connections.
    let resends: Vec<_> = report
        .transactions
        .iter()
        .filter(|r| r.scenario == Scenario::Resend)
        .collect();
    assert!(!resends.is_empty());
    let copies_of = |r: &TxRecord| {
        recorder
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|m| {
                m.get_str(3) == Some("000000")
                    && m.get_str(41) == Some(r.terminal_id.as_str())
                    && m.get_str(11) == Some(r.stan.as_str())
            })
            .count()
    };
    // The last duplicates may still be on their way through the server when the run returns.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while resends.iter().any(|r| copies_of(r) < 2) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for r in resends {
        assert_eq!(copies_of(r), 2, "purchase {} {}", r.terminal_id, r.stan);
    }
    // The JSON shape the consistency checker reads.
    let json: Value = serde_json::to_value(&report).unwrap();
    let first = &json["transactions"][0];
    for key in [
        "merchant_id",
        "terminal_id",
        "local_date",
        "local_time",
        "stan",
        "amount",
        "scenario",
        "response_code",
        "rrn",
        "payment_request_id",
        "latency_us",
        "disconnected_before_answer",
        "follow_up",
        "terminal_believes_paid",
    ] {
        assert!(first.get(key).is_some(), "record lacks {key}");
    }
    // Every void's original was seen by the server.
    let saw_void = recorder
        .requests
        .lock()
        .unwrap()
        .iter()
        .any(|m| m.get_str(3) == Some("020000"));
    assert!(saw_void);
    server.shutdown().await;
}

#[tokio::test]
async fn the_load_command_writes_its_report() {
    let (server, _) = common::server(Profile::Ascii).await;
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_terminal-sim"))
        .args([
            "load",
            "--connect",
            &server.local_addr().to_string(),
            "--profile",
            "A",
            "--connections",
            "2",
            "--rate",
            "50",
            "--duration",
            "1",
            "--report",
            report.to_str().unwrap(),
            "--mix",
            "purchase=9,advice=1",
            "--seed",
            "3",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["scheduled"], 50);
    let full: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(full["transactions"].as_array().unwrap().len(), 50);
    assert_eq!(full["summary"]["response_codes"]["00"], 50);
    server.shutdown().await;
}

/// A load on a records file: every message of the run is preceded by its snapshot; a
/// restarted load settles what a killed one left in flight (a reversal advice for a purchase,
/// an unanswered void) and continues the numbering and the STANs.
#[tokio::test]
async fn a_restarted_load_settles_what_was_in_flight_and_continues() {
    use asw_terminal_sim::durable::{Entry, InFlight, Journal, RecordLog};
    let (server, recorder) = common::server(Profile::PosBinary).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("records.jsonl");
    let config = |duration_ms: u64| {
        let link = LinkConfig::for_profile(ProfileName::PosBinary).unwrap();
        let mut config = LoadConfig::new(server.local_addr(), link);
        config.connections = 2;
        config.rate_per_s = 50.0;
        config.duration = Duration::from_millis(duration_ms);
        config.terminal_prefix = "LR".into();
        config.response_timeout = Duration::from_secs(5);
        config.durable_records = Some(path.clone());
        config
    };
    let first = load::run(config(200)).await.unwrap();
    assert_eq!(first.transactions.len(), 10);
    let journal = Journal::read(&path).unwrap();
    assert_eq!(journal.runs.len(), 1);
    assert!(journal.runs[0].ended);
    assert_eq!(journal.records.len(), 10);
    assert_eq!(journal.in_flight().count(), 0);
    // Each purchase's in-flight snapshot came before its final one.
    let text = std::fs::read_to_string(&path).unwrap();
    let in_flight_lines = text
        .lines()
        .filter(|l| l.contains("\"in_flight\":{\"kind\":\"purchase\""))
        .count();
    assert_eq!(in_flight_lines, 10);

    // A killed process: it wrote the snapshots of a purchase and of a void, then died.
    let last_stan: u32 = journal.last_stans["LR000000"];
    let mut purchase = journal.records[&0].clone();
    purchase.seq = 10;
    purchase.terminal_id = "LR000000".into();
    purchase.stan = format!("{:06}", last_stan + 1);
    purchase.sent = false;
    purchase.response_code = None;
    purchase.rrn = None;
    purchase.payment_request_id = None;
    purchase.payment_id = None;
    purchase.terminal_believes_paid = false;
    purchase.in_flight = Some(InFlight {
        kind: "purchase".into(),
        terminal_id: "LR000000".into(),
        stan: purchase.stan.clone(),
    });
    let mut void = journal.records[&1].clone();
    void.seq = 11;
    void.in_flight = Some(InFlight {
        kind: "void".into(),
        terminal_id: void.terminal_id.clone(),
        stan: "999990".into(),
    });
    let log = RecordLog::open(&path).unwrap();
    log.append(&Entry::Record(Box::new(purchase.clone())))
        .unwrap();
    log.append(&Entry::Record(Box::new(void))).unwrap();
    drop(log);

    // Restarted with nothing left to send: it only settles.
    let settling = load::run(config(0)).await.unwrap();
    assert!(settling.transactions.is_empty());
    let journal = Journal::read(&path).unwrap();
    assert_eq!(journal.in_flight().count(), 0);
    let settled = &journal.records[&10];
    assert_eq!(settled.killed_while.as_deref(), Some("purchase"));
    let advice = settled.follow_up.as_ref().unwrap();
    assert_eq!(advice.kind, "reversal_advice");
    assert_eq!(advice.response_code.as_deref(), Some("00"));
    let sent_advice =
        recorder.requests.lock().unwrap().iter().any(|m| {
            m.mti().to_string() == "0420" && m.get_str(11) == Some(purchase.stan.as_str())
        });
    assert!(sent_advice, "no 0420 for the purchase left in flight");
    let void = &journal.records[&11];
    assert_eq!(void.killed_while.as_deref(), Some("void"));
    let follow = void.follow_up.as_ref().unwrap();
    assert_eq!(
        (follow.kind, follow.response_code.as_deref()),
        ("void", None)
    );
    assert_eq!(journal.runs[1].first_seq, 12);

    // A third run continues the numbering, and its STANs skip past the last one written.
    let third = load::run(config(100)).await.unwrap();
    let seqs: Vec<u64> = third.transactions.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [12, 13, 14, 15, 16]);
    let journal = Journal::read(&path).unwrap();
    assert!(journal.runs.iter().all(|r| r.ended));
    let first_stan: u32 = third
        .transactions
        .iter()
        .find(|r| r.terminal_id == "LR000000")
        .unwrap()
        .stan
        .parse()
        .unwrap();
    assert!(first_stan > last_stan + 1, "{first_stan} after {last_stan}");
    server.shutdown().await;
}

#[tokio::test]
async fn follow_ups_go_to_the_other_instance_when_there_is_one() {
    // Two switches behind one balancer: a terminal's re-sent purchase and the first attempt of
    // its advice land on the other one; the purchases themselves stay on its own.
    let (own, own_seen) = common::server(Profile::PosBinary).await;
    let (other, other_seen) = common::server(Profile::PosBinary).await;
    let link = LinkConfig::for_profile(ProfileName::PosBinary).unwrap();
    let mut config = LoadConfig::new(own.local_addr(), link);
    config.follow_up_addr = Some(other.local_addr());
    config.connections = 2;
    config.rate_per_s = 100.0;
    config.duration = Duration::from_secs(1);
    config.mix = "purchase=40,advice=30,resend=30".parse().unwrap();
    config.amount_min = 1000;
    config.amount_max = 1000;
    config.terminal_prefix = "FU".into();
    config.response_timeout = Duration::from_secs(5);
    config.seed = 7;
    let report = load::run(config).await.unwrap();
    let count = |report: &load::LoadReport, scenario| {
        report
            .transactions
            .iter()
            .filter(|r| r.scenario == scenario)
            .count()
    };
    let (advices, resends) = (
        count(&report, Scenario::Advice),
        count(&report, Scenario::Resend),
    );
    assert!(advices > 0 && resends > 0);
    let mtis = |seen: &common::Recorder| -> Vec<String> {
        seen.requests
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.mti().to_string())
            .collect()
    };
    let (own_mtis, other_mtis) = (mtis(&own_seen), mtis(&other_seen));
    assert!(own_mtis.iter().all(|m| m == "0200"), "{own_mtis:?}");
    assert_eq!(
        other_mtis.iter().filter(|m| *m == "0420").count(),
        advices,
        "each advice's first attempt, acknowledged there"
    );
    assert_eq!(other_mtis.iter().filter(|m| *m == "0200").count(), resends);
}
