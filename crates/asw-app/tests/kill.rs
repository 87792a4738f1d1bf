//! `kill -9` of the real `antom-switch` process in the middle of transactions, then a restart:
//! every transaction ends consistent — the terminal's answer agrees with antom-sim's ledger.

// Test helpers: a failed set-up step must stop the test with a clear message.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use asw_antom_sim::{SimConfig, Simulator};
use asw_terminal_sim::{Clock, LinkConfig, MessageFactory, Original, ProfileName, Terminal};
use asw_testkit::fixtures::switch_config::{CLIENT_ID, RestToml, Services, SwitchToml};
use asw_testkit::{RedisServer, free_port};

fn keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/testdata/keys")
}

fn config_text(redis: &str, sim: &str, pos: u16, hook: u16, admin: u16) -> String {
    let services = Services {
        redis_url: redis.into(),
        downstream_port: pos,
        webhook_port: hook,
        admin_port: admin,
        instance: "kill-test".into(),
    };
    SwitchToml::running(sim, keys(), services).render()
}

fn spawn(config: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_antom-switch"))
        .arg("run")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("antom-switch starts")
}

async fn wait_ready(admin: u16) {
    let url = format!("http://127.0.0.1:{admin}/health/ready");
    let start = Instant::now();
    loop {
        if let Ok(r) = reqwest::get(&url).await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "switch never ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kill9(child: &mut Child) {
    // SIGKILL: no shutdown code runs.
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_transaction_then_restart_ends_consistent() {
    let redis = RedisServer::start().expect("redis-server (run scripts/ensure-deps.sh)");
    let read = |name: &str| std::fs::read_to_string(keys().join(name)).expect("key");
    let mut sim_cfg = SimConfig::from_antom_private_key(&read("antom_private_pkcs8.pem"))
        .expect("sim key")
        .with_client(CLIENT_ID, &read("merchant_public.pem"))
        .expect("client");
    sim_cfg.notify_delay = Duration::from_millis(300);
    sim_cfg.settle_after_inquiries = 3;
    let sim = Simulator::start(sim_cfg).await.expect("antom-sim");

    let (pos, hook, admin) = (
        free_port().expect("port"),
        free_port().expect("port"),
        free_port().expect("port"),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("antom-switch.toml");
    std::fs::write(
        &config,
        config_text(&redis.url(), &sim.base_url(), pos, hook, admin),
    )
    .expect("config");

    let mut switch = spawn(&config);
    wait_ready(admin).await;

    let link = LinkConfig::for_profile(ProfileName::PosBinary).expect("link");
    let addr = format!("127.0.0.1:{pos}").parse().expect("addr");
    let clock = Clock::local();
    let factory = MessageFactory::new(&link.dialect, "M00000000000001", "T0000001");
    let code = |suffix: &str| format!("2810123456789012{suffix}");

    // 1. Approved and delivered before the crash: must stay SUCCESS.
    let terminal = Terminal::connect(addr, link.clone())
        .await
        .expect("connect");
    let approved_req = factory
        .purchase(&clock.stamp(1), 1000, 702, &code("00"))
        .expect("msg");
    let approved = terminal
        .request(&approved_req, Duration::from_secs(10))
        .await
        .expect("answer");
    assert_eq!(approved.get_str(39), Some("00"));

    // 2. A reversal advice acknowledged before the crash: its cancel must survive.
    let advised_req = factory
        .purchase(&clock.stamp(2), 2000, 702, &code("00"))
        .expect("msg");
    let advised = terminal
        .request(&advised_req, Duration::from_secs(10))
        .await
        .expect("answer");
    assert_eq!(advised.get_str(39), Some("00"));
    let original = Original::of(&advised_req).expect("original");
    let advice = factory
        .reversal_advice(&clock.stamp(2).transmission, &original, "98", false)
        .expect("advice");
    let ack = terminal
        .request(&advice, Duration::from_secs(10))
        .await
        .expect("0430");
    assert_eq!(ack.get_str(39), Some("00"));

    // 3. In flight when the process dies: Antom will say SUCCESS on the 3rd inquiry.
    let in_flight_req = factory
        .purchase(&clock.stamp(3), 3000, 702, &code("30"))
        .expect("msg");
    let pending = terminal.send(&in_flight_req).await.expect("sent");
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill9(&mut switch);
    let in_flight_answer = pending.wait(Duration::from_secs(2)).await.ok();

    // Restart: the deadline index and the SAF stream survived in Redis.
    let mut switch = spawn(&config);
    wait_ready(admin).await;

    let prid_of = |amount: &str| {
        sim.payments()
            .into_iter()
            .find(|p| p.amount == amount)
            .map(|p| p.payment_request_id)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = |amount: &str| {
            prid_of(amount)
                .and_then(|id| sim.payment(&id))
                .map(|p| p.status)
        };
        let in_flight_expected = match in_flight_answer.as_ref().and_then(|m| m.get_str(39)) {
            Some("00") => "SUCCESS",
            _ => "CANCELLED",
        };
        let done = status("1000").as_deref() == Some("SUCCESS")
            && status("2000").as_deref() == Some("CANCELLED")
            && status("3000").as_deref() == Some(in_flight_expected);
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not consistent: approved={:?} advised={:?} in-flight={:?} (terminal saw {:?})",
            status("1000"),
            status("2000"),
            status("3000"),
            in_flight_answer
                .as_ref()
                .and_then(|m| m.get_str(39).map(String::from)),
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Stays so after the gateway deadline of everything has passed.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        sim.payment(&prid_of("1000").expect("prid"))
            .expect("p")
            .status,
        "SUCCESS"
    );
    kill9(&mut switch);
}

/// One POST of a payment-code payment: `(status, replayed, body)`, or `None` without an answer.
async fn rest_pay(
    http: &reqwest::Client,
    port: u16,
    key: &str,
    amount: u64,
    code: &str,
) -> Option<(u16, bool, String)> {
    let body = format!(
        r#"{{"order_id":"{key}","amount":{{"currency":"SGD","value":{amount}}},"method":{{"type":"payment_code","code":"{code}"}}}}"#
    );
    let response = http
        .post(format!("http://127.0.0.1:{port}/v1/payments"))
        .bearer_auth(REST_SECRET)
        .header("idempotency-key", key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let replayed = response.headers().contains_key("idempotent-replayed");
    Some((status, replayed, response.text().await.ok()?))
}

const REST_SECRET: &str = "sk_kill_test_secret";

fn field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let start = body.find(&format!("\"{name}\":\""))? + name.len() + 4;
    body.get(start..)?.split('"').next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_rest_payments_then_same_key_retries_end_consistent() {
    let redis = RedisServer::start().expect("redis-server (run scripts/ensure-deps.sh)");
    let read = |name: &str| std::fs::read_to_string(keys().join(name)).expect("key");
    let mut sim_cfg = SimConfig::from_antom_private_key(&read("antom_private_pkcs8.pem"))
        .expect("sim key")
        .with_client(CLIENT_ID, &read("merchant_public.pem"))
        .expect("client");
    sim_cfg.settle_after_inquiries = 3;
    let sim = Simulator::start(sim_cfg).await.expect("antom-sim");
    let (pos, hook, admin, rest) = (
        free_port().expect("port"),
        free_port().expect("port"),
        free_port().expect("port"),
        free_port().expect("port"),
    );
    let services = Services {
        redis_url: redis.url(),
        downstream_port: pos,
        webhook_port: hook,
        admin_port: admin,
        instance: "kill-rest".into(),
    };
    // The merchant's event endpoint: down (500) until after the restart.
    let events = EventReceiver::default();
    let events_port = events.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let secret_file = dir.path().join("merchant.whsec");
    std::fs::write(&secret_file, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n").expect("secret");
    let text = SwitchToml {
        rest: Some(RestToml {
            port: rest,
            sync_wait_ms: 6_000,
            api_key_sha256: asw_front_rest::sha256_hex(REST_SECRET),
            webhook: Some((
                format!("http://127.0.0.1:{events_port}/events"),
                secret_file.clone(),
            )),
        }),
        ..SwitchToml::running(&sim.base_url(), keys(), services)
    }
    .render();
    let config = dir.path().join("antom-switch.toml");
    std::fs::write(&config, text).expect("config");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    let code = |suffix: &str| format!("2810123456789012{suffix}");

    let mut switch = spawn(&config);
    wait_ready(admin).await;

    // 1. Answered `succeeded` before the crash.
    let (status, _, first) = rest_pay(&http, rest, "kill-a", 1000, &code("00"))
        .await
        .expect("answer");
    assert_eq!(status, 201, "{first}");
    assert_eq!(field(&first, "status"), Some("succeeded"));
    // 2. In flight when the process dies (Antom says SUCCESS on the 3rd inquiry).
    let in_flight = {
        let http = http.clone();
        let code = code("30");
        tokio::spawn(async move { rest_pay(&http, rest, "kill-b", 2000, &code).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    kill9(&mut switch);
    let lost = in_flight.await.expect("task");
    assert!(lost.is_none(), "the killed switch answered: {lost:?}");

    let mut switch = spawn(&config);
    wait_ready(admin).await;
    // The endpoint recovers after the restart: the event the killed switch was retrying is
    // delivered from Redis.
    events.up();

    // The answered one replays byte for byte from Redis.
    let (status, replayed, again) = rest_pay(&http, rest, "kill-a", 1000, &code("00"))
        .await
        .expect("answer");
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again, first);
    // The lost one: the same key until a final answer (409 while its orphaned record waits
    // for the sweeper).
    let start = Instant::now();
    let told = loop {
        if let Some((201, _, body)) = rest_pay(&http, rest, "kill-b", 2000, &code("30")).await
            && field(&body, "status") != Some("pending")
        {
            break body;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "never final");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let prid_b = field(&told, "payment_request_id")
        .expect("prid")
        .to_string();
    let prid_a = field(&first, "payment_request_id")
        .expect("prid")
        .to_string();
    // Told `succeeded` ⇔ SUCCESS at Antom, once every deadline has passed.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let at_antom = |prid: &str| sim.payment(prid).map(|p| p.status);
    assert_eq!(at_antom(&prid_a).as_deref(), Some("SUCCESS"));
    let expected = if field(&told, "status") == Some("succeeded") {
        "SUCCESS"
    } else {
        "CANCELLED"
    };
    assert_eq!(at_antom(&prid_b).as_deref(), Some(expected), "told {told}");
    // The success event raised before the kill was delivered after the restart.
    let delivered = events.delivered();
    assert!(
        delivered
            .iter()
            .any(|b| b.contains("payment.succeeded") && b.contains(&prid_a)),
        "{delivered:?}"
    );
    kill9(&mut switch);
}

/// A merchant's event endpoint: answers 500 until `up`, then 204; keeps the bodies it accepted.
#[derive(Clone, Default)]
struct EventReceiver {
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    delivered: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl EventReceiver {
    async fn start(&self) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let me = self.clone();
        let app = axum::Router::new().route(
            "/events",
            axum::routing::post(move |body: String| {
                let me = me.clone();
                async move {
                    if me.up.load(std::sync::atomic::Ordering::SeqCst) {
                        me.delivered.lock().expect("lock").push(body);
                        axum::http::StatusCode::NO_CONTENT
                    } else {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    }
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        port
    }

    fn up(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn delivered(&self) -> Vec<String> {
        self.delivered.lock().expect("lock").clone()
    }
}
