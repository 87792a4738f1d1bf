//! The last look at an online payment before the switch closes it (seed 003, RESTful gateway
//! mode: "at the deadline, inquire; not SUCCESS → cancel"). By the closing time the payment
//! expired at Antom, so the inquiry's answer is final there: a SUCCESS whose notification was
//! lost becomes `succeeded` (or `authorized` for a card-like method) here, instead of being
//! cancelled, which would refund a buyer who paid.

use super::*;
use crate::ports::ClosingLook;

#[async_trait]
impl ClosingLook for Core {
    async fn last_look(&self, tag: &str, journal_id: &str) -> bool {
        let record = match self.journal.load(tag, journal_id).await {
            Ok(Some(record)) => record,
            // Gone: the sweeper finds that out itself.
            Ok(None) => return false,
            Err(error) => {
                warn!(journal_id, %error, "last look before closing: journal unreadable");
                return false;
            }
        };
        // In-store payments close by the gateway's rule (cancel what is unresolved) — but an
        // order code is inquired first too (see `Core::order_code_last_look`); an
        // authorization past its capture window, or anything final, is the table's to decide.
        if (record.online.is_none() && record.order_code.is_none())
            || record.kind != TxnKind::Purchase
            || !record.state.is_in_flight()
        {
            return false;
        }
        let span = info_span!("last_look", payment_request_id = %record.payment_request_id);
        if record.order_code.is_some() {
            return self.order_code_last_look(record).instrument(span).await;
        }
        let now = self.now_ms();
        let reopen_until = now + self.settings.timing.online_close_margin_ms;
        let record = self
            .refresh_from_antom(record, now, Some(reopen_until))
            .instrument(span)
            .await;
        let record = if record.state == TxnState::Authorized {
            self.capture_if_automatic(record, now).await
        } else {
            record
        };
        let settled = !record.state.is_in_flight();
        if settled {
            info!(
                journal_id,
                state = record.state.as_str(),
                "last look before closing: Antom had settled it"
            );
        }
        settled
    }
}
