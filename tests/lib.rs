//! The end-to-end test harness: a real `redis-server`, a real `antom-sim` over HTTP and the
//! switch built by the same builder as the binary, on free ports; terminals speak real ISO 8583
//! over TCP.

// Test-support code: a failed set-up step must stop the test with a clear message.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use asw_antom_sim::{PaymentView, SimConfig, SimHandle, Simulator};
use asw_app::RunningSwitch;
use asw_app::config::Config;
use asw_core::domain::{MerchantProfile, TerminalProfile};
use asw_testkit::RedisServer;
use asw_testkit::fixtures::switch_config::{self, Services, SwitchToml};

pub mod pos;

/// Merchant id of the test merchant.
pub const MID: &str = switch_config::MERCHANT_ID;
/// Terminal id of the test terminal.
pub const TID: &str = switch_config::TERMINAL_ID;
/// A second, disabled terminal.
pub const DISABLED_TID: &str = "T0000009";
/// Another terminal of the test merchant, in the same store as [`TID`].
pub const SAME_STORE_TID: &str = "T0000002";
/// A terminal of the test merchant in another store.
pub const OTHER_STORE_TID: &str = "T0000003";
/// The other store's id.
pub const OTHER_STORE: &str = "SG-TEST-S2";
/// A second merchant, for isolation tests.
pub const OTHER_MID: &str = "M00000000000999";
/// The second merchant's terminal.
pub const OTHER_MERCHANT_TID: &str = "T0000999";
/// Client id the switch uses and the simulator accepts.
pub const CLIENT_ID: &str = switch_config::CLIENT_ID;
/// SGD, numeric.
pub const SGD: u16 = 702;
/// The REST API secret of merchant `MID` (key `k1`).
pub const REST_SECRET: &str = "sk_test_m1_9b1c2d";
/// The rotated successor of [`REST_SECRET`] (key `k2`).
pub const REST_SECRET_ROTATED: &str = "sk_test_m1_rotated_77aa";
/// The REST API secret of merchant `OTHER_MID`.
pub const OTHER_REST_SECRET: &str = "sk_test_m999_5e6f";

/// A payment code whose last two digits pick an antom-sim scenario (see its README).
pub fn code(scenario_suffix: &str) -> String {
    format!("2810123456789012{scenario_suffix}")
}

/// A program of the test suite's Python environment (`python`, `schemathesis`), made by
/// scripts/ensure-deps.sh (or next to `$ASW_PYTHON`).
pub fn python_bin(name: &str) -> PathBuf {
    let python = std::env::var_os("ASW_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/python"),
        PathBuf::from,
    );
    python.with_file_name(name)
}

fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/keys")
}

fn key_path(name: &str) -> PathBuf {
    keys_dir().join(name)
}

fn read_key(name: &str) -> String {
    std::fs::read_to_string(key_path(name)).expect("test key")
}

/// The running parts of one end-to-end test.
pub struct Harness {
    /// The Redis server (kill/restart it to test outages).
    pub redis: RedisServer,
    /// The Antom simulator.
    pub sim: SimHandle,
    /// The switch, while running.
    pub switch: Option<RunningSwitch>,
    /// The configuration the switch was started with.
    pub config: Config,
}

/// The simulator configuration used by the harness (fast timings, test keys).
pub fn sim_config() -> SimConfig {
    let mut sim = SimConfig::from_antom_private_key(&read_key("antom_private_pkcs8.pem"))
        .expect("sim key")
        .with_client(CLIENT_ID, &read_key("merchant_public.pem"))
        .expect("sim client");
    sim.notify_delay = Duration::from_millis(300);
    sim.notify_retry_scale = 0.001;
    sim.notify_timeout = Duration::from_secs(2);
    sim.slow_answer = Duration::from_millis(2_500);
    sim.settle_after_inquiries = 2;
    sim.inquiry_not_found_for = Duration::from_millis(800);
    sim
}

