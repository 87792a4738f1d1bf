//! The buyer in a real browser: headless Debian Chromium, driven over WebDriver
//! (`chromedriver`), pays, declines and walks away on antom-sim's hosted wallet page, types
//! cards on its hosted card page, and comes back to the shop's return page. The merchant's
//! status changes only from what Antom says.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::online::{create, online_harness, wait_for};

/// `chromedriver` on a free port, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Self {
        let port = asw_testkit::free_port().expect("free port");
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian chromium-driver; run scripts/ensure-deps.sh)");
        Self { child, port }
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=900,800"],
            }),
        );
        let start = Instant::now();
        loop {
            match ClientBuilder::rustls()
                .expect("TLS roots")
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{}", self.port))
                .await
            {
                Ok(client) => return client,
                // chromedriver takes a moment to listen.
                Err(_) if start.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no WebDriver session: {e}"),
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shop's return page: what the buyer's browser lands on (it proves nothing).
async fn shop() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new().route(
        "/shop/return",
        axum::routing::get(|| async {
            axum::response::Html("<html><body><h1 id=\"back\">Back at the shop</h1></body></html>")
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/shop/return")
}

fn wallet_payment(order: &str, value: u64, return_url: &str) -> Value {
    json!({
        "order_id": order,
        "amount": { "currency": "SGD", "value": value },
        "method": { "type": "wallet", "wallet": "GCASH", "terminal_type": "WEB" },
        "return_url": format!("{return_url}?order={order}"),
    })
}

/// Opens the payment's page, checks it shows the amount, clicks `action`, and waits until the
/// browser is back at the shop's return URL (exactly as given).
async fn buyer(browser: &Client, created: &Value, shown_amount: &str, action: &str) {
    let url = created["next_action"]["url"]
        .as_str()
        .expect("next_action.url");
    browser.goto(url).await.expect("the wallet's page loads");
    let page = browser.source().await.expect("page source");
    assert!(
        page.contains(shown_amount),
        "the page shows {shown_amount}: {page}"
    );
    browser
        .find(Locator::Css(&format!("[data-action=\"{action}\"]")))
        .await
        .unwrap_or_else(|e| panic!("no {action} button: {e}"))
        .click()
        .await
        .expect("click");
    let start = Instant::now();
    loop {
        let at = browser.current_url().await.expect("url");
        if at.path() == "/shop/return" {
            let order = created["order_id"].as_str().unwrap();
            assert_eq!(
                at.query(),
                Some(format!("order={order}").as_str()),
                "unchanged"
            );
            browser
                .find(Locator::Id("back"))
                .await
                .expect("the shop's page rendered");
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "never back at the shop: {at}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_buyer_in_chromium_pays_declines_and_leaves_on_the_hosted_wallet_and_card_pages() {
    let h = online_harness().await;
    let return_url = shop().await;
    let driver = Driver::start();
    let browser = driver.browser().await;

    // Approve: back at the shop, and the merchant sees it paid once Antom says so.
    let (_, paid) = create(&h, "b-1", &wallet_payment("b-o1", 1250, &return_url)).await;
    buyer(&browser, &paid, "12.50", "approve").await;
    let id = paid["id"].as_str().unwrap();
    wait_for(&h, id, "succeeded", Duration::from_secs(10)).await;
    let prid = paid["antom"]["payment_request_id"].as_str().unwrap();
    assert_eq!(h.payment(prid).unwrap().status, "SUCCESS");

    // Decline: failed, nothing charged.
    let (_, declined) = create(&h, "b-2", &wallet_payment("b-o2", 800, &return_url)).await;
    buyer(&browser, &declined, "8.00", "decline").await;
    let id = declined["id"].as_str().unwrap();
    wait_for(&h, id, "failed", Duration::from_secs(10)).await;

    // Leave: the return proves nothing — still awaiting the buyer, then expired unpaid.
    let (_, left) = create(&h, "b-3", &wallet_payment("b-o3", 500, &return_url)).await;
    buyer(&browser, &left, "5.00", "leave").await;
    let id = left["id"].as_str().unwrap();
    wait_for(&h, id, "requires_action", Duration::from_secs(1)).await;
    wait_for(&h, id, "expired", Duration::from_secs(15)).await;
    let prid = left["antom"]["payment_request_id"].as_str().unwrap();
    assert_ne!(h.payment(prid).unwrap().status, "SUCCESS");

    // A card on the hosted card page: typed in the browser, authorized, captured, succeeded.
    let (_, card) = create(&h, "b-4", &card_payment("b-o4", 4200, &return_url)).await;
    type_card(&browser, &card, "42.00", "4242424242424242").await;
    let id = card["id"].as_str().unwrap();
    wait_for(&h, id, "succeeded", Duration::from_secs(10)).await;
    let prid = card["antom"]["payment_request_id"].as_str().unwrap();
    assert_eq!(h.payment(prid).unwrap().captured_total, Some(4200));

    // A card the issuer declines: failed, nothing captured.
    let (_, refused) = create(&h, "b-5", &card_payment("b-o5", 1100, &return_url)).await;
    type_card(&browser, &refused, "11.00", "4000000000000002").await;
    let id = refused["id"].as_str().unwrap();
    let failed = wait_for(&h, id, "failed", Duration::from_secs(10)).await;
    assert_eq!(failed["failure"]["code"], "DO_NOT_HONOR");

    browser.close().await.expect("close the browser");
}

fn card_payment(order: &str, value: u64, return_url: &str) -> Value {
    json!({
        "order_id": order,
        "amount": { "currency": "SGD", "value": value },
        "method": { "type": "card", "terminal_type": "WEB" },
        "return_url": format!("{return_url}?order={order}"),
    })
}

/// Opens the hosted card page, types the card and pays; waits until back at the shop.
async fn type_card(browser: &Client, created: &Value, shown_amount: &str, number: &str) {
    let url = created["next_action"]["url"]
        .as_str()
        .expect("next_action.url");
    browser.goto(url).await.expect("the card page loads");
    let page = browser.source().await.expect("page source");
    assert!(
        page.contains(shown_amount),
        "the page shows {shown_amount}: {page}"
    );
    for (name, value) in [
        ("card_number", number),
        ("expiry", "12/30"),
        ("cvv", "123"),
        ("holder", "A Buyer"),
    ] {
        browser
            .find(Locator::Css(&format!("input[name=\"{name}\"]")))
            .await
            .unwrap_or_else(|e| panic!("no {name} input: {e}"))
            .send_keys(value)
            .await
            .expect("type");
    }
    browser
        .find(Locator::Css("[data-action=\"approve\"]"))
        .await
        .expect("the Pay button")
        .click()
        .await
        .expect("click");
    let start = Instant::now();
    while browser.current_url().await.expect("url").path() != "/shop/return" {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "never back at the shop"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seed 002 in a real browser: the merchant creates a Checkout Page session, the buyer opens
/// the hosted page in Chromium, picks the wallet among the listed methods, pays on the
/// wallet's page and lands back at the shop. The payment is `succeeded` over REST, the
/// merchant's `payment.succeeded` event verifies with the Standard Webhooks reference library,
/// and antom-sim's ledger holds exactly that payment as SUCCESS.
#[tokio::test]
async fn a_checkout_session_is_paid_with_a_wallet_picked_on_the_page_in_chromium() {
    let receiver = crate::events::Receiver::default();
    let hooks = receiver.start().await;
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("merchant.whsec");
    std::fs::write(&secret_file, format!("{}\n", crate::events::SECRET)).unwrap();
    let h = crate::session::session_harness(|config| {
        config.merchants[0].webhook = Some(asw_core::domain::MerchantWebhookConfig {
            url: format!("http://{hooks}/hooks"),
            secret_file,
        });
    })
    .await;
    let return_url = shop().await;
    let driver = Driver::start();
    let browser = driver.browser().await;

    let body = crate::session::session_body("b-s1", 1250, &format!("{return_url}?order=b-s1"));
    let (status, session) = crate::session::create_session(&h, "b-s1", &body).await;
    assert_eq!(status, 201, "{session}");
    let url = session["url"].as_str().expect("the hosted checkout page");
    browser.goto(url).await.expect("the checkout page loads");
    let page = browser.source().await.expect("page source");
    assert!(page.contains("12.50"), "the page shows the amount: {page}");
    for method in ["GCASH", "ALIPAY_CN", "CARD"] {
        browser
            .find(Locator::Css(&format!("[data-method=\"{method}\"]")))
            .await
            .unwrap_or_else(|e| panic!("{method} is not offered on the page: {e}"));
    }
    browser
        .find(Locator::Css("[data-method=\"GCASH\"]"))
        .await
        .expect("GCash")
        .click()
        .await
        .expect("click");
    let start = Instant::now();
    while !browser
        .current_url()
        .await
        .expect("url")
        .path()
        .starts_with("/checkout/wallet/")
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "never on the wallet's page"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // On the wallet's page the buyer goes on as for any wallet payment.
    let on_wallet = json!({ "next_action": { "url": browser.current_url().await.unwrap().as_str() },
                            "order_id": "b-s1" });
    buyer(&browser, &on_wallet, "12.50", "approve").await;

    let id = session["id"].as_str().unwrap();
    let paid = wait_for(&h, id, "succeeded", Duration::from_secs(10)).await;
    assert_eq!(paid["paid_with"]["method_type"], "GCASH", "{paid}");
    let prid = session["antom"]["payment_request_id"].as_str().unwrap();
    let ledger = h.payment(prid).expect("the session's payment at Antom");
    assert_eq!(ledger.status, "SUCCESS");
    assert_eq!(ledger.payment_method_type.as_deref(), Some("GCASH"));
    assert_eq!(h.sim.session(prid).unwrap().status, "SUBMITTED");
    assert_eq!(
        h.sim
            .payments()
            .iter()
            .filter(|p| p.status == "SUCCESS")
            .count(),
        1,
        "one payment at Antom"
    );

    let events = receiver
        .wait_for("payment.succeeded", 1, Duration::from_secs(10))
        .await;
    assert_eq!(events[0].1["data"]["id"], json!(id));
    assert_eq!(events[0].1["data"]["paid_with"]["method_type"], "GCASH");
    let file = crate::events::write_deliveries(&receiver, dir.path());
    let out = Command::new(asw_e2e::python_bin("python"))
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/verify_webhooks.py"))
        .arg(crate::events::SECRET)
        .arg(&file)
        .output()
        .expect("python (run scripts/ensure-deps.sh)");
    assert!(
        out.status.success(),
        "the merchant's event does not verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    browser.close().await.expect("close the browser");
}

/// The rest of seed 001/004's buyer journeys in Chromium, with Antom's notifications held back
/// 4 s (so the switch learns a payment late, as it may in production): a retry of an order
/// after its first attempt was declined, a double success on one order resolved to one, and a
/// card authorized on the page and captured only when the merchant asks.
#[tokio::test]
async fn retries_double_successes_and_manual_capture_in_chromium() {
    let h = crate::online::online_harness_notifying_after(Some(Duration::from_secs(4))).await;
    let return_url = shop().await;
    let driver = Driver::start();
    let browser = driver.browser().await;
    let order_of = |id: &str| {
        let url = format!("http://{}/v1/orders/{id}", h.rest());
        async move {
            crate::online::json_of(
                reqwest::Client::new()
                    .get(url)
                    .bearer_auth(asw_e2e::REST_SECRET)
                    .send()
                    .await
                    .expect("order"),
            )
            .await
        }
    };

    // A retry after a decline: the second attempt of the order is paid.
    let (_, first) = create(&h, "r-1", &wallet_payment("r-o1", 600, &return_url)).await;
    buyer(&browser, &first, "6.00", "decline").await;
    wait_for(
        &h,
        first["id"].as_str().unwrap(),
        "failed",
        Duration::from_secs(15),
    )
    .await;
    let (status, retry) = create(&h, "r-2", &wallet_payment("r-o1", 600, &return_url)).await;
    assert_eq!(status, 201, "{retry}");
    buyer(&browser, &retry, "6.00", "approve").await;
    wait_for(
        &h,
        retry["id"].as_str().unwrap(),
        "succeeded",
        Duration::from_secs(15),
    )
    .await;
    let order = order_of("r-o1").await;
    assert_eq!(order["paid"], true, "{order}");
    assert_eq!(order["attempts"].as_array().map(Vec::len), Some(2));

    // Two buyers pay two attempts of one order before the switch hears of the first: the
    // earlier attempt was superseded (its cancel queued first), so its money goes back and
    // the order ends with one success at Antom.
    let (_, a) = create(&h, "d-1", &wallet_payment("d-o1", 900, &return_url)).await;
    buyer(&browser, &a, "9.00", "approve").await;
    let (status, b) = create(&h, "d-2", &wallet_payment("d-o1", 900, &return_url)).await;
    assert_eq!(status, 201, "{b}");
    buyer(&browser, &b, "9.00", "approve").await;
    wait_for(
        &h,
        b["id"].as_str().unwrap(),
        "succeeded",
        Duration::from_secs(15),
    )
    .await;
    wait_for(
        &h,
        a["id"].as_str().unwrap(),
        "cancelled",
        Duration::from_secs(15),
    )
    .await;
    let prid = |v: &Value| {
        v["antom"]["payment_request_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    h.wait_for_status(&prid(&a), "CANCELLED", Duration::from_secs(15))
        .await;
    assert_eq!(h.payment(&prid(&b)).unwrap().status, "SUCCESS");
    let order = order_of("d-o1").await;
    let paid: Vec<_> = order["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "succeeded")
        .collect();
    assert_eq!(paid.len(), 1, "one success for the order: {order}");

    // A manual capture: authorized when the buyer pays on the card page, succeeded only once
    // the merchant captures.
    let mut manual = card_payment("m-o1", 2300, &return_url);
    manual["capture"] = json!("manual");
    let (_, card) = create(&h, "m-1", &manual).await;
    type_card(&browser, &card, "23.00", "4242424242424242").await;
    let id = card["id"].as_str().unwrap();
    wait_for(&h, id, "authorized", Duration::from_secs(15)).await;
    assert_eq!(
        h.payment(&prid(&card)).unwrap().captured_total.unwrap_or(0),
        0
    );
    let captured = crate::online::json_of(
        reqwest::Client::new()
            .post(format!("http://{}/v1/payments/{id}/capture", h.rest()))
            .bearer_auth(asw_e2e::REST_SECRET)
            .header("idempotency-key", "m-cap")
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("capture"),
    )
    .await;
    assert_eq!(captured["status"], "succeeded", "{captured}");
    assert_eq!(h.payment(&prid(&card)).unwrap().captured_total, Some(2300));

    browser.close().await.expect("close the browser");
}
