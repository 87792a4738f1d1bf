//! The official Python SDK (`global-alipay-sdk-python`) pays, inquires, refunds and cancels
//! against a running simulator, verifying every response signature with its own code.
//!
//! Python comes from `ASW_PYTHON`, else `<workspace>/target/pyenv/bin/python` (created by
//! `scripts/ensure-deps.sh`). A missing interpreter or SDK fails the test with a message
//! saying how to install it: this is never skipped silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests may panic on bad fixtures

mod common;

use std::path::PathBuf;

use common::*;

fn python() -> PathBuf {
    if let Ok(p) = std::env::var("ASW_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/pyenv/bin/python")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_pays_inquires_refunds_and_cancels() {
    let python = python();
    let probe = tokio::process::Command::new(&python)
        .args(["-c", "import com.alipay.ams.api.default_alipay_client"])
        .output()
        .await;
    match probe {
        Err(e) => panic!(
            "cannot run {} ({e}). Run scripts/ensure-deps.sh or set ASW_PYTHON to a Python \
             with `pip install -r scripts/requirements-test.txt`.",
            python.display()
        ),
        Ok(out) if !out.status.success() => panic!(
            "the official SDK is not importable with {}: {}\nInstall it with \
             `{} -m pip install -r scripts/requirements-test.txt` (global-alipay-sdk-python \
             and cryptography), or run scripts/ensure-deps.sh.",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim(),
            python.display()
        ),
        Ok(_) => {}
    }

    let (sim, _client) = start_with(|c| {
        let key = testdata("merchant_public.pem");
        *c = std::mem::replace(c, config())
            .with_client("2188TESTPROD0001", &key)
            .unwrap();
    })
    .await;
    let dir = env!("CARGO_MANIFEST_DIR");
    let out = tokio::process::Command::new(&python)
        .arg(format!("{dir}/tests/sdk_interop.py"))
        .env("SIM_BASE_URL", sim.base_url())
        .env("SIM_SANDBOX_CLIENT_ID", CLIENT_ID)
        .env("SIM_PROD_CLIENT_ID", "2188TESTPROD0001")
        .env(
            "MERCHANT_PRIVATE_KEY",
            format!("{dir}/testdata/merchant_private_pkcs1.b64"),
        )
        .env(
            "ANTOM_PUBLIC_KEY",
            format!("{dir}/testdata/antom_public.b64"),
        )
        .env(
            "WRONG_PRIVATE_KEY",
            format!("{dir}/testdata/antom_private_pkcs1.b64"),
        )
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("SDK_INTEROP_OK"),
        "SDK interop failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // The sandbox client really called the sandbox paths, the other the production ones.
    let calls = sim.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.path == "/ams/sandbox/api/v1/payments/pay")
    );
    assert!(calls.iter().any(|c| c.path == "/ams/api/v1/payments/pay"));
    assert!(calls.iter().any(|c| c.result_code == "INVALID_SIGNATURE"));
    sim.shutdown().await;
}
