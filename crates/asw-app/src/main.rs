//! `antom-switch`: run the switch, check a configuration, inspect the SAF queue and the journal.

use std::path::PathBuf;
use std::process::ExitCode;

use asw_app::config::Config;
use asw_app::{RunningSwitch, StartError, telemetry};
use clap::{Parser, Subcommand};

mod events_cli;

/// Exit code for an invalid configuration (sysexits EX_USAGE... EX_DATAERR is 65; 64 = usage).
const EXIT_CONFIG: u8 = 64;

#[derive(Parser)]
#[command(
    name = "antom-switch",
    version,
    about = "ISO 8583 terminals ⇄ Antom payment switch"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the switch until SIGTERM/SIGINT.
    Run {
        /// The TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validates the configuration (and the key files it names) and exits.
    CheckConfig {
        /// The TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// The store-and-forward queue.
    Saf {
        /// The TOML configuration file (for the Redis settings).
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: SafAction,
    },
    /// Merchants' events (REST): waiting, dead, replay.
    Events {
        /// The TOML configuration file (for the Redis settings).
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: events_cli::EventsAction,
    },
    /// The transaction journal.
    Txn {
        /// The TOML configuration file (for the Redis settings).
        #[arg(long, short, global = true)]
        config: Option<PathBuf>,
        #[command(subcommand)]
        action: TxnAction,
    },
}

#[derive(Subcommand)]
enum SafAction {
    /// Lists queued entries (ready, in flight, waiting for a retry).
    List {
        /// At most this many per place and shard.
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Lists dead letters.
    Dead {
        /// At most this many per shard.
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Puts dead letters back into the queue.
    Replay {
        /// The dead letter (`<shard>/<id>` as `saf dead` prints it).
        id: Option<String>,
        /// Replays every dead letter.
        #[arg(long, conflicts_with = "id")]
        all_dead: bool,
    },
}

#[derive(Subcommand)]
enum TxnAction {
    /// Shows a transaction and its audit trail.
    Show {
        /// The paymentRequestId (or refundRequestId).
        payment_request_id: Option<String>,
        /// Merchant id (F42), with --terminal, --stan and --date.
        #[arg(long)]
        merchant: Option<String>,
        /// Terminal id (F41).
        #[arg(long)]
        terminal: Option<String>,
        /// STAN (F11).
        #[arg(long)]
        stan: Option<String>,
        /// Local date MMDD (F13) or YYYYMMDD.
        #[arg(long)]
        date: Option<String>,
    },
}

fn load(path: &std::path::Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|errors| {
        eprintln!("invalid configuration {}:", path.display());
        for (key, message) in &errors.problems {
            eprintln!("  {key}: {message}");
        }
        ExitCode::from(EXIT_CONFIG)
    })
}

// glibc malloc was ~17% of the switch's CPU per purchase in the end-to-end profile
// (benches/RESULTS.md); mimalloc handles the many small per-request buffers more cheaply.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        match cli.command {
            Command::Run { config } => run(config).await,
            Command::CheckConfig { config } => check(config),
            Command::Saf { config, action } => saf(config, action).await,
            Command::Events { config, action } => match store_for(config).await {
                Ok(store) => events_cli::run(store, action).await,
                Err(code) => code,
            },
            Command::Txn { config, action } => txn(config, action).await,
        }
    })
}

