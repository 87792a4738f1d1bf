//! `terminal-sim`: send one transaction, run a load, or convert messages.
//!
//! Exit codes: 0 when the answer's F39 is `00` (or the command succeeded), 1 for any
//! other answer, 2 for usage, connection and I/O errors.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use asw_iso8583::json::to_json;
use asw_iso8583::{LengthPrefix, Message, Tpdu};
use asw_terminal_sim::codes::CodeList;
use asw_terminal_sim::link::{LinkConfig, ProfileName, TlsLink};
use asw_terminal_sim::load::{self, LoadConfig, Mix};
use asw_terminal_sim::{Answer, Clock, MessageFactory, Original, Reference, Terminal, tool};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "terminal-sim",
    version,
    about = "ISO 8583 terminal, load generator and codec tool for antom-switch"
)]
struct Cli {
    /// Switch address, HOST:PORT.
    #[arg(long, global = true)]
    connect: Option<String>,
    /// Encoding profile: B / pos-binary (default) or A / ascii.
    #[arg(long, global = true, default_value = "B")]
    profile: ProfileName,
    /// Frame length header.
    #[arg(long, global = true, value_enum, default_value = "binary-exclusive")]
    prefix: Prefix,
    /// TPDU on (default for profile B) or off (default for profile A).
    #[arg(long, global = true)]
    tpdu: Option<bool>,
    /// TPDU destination NII (4 hex digits, BCD).
    #[arg(long, global = true, default_value = "0001")]
    tpdu_destination: String,
    /// Terminal response timeout in milliseconds.
    #[arg(long, global = true, default_value_t = 65_000)]
    timeout_ms: u64,
    /// Connect with TLS, trusting the CA certificates in this PEM file.
    #[arg(long, global = true)]
    tls_ca: Option<PathBuf>,
    /// The name the switch's certificate must carry (with --tls-ca).
    #[arg(long, global = true, default_value = "localhost")]
    tls_server_name: String,
    /// This terminal's certificate chain (PEM), for a switch that requires one.
    #[arg(long, global = true, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// This terminal's private key (PEM), with --tls-cert.
    #[arg(long, global = true, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum Prefix {
    BinaryExclusive,
    BinaryInclusive,
    Ascii4,
    Bcd2,
}

