//! The downstream adapter's metrics, declared once: the names its emitters use, their
//! declarations ([`METRICS`], registered by the binary at start-up) and their bounded label
//! values.
//!
//! Labels only ever take values from the fixed lists here: MTIs outside the dialect's
//! message set and response codes outside the ISO 1987 list become `other`, so a peer
//! cannot create new time series.

use asw_iso8583::Mti;
use asw_metrics::{HandleCache, MetricSpec, Zero, label};
use metrics::{Counter, counter, gauge};

/// Gauge: connections currently open.
pub const CONNECTIONS_OPEN: &str = "antom_switch_downstream_connections_open";
/// Counter: connection attempts by `result` (accepted, rejected_global_limit, rejected_ip_limit,
/// tls_handshake_failed). With TLS, `accepted` counts completed handshakes.
pub const CONNECTIONS_TOTAL: &str = "antom_switch_downstream_connections_total";
/// Gauge: open connections that have not completed a valid exchange yet (new connections).
pub const CONNECTIONS_NEW: &str = "antom_switch_downstream_connections_new";
/// Counter: connections the server closed to protect its seats, by `reason` (evicted,
/// first_message_timeout).
pub const CONNECTIONS_SHED_TOTAL: &str = "antom_switch_downstream_connections_shed_total";
/// Counter: frames or messages not processed, by `reason`.
pub const FRAMES_REJECTED_TOTAL: &str = "antom_switch_downstream_frames_rejected_total";
/// Counter: messages by `direction` (in, out), `mti` and `response_code` (out only).
pub const MESSAGES_TOTAL: &str = "antom_switch_downstream_messages_total";
/// Counter: zero-length keep-alive frames echoed.
pub const KEEPALIVES_TOTAL: &str = "antom_switch_downstream_keepalives_total";
/// Counter: messages refused with 39=63 because the connection may not speak for the terminal
/// they claim, by `reason` ([`crate::Refusal`]).
pub const IDENTITY_REFUSED_TOTAL: &str = "antom_switch_downstream_identity_refused_total";

/// Message direction on the terminal side (`direction` label).
pub const DIRECTIONS: &[&str] = &["in", "out"];
/// Every `mti` label value: the MTIs labelled by name, then `other` for anything else.
pub const MTIS: &[&str] = &[
    "0100", "0110", "0200", "0210", "0220", "0230", "0400", "0401", "0410", "0420", "0421", "0430",
    "0500", "0510", "0800", "0810", "other",
];
/// Every `response_code` label value: the ISO 8583:1987 list, `none` for requests and `other`
/// for anything outside the list.
pub const RESPONSE_CODES: &[&str] = &[
    "00", "01", "02", "03", "04", "05", "06", "09", "10", "12", "13", "14", "15", "19", "21", "25",
    "30", "40", "51", "54", "55", "57", "58", "61", "62", "63", "65", "68", "75", "76", "77", "78",
    "90", "91", "92", "94", "95", "96", "98", "99", "none", "other",
];
/// The request MTIs the server handles: their `in` series are created at zero.
pub const REQUEST_MTIS: &[&str] = &[
    "0100", "0200", "0220", "0400", "0401", "0420", "0421", "0500", "0800",
];
/// The answers to [`REQUEST_MTIS`]: their `out` series are created at zero.
pub const RESPONSE_MTIS: &[&str] = &["0110", "0210", "0230", "0410", "0430", "0510", "0810"];
/// The response codes the server answers itself (12 unsupported MTI, 30 format error, 63
/// identity refusal). The binary adds the codes of the front it wires.
pub const OWN_RESPONSE_CODES: &[&str] = &["12", "30", "63"];
/// `result` label of [`CONNECTIONS_TOTAL`] ([`ConnectionResult::as_str`]).
pub const CONNECTION_RESULTS: &[&str] = &[
    "accepted",
    "rejected_global_limit",
    "rejected_ip_limit",
    "tls_handshake_failed",
];
/// `reason` label of [`CONNECTIONS_SHED_TOTAL`] ([`ShedReason::as_str`]).
pub const SHED_REASONS: &[&str] = &["evicted", "first_message_timeout"];
/// `reason` label of [`FRAMES_REJECTED_TOTAL`] ([`RejectReason::as_str`]).
pub const FRAME_REJECT_REASONS: &[&str] = &[
    "bad_length_header",
    "too_large",
    "tpdu_truncated",
    "read_timeout",
    "format_error",
    "unreadable",
    "unsupported_mti",
    "unexpected_mti",
];
/// `reason` label of [`IDENTITY_REFUSED_TOTAL`] ([`crate::Refusal::as_str`]).
pub const IDENTITY_REFUSAL_REASONS: &[&str] = &[
    "certificate_mismatch",
    "network_not_allowed",
    "terminal_switched",
    "not_carried",
];