/// The switch configuration used by the harness: the tests' one configuration file
/// ([`SwitchToml::running`], loaded by the switch's own loader), plus what only the
/// in-process tests need: more terminals and a second merchant for the authority tests, the
/// merchant's local time (UTC+8, the terminal's clock), a longer shutdown grace for the
/// drain test and a small consumer pool.
pub fn switch_config(redis_url: &str, sim_url: &str, webhook_port: u16) -> Config {
    let services = Services {
        redis_url: redis_url.into(),
        downstream_port: 0,
        webhook_port,
        admin_port: 0,
        instance: "e2e".into(),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("antom-switch.toml");
    std::fs::write(
        &path,
        SwitchToml::running(sim_url, keys_dir(), services).render(),
    )
    .expect("write the switch configuration");
    let mut config = Config::load(&path).expect("the test configuration loads");
    config.downstream.shutdown_grace_ms = 8_000;
    config.reversal.consumers = 2;
    let merchant = &mut config.merchants[0];
    merchant.merchant_region = Some("SG".into());
    merchant.utc_offset_minutes = 480;
    merchant.terminals.extend([
        TerminalProfile {
            terminal_id: DISABLED_TID.into(),
            enabled: false,
            refunds: false,
            store_id: None,
        },
        TerminalProfile {
            terminal_id: SAME_STORE_TID.into(),
            enabled: true,
            refunds: true,
            store_id: None,
        },
        TerminalProfile {
            terminal_id: OTHER_STORE_TID.into(),
            enabled: true,
            refunds: true,
            store_id: Some(OTHER_STORE.into()),
        },
    ]);
    let api_key = |id: &str, secret: &str| asw_core::domain::ApiKeyConfig {
        id: id.into(),
        sha256: asw_front_rest::sha256_hex(secret),
    };
    config.merchants[0].api_keys = vec![
        api_key("k1", REST_SECRET),
        api_key("k2", REST_SECRET_ROTATED),
    ];
    config.rest = Some(asw_app::config::RestConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        // Longer than the response deadline (4 s): a POST answers the final outcome.
        sync_wait_ms: 6_000,
        ..asw_app::config::RestConfig::default()
    });
    config.merchants.push(MerchantProfile {
        api_keys: vec![api_key("other", OTHER_REST_SECRET)],
        merchant_id: OTHER_MID.into(),
        reference_merchant_id: "SG-TEST-M999".into(),
        merchant_name: "Other Shop".into(),
        store_id: "SG-TEST-S999".into(),
        store_name: "Other Shop One".into(),
        terminals: vec![TerminalProfile {
            terminal_id: OTHER_MERCHANT_TID.into(),
            enabled: true,
            refunds: true,
            store_id: None,
        }],
        ..config.merchants[0].clone()
    });
    config
}

/// Starts the switch. Its webhook port is chosen before the switch binds it (Antom's notify URL
/// names it), so another test can take it in between: then the switch is started again on
/// another free port, instead of failing the test on a race of the harness.
async fn start_on_free_webhook_port(config: &mut Config) -> RunningSwitch {
    let mut attempts = 0;
    loop {
        match RunningSwitch::start(config.clone()).await {
            Ok(switch) => return switch,
            Err(asw_app::StartError::Bind { addr, source })
                if attempts < 5
                    && addr == config.webhook.listen
                    && source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                attempts += 1;
                let port = asw_testkit::free_port().expect("free port");
                let old = config.webhook.listen.port();
                config.webhook.listen.set_port(port);
                config.webhook.public_url = config
                    .webhook
                    .public_url
                    .as_ref()
                    .map(|url| url.replace(&format!(":{old}/"), &format!(":{port}/")));
            }
            Err(error) => panic!("switch starts: {error:?}"),
        }
    }
}

impl Harness {
    /// Starts Redis, the simulator and the switch with the default test settings.
    pub async fn start() -> Self {
        Self::start_with(|_, _| {}).await
    }

    /// Starts everything after letting the test adjust both configurations.
    pub async fn start_with(tweak: impl FnOnce(&mut Config, &mut SimConfig)) -> Self {
        let redis = RedisServer::start().expect("redis-server (run scripts/ensure-deps.sh)");
        let mut sim_cfg = sim_config();
        let webhook_port = asw_testkit::free_port().expect("free port");
        let mut config = switch_config(&redis.url(), "http://placeholder", webhook_port);
        tweak(&mut config, &mut sim_cfg);
        let sim = Simulator::start(sim_cfg).await.expect("antom-sim");
        config.upstream.base_url = sim.base_url();
        let switch = start_on_free_webhook_port(&mut config).await;
        Self {
            redis,
            sim,
            switch: Some(switch),
            config,
        }
    }

    /// Where terminals connect.
    pub fn downstream(&self) -> SocketAddr {
        self.switch
            .as_ref()
            .expect("switch running")
            .downstream_addr
    }

