//! ISO 8583 response codes (field 39) and the one table from the core's outcomes to them.
//!
//! The codes follow ISO 8583:1987 as terminals already display them. Exactly one function,
//! [`for_outcome`], turns an outcome into a code (through [`for_antom_failure`] for Antom's
//! declines and [`for_refusal`] for the switch's own refusals); every other place uses the named
//! constants below.

use asw_core::flows::{Outcome, Refusal};

/// Approved / acknowledged.
pub const APPROVED: &str = "00";
/// Invalid merchant (unknown MID, merchant not set up at Antom).
pub const INVALID_MERCHANT: &str = "03";
/// Do not honour (generic decline).
pub const DO_NOT_HONOUR: &str = "05";
/// Request in progress: a merchant-presented order code is on display and not paid yet (the
/// 0210 carrying the code, and every status inquiry until the buyer paid or it closed). Never
/// an approval: the terminal keeps polling.
pub const IN_PROGRESS: &str = "09";
/// Invalid transaction (unsupported, outside a window, not refundable, tombstoned original).
pub const INVALID_TRANSACTION: &str = "12";
/// Invalid amount (zero, unknown currency, over the refundable amount).
pub const INVALID_AMOUNT: &str = "13";
/// Invalid payment code.
pub const INVALID_CODE: &str = "14";
/// Re-enter transaction: the switch was at its in-flight budget and did nothing with it; the
/// terminal may send it again at once (as a new transaction: it was never journaled).
pub const RE_ENTER: &str = "19";
/// Unable to locate the original.
pub const NOT_FOUND: &str = "25";
/// Format error.
pub const FORMAT_ERROR: &str = "30";
/// Not sufficient funds.
pub const INSUFFICIENT_FUNDS: &str = "51";
/// Not permitted to the customer.
pub const NOT_PERMITTED_CUSTOMER: &str = "57";
/// Not permitted to the terminal (unknown or disabled terminal).
pub const NOT_PERMITTED_TERMINAL: &str = "58";
/// Exceeds amount limit.
pub const AMOUNT_LIMIT: &str = "61";
/// Exceeds frequency limit.
pub const FREQUENCY_LIMIT: &str = "65";
/// Issuer or switch inoperative: still unknown after the polling budget; the cancel is queued.
pub const UNAVAILABLE: &str = "91";
/// Duplicate transmission: same key, different content.
pub const DUPLICATE: &str = "94";
/// System malfunction (store down, Antom protocol errors).
pub const SYSTEM_ERROR: &str = "96";

/// Every code the switch can answer, for metric label sets.
pub const ALL: [&str; 18] = [
    APPROVED,
    INVALID_MERCHANT,
    DO_NOT_HONOUR,
    IN_PROGRESS,
    INVALID_TRANSACTION,
    INVALID_AMOUNT,
    INVALID_CODE,
    RE_ENTER,
    NOT_FOUND,
    FORMAT_ERROR,
    INSUFFICIENT_FUNDS,
    NOT_PERMITTED_CUSTOMER,
    NOT_PERMITTED_TERMINAL,
    AMOUNT_LIMIT,
    FREQUENCY_LIMIT,
    UNAVAILABLE,
    DUPLICATE,
    SYSTEM_ERROR,
];

