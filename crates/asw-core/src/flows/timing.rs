//! The time budget of a transaction.

use super::*;

/// The time budget of a transaction. Start-up refuses a configuration unless
/// `response_deadline < terminal_timeout < gateway_deadline`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// How long terminals wait for an answer.
    pub terminal_timeout_ms: i64,
    /// The switch answers by then at the latest (91 and a queued cancel if still unknown).
    pub response_deadline_ms: i64,
    /// Active cancellation: anything not approved and handed to the terminal by then is cancelled.
    pub gateway_deadline_ms: i64,
    /// Interval between `inquiryPayment` polls while the outcome is unknown.
    pub inquiry_interval_ms: i64,
    /// The `pay` client timeout (the upstream adapter enforces it; the core needs it to know
    /// when a cancel may safely follow).
    pub pay_timeout_ms: i64,
    /// Safety margin added to the pay timeout before a cancel may be sent.
    pub call_margin_ms: i64,
    /// `paymentExpiryTime` sent to Antom, relative to the request: after it the payment can no
    /// longer succeed, so `ORDER_NOT_EXIST` becomes final.
    pub payment_expiry_ms: i64,
    /// An approval is never sent later than this before the terminal gives up or the sweeper
    /// runs, so "delivered" means the terminal could still use it.
    pub delivery_margin_ms: i64,
    /// How long after an approval is marked handed over its hand-overs are counted: within it,
    /// every further answer, read or event that says "approved" is recorded before it is sent,
    /// and a hand-over that fails is recorded, so the approval goes back under the sweeper only
    /// when every one of them failed. After it the approval stays handed over and a read says
    /// so without writing. Must exceed the longest a hand-over takes to fail (the terminal write
    /// timeout, the merchant-event timeout) with room for a Redis outage.
    pub handover_settle_ms: i64,
    /// How often a duplicate request re-reads the journal while its original is in flight.
    pub duplicate_poll_ms: i64,
    /// Online payments: how long the buyer may take to pay when the merchant does not say
    /// (Antom's own default for most methods is 14 minutes).
    pub online_expiry_ms: i64,
    /// Online payments: the switch closes an unpaid payment (cancels it at Antom through the
    /// queue) this long after its expiry, never before — a buyer still allowed to pay is never
    /// cancelled.
    pub online_close_margin_ms: i64,
    /// Card payments with manual capture: how long after the authorization the merchant may
    /// capture; then the switch cancels the authorization (well inside Antom's seven days).
    pub online_capture_window_ms: i64,
    /// Merchant-presented order codes: how long the buyer may take to scan and pay the code
    /// the terminal displays (the `paymentExpiryTime` sent to Antom).
    pub order_code_expiry_ms: i64,
    /// Order codes: the switch closes an unpaid code (cancels it at Antom through the queue)
    /// this long after its expiry, never before — a buyer still allowed to pay is never
    /// cancelled.
    pub order_code_close_margin_ms: i64,
    /// Order codes: the closing time is never later than this after the request, whatever
    /// the expiry and the margin add up to (it must exceed `order_code_expiry_ms`).
    pub order_code_max_open_ms: i64,
    /// Checkout Page sessions: how long the page takes payments when the merchant does not
    /// say (Antom's default and longest: one hour).
    pub session_expiry_ms: i64,
    /// Checkout Page sessions: the longest time a method picked on the page may still take to
    /// be paid after the session expired (Antom: 14 minutes for most methods; bank transfers
    /// and convenience-store methods take days — raise it if the merchant offers them). The
    /// switch closes a session's payment only after the session's expiry plus this.
    pub session_method_timeout_ms: i64,
    /// The largest difference between the clocks of two switch instances (and Antom's, which
    /// judges `paymentExpiryTime`) the switch stays correct under: a stored instant counts as
    /// passed only when it has passed on every clock within it, and an approval is handed over
    /// only while its closing time is ahead on every clock within it (see
    /// [`crate::skew::ClockSkew`]).
    pub max_clock_skew_ms: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            terminal_timeout_ms: 60_000,
            response_deadline_ms: 50_000,
            gateway_deadline_ms: 90_000,
            inquiry_interval_ms: 3_000,
            pay_timeout_ms: 10_000,
            call_margin_ms: 2_000,
            payment_expiry_ms: 300_000,
            delivery_margin_ms: 2_000,
            handover_settle_ms: 60_000,
            duplicate_poll_ms: 200,
            online_expiry_ms: 840_000,
            online_close_margin_ms: 60_000,
            online_capture_window_ms: 6 * 24 * 3_600_000,
            order_code_expiry_ms: 180_000,
            order_code_close_margin_ms: 30_000,
            order_code_max_open_ms: 600_000,
            session_expiry_ms: 3_600_000,
            session_method_timeout_ms: 840_000,
            max_clock_skew_ms: crate::skew::ClockSkew::DEFAULT_MS,
        }
    }
}