/// Every metric of the downstream adapter (see docs/metrics.md).
pub const METRICS: &[MetricSpec] = &[
    MetricSpec::counter(
        MESSAGES_TOTAL,
        "ISO 8583 messages read from and written to terminals, by direction, MTI and response code (out only).",
    )
    .labels(&[
        label("direction", DIRECTIONS),
        label("mti", MTIS),
        label("response_code", RESPONSE_CODES),
    ])
    // Not every combination: requests never carry a code, and the product would be ~1 400
    // series. Requests, and each answer MTI with the codes the server sends itself.
    .zero(Zero::Only(&[
        &[
            label("direction", &["in"]),
            label("mti", REQUEST_MTIS),
            label("response_code", &["none"]),
        ],
        &[
            label("direction", &["out"]),
            label("mti", RESPONSE_MTIS),
            label("response_code", OWN_RESPONSE_CODES),
        ],
    ])),
    MetricSpec::gauge(CONNECTIONS_OPEN, "Terminal connections currently open."),
    MetricSpec::counter(
        CONNECTIONS_TOTAL,
        "Terminal connection attempts, by result (accepted or rejected and why).",
    )
    .labels(&[label("result", CONNECTION_RESULTS)]),
    MetricSpec::gauge(
        CONNECTIONS_NEW,
        "Terminal connections open that have not completed a valid exchange yet.",
    ),
    MetricSpec::counter(
        CONNECTIONS_SHED_TOTAL,
        "Terminal connections closed by the server to keep seats for terminals, by reason.",
    )
    .labels(&[label("reason", SHED_REASONS)]),
    MetricSpec::counter(
        FRAMES_REJECTED_TOTAL,
        "Frames or messages from terminals not processed normally, by reason.",
    )
    .labels(&[label("reason", FRAME_REJECT_REASONS)]),
    MetricSpec::counter(
        IDENTITY_REFUSED_TOTAL,
        "Messages refused with 63 because the connection may not speak for the terminal they claim, by reason.",
    )
    .labels(&[label("reason", IDENTITY_REFUSAL_REASONS)]),
    MetricSpec::counter(
        KEEPALIVES_TOTAL,
        "Zero-length keep-alive frames echoed to terminals.",
    ),
];

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
    /// Every result, to check the declared label values.
    pub const ALL: [ConnectionResult; 4] = [
        ConnectionResult::Accepted,
        ConnectionResult::RejectedGlobalLimit,
        ConnectionResult::RejectedIpLimit,
        ConnectionResult::TlsHandshakeFailed,
    ];

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

/// Why the server closed a connection that had not completed a valid exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShedReason {
    /// Every seat was taken: its seat went to a newcomer (it was the oldest new connection
    /// without a request at the core).
    Evicted,
    /// No valid exchange within `first_message_timeout_ms` of being accepted.
    FirstMessageTimeout,
}

impl ShedReason {
    /// Every reason, to check the declared label values.
    pub const ALL: [ShedReason; 2] = [ShedReason::Evicted, ShedReason::FirstMessageTimeout];

    /// Label value.
    pub fn as_str(self) -> &'static str {
        match self {
            ShedReason::Evicted => "evicted",
            ShedReason::FirstMessageTimeout => "first_message_timeout",
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

// The values labelled by name: the declared lists without their catch-all values.
const KNOWN_MTIS: &[&str] = MTIS.split_at(MTIS.len() - 1).0;
const KNOWN_CODES: &[&str] = RESPONSE_CODES.split_at(RESPONSE_CODES.len() - 2).0;

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

pub(crate) fn identity_refused(reason: crate::Refusal) {
    counter!(IDENTITY_REFUSED_TOTAL, "reason" => reason.as_str()).increment(1);
}

pub(crate) fn connection(result: ConnectionResult) {
    counter!(CONNECTIONS_TOTAL, "result" => result.as_str()).increment(1);
}

pub(crate) fn shed(reason: ShedReason) {
    counter!(CONNECTIONS_SHED_TOTAL, "reason" => reason.as_str()).increment(1);
}

pub(crate) fn new_connections(delta: f64) {
    gauge!(CONNECTIONS_NEW).increment(delta);
}

pub(crate) fn rejected(reason: RejectReason) {
    counter!(FRAMES_REJECTED_TOTAL, "reason" => reason.as_str()).increment(1);
}

/// [`MESSAGES_TOTAL`]'s handles by direction, MTI and response code: two per message.
static MESSAGES: HandleCache<Counter> = HandleCache::new();

pub(crate) fn message_in(mti: Mti) {
    message("in", mti_label(mti), "none");
}

pub(crate) fn message_out(mti: Mti, response_code: Option<&[u8]>) {
    message("out", mti_label(mti), response_code_label(response_code));
}

fn message(direction: &'static str, mti: &'static str, response_code: &'static str) {
    MESSAGES.with(
        &[direction, mti, response_code],
        || counter!(MESSAGES_TOTAL, "direction" => direction, "mti" => mti, "response_code" => response_code),
        |c| c.increment(1),
    );
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
    fn the_declarations_are_well_formed() {
        assert_eq!(asw_metrics::problems(METRICS), Vec::<String>::new());
    }

    #[test]
    fn the_declared_label_values_are_the_emitted_ones() {
        let results: Vec<_> = ConnectionResult::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(results, CONNECTION_RESULTS);
        let reasons: Vec<_> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(reasons, FRAME_REJECT_REASONS);
        let shed: Vec<_> = ShedReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(shed, SHED_REASONS);
        let refusals: Vec<_> = crate::Refusal::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(refusals, IDENTITY_REFUSAL_REASONS);
        // The catch-all values are the ones the split above leaves out.
        assert_eq!(MTIS.last(), Some(&"other"));
        assert_eq!(RESPONSE_CODES[KNOWN_CODES.len()..], ["none", "other"]);
        for mti in REQUEST_MTIS.iter().chain(RESPONSE_MTIS) {
            assert_eq!(mti_label(Mti::new(mti).unwrap()), *mti);
        }
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(mti_label(Mti::FINANCIAL_REQUEST), "0200");
        assert_eq!(mti_label(Mti::new("9999").unwrap()), "other");
        assert_eq!(response_code_label(None), "none");
        assert_eq!(response_code_label(Some(b"91")), "91");
        assert_eq!(response_code_label(Some(b"Z9")), "other");
    }
}
