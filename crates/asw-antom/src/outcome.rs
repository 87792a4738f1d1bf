//! The three outcomes every Antom call ends in, and why an outcome is unknown.

use std::fmt;

use crate::model::ResultStatus;
use crate::signature::SignatureError;

/// The classified result of one Antom call.
///
/// Only a verified, signed `S` becomes [`Outcome::Success`]; only a verified, signed `F`
/// becomes [`Outcome::Failed`]. Everything else — `U`, transport trouble, a non-200 status,
/// a body we cannot read, a missing or wrong signature — is [`Outcome::Unknown`]: the caller
/// must inquire or cancel, and must never tell a terminal "declined" on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Antom said `S` and proved it with a valid signature.
    Success(T),
    /// Antom said `F` (signed): this call did nothing.
    Failed {
        /// The `resultCode`, e.g. `USER_BALANCE_NOT_ENOUGH`.
        result_code: String,
        /// The `resultMessage` (human text, may be empty).
        message: String,
    },
    /// Antom said `U PAYMENT_IN_PROCESS` (signed) and gave what the buyer needs to go on — a
    /// page to open or a code to show: the payment exists and awaits the buyer. Not a success;
    /// only answers that can carry a continuation end here (see
    /// [`crate::AntomResponse::has_continuation`]), every other `U` is [`Outcome::Unknown`].
    InProcess(T),
    /// We do not know what happened.
    Unknown(UnknownReason),
}

impl<T> Outcome<T> {
    /// `S`, `F` or `U`, e.g. for metric labels.
    pub fn status(&self) -> ResultStatus {
        match self {
            Outcome::Success(_) => ResultStatus::Success,
            Outcome::Failed { .. } => ResultStatus::Failed,
            Outcome::InProcess(_) | Outcome::Unknown(_) => ResultStatus::Unknown,
        }
    }

    /// Transforms the success value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Success(t) => Outcome::Success(f(t)),
            Outcome::InProcess(t) => Outcome::InProcess(f(t)),
            Outcome::Failed {
                result_code,
                message,
            } => Outcome::Failed {
                result_code,
                message,
            },
            Outcome::Unknown(r) => Outcome::Unknown(r),
        }
    }
}

/// Why an outcome is unknown. Safe to log: no key, signature, payment code or body in it
/// (result codes and messages are Antom's, not the customer's).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownReason {
    /// Antom answered `U` (signed).
    #[error("Antom answered U: {result_code}")]
    ResultUnknown {
        /// e.g. `PAYMENT_IN_PROCESS`, `UNKNOWN_EXCEPTION`.
        result_code: String,
        /// The `resultMessage`.
        message: String,
    },
    /// The HTTP status was not 200.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// HTTP 200 with an empty body.
    #[error("empty response body")]
    EmptyBody,
    /// The body is not a JSON object with a readable `result` (HTML error page, truncated…).
    #[error("unreadable response body: {0}")]
    Unparsable(String),
    /// A signed `S` that lacks a field needed to act on it.
    #[error("success answer without {0}")]
    IncompleteSuccess(&'static str),
    /// The answer carries no signature (or no `response-time`): whatever it says, it is not
    /// proof. Antom does this when it rejected *our* signature — and so does an impostor.
    #[error("unsigned answer (claimed result {claimed_status:?} {claimed_code:?}): {error}")]
    Unsigned {
        /// What went missing.
        error: SignatureError,
        /// `resultStatus` the unsigned body claims, when readable (for alerts only).
        claimed_status: Option<ResultStatus>,
        /// `resultCode` the unsigned body claims, when readable (for alerts only).
        claimed_code: Option<String>,
    },
    /// The answer is signed, but the signature is malformed or does not verify.
    #[error("badly signed answer: {0}")]
    BadSignature(SignatureError),
    /// The answer names a different client id than the one we called with.
    #[error("answer for another client id")]
    ClientIdMismatch,
    /// The request did not complete in time.
    #[error("timed out after {0} ms")]
    Timeout(u64),
    /// The connection failed or was reset before a complete answer arrived.
    #[error("connection failed: {0}")]
    Connection(String),
    /// Any other transport failure.
    #[error("transport error: {0}")]
    Transport(String),
}

impl UnknownReason {
    /// Whether this is a signature problem (missing, malformed or wrong), which deserves an
    /// alert on its own: it means a key mismatch, a bug, or someone in the middle.
    pub fn is_signature_failure(&self) -> bool {
        matches!(
            self,
            UnknownReason::Unsigned { .. }
                | UnknownReason::BadSignature(_)
                | UnknownReason::ClientIdMismatch
        )
    }
}

impl<T> fmt::Display for Outcome<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Success(_) => f.write_str("S"),
            Outcome::Failed { result_code, .. } => write!(f, "F {result_code}"),
            Outcome::InProcess(_) => f.write_str("U PAYMENT_IN_PROCESS (awaiting the buyer)"),
            Outcome::Unknown(reason) => write!(f, "U ({reason})"),
        }
    }
}