impl Timing {
    /// The configured clock-skew tolerance.
    pub fn clock_skew(&self) -> crate::skew::ClockSkew {
        crate::skew::ClockSkew::from_ms(self.max_clock_skew_ms)
    }

    /// When the switch closes an order code created at `received_ms` whose buyer may pay until
    /// `expires_at_ms`: after the expiry by the close margin, but never later than the maximum
    /// after the request — and never before the expiry.
    pub fn order_code_closing(&self, received_ms: i64, expires_at_ms: i64) -> i64 {
        (expires_at_ms + self.order_code_close_margin_ms)
            .min(received_ms + self.order_code_max_open_ms)
            .max(expires_at_ms)
    }

    /// Every rule the timing must satisfy, as (key, message) pairs; empty when valid.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.response_deadline_ms >= self.terminal_timeout_ms {
            out.push((
                "timing.response_deadline_ms",
                "must be less than timing.terminal_timeout_ms".to_string(),
            ));
        }
        if self.terminal_timeout_ms >= self.gateway_deadline_ms {
            out.push((
                "timing.terminal_timeout_ms",
                "must be less than timing.gateway_deadline_ms".to_string(),
            ));
        }
        for (key, value) in [
            ("timing.inquiry_interval_ms", self.inquiry_interval_ms),
            ("timing.pay_timeout_ms", self.pay_timeout_ms),
            ("timing.duplicate_poll_ms", self.duplicate_poll_ms),
            ("timing.handover_settle_ms", self.handover_settle_ms),
            ("timing.online_expiry_ms", self.online_expiry_ms),
            (
                "timing.online_capture_window_ms",
                self.online_capture_window_ms,
            ),
            ("timing.order_code_expiry_ms", self.order_code_expiry_ms),
            ("timing.session_expiry_ms", self.session_expiry_ms),
            (
                "timing.session_method_timeout_ms",
                self.session_method_timeout_ms,
            ),
        ] {
            if value <= 0 {
                out.push((key, "must be greater than zero".to_string()));
            }
        }
        if self.pay_timeout_ms >= self.response_deadline_ms {
            out.push((
                "timing.pay_timeout_ms",
                "must be less than timing.response_deadline_ms".to_string(),
            ));
        }
        if self.payment_expiry_ms <= self.gateway_deadline_ms {
            out.push((
                "timing.payment_expiry_ms",
                "must be greater than timing.gateway_deadline_ms".to_string(),
            ));
        }
        if self.session_expiry_ms > 3_600_000 {
            out.push((
                "timing.session_expiry_ms",
                "must be at most 3600000: Antom keeps a session at most one hour".to_string(),
            ));
        }
        if self.order_code_max_open_ms <= self.order_code_expiry_ms {
            out.push((
                "timing.order_code_max_open_ms",
                "must be greater than timing.order_code_expiry_ms".to_string(),
            ));
        }
        if self.call_margin_ms < 0
            || self.delivery_margin_ms < 0
            || self.online_close_margin_ms < 0
            || self.order_code_close_margin_ms < 0
        {
            out.push(("timing", "margins must not be negative".to_string()));
        }
        out.extend(self.skew_problems());
        out
    }

    /// The rules of the clock-skew tolerance: it must fit inside every margin that separates
    /// an instant one clock wrote from a decision another clock makes about it.
    fn skew_problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let skew = self.max_clock_skew_ms;
        if skew < 0 {
            out.push((
                "timing.max_clock_skew_ms",
                "must not be negative".to_string(),
            ));
            return out;
        }
        // The close margins separate the buyer's expiry (judged by Antom's clock) from the
        // closing (judged by the sweeping instance's clock), and a payment the last look found
        // paid is reopened for one close margin: it must leave time to tell the merchant after
        // the skew and the delivery margin are taken off.
        for (key, margin) in [
            ("timing.online_close_margin_ms", self.online_close_margin_ms),
            (
                "timing.order_code_close_margin_ms",
                self.order_code_close_margin_ms,
            ),
        ] {
            if margin <= skew.saturating_add(self.delivery_margin_ms) {
                out.push((
                    key,
                    format!(
                        "must be greater than timing.max_clock_skew_ms + timing.delivery_margin_ms ({} + {} ms): a clock that runs ahead by the skew would close the payment before its expiry at Antom has surely passed, or before a buyer found paid at the last look could be told",
                        skew, self.delivery_margin_ms
                    ),
                ));
            }
        }
        out
    }
}
