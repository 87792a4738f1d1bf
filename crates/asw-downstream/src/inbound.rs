//! The decision for one received message, as a pure function of its bytes: hand it to
//! the handler, answer it locally (network management, 30, 12), or drop it. Kept apart
//! from the socket code so it can be unit-tested and fuzzed.

use asw_iso8583::{BuildError, DecodeError, Dialect, Message, Mti, decode};
use bytes::Bytes;

use crate::metrics::RejectReason;
use crate::peek::{self, ECHO_ON_FORMAT_ERROR};

/// Message types handed to the handler (the dialect's message set, minus 0800).
pub const HANDLED: [Mti; 7] = [
    Mti::AUTH_REQUEST,
    Mti::FINANCIAL_REQUEST,
    Mti::REVERSAL_REQUEST,
    Mti::REVERSAL_REQUEST_REPEAT,
    Mti::REVERSAL_ADVICE,
    Mti::REVERSAL_ADVICE_REPEAT,
    Mti::RECONCILIATION_REQUEST,
];

/// Fields echoed in locally built answers (0810, 39=12, 39=30).
pub const ECHO_LOCAL: [u8; 13] = asw_iso8583::echo::LOCAL;

/// What to do with one message.
#[derive(Debug)]
pub enum Inbound {
    /// A valid financial message with its matching keys: the handler's job.
    Handle(Message),
    /// Answer on the spot.
    Answer {
        /// MTI of the request (for metrics).
        request_mti: Mti,
        /// The answer.
        answer: Message,
        /// Why the request was rejected, when it was (`None`: a normal 0800 answer).
        rejected: Option<RejectReason>,
        /// The decoding error behind a 30, for the log.
        error: Option<DecodeError>,
    },
    /// Nothing to answer.
    Drop {
        /// MTI of the request, when it could be read.
        request_mti: Option<Mti>,
        /// Why.
        reason: RejectReason,
        /// The decoding error, for the log.
        error: Option<DecodeError>,
    },
}

/// Decides what to do with the message bytes of one frame (after length header and TPDU).
pub fn classify(dialect: &Dialect, payload: Bytes) -> Inbound {
    let message = match decode(dialect, payload.clone()) {
        Ok(message) => message,
        Err(error) => {
            return match peek::recover(dialect, &payload, &ECHO_ON_FORMAT_ERROR) {
                Some(recovered) if recovered.has_keys() => {
                    match local_answer(dialect, &recovered.fields, "30") {
                        Ok(answer) => Inbound::Answer {
                            request_mti: recovered.mti,
                            answer,
                            rejected: Some(RejectReason::FormatError),
                            error: Some(error),
                        },
                        // A response or notification MTI: nothing to answer with.
                        Err(_) => Inbound::Drop {
                            request_mti: Some(recovered.mti),
                            reason: RejectReason::Unreadable,
                            error: Some(error),
                        },
                    }
                }
                recovered => Inbound::Drop {
                    request_mti: recovered.map(|r| r.mti),
                    reason: RejectReason::Unreadable,
                    error: Some(error),
                },
            };
        }
    };
    let mti = message.mti();
    let (code, rejected) = if mti == Mti::NETWORK_REQUEST {
        match message.get(70) {
            Some(b"001" | b"002" | b"301") => ("00", None),
            Some(_) => ("12", Some(RejectReason::UnsupportedMti)),
            None => ("30", Some(RejectReason::FormatError)),
        }
    } else if HANDLED.contains(&mti) {
        if message.has(11) && message.has(41) {
            return Inbound::Handle(message);
        }
        ("30", Some(RejectReason::FormatError))
    } else if mti.response().is_some() {
        ("12", Some(RejectReason::UnsupportedMti))
    } else {
        return Inbound::Drop {
            request_mti: Some(mti),
            reason: RejectReason::UnexpectedMti,
            error: None,
        };
    };
    match local_answer(dialect, &message, code) {
        Ok(answer) => Inbound::Answer {
            request_mti: mti,
            answer,
            rejected,
            error: None,
        },
        Err(_) => Inbound::Drop {
            request_mti: Some(mti),
            reason: RejectReason::UnexpectedMti,
            error: None,
        },
    }
}

/// The response MTI, the echoed fields that exist, and `code` in field 39.
pub fn local_answer(
    dialect: &Dialect,
    request: &Message,
    code: &str,
) -> Result<Message, BuildError> {
    let mut builder = request.respond(dialect, &ECHO_LOCAL)?;
    builder.set(39, code.to_owned())?;
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use asw_iso8583::{MessageBuilder, encode_to_bytes};
    use proptest::prelude::*;

    fn wire(dialect: &Dialect, mti: &str, fields: &[(u8, &str)]) -> Bytes {
        let mut b = MessageBuilder::new(dialect, Mti::new(mti).unwrap());
        for (n, v) in fields {
            b.set(*n, v.to_string()).unwrap();
        }
        encode_to_bytes(dialect, &b.build()).unwrap()
    }

    fn code(inbound: &Inbound) -> Option<&str> {
        match inbound {
            Inbound::Answer { answer, .. } => answer.get_str(39),
            _ => None,
        }
    }

    #[test]
    fn table() {
        let d = Dialect::ascii().unwrap();
        let keys = [(11, "000001"), (41, "T0000001")];
        let with = |extra: &[(u8, &'static str)]| {
            let mut f = keys.to_vec();
            f.extend_from_slice(extra);
            f.sort();
            f
        };
        assert!(matches!(
            classify(&d, wire(&d, "0200", &with(&[(3, "000000")]))),
            Inbound::Handle(_)
        ));
        assert!(matches!(
            classify(&d, wire(&d, "0421", &keys)),
            Inbound::Handle(_)
        ));
        assert_eq!(
            code(&classify(&d, wire(&d, "0800", &with(&[(70, "301")])))),
            Some("00")
        );
        assert_eq!(
            code(&classify(&d, wire(&d, "0800", &with(&[(70, "161")])))),
            Some("12")
        );
        assert_eq!(code(&classify(&d, wire(&d, "0800", &keys))), Some("30"));
        assert_eq!(
            code(&classify(&d, wire(&d, "0200", &[(11, "000001")]))),
            Some("30")
        );
        let unsupported = classify(&d, wire(&d, "0220", &keys));
        assert_eq!(code(&unsupported), Some("12"));
        assert!(
            matches!(&unsupported, Inbound::Answer { answer, .. } if answer.mti().as_str() == "0230")
        );
        assert!(matches!(
            classify(&d, wire(&d, "0210", &keys)),
            Inbound::Drop {
                reason: RejectReason::UnexpectedMti,
                ..
            }
        ));
        assert!(matches!(
            classify(&d, Bytes::from_static(b"\x00\x01garbage")),
            Inbound::Drop {
                reason: RejectReason::Unreadable,
                request_mti: None,
                ..
            }
        ));
    }

    proptest! {
        #[test]
        fn never_panics_and_answers_carry_the_request_keys(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            ascii in any::<bool>(),
        ) {
            let d = if ascii { Dialect::ascii().unwrap() } else { Dialect::pos_binary().unwrap() };
            if let Inbound::Answer { answer, .. } = classify(&d, Bytes::from(bytes)) {
                prop_assert!(answer.has(39));
                prop_assert!(encode_to_bytes(&d, &answer).is_ok());
            }
        }
    }
}
