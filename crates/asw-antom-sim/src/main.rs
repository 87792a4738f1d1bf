//! `antom-sim`: runs the Antom simulator as a process (demo, load tests, manual testing).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use asw_antom::Verifier;
use asw_antom_sim::config::read_text;
use asw_antom_sim::{
    CancelOfClosed, CaptureFault, ConfigError, FaultMix, PreCancel, SignatureErrorSpelling,
    SimClient, SimConfig, Simulator,
};
use clap::Parser;

/// A faithful local Antom simulator: signed answers, payment states, scenarios by payment
/// code, fault injection, notifications and a control API under /__sim/.
#[derive(Debug, Parser)]
#[command(name = "antom-sim", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8480")]
    listen: SocketAddr,
    /// The "Antom" private key that signs answers and notifications (PKCS#1 or PKCS#8, PEM or base64).
    #[arg(long)]
    antom_private_key: PathBuf,
    /// Merchant public key(s) (SubjectPublicKeyInfo, PEM or base64). The n-th file is keyVersion n.
    #[arg(long, required = true)]
    merchant_public_key: Vec<PathBuf>,
    /// Accepted client id(s); each accepts every --merchant-public-key.
    #[arg(long = "client-id", default_values_t = ["SANDBOX_5YTEST00000000000".to_string()])]
    client_ids: Vec<String>,
    /// Random fault mix (TOML: u_rate, slow_rate, slow_ms, lost_after_commit_rate, ...).
    #[arg(long)]
    faults: Option<PathBuf>,
    /// Delay before the first notification, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    notify_delay_ms: u64,
    /// Factor on the notification re-send schedule (0, 2m, 10m, 10m, 1h, 2h, 6h, 15h).
    #[arg(long, default_value_t = 1.0)]
    notify_retry_scale: f64,
    /// Cancel window after success, in seconds.
    #[arg(long, default_value_t = 86_400)]
    cancel_window_secs: u64,
    /// Refund window after success, in seconds.
    #[arg(long, default_value_t = 31_536_000)]
    refund_window_secs: u64,
    /// Default payment expiry, in seconds.
    #[arg(long, default_value_t = 600)]
    payment_expiry_secs: u64,
    /// Default expiry of an unpaid online (CASHIER_PAYMENT) payment, in milliseconds.
    #[arg(long, default_value_t = 840_000)]
    online_expiry_ms: u64,
    /// Base of the URLs handed to buyers (normalUrl, applinkUrl); default: `http://<listen address>`.
    #[arg(long)]
    public_url: Option<String>,
    /// Delay of the slow scenarios, in milliseconds.
    #[arg(long, default_value_t = 12_000)]
    slow_ms: u64,
    /// Inquiries after which the "processing then ..." scenarios settle.
    #[arg(long, default_value_t = 2)]
    settle_after_inquiries: u32,
    /// How long the eventual-consistency scenario hides new payments from inquiries, in ms.
    #[arg(long, default_value_t = 5000)]
    inquiry_not_found_ms: u64,
    /// Spelling of the bad-signature result code.
    #[arg(long, value_enum, default_value_t = SignatureErrorSpelling::InvalidSignature)]
    signature_error: SignatureErrorSpelling,
    /// Cancel of a never-seen paymentRequestId.
    #[arg(long, value_enum, default_value_t = PreCancel::Off)]
    pre_cancel: PreCancel,
    /// Cancel of a failed or expired payment.
    #[arg(long, value_enum, default_value_t = CancelOfClosed::Success)]
    cancel_of_closed: CancelOfClosed,
    /// Refuse a second refund of the same payment (MULTIPLE_REFUNDS_NOT_SUPPORTED).
    #[arg(long)]
    single_refund_only: bool,
    /// Reject requests whose request-time is further than this from now, in seconds.
    #[arg(long)]
    max_clock_skew_secs: Option<u64>,
    /// How long a card authorization can be captured (and voided by cancel), in seconds.
    #[arg(long, default_value_t = 604_800)]
    auth_expiry_secs: u64,
    /// Allow captures below the authorized amount (several, up to the authorized total).
    #[arg(long)]
    partial_capture: bool,
    /// Fault on the first attempt of every new captureRequestId.
    #[arg(long, value_enum, default_value_t = CaptureFault::None)]
    capture_fault: CaptureFault,
}

fn build_config(args: &Args) -> Result<SimConfig, ConfigError> {
    let mut cfg = SimConfig::from_antom_private_key(&read_text(&args.antom_private_key)?)?;
    let mut keys = std::collections::BTreeMap::new();
    for (i, path) in args.merchant_public_key.iter().enumerate() {
        let verifier =
            Verifier::from_public_key(&read_text(path)?).map_err(|source| ConfigError::Key {
                what: format!("merchant public key {}", path.display()),
                source,
            })?;
        let version = u32::try_from(i + 1).unwrap_or(u32::MAX);
        keys.insert(version, verifier);
    }
    cfg.clients = args
        .client_ids
        .iter()
        .map(|id| SimClient {
            client_id: id.clone(),
            keys: keys.clone(),
        })
        .collect();
    if let Some(path) = &args.faults {
        cfg.faults = FaultMix::from_toml(&read_text(path)?)?;
    }
    cfg.listen = args.listen;
    cfg.notify_delay = Duration::from_millis(args.notify_delay_ms);
    cfg.notify_retry_scale = args.notify_retry_scale;
    cfg.cancel_window = Duration::from_secs(args.cancel_window_secs);
    cfg.refund_window = Duration::from_secs(args.refund_window_secs);
    cfg.payment_expiry = Duration::from_secs(args.payment_expiry_secs);
    cfg.online_expiry = Duration::from_millis(args.online_expiry_ms);
    cfg.public_url = args.public_url.clone();
    cfg.slow_answer = Duration::from_millis(args.slow_ms);
    cfg.settle_after_inquiries = args.settle_after_inquiries;
    cfg.inquiry_not_found_for = Duration::from_millis(args.inquiry_not_found_ms);
    cfg.signature_error_spelling = args.signature_error;
    cfg.pre_cancel = args.pre_cancel;
    cfg.cancel_of_closed = args.cancel_of_closed;
    cfg.multiple_refunds = !args.single_refund_only;
    cfg.max_clock_skew = args.max_clock_skew_secs.map(Duration::from_secs);
    cfg.auth_expiry = Duration::from_secs(args.auth_expiry_secs);
    cfg.partial_capture = args.partial_capture;
    cfg.capture_fault = args.capture_fault;
    cfg.validate()?;
    Ok(cfg)
}

// The simulator is part of every end-to-end measurement of the switch: it should cost little
// beyond its RSA signatures. mimalloc for the same reason as the switch (its per-request buffers).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let cfg = match build_config(&args) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("antom-sim: {e}");
            // EX_CONFIG-style exit: the configuration is wrong, nothing was started.
            return ExitCode::from(64);
        }
    };
    let handle = match Simulator::start(cfg).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("antom-sim: {e}");
            return ExitCode::from(69);
        }
    };
    // The bound address on stdout, alone on its line, so scripts can pick up port 0.
    println!("antom-sim listening on {}", handle.base_url());
    tracing::info!(addr = %handle.addr(), "antom-sim started");
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    ExitCode::SUCCESS
}
