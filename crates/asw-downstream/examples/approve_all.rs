//! Demo: the downstream server with the built-in approve-all handler, on one core.
//!
//! `cargo run --release -p asw-downstream --example approve_all -- 127.0.0.1:8583 pos-binary`
//! then point `terminal-sim` at it. Stops on Ctrl-C.

use std::sync::Arc;

use asw_downstream::{ApproveAllHandler, Profile, Server, ServerConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let listen = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:8583".into())
        .parse()?;
    let profile = match args.next().as_deref() {
        Some("ascii" | "A") => Profile::Ascii,
        _ => Profile::PosBinary,
    };
    let config = ServerConfig {
        listen,
        profile,
        tpdu: profile == Profile::PosBinary,
        shutdown_grace_ms: 1_000,
        ..ServerConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = Server::start(config, Arc::new(ApproveAllHandler::new())).await?;
        println!("listening on {}", server.local_addr());
        tokio::signal::ctrl_c().await?;
        println!("{:?}", server.shutdown().await);
        Ok(())
    })
}
