//! Deterministic scenarios: how a `pay` behaves is chosen by the payment code's last two
//! digits, or by one of the amounts the official AMS sandbox mock used (`9901`–`9904`).
//!
//! The table here is the single source of truth: the README's table is generated from the
//! same words, and the tests iterate over [`SCENARIOS`]. Pure: no I/O, no clock.

use serde::Serialize;

/// What a payment does, decided once when its first `pay` arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scenario {
    /// `S`: paid at once.
    Success,
    /// `F` with this decline code; nothing charged.
    Decline(&'static str),
    /// `U PAYMENT_IN_PROCESS`; becomes SUCCESS on the N-th inquiry (N = `settle_after_inquiries`).
    ProcessingThenSuccess,
    /// `U PAYMENT_IN_PROCESS`; becomes FAIL (`USER_BALANCE_NOT_ENOUGH`) on the N-th inquiry.
    ProcessingThenFail,
    /// `U PAYMENT_IN_PROCESS`; stays PROCESSING until it expires (closed).
    ProcessingForever,
    /// `U UNKNOWN_EXCEPTION` but the payment was committed as SUCCESS.
    UnknownCommitted,
    /// `U UNKNOWN_EXCEPTION`; nothing stored (inquiry says `ORDER_NOT_EXIST`).
    UnknownNotCommitted,
    /// `U REQUEST_TRAFFIC_EXCEED_LIMIT`; nothing stored.
    TrafficLimited,
    /// SUCCESS committed, then the connection is dropped without an answer.
    LostAfterCommit,
    /// SUCCESS committed at once, the answer comes after `slow_answer`.
    SlowCommitted,
    /// Held for `slow_answer`, then processed (a pay that lands late) and answered.
    SlowLateCommit,
    /// Held for `slow_answer`, then `U UNKNOWN_EXCEPTION`; nothing stored.
    SlowNotCommitted,
    /// SUCCESS committed, answered HTTP 500 with a plain-text body.
    Http500Committed,
    /// Nothing stored, answered HTTP 503 with an HTML body.
    Http503NotCommitted,
    /// SUCCESS committed, answered HTTP 200 with an empty body.
    EmptyBodyCommitted,
    /// SUCCESS committed, answered HTTP 200 with an HTML body.
    HtmlBodyCommitted,
    /// SUCCESS committed, answered HTTP 200 with truncated JSON (signed).
    TruncatedJsonCommitted,
    /// SUCCESS committed, the answer's signature does not verify.
    BadResponseSignature,
    /// SUCCESS committed, the answer dropped, and inquiries say `ORDER_NOT_EXIST` for
    /// `inquiry_not_found_for` after creation (eventual consistency).
    InquiryNotFoundAtFirst,
    /// `U PAYMENT_IN_PROCESS`; a cancel closes it, and a SUCCESS notification is sent anyway.
    LateNotifyAfterCancel,
    /// SUCCESS; the notification is sent twice (again after it was acknowledged).
    DuplicateNotify,
    /// SUCCESS; the payment is already outside the cancel window (`CANCEL_WINDOW_EXCEED`).
    CancelWindowExceeded,
    /// SUCCESS (amount 9903); every inquiry answers `U UNKNOWN_EXCEPTION`.
    InquiryUnknown,
    /// SUCCESS (amount 9904); every inquiry is answered after `slow_answer`.
    InquirySlow,
    /// Order Code (merchant-presented QR): `S` with `orderCodeForm` (code created, not paid);
    /// the payment stays PROCESSING until the buyer pays or declines it (the `/__sim/buyer/`
    /// hook) or it expires.
    OrderCode,
    /// Online wallet payment (`CASHIER_PAYMENT`): `U PAYMENT_IN_PROCESS` with the continuation
    /// URLs; the payment waits for the buyer on the wallet page (approve, decline, leave) or
    /// expires. Chosen by `productCode`, not by the table.
    Checkout,
}