impl From<Prefix> for LengthPrefix {
    fn from(p: Prefix) -> Self {
        match p {
            Prefix::BinaryExclusive => LengthPrefix::BinaryExclusive,
            Prefix::BinaryInclusive => LengthPrefix::BinaryInclusive,
            Prefix::Ascii4 => LengthPrefix::Ascii4,
            Prefix::Bcd2 => LengthPrefix::Bcd2,
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// 0200/000000 QR purchase with the payment code in F48 PC.
    Purchase(TxArgs),
    /// 0200/910000 merchant-presented order code: prints the answer (39 = 09 with the code
    /// to display in F48 QC, payable until QE), then polls 0100/900000 every --poll-ms until
    /// the answer is no longer 09, printing each one (JSON lines).
    OrderCode(TxArgs),
    /// 0200/020000 void of a purchase named by --rrn / --payment-request-id / --payment-id.
    Void(TxArgs),
    /// 0200/200000 refund of a purchase named by --rrn / --payment-request-id / --payment-id.
    Refund(TxArgs),
    /// 0400 (0401 with --repeat) reversal request of the original given by --original-*.
    Reverse(TxArgs),
    /// 0420 (0421 with --repeat) reversal advice of the original given by --original-*.
    Advice(TxArgs),
    /// 0100/900000 status inquiry of a transaction named by --rrn / --payment-request-id.
    Inquiry(TxArgs),
    /// 0800 echo (F70 301).
    Echo(TxArgs),
    /// 0800 sign-on (F70 001).
    SignOn(TxArgs),
    /// 0800 sign-off (F70 002).
    SignOff(TxArgs),
    /// Open-loop load at a fixed rate; writes a JSON report.
    Load(LoadArgs),
    /// JSON message on stdin -> wire bytes (MTI onwards) as hex.
    Encode,
    /// Hex wire bytes on stdin -> JSON message.
    Decode,
}

#[derive(Args, Debug)]
struct TxArgs {
    /// F4 amount in minor units.
    #[arg(long, default_value_t = 1250)]
    amount: u64,
    /// F49 currency, ISO 4217 numeric.
    #[arg(long, default_value_t = 344)]
    currency: u16,
    /// Payment code as scanned (F48 PC).
    #[arg(long, default_value = "281234567890123456")]
    code: String,
    /// F42 merchant id.
    #[arg(long, default_value = "M00000000000001")]
    mid: String,
    /// F41 terminal id.
    #[arg(long, default_value = "T0000001")]
    tid: String,
    /// F11 STAN (default: derived from the time of day).
    #[arg(long)]
    stan: Option<u32>,
    /// F24 NII to send (3 digits).
    #[arg(long)]
    nii: Option<String>,
    /// Original RRN (F37) for void, refund, inquiry and reversals.
    #[arg(long)]
    rrn: Option<String>,
    /// Original paymentRequestId (F48 PR).
    #[arg(long)]
    payment_request_id: Option<String>,
    /// Original paymentId (F48 PI).
    #[arg(long)]
    payment_id: Option<String>,
    /// Reversal: original F11.
    #[arg(long)]
    original_stan: Option<u32>,
    /// Reversal: original F12 (hhmmss).
    #[arg(long)]
    original_time: Option<String>,
    /// Reversal: original F13 (MMDD, default today).
    #[arg(long)]
    original_date: Option<String>,
    /// Reversal: original F3.
    #[arg(long, default_value = "000000")]
    original_processing_code: String,
    /// Reversal: reason in F39.
    #[arg(long, default_value = "98")]
    reason: String,
    /// Reversal: send the repeat MTI (0401 / 0421).
    #[arg(long)]
    repeat: bool,
    /// Order code: poll the status this often while it is in progress (0: do not poll). The
    /// polls use the STANs after the request's and give up after --timeout-ms.
    #[arg(long, default_value_t = 2_000)]
    poll_ms: u64,
}

#[derive(Args, Debug)]
struct LoadArgs {
    /// Persistent connections (one terminal id each).
    #[arg(long, default_value_t = 10)]
    connections: usize,
    /// Transactions started per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Where to write the JSON report.
    #[arg(long)]
    report: std::path::PathBuf,
    /// Scenario weights.
    #[arg(long, default_value = "purchase=100")]
    mix: Mix,
    /// File of payment code templates ('?' = random digit), one per line.
    #[arg(long)]
    codes: Option<std::path::PathBuf>,
    /// Smallest amount (minor units).
    #[arg(long, default_value_t = 100)]
    amount_min: u64,
    /// Largest amount (minor units).
    #[arg(long, default_value_t = 99_999)]
    amount_max: u64,
    /// F49 currency, ISO 4217 numeric.
    #[arg(long, default_value_t = 344)]
    currency: u16,
    /// F42 merchant id.
    #[arg(long, default_value = "M00000000000001")]
    mid: String,
    /// Terminal id prefix (default: L + 3 random characters, so runs do not collide).
    #[arg(long)]
    tid_prefix: Option<String>,
    /// F24 NII to send (3 digits).
    #[arg(long)]
    nii: Option<String>,
    /// Seed for scenarios, amounts and codes (default: random).
    #[arg(long)]
    seed: Option<u64>,
    /// A request written more than this many ms after its scheduled time is late.
    #[arg(long, default_value_t = 5.0)]
    late_ms: f64,
    /// Do not send a reversal advice when a purchase gets no answer.
    #[arg(long)]
    no_reverse_on_timeout: bool,
    /// Runtime worker threads (1 = a single core).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Append every transaction record to this file, made durable (fsync) before each
    /// message is sent; a run on a file that already holds records continues its numbering
    /// and STANs and first settles what a killed run left in flight.
    #[arg(long)]
    records: Option<std::path::PathBuf>,
    /// Another instance of the switch (HOST:PORT), as a terminal whose reconnect lands on the
    /// other node behind a load balancer: re-sent purchases go to it, and reversal advices
    /// alternate between it (first) and --connect.
    #[arg(long)]
    follow_ups_to: Option<String>,
    /// Use UTC for F12/F13 instead of the local time zone.
    #[arg(long)]
    utc: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Read the local offset before any thread starts (unsound afterwards on Unix).
    let clock = Clock::local();
    let threads = match &cli.command {
        Command::Load(args) => args.threads.max(1),
        _ => 1,
    };
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("terminal-sim: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli, clock)) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("terminal-sim: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn link(cli: &Cli) -> anyhow::Result<LinkConfig> {
    let mut link = LinkConfig::for_profile(cli.profile)?;
    link.prefix = cli.prefix.into();
    let with_tpdu = cli.tpdu.unwrap_or(cli.profile == ProfileName::PosBinary);
    link.tpdu = if with_tpdu {
        let raw = hex::decode(&cli.tpdu_destination).context("--tpdu-destination")?;
        let destination: [u8; 2] = raw
            .try_into()
            .map_err(|_| anyhow!("--tpdu-destination is 4 hex digits"))?;
        Some(Tpdu::new(destination, [0, 0]))
    } else {
        None
    };
    link.tls = match &cli.tls_ca {
        None if cli.tls_cert.is_some() => bail!("--tls-cert needs --tls-ca"),
        None => None,
        Some(ca) => {
            let client = cli.tls_cert.as_deref().zip(cli.tls_key.as_deref());
            Some(TlsLink::from_files(ca, &cli.tls_server_name, client)?)
        }
    };
    Ok(link)
}

async fn target(cli: &Cli) -> anyhow::Result<SocketAddr> {
    let text = cli
        .connect
        .as_deref()
        .ok_or_else(|| anyhow!("--connect HOST:PORT is required"))?;
    resolve(text).await
}

async fn resolve(text: &str) -> anyhow::Result<SocketAddr> {
    tokio::net::lookup_host(text)
        .await
        .with_context(|| format!("cannot resolve {text}"))?
        .next()
        .ok_or_else(|| anyhow!("{text} resolves to no address"))
}

fn read_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    Ok(text)
}

async fn run(cli: Cli, clock: Clock) -> anyhow::Result<u8> {
    let link = link(&cli)?;
    match &cli.command {
        Command::Encode => {
            println!("{}", tool::json_to_hex(&link.dialect, &read_stdin()?)?);
            Ok(0)
        }
        Command::Decode => {
            println!("{}", tool::hex_to_json(&link.dialect, &read_stdin()?)?);
            Ok(0)
        }
        Command::Load(args) => run_load(&cli, args, link, clock).await,
        Command::OrderCode(args) => run_order_code(&cli, args, link, clock).await,
        Command::Purchase(args)
        | Command::Void(args)
        | Command::Refund(args)
        | Command::Reverse(args)
        | Command::Advice(args)
        | Command::Inquiry(args)
        | Command::Echo(args)
        | Command::SignOn(args)
        | Command::SignOff(args) => {
            let request = build(&cli.command, args, &link, clock)?;
            let addr = target(&cli).await?;
            let terminal = Terminal::connect(addr, link.clone()).await?;
            let timeout = Duration::from_millis(cli.timeout_ms);
            let answer = terminal.request(&request, timeout).await?;
            println!("{}", to_json(&link.dialect, &answer));
            Ok(if answer.get(39) == Some(b"00") { 0 } else { 1 })
        }
    }
}

fn build(
    command: &Command,
    args: &TxArgs,
    link: &LinkConfig,
    clock: Clock,
) -> anyhow::Result<Message> {
    let stan = args.stan.unwrap_or_else(default_stan);
    let stamp = clock.stamp(stan);
    let mut factory = MessageFactory::new(&link.dialect, &args.mid, &args.tid);
    if let Some(nii) = &args.nii {
        factory = factory.with_nii(nii);
    }
    let reference = Reference {
        rrn: args.rrn.clone(),
        payment_request_id: args.payment_request_id.clone(),
        payment_id: args.payment_id.clone(),
    };
    let message = match command {
        Command::Purchase(_) => factory.purchase(&stamp, args.amount, args.currency, &args.code)?,
        Command::Void(_) => factory.void(&stamp, args.amount, args.currency, &reference)?,
        Command::Refund(_) => factory.refund(&stamp, args.amount, args.currency, &reference)?,
        Command::Inquiry(_) => factory.inquiry(&stamp, &reference)?,
        Command::Echo(_) => factory.network(&stamp, "301")?,
        Command::SignOn(_) => factory.network(&stamp, "001")?,
        Command::SignOff(_) => factory.network(&stamp, "002")?,
        Command::Reverse(_) | Command::Advice(_) => {
            let original = Original {
                processing_code: args.original_processing_code.clone(),
                amount: args.amount,
                currency: args.currency,
                stan: args
                    .original_stan
                    .ok_or_else(|| anyhow!("--original-stan is required"))?,
                local_time: args
                    .original_time
                    .clone()
                    .ok_or_else(|| anyhow!("--original-time is required"))?,
                local_date: args
                    .original_date
                    .clone()
                    .unwrap_or(stamp.local_date.clone()),
                rrn: args.rrn.clone(),
            };
            if matches!(command, Command::Reverse(_)) {
                factory.reversal(&stamp.transmission, &original, &args.reason, args.repeat)?
            } else {
                factory.reversal_advice(
                    &stamp.transmission,
                    &original,
                    &args.reason,
                    args.repeat,
                )?
            }
        }
        Command::OrderCode(_) => factory.order_code(&stamp, args.amount, args.currency)?,
        Command::Load(_) | Command::Encode | Command::Decode => bail!("not a transaction"),
    };
    Ok(message)
}

/// Asks for an order code and, while the answer is "in progress" (09), polls its status on the
/// same connection until it is final or --timeout-ms has passed. Exit 0 only for a final 00.
async fn run_order_code(
    cli: &Cli,
    args: &TxArgs,
    link: LinkConfig,
    clock: Clock,
) -> anyhow::Result<u8> {
    let request = build(&cli.command, args, &link, clock)?;
    let first_stan = request
        .get_str(11)
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(1);
    let addr = target(cli).await?;
    let terminal = Terminal::connect(addr, link.clone()).await?;
    let timeout = Duration::from_millis(cli.timeout_ms);
    let give_up = tokio::time::Instant::now() + timeout;
    let mut answer = terminal.request(&request, timeout).await?;
    println!("{}", to_json(&link.dialect, &answer));
    let reference = Reference {
        payment_request_id: answer.payment_request_id().map(String::from),
        ..Reference::default()
    };
    let mut factory = MessageFactory::new(&link.dialect, &args.mid, &args.tid);
    if let Some(nii) = &args.nii {
        factory = factory.with_nii(nii);
    }
    let mut stan = first_stan;
    while answer.get(39) == Some(b"09")
        && args.poll_ms > 0
        && reference.payment_request_id.is_some()
    {
        let pause = Duration::from_millis(args.poll_ms);
        if tokio::time::Instant::now() + pause >= give_up {
            eprintln!("terminal-sim: the order code is still in progress; giving up");
            return Ok(1);
        }
        tokio::time::sleep(pause).await;
        stan = stan % 999_999 + 1;
        let inquiry = factory.inquiry(&clock.stamp(stan), &reference)?;
        answer = terminal.request(&inquiry, timeout).await?;
        println!("{}", to_json(&link.dialect, &answer));
    }
    Ok(if answer.get(39) == Some(b"00") { 0 } else { 1 })
}

/// A STAN that differs between runs a second apart: seconds since midnight UTC.
fn default_stan() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (secs % 86_400) as u32 + 1
}

async fn run_load(
    cli: &Cli,
    args: &LoadArgs,
    link: LinkConfig,
    clock: Clock,
) -> anyhow::Result<u8> {
    use rand::Rng;
    let addr = target(cli).await?;
    let mut config = LoadConfig::new(addr, link);
    let mut rng = rand::rng();
    config.connections = args.connections;
    config.rate_per_s = args.rate;
    config.duration = Duration::try_from_secs_f64(args.duration).context("--duration")?;
    config.mix = args.mix.clone();
    if let Some(path) = &args.codes {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        config.codes = CodeList::parse(&text)?;
    }
    config.amount_min = args.amount_min;
    config.amount_max = args.amount_max;
    config.currency = args.currency;
    config.merchant_id = args.mid.clone();
    config.terminal_prefix = match &args.tid_prefix {
        Some(prefix) => prefix.clone(),
        None => {
            const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
            let tag: String = (0..3)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect();
            format!("L{tag}")
        }
    };
    config.nii = args.nii.clone();
    config.response_timeout = Duration::from_millis(cli.timeout_ms);
    config.reverse_on_timeout = !args.no_reverse_on_timeout;
    config.late_after = Duration::try_from_secs_f64(args.late_ms / 1000.0).context("--late-ms")?;
    config.seed = args.seed.unwrap_or_else(|| rng.random());
    config.clock = if args.utc { Clock::utc() } else { clock };
    config.durable_records = args.records.clone();
    config.follow_up_addr = match &args.follow_ups_to {
        Some(addr) => Some(resolve(addr).await.context("--follow-ups-to")?),
        None => None,
    };
    let report = load::run(config).await?;
    let file = std::fs::File::create(&args.report)
        .with_context(|| format!("cannot create {}", args.report.display()))?;
    serde_json::to_writer(std::io::BufWriter::new(file), &report)?;
    println!("{}", serde_json::to_string_pretty(&report.summary)?);
    Ok(0)
}