fn check(path: PathBuf) -> ExitCode {
    let config = match load(&path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match config.validate().and_then(|()| config.identity_mode()) {
        Ok(identity) => {
            println!("{}: ok", path.display());
            println!("  downstream identity: {identity}");
            for line in config.summary() {
                println!("  {line}");
            }
            for warning in config.warnings() {
                println!("  warning: {warning}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("invalid configuration {}:", path.display());
            for (key, message) in &errors.problems {
                eprintln!("  {key}: {message}");
            }
            ExitCode::from(EXIT_CONFIG)
        }
    }
}

async fn run(path: PathBuf) -> ExitCode {
    let config = match load(&path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    telemetry::init_logging(&config.log);
    let switch = match RunningSwitch::start(config).await {
        Ok(s) => s,
        Err(StartError::Config(errors)) => {
            eprintln!("invalid configuration {}:", path.display());
            for (key, message) in &errors.problems {
                eprintln!("  {key}: {message}");
            }
            return ExitCode::from(EXIT_CONFIG);
        }
        Err(e) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("antom-switch: {e}");
            return ExitCode::FAILURE;
        }
    };
    wait_for_signal().await;
    tracing::info!("shutdown requested: draining");
    switch.shutdown().await;
    ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn store_for(path: Option<PathBuf>) -> Result<asw_store::RedisStore, ExitCode> {
    let Some(path) = path else {
        eprintln!("--config FILE is required (for the Redis settings)");
        return Err(ExitCode::from(EXIT_CONFIG));
    };
    let config = load(&path)?;
    asw_store::RedisStore::connect(config.redis)
        .await
        .map_err(|e| {
            eprintln!("cannot connect to redis: {e}");
            ExitCode::FAILURE
        })
}

fn print_json<T: serde::Serialize>(value: &T) -> ExitCode {
    match serde_json::to_string_pretty(value) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot print: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn saf(path: Option<PathBuf>, action: SafAction) -> ExitCode {
    let store = match store_for(path).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let fail = |e: asw_core::ports::StoreError| {
        eprintln!("redis: {e}");
        ExitCode::FAILURE
    };
    match action {
        SafAction::List { max } => match store.list_saf(max).await {
            Ok(items) => print_json(&items),
            Err(e) => fail(e),
        },
        SafAction::Dead { max } => match store.list_dead(max).await {
            Ok(items) => print_json(&items),
            Err(e) => fail(e),
        },
        SafAction::Replay { id, all_dead } => {
            if all_dead {
                match store.replay_all_dead().await {
                    Ok(n) => {
                        println!("replayed {n} dead letter(s)");
                        ExitCode::SUCCESS
                    }
                    Err(e) => fail(e),
                }
            } else if let Some(id) = id {
                match store.replay_dead(&id).await {
                    Ok(true) => {
                        println!("replayed {id}");
                        ExitCode::SUCCESS
                    }
                    Ok(false) => {
                        eprintln!("no dead letter {id}");
                        ExitCode::FAILURE
                    }
                    Err(e) => fail(e),
                }
            } else {
                eprintln!("give a dead letter id or --all-dead");
                ExitCode::from(EXIT_CONFIG)
            }
        }
    }
}

async fn txn(path: Option<PathBuf>, action: TxnAction) -> ExitCode {
    let store = match store_for(path).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let TxnAction::Show {
        payment_request_id,
        merchant,
        terminal,
        stan,
        date,
    } = action;
    let view = match (payment_request_id, merchant, terminal, stan, date) {
        (Some(id), _, _, _, _) => store.show_txn(&id).await,
        (None, Some(mid), Some(tid), Some(stan), Some(date)) => {
            let date = if date.len() == 4 {
                let year = time::OffsetDateTime::now_utc().date();
                match asw_front_iso::terminal_ids::infer_year(&date, year) {
                    Some(y) => format!("{y:04}{date}"),
                    None => {
                        eprintln!("--date must be MMDD or YYYYMMDD");
                        return ExitCode::from(EXIT_CONFIG);
                    }
                }
            } else {
                date
            };
            store
                .show_txn_by_terminal_key(&mid, &tid, &date, &stan)
                .await
        }
        _ => {
            eprintln!("give a paymentRequestId, or --merchant --terminal --stan --date");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    match view {
        Ok(Some(view)) => print_json(&view),
        Ok(None) => {
            eprintln!("no such transaction");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("redis: {e}");
            ExitCode::FAILURE
        }
    }
}