    /// Runs one `redis-cli` command against this harness's Redis; its output, trailing
    /// newline trimmed. Panics (the test fails) when the command fails.
    pub fn redis_cli(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("redis-cli")
            .arg("-p")
            .arg(self.redis.port().to_string())
            .args(args)
            .output()
            .expect("redis-cli (installed with redis-server)");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// The merchant REST API.
    pub fn rest(&self) -> SocketAddr {
        self.switch
            .as_ref()
            .and_then(|s| s.rest_addr)
            .expect("switch running with [rest]")
    }

    /// The admin endpoint.
    pub fn admin(&self) -> SocketAddr {
        self.switch.as_ref().expect("switch running").admin_addr
    }

    /// Stops the switch gracefully.
    pub async fn stop_switch(&mut self) {
        if let Some(switch) = self.switch.take() {
            switch.shutdown().await;
        }
    }

    /// Starts the switch again with the same configuration (same Redis, same simulator).
    pub async fn restart_switch(&mut self) {
        self.stop_switch().await;
        let switch = RunningSwitch::start(self.config.clone())
            .await
            .expect("switch restarts");
        self.switch = Some(switch);
    }

    /// The simulator's view of a payment.
    pub fn payment(&self, payment_request_id: &str) -> Option<PaymentView> {
        self.sim.payment(payment_request_id)
    }

    /// How many calls of `api` the simulator received for a payment.
    pub fn calls(&self, api: &str, payment_request_id: &str) -> usize {
        self.sim
            .calls()
            .iter()
            .filter(|c| c.api == api && c.payment_request_id.as_deref() == Some(payment_request_id))
            .count()
    }

    /// Waits until the simulator has logged at least `at_least` calls of `api` for a payment and
    /// returns how many it has (or panics after `within`). The simulator logs a call when it
    /// answers, which is after the call changed the payment: a test that saw the new status must
    /// wait for the log rather than read it at once.
    pub async fn wait_for_calls(
        &self,
        api: &str,
        payment_request_id: &str,
        at_least: usize,
        within: Duration,
    ) -> usize {
        let start = Instant::now();
        loop {
            let seen = self.calls(api, payment_request_id);
            if seen >= at_least {
                return seen;
            }
            assert!(
                start.elapsed() < within,
                "payment {payment_request_id}: expected {at_least} {api} calls, saw {seen} after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the deadline sweeper has gone past every gateway deadline due before this
    /// call, so a test can then check that something did *not* happen to an earlier payment
    /// without sleeping a fixed time: a purchase started now, whose terminal hangs up before
    /// the answer, is cancelled by the sweeper at its own gateway deadline, which comes after
    /// every earlier one. `stan` and `amount` must be unused in the test.
    pub async fn wait_until_the_sweeper_passed_now(&self, stan: u32, amount: u64) {
        let t = pos::Pos::connect(self.downstream()).await;
        let (message, _) = t.purchase_message(stan, amount, &code("30"));
        t.send(&message).await;
        drop(t);
        let wanted = amount.to_string();
        let start = Instant::now();
        let within = Duration::from_secs(30);
        loop {
            let sentinel = self.sim.payments().into_iter().find(|p| p.amount == wanted);
            if sentinel.as_ref().is_some_and(|p| p.status == "CANCELLED") {
                return;
            }
            assert!(
                start.elapsed() < within,
                "the sweeper never cancelled the sentinel purchase: {sentinel:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the simulator holds `status` for the payment (or panics after `within`).
    pub async fn wait_for_status(&self, payment_request_id: &str, status: &str, within: Duration) {
        let start = Instant::now();
        loop {
            let current = self.payment(payment_request_id).map(|p| p.status);
            if current.as_deref() == Some(status) {
                return;
            }
            assert!(
                start.elapsed() < within,
                "payment {payment_request_id}: expected {status}, still {current:?} after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod harness_tests {
    use super::*;

    #[tokio::test]
    async fn a_webhook_port_taken_in_between_is_replaced_not_a_failed_test() {
        let redis = RedisServer::start().expect("redis-server");
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port to take");
        let port = taken.local_addr().expect("its address").port();
        let mut config = switch_config(&redis.url(), "http://127.0.0.1:9", port);
        let switch = start_on_free_webhook_port(&mut config).await;
        assert_ne!(config.webhook.listen.port(), port);
        assert_eq!(
            config.webhook.public_url.as_deref(),
            Some(
                format!(
                    "http://127.0.0.1:{}/antom/notify",
                    config.webhook.listen.port()
                )
                .as_str()
            )
        );
        switch.shutdown().await;
    }
}