/// Antom `F` result codes and the field 39 a terminal gets for them.
const ANTOM_FAILURES: &[(&str, &str)] = &[
    // The customer's code or wallet.
    ("INVALID_PAYMENT_CODE", INVALID_CODE),
    ("INVALID_CODE", INVALID_CODE),
    ("EXPIRED_CODE", INVALID_CODE),
    ("USER_NOT_EXIST", INVALID_CODE),
    ("USER_BALANCE_NOT_ENOUGH", INSUFFICIENT_FUNDS),
    ("USER_AMOUNT_EXCEED_LIMIT", AMOUNT_LIMIT),
    ("PAYMENT_AMOUNT_EXCEED_LIMIT", AMOUNT_LIMIT),
    ("PAYMENT_COUNT_EXCEED_LIMIT", FREQUENCY_LIMIT),
    ("USER_KYC_NOT_QUALIFIED", NOT_PERMITTED_CUSTOMER),
    ("USER_STATUS_ABNORMAL", NOT_PERMITTED_CUSTOMER),
    ("USER_PAYMENT_VERIFICATION_FAILED", DO_NOT_HONOUR),
    ("RISK_REJECT", DO_NOT_HONOUR),
    ("FRAUD_REJECT", DO_NOT_HONOUR),
    ("NO_PAY_OPTION", DO_NOT_HONOUR),
    ("NO_PAY_OPTIONS", DO_NOT_HONOUR),
    // The merchant's set-up.
    ("PAYMENT_NOT_QUALIFIED", INVALID_MERCHANT),
    ("MERCHANT_NOT_REGISTERED", INVALID_MERCHANT),
    ("INVALID_MERCHANT_STATUS", INVALID_MERCHANT),
    ("MERCHANT_KYB_NOT_QUALIFIED", INVALID_MERCHANT),
    ("INVALID_CONTRACT", INVALID_MERCHANT),
    ("SETTLE_CONTRACT_NOT_MATCH", INVALID_MERCHANT),
    ("CURRENCY_NOT_SUPPORT", INVALID_AMOUNT),
    // The order / payment.
    ("ORDER_NOT_EXIST", NOT_FOUND),
    ("PAYMENT_NOT_EXIST", NOT_FOUND),
    ("ORDER_IS_CLOSED", INVALID_TRANSACTION),
    ("ORDER_IS_CANCELED", INVALID_TRANSACTION),
    ("ORDER_STATUS_INVALID", INVALID_TRANSACTION),
    ("CANCEL_WINDOW_EXCEED", INVALID_TRANSACTION),
    // Refunds.
    ("REFUND_AMOUNT_EXCEED", INVALID_AMOUNT),
    ("REFUND_WINDOW_EXCEED", INVALID_TRANSACTION),
    ("MULTIPLE_REFUNDS_NOT_SUPPORTED", INVALID_TRANSACTION),
    ("REFUND_NOT_SUPPORTED", INVALID_TRANSACTION),
    ("PARTIAL_REFUND_NOT_SUPPORTED", INVALID_TRANSACTION),
    ("MERCHANT_BALANCE_NOT_ENOUGH", DO_NOT_HONOUR),
    // Our own bugs or Antom-side errors: never the customer's fault.
    ("REPEAT_REQ_INCONSISTENT", SYSTEM_ERROR),
    ("PARAM_ILLEGAL", SYSTEM_ERROR),
    ("PROCESS_FAIL", SYSTEM_ERROR),
    ("SYSTEM_ERROR", SYSTEM_ERROR),
    ("ACCESS_DENIED", SYSTEM_ERROR),
    ("INVALID_SIGNATURE", SYSTEM_ERROR),
    ("SIGNATURE_INVALID", SYSTEM_ERROR),
    ("KEY_NOT_FOUND", SYSTEM_ERROR),
    ("CLIENT_INVALID", SYSTEM_ERROR),
    ("INVALID_CLIENT", SYSTEM_ERROR),
    ("UNKNOWN_CLIENT", SYSTEM_ERROR),
    ("INVALID_CLIENT_STATUS", SYSTEM_ERROR),
    ("CLIENT_FORBIDDEN_ACCESS_API", SYSTEM_ERROR),
    ("INVALID_API", SYSTEM_ERROR),
    ("API_INVALID", SYSTEM_ERROR),
    ("NO_INTERFACE_DEF", SYSTEM_ERROR),
    ("METHOD_NOT_SUPPORTED", SYSTEM_ERROR),
    ("MEDIA_TYPE_NOT_ACCEPTABLE", SYSTEM_ERROR),
    ("OAUTH_FAILED", SYSTEM_ERROR),
    // Refusals of our own upstream adapter: nothing was sent to Antom.
    ("SWITCH_CLIENT_NOT_CONFIGURED", SYSTEM_ERROR),
    ("SWITCH_REQUEST_NOT_BUILT", SYSTEM_ERROR),
    ("SWITCH_MISSING_PAYMENT_CODE", SYSTEM_ERROR),
];

/// The field 39 a terminal gets for an outcome of the core.
pub fn for_outcome(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Approved | Outcome::Accepted => APPROVED,
        Outcome::Declined { result_code } => {
            for_antom_failure(result_code.as_deref().unwrap_or_default())
        }
        // An authorisation is not a payment: terminal flows never stop there, and a terminal
        // must never read one as approved.
        Outcome::Unresolved | Outcome::Authorized => UNAVAILABLE,
        Outcome::Expired => DO_NOT_HONOUR,
        Outcome::AwaitingBuyer => IN_PROGRESS,
        Outcome::Refused(refusal) => for_refusal(refusal),
    }
}

/// The field 39 for a refusal of the switch itself.
pub fn for_refusal(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::UnknownMerchant => INVALID_MERCHANT,
        Refusal::UnknownTerminal | Refusal::TerminalDisabled | Refusal::RefundsDisabled => {
            NOT_PERMITTED_TERMINAL
        }
        Refusal::InvalidPaymentCode(_) => INVALID_CODE,
        Refusal::InvalidAmount(_)
        | Refusal::AmountDiffersFromOriginal
        | Refusal::CurrencyDiffersFromOriginal
        | Refusal::RefundExceedsPayment => INVALID_AMOUNT,
        Refusal::Malformed(_) => FORMAT_ERROR,
        Refusal::StoreUnavailable => SYSTEM_ERROR,
        Refusal::Busy => RE_ENTER,
        Refusal::ReversedBeforeArrival
        | Refusal::OriginalDeclined
        | Refusal::OriginalNotApproved
        | Refusal::OriginalRefunded
        | Refusal::NotVoidable
        // Captures are a REST merchant's; a terminal never asks for one.
        | Refusal::NotCapturable
        | Refusal::CaptureRefused(_) => INVALID_TRANSACTION,
        Refusal::DuplicateWithOtherContent => DUPLICATE,
        // Terminals always wait for the outcome of a re-sent request; were one ever told not
        // to, "try again later" is what 91 means to it.
        Refusal::StillRunning => UNAVAILABLE,
        // Terminals lock no orders; were one ever refused for its order, it is a duplicate.
        Refusal::OrderInProgress | Refusal::OrderAlreadyPaid => DUPLICATE,
        Refusal::UnknownStore => INVALID_MERCHANT,
        Refusal::OriginalNotFound => NOT_FOUND,
    }
}