impl Scenario {
    /// A short stable name (control API, call log).
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Success => "success",
            Scenario::Decline(code) => code,
            Scenario::ProcessingThenSuccess => "processing_then_success",
            Scenario::ProcessingThenFail => "processing_then_fail",
            Scenario::ProcessingForever => "processing_forever",
            Scenario::UnknownCommitted => "unknown_committed",
            Scenario::UnknownNotCommitted => "unknown_not_committed",
            Scenario::TrafficLimited => "traffic_limited",
            Scenario::LostAfterCommit => "lost_after_commit",
            Scenario::SlowCommitted => "slow_committed",
            Scenario::SlowLateCommit => "slow_late_commit",
            Scenario::SlowNotCommitted => "slow_not_committed",
            Scenario::Http500Committed => "http500_committed",
            Scenario::Http503NotCommitted => "http503_not_committed",
            Scenario::EmptyBodyCommitted => "empty_body_committed",
            Scenario::HtmlBodyCommitted => "html_body_committed",
            Scenario::TruncatedJsonCommitted => "truncated_json_committed",
            Scenario::BadResponseSignature => "bad_response_signature",
            Scenario::InquiryNotFoundAtFirst => "inquiry_not_found_at_first",
            Scenario::LateNotifyAfterCancel => "late_notify_after_cancel",
            Scenario::DuplicateNotify => "duplicate_notify",
            Scenario::CancelWindowExceeded => "cancel_window_exceeded",
            Scenario::InquiryUnknown => "inquiry_unknown",
            Scenario::InquirySlow => "inquiry_slow",
            Scenario::OrderCode => "order_code",
            Scenario::Checkout => "checkout",
        }
    }

    /// Whether a new payment of this scenario may get the random fault mix (only the plain
    /// ones, so the deterministic scenarios stay deterministic during a chaos run).
    pub fn takes_random_faults(self) -> bool {
        matches!(self, Scenario::Success | Scenario::Checkout)
    }

    /// Whether the first `pay` stores nothing at all.
    pub fn commits(self) -> bool {
        !matches!(
            self,
            Scenario::UnknownNotCommitted
                | Scenario::TrafficLimited
                | Scenario::SlowNotCommitted
                | Scenario::Http503NotCommitted
        )
    }
}

/// One row of the scenario table.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioRow {
    /// How to select it: `code ..NN` (last two digits of the payment code) or `amount NNNN`.
    pub trigger: Trigger,
    /// What happens.
    pub scenario: Scenario,
}

