//! `antom-switch events list|dead|replay`: the merchants' events waiting for delivery, those
//! given up on, and putting those back.

use std::process::ExitCode;

use clap::Subcommand;
use serde::Serialize;

/// What `events` does.
#[derive(Subcommand)]
pub enum EventsAction {
    /// Lists events waiting for delivery (queued or scheduled for a retry).
    List {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Lists events given up on, with the reason.
    Dead {
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        max: usize,
    },
    /// Puts dead events back into the queue (attempts reset).
    Replay {
        /// The dead event (`<shard>/<id>` as `events dead` prints it).
        id: Option<String>,
        /// Replays every dead event.
        #[arg(long, conflicts_with = "id")]
        all_dead: bool,
    },
}

#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    event_id: &'a str,
    kind: &'a str,
    merchant_id: &'a str,
    journal_id: &'a str,
    attempts: Option<u32>,
    reason: Option<&'a str>,
}

/// Runs one `events` action against the store.
pub async fn run(store: asw_store::RedisStore, action: EventsAction) -> ExitCode {
    let fail = |e: asw_core::ports::StoreError| {
        eprintln!("redis: {e}");
        ExitCode::FAILURE
    };
    match action {
        EventsAction::List { max } => match store.list_outbox(max).await {
            Ok(items) => {
                let listed: Vec<Listed<'_>> = items
                    .iter()
                    .map(|(id, e, attempts)| Listed {
                        id,
                        event_id: &e.id,
                        kind: &e.kind,
                        merchant_id: &e.merchant_id,
                        journal_id: &e.journal_id,
                        attempts: Some(*attempts),
                        reason: None,
                    })
                    .collect();
                crate::print_json(&listed)
            }
            Err(e) => fail(e),
        },
        EventsAction::Dead { max } => match store.list_outbox_dead(max).await {
            Ok(items) => {
                let listed: Vec<Listed<'_>> = items
                    .iter()
                    .map(|(id, e, reason)| Listed {
                        id,
                        event_id: &e.id,
                        kind: &e.kind,
                        merchant_id: &e.merchant_id,
                        journal_id: &e.journal_id,
                        attempts: None,
                        reason: Some(reason),
                    })
                    .collect();
                crate::print_json(&listed)
            }
            Err(e) => fail(e),
        },
        EventsAction::Replay { id, all_dead } => {
            let ids: Vec<String> = if all_dead {
                match store.list_outbox_dead(usize::MAX / 2).await {
                    Ok(items) => items.into_iter().map(|(id, _, _)| id).collect(),
                    Err(e) => return fail(e),
                }
            } else if let Some(id) = id {
                vec![id]
            } else {
                eprintln!("give a dead event id or --all-dead");
                return ExitCode::from(crate::EXIT_CONFIG);
            };
            let mut replayed = 0usize;
            for id in &ids {
                match store.replay_outbox_dead(id).await {
                    Ok(true) => replayed += 1,
                    Ok(false) if !all_dead => {
                        eprintln!("no dead event {id}");
                        return ExitCode::FAILURE;
                    }
                    Ok(false) => {}
                    Err(e) => return fail(e),
                }
            }
            println!("replayed {replayed} event(s)");
            ExitCode::SUCCESS
        }
    }
}