/// The field 39 for an Antom `F` result code; unknown codes are a generic decline.
pub fn for_antom_failure(result_code: &str) -> &'static str {
    ANTOM_FAILURES
        .iter()
        .find(|(code, _)| *code == result_code)
        .map_or(DO_NOT_HONOUR, |(_, rc)| rc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_customer_declines_to_terminal_codes() {
        assert_eq!(for_antom_failure("USER_BALANCE_NOT_ENOUGH"), "51");
        assert_eq!(for_antom_failure("INVALID_PAYMENT_CODE"), "14");
        assert_eq!(for_antom_failure("EXPIRED_CODE"), "14");
        assert_eq!(for_antom_failure("RISK_REJECT"), "05");
        assert_eq!(for_antom_failure("USER_AMOUNT_EXCEED_LIMIT"), "61");
        assert_eq!(for_antom_failure("PAYMENT_COUNT_EXCEED_LIMIT"), "65");
        assert_eq!(for_antom_failure("USER_STATUS_ABNORMAL"), "57");
        assert_eq!(for_antom_failure("MERCHANT_NOT_REGISTERED"), "03");
        assert_eq!(for_antom_failure("CURRENCY_NOT_SUPPORT"), "13");
        assert_eq!(for_antom_failure("REFUND_AMOUNT_EXCEED"), "13");
        assert_eq!(for_antom_failure("CANCEL_WINDOW_EXCEED"), "12");
        assert_eq!(for_antom_failure("ORDER_NOT_EXIST"), "25");
        assert_eq!(for_antom_failure("INVALID_SIGNATURE"), "96");
        assert_eq!(for_antom_failure("SOMETHING_NEW"), "05");
        assert_eq!(for_antom_failure("SWITCH_CLIENT_NOT_CONFIGURED"), "96");
    }

    #[test]
    fn outcomes_map_to_one_code_each_and_only_approvals_to_00() {
        assert_eq!(for_outcome(&Outcome::Approved), "00");
        assert_eq!(for_outcome(&Outcome::Accepted), "00");
        assert_eq!(for_outcome(&Outcome::Unresolved), "91");
        assert_eq!(for_outcome(&Outcome::Authorized), "91");
        assert_eq!(for_outcome(&Outcome::Expired), "05");
        assert_eq!(for_outcome(&Outcome::AwaitingBuyer), "09");
        let declined = |code: Option<&str>| Outcome::Declined {
            result_code: code.map(String::from),
        };
        assert_eq!(
            for_outcome(&declined(Some("USER_BALANCE_NOT_ENOUGH"))),
            "51"
        );
        assert_eq!(for_outcome(&declined(None)), "05");
        let refusals = [
            (Refusal::Busy, "19"),
            (Refusal::UnknownMerchant, "03"),
            (Refusal::UnknownTerminal, "58"),
            (Refusal::TerminalDisabled, "58"),
            (Refusal::RefundsDisabled, "58"),
            (Refusal::InvalidPaymentCode("x".into()), "14"),
            (Refusal::InvalidAmount("x".into()), "13"),
            (Refusal::Malformed("x"), "30"),
            (Refusal::StoreUnavailable, "96"),
            (Refusal::ReversedBeforeArrival, "12"),
            (Refusal::DuplicateWithOtherContent, "94"),
            (Refusal::OriginalNotFound, "25"),
            (Refusal::OriginalDeclined, "12"),
            (Refusal::OriginalNotApproved, "12"),
            (Refusal::OriginalRefunded, "12"),
            (Refusal::NotVoidable, "12"),
            (Refusal::AmountDiffersFromOriginal, "13"),
            (Refusal::CurrencyDiffersFromOriginal, "13"),
            (Refusal::RefundExceedsPayment, "13"),
        ];
        for (refusal, code) in refusals {
            assert_eq!(
                for_outcome(&Outcome::Refused(refusal.clone())),
                code,
                "{refusal:?}"
            );
            assert!(ALL.contains(&code));
        }
    }

    #[test]
    fn table_has_no_duplicates_and_only_known_codes() {
        for (i, (code, rc)) in ANTOM_FAILURES.iter().enumerate() {
            assert!(
                ANTOM_FAILURES[i + 1..].iter().all(|(c, _)| c != code),
                "{code} twice"
            );
            assert!(ALL.contains(rc), "{rc} not in ALL");
            // Never approve on a failure.
            assert_ne!(*rc, APPROVED);
        }
    }
}
