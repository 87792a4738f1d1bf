//! The buyer at run time: one entry point for the wallet page's buttons and the
//! `/__sim/buyer/…` test hook (so both do exactly the same), and the watcher that closes an
//! unpaid online payment at its expiry and sends the failure notification then, as Antom
//! does, instead of only when someone next looks at the payment.

use std::sync::Arc;
use std::time::Duration;

use crate::card::CardForm;
use crate::ledger::{BuyerAction, BuyerOutcome, ExpiryCheck, ExpiryJob};
use crate::server::Shared;

/// Applies a buyer action and starts its notification. `None`: no online payment by that id.
/// `card`: what the buyer typed on a card payment's page (`None`: the approving test card).
pub(crate) fn act(
    shared: &Arc<Shared>,
    id: &str,
    action: BuyerAction,
    card: Option<&CardForm>,
) -> Option<BuyerOutcome> {
    let (outcome, effects) =
        shared
            .ledger
            .buyer_act(id, action, card, shared.clock.now(), &shared.cfg)?;
    shared.run_effects(effects, None);
    Some(outcome)
}

/// Waits for an online payment's expiry (re-reading the clock whenever a test moves it) and
/// closes it. Ends early when the payment is settled, on reset and at shutdown.
pub(crate) async fn watch_expiry(shared: Arc<Shared>, job: ExpiryJob) {
    loop {
        // Registered before reading the clock, so a move in between is not missed.
        let moved = shared.clock.moved.notified();
        tokio::pin!(moved);
        moved.as_mut().enable();
        if shared.ledger.generation() != job.generation {
            return;
        }
        let now = shared.clock.now();
        match shared
            .ledger
            .check_expiry(&job.payment_request_id, now, &shared.cfg)
        {
            ExpiryCheck::Done(effects) => {
                shared.run_effects(effects, None);
                return;
            }
            ExpiryCheck::WaitUntil(deadline) => {
                // A little past the deadline, so the re-check sees it passed.
                let wait = Duration::try_from(deadline - now)
                    .unwrap_or(Duration::ZERO)
                    .saturating_add(Duration::from_millis(1));
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = &mut moved => {}
                    () = shared.shutdown.cancelled() => return,
                }
            }
        }
    }
}
