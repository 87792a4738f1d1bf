//! Metric names and bounded label values of the downstream adapter.
//!
//! Labels only ever take values from the fixed lists here: MTIs outside the dialect's
//! message set and response codes outside the ISO 1987 list become `other`, so a peer
//! cannot create new time series.

use asw_iso8583::Mti;
use metrics::{counter, gauge};

/// Gauge: connections currently open.
pub const CONNECTIONS_OPEN: &str = "antom_switch_downstream_connections_open";
/// Counter: connection attempts by `result` (accepted, rejected_global_limit, rejected_ip_limit,
/// tls_handshake_failed). With TLS, `accepted` counts completed handshakes.
pub const CONNECTIONS_TOTAL: &str = "antom_switch_downstream_connections_total";
/// Counter: frames or messages not processed, by `reason`.
pub const FRAMES_REJECTED_TOTAL: &str = "antom_switch_downstream_frames_rejected_total";
/// Counter: messages by `direction` (in, out), `mti` and `response_code` (out only).
pub const MESSAGES_TOTAL: &str = "antom_switch_downstream_messages_total";
/// Counter: zero-length keep-alive frames echoed.
pub const KEEPALIVES_TOTAL: &str = "antom_switch_downstream_keepalives_total";
/// Counter: messages refused with 39=63 because the connection may not speak for the terminal
/// they claim, by `reason` ([`crate::Refusal`]).
pub const IDENTITY_REFUSED_TOTAL: &str = "antom_switch_downstream_identity_refused_total";

/// Why a connection attempt ended as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionResult {
    /// Served.
    Accepted,
    /// Closed at once: the global connection limit was reached.
    RejectedGlobalLimit,
    /// Closed at once: the per-IP connection limit was reached.
    RejectedIpLimit,
    /// Closed: the TLS handshake failed or did not finish in time (plain TCP on a TLS
    /// listener, no or an untrusted client certificate, a port scan).
    TlsHandshakeFailed,
}

impl ConnectionResult {
    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionResult::Accepted => "accepted",
            ConnectionResult::RejectedGlobalLimit => "rejected_global_limit",
            ConnectionResult::RejectedIpLimit => "rejected_ip_limit",
            ConnectionResult::TlsHandshakeFailed => "tls_handshake_failed",
        }
    }
}

/// Why a frame or message was not processed normally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The length header is not a number (connection closed).
    BadLengthHeader,
    /// The length header is above the maximum (connection closed before buffering).
    TooLarge,
    /// A frame too short for its TPDU (connection closed).
    TpduTruncated,
    /// A started frame did not complete within the read timeout (connection closed).
    ReadTimeout,
    /// The message did not decode but its MTI and keys did: answered with 39=30.
    FormatError,
    /// Not even the MTI and keys could be read: dropped.
    Unreadable,
    /// An MTI outside the supported set that has a response MTI: answered with 39=12.
    UnsupportedMti,
    /// A message that is itself a response or notification: dropped.
    UnexpectedMti,
}

impl RejectReason {
    /// Every reason, to create the label set at zero.
    pub const ALL: [RejectReason; 8] = [
        RejectReason::BadLengthHeader,
        RejectReason::TooLarge,
        RejectReason::TpduTruncated,
        RejectReason::ReadTimeout,
        RejectReason::FormatError,
        RejectReason::Unreadable,
        RejectReason::UnsupportedMti,
        RejectReason::UnexpectedMti,
    ];

    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::BadLengthHeader => "bad_length_header",
            RejectReason::TooLarge => "too_large",
            RejectReason::TpduTruncated => "tpdu_truncated",
            RejectReason::ReadTimeout => "read_timeout",
            RejectReason::FormatError => "format_error",
            RejectReason::Unreadable => "unreadable",
            RejectReason::UnsupportedMti => "unsupported_mti",
            RejectReason::UnexpectedMti => "unexpected_mti",
        }
    }
}

const KNOWN_MTIS: [&str; 16] = [
    "0100", "0110", "0200", "0210", "0400", "0401", "0410", "0420", "0421", "0430", "0500", "0510",
    "0800", "0810", "0220", "0230",
];

const KNOWN_CODES: [&str; 40] = [
    "00", "01", "02", "03", "04", "05", "06", "09", "10", "12", "13", "14", "15", "19", "21", "25",
    "30", "40", "51", "54", "55", "57", "58", "61", "62", "63", "65", "68", "75", "76", "77", "78",
    "90", "91", "92", "94", "95", "96", "98", "99",
];

/// The `mti` label for a message type (`other` outside the known set).
pub fn mti_label(mti: Mti) -> &'static str {
    KNOWN_MTIS
        .iter()
        .find(|known| known.as_bytes() == mti.as_bytes())
        .copied()
        .unwrap_or("other")
}

/// The `response_code` label for a field 39 value (`none` when absent, `other` when
/// outside the ISO 1987 list).
pub fn response_code_label(code: Option<&[u8]>) -> &'static str {
    match code {
        None => "none",
        Some(code) => KNOWN_CODES
            .iter()
            .find(|known| known.as_bytes() == code)
            .copied()
            .unwrap_or("other"),
    }
}

/// Creates every bounded label set at zero, so dashboards see the series before the
/// first event.
pub fn describe() {
    // Increment by zero: creates the series without resetting it when a second
    // listener starts in the same process.
    gauge!(CONNECTIONS_OPEN).increment(0.0);
    for result in [
        ConnectionResult::Accepted,
        ConnectionResult::RejectedGlobalLimit,
        ConnectionResult::RejectedIpLimit,
        ConnectionResult::TlsHandshakeFailed,
    ] {
        counter!(CONNECTIONS_TOTAL, "result" => result.as_str()).increment(0);
    }
    for reason in RejectReason::ALL {
        counter!(FRAMES_REJECTED_TOTAL, "reason" => reason.as_str()).increment(0);
    }
    counter!(KEEPALIVES_TOTAL).increment(0);
    for reason in crate::Refusal::ALL {
        counter!(IDENTITY_REFUSED_TOTAL, "reason" => reason.as_str()).increment(0);
    }
}

pub(crate) fn identity_refused(reason: crate::Refusal) {
    counter!(IDENTITY_REFUSED_TOTAL, "reason" => reason.as_str()).increment(1);
}

pub(crate) fn connection(result: ConnectionResult) {
    counter!(CONNECTIONS_TOTAL, "result" => result.as_str()).increment(1);
}

pub(crate) fn rejected(reason: RejectReason) {
    counter!(FRAMES_REJECTED_TOTAL, "reason" => reason.as_str()).increment(1);
}

pub(crate) fn message_in(mti: Mti) {
    counter!(MESSAGES_TOTAL, "direction" => "in", "mti" => mti_label(mti), "response_code" => "none")
        .increment(1);
}

pub(crate) fn message_out(mti: Mti, response_code: Option<&[u8]>) {
    counter!(
        MESSAGES_TOTAL,
        "direction" => "out",
        "mti" => mti_label(mti),
        "response_code" => response_code_label(response_code)
    )
    .increment(1);
}

pub(crate) fn keepalive() {
    counter!(KEEPALIVES_TOTAL).increment(1);
}

pub(crate) fn open_connections(delta: f64) {
    gauge!(CONNECTIONS_OPEN).increment(delta);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(mti_label(Mti::FINANCIAL_REQUEST), "0200");
        assert_eq!(mti_label(Mti::new("9999").unwrap()), "other");
        assert_eq!(response_code_label(None), "none");
        assert_eq!(response_code_label(Some(b"91")), "91");
        assert_eq!(response_code_label(Some(b"Z9")), "other");
    }
}