/// How a scenario row is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The payment code ends with these two digits.
    CodeSuffix(&'static str),
    /// `paymentAmount.value` equals this (checked before the code suffix).
    Amount(&'static str),
}

/// The full table. Any code suffix not listed means [`Scenario::Success`].
pub const SCENARIOS: &[ScenarioRow] = &[
    row_amount("9901", Scenario::UnknownNotCommitted),
    row_amount("9902", Scenario::SlowCommitted),
    row_amount("9903", Scenario::InquiryUnknown),
    row_amount("9904", Scenario::InquirySlow),
    row_code("00", Scenario::Success),
    row_code("10", Scenario::Decline("USER_BALANCE_NOT_ENOUGH")),
    row_code("11", Scenario::Decline("INVALID_PAYMENT_CODE")),
    row_code("12", Scenario::Decline("EXPIRED_CODE")),
    row_code("13", Scenario::Decline("RISK_REJECT")),
    row_code("14", Scenario::Decline("USER_AMOUNT_EXCEED_LIMIT")),
    row_code("15", Scenario::Decline("PAYMENT_COUNT_EXCEED_LIMIT")),
    row_code("16", Scenario::Decline("USER_STATUS_ABNORMAL")),
    row_code("17", Scenario::Decline("CURRENCY_NOT_SUPPORT")),
    row_code("18", Scenario::Decline("MERCHANT_NOT_REGISTERED")),
    row_code("19", Scenario::Decline("PAYMENT_AMOUNT_EXCEED_LIMIT")),
    row_code("20", Scenario::Decline("USER_NOT_EXIST")),
    row_code("21", Scenario::Decline("USER_KYC_NOT_QUALIFIED")),
    row_code("22", Scenario::Decline("USER_PAYMENT_VERIFICATION_FAILED")),
    row_code("23", Scenario::Decline("NO_PAY_OPTION")),
    row_code("24", Scenario::Decline("PAYMENT_NOT_QUALIFIED")),
    row_code("25", Scenario::Decline("FRAUD_REJECT")),
    row_code("26", Scenario::Decline("INVALID_CODE")),
    row_code("27", Scenario::Decline("PROCESS_FAIL")),
    row_code("28", Scenario::Decline("INVALID_MERCHANT_STATUS")),
    row_code("30", Scenario::ProcessingThenSuccess),
    row_code("31", Scenario::ProcessingThenFail),
    row_code("32", Scenario::ProcessingForever),
    row_code("33", Scenario::UnknownCommitted),
    row_code("34", Scenario::UnknownNotCommitted),
    row_code("35", Scenario::TrafficLimited),
    row_code("40", Scenario::LostAfterCommit),
    row_code("41", Scenario::SlowCommitted),
    row_code("42", Scenario::SlowLateCommit),
    row_code("43", Scenario::SlowNotCommitted),
    row_code("44", Scenario::Http500Committed),
    row_code("45", Scenario::Http503NotCommitted),
    row_code("46", Scenario::EmptyBodyCommitted),
    row_code("47", Scenario::HtmlBodyCommitted),
    row_code("48", Scenario::TruncatedJsonCommitted),
    row_code("50", Scenario::BadResponseSignature),
    row_code("51", Scenario::InquiryNotFoundAtFirst),
    row_code("52", Scenario::LateNotifyAfterCancel),
    row_code("53", Scenario::DuplicateNotify),
    row_code("54", Scenario::CancelWindowExceeded),
];

const fn row_code(suffix: &'static str, scenario: Scenario) -> ScenarioRow {
    ScenarioRow {
        trigger: Trigger::CodeSuffix(suffix),
        scenario,
    }
}

const fn row_amount(value: &'static str, scenario: Scenario) -> ScenarioRow {
    ScenarioRow {
        trigger: Trigger::Amount(value),
        scenario,
    }
}

/// Picks the scenario of a new payment from its code (if any) and amount value.
/// Amount rows win over code rows; an unlisted code means [`Scenario::Success`].
pub fn select(payment_code: Option<&str>, amount_value: &str) -> Scenario {
    if let Some(row) = SCENARIOS
        .iter()
        .find(|row| row.trigger == Trigger::Amount(amount_value_static(amount_value)))
    {
        return row.scenario;
    }
    let Some(code) = payment_code else {
        return Scenario::OrderCode;
    };
    let suffix = code
        .len()
        .checked_sub(2)
        .and_then(|start| code.get(start..))
        .unwrap_or("");
    SCENARIOS
        .iter()
        .find(|row| matches!(row.trigger, Trigger::CodeSuffix(s) if s == suffix))
        .map_or(Scenario::Success, |row| row.scenario)
}

/// Picks the scenario of a new online (`CASHIER_PAYMENT`) payment: there is no payment code,
/// so only the amount rows apply; any other amount waits for the buyer.
pub fn select_checkout(amount_value: &str) -> Scenario {
    SCENARIOS
        .iter()
        .find(|row| row.trigger == Trigger::Amount(amount_value_static(amount_value)))
        .map_or(Scenario::Checkout, |row| row.scenario)
}

/// Maps an amount onto the static string of a matching row (or a value matching none),
/// so the comparison above stays a plain `==` on `Trigger`.
fn amount_value_static(value: &str) -> &'static str {
    SCENARIOS
        .iter()
        .find_map(|row| match row.trigger {
            Trigger::Amount(v) if v == value => Some(v),
            _ => None,
        })
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlisted_suffix_is_success() {
        assert_eq!(select(Some("281012345678901299"), "100"), Scenario::Success);
        assert_eq!(select(Some("9"), "100"), Scenario::Success);
        assert_eq!(select(Some(""), "100"), Scenario::Success);
    }

    #[test]
    fn every_code_row_is_reachable() {
        for row in SCENARIOS {
            let scenario = match row.trigger {
                Trigger::CodeSuffix(s) => select(Some(&format!("2810123456789012{s}")), "100"),
                Trigger::Amount(v) => select(Some("281012345678901200"), v),
            };
            assert_eq!(scenario, row.scenario, "{:?}", row.trigger);
        }
    }

    #[test]
    fn amount_wins_and_no_code_means_order_code() {
        assert_eq!(
            select(Some("281012345678901210"), "9901"),
            Scenario::UnknownNotCommitted
        );
        assert_eq!(select(None, "100"), Scenario::OrderCode);
    }

    #[test]
    fn checkout_uses_amount_rows_only() {
        assert_eq!(select_checkout("1250"), Scenario::Checkout);
        assert_eq!(select_checkout("9901"), Scenario::UnknownNotCommitted);
        assert_eq!(select_checkout("9902"), Scenario::SlowCommitted);
    }

    #[test]
    fn suffixes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for row in SCENARIOS {
            assert!(seen.insert(format!("{:?}", row.trigger)));
        }
    }
}
