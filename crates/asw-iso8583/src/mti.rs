//! The message type indicator.

use std::fmt;

/// A message type indicator: four decimal digits (version, class, function, origin).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mti([u8; 4]);

/// Why text is not an MTI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an MTI is exactly four decimal digits")]
pub struct MtiError;

macro_rules! mti_consts {
    ($($name:ident = $digits:literal, $doc:literal;)*) => {
        $( #[doc = $doc] pub const $name: Mti = Mti(*$digits); )*
    };
}

impl Mti {
    mti_consts! {
        AUTH_REQUEST = b"0100", "0100 authorization request (status inquiry in this dialect).";
        AUTH_RESPONSE = b"0110", "0110 authorization response.";
        FINANCIAL_REQUEST = b"0200", "0200 financial request (purchase, void, refund).";
        FINANCIAL_RESPONSE = b"0210", "0210 financial response.";
        REVERSAL_REQUEST = b"0400", "0400 reversal request.";
        REVERSAL_REQUEST_REPEAT = b"0401", "0401 reversal request, repeat.";
        REVERSAL_RESPONSE = b"0410", "0410 reversal response.";
        REVERSAL_ADVICE = b"0420", "0420 reversal advice.";
        REVERSAL_ADVICE_REPEAT = b"0421", "0421 reversal advice, repeat.";
        REVERSAL_ADVICE_RESPONSE = b"0430", "0430 reversal advice response.";
        RECONCILIATION_REQUEST = b"0500", "0500 reconciliation (settlement totals) request.";
        RECONCILIATION_RESPONSE = b"0510", "0510 reconciliation response.";
        NETWORK_REQUEST = b"0800", "0800 network management request.";
        NETWORK_RESPONSE = b"0810", "0810 network management response.";
    }

    /// Parses four ASCII digits.
    pub fn new(text: &str) -> Result<Self, MtiError> {
        Self::from_digits(text.as_bytes())
    }

    /// Builds an MTI from four ASCII digit bytes.
    pub fn from_digits(bytes: &[u8]) -> Result<Self, MtiError> {
        match bytes {
            [a, b, c, d] if bytes.iter().all(u8::is_ascii_digit) => Ok(Mti([*a, *b, *c, *d])),
            _ => Err(MtiError),
        }
    }

    /// The four ASCII digits.
    pub fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }

    /// The MTI as text, e.g. `"0200"`.
    pub fn as_str(&self) -> &str {
        // The constructor admits ASCII digits only.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }

    /// Message class digit (2 = financial, 4 = reversal, 8 = network management, …).
    pub fn class(&self) -> u8 {
        self.0[1] - b'0'
    }

    /// Function digit (0 = request, 1 = request response, 2 = advice, 3 = advice response…).
    pub fn function(&self) -> u8 {
        self.0[2] - b'0'
    }

    /// Origin digit; odd values (1, 3, 5) mark a repeat.
    pub fn origin(&self) -> u8 {
        self.0[3] - b'0'
    }

    /// Whether this MTI announces a retransmission (0401, 0421, …).
    pub fn is_repeat(&self) -> bool {
        self.origin() % 2 == 1 && self.origin() <= 5
    }

    /// The MTI of the answer to this request or advice: function digit + 1, and the
    /// repeat flag dropped (0200→0210, 0401→0410, 0421→0430, 0800→0810). `None` for
    /// messages that are themselves answers or notifications.
    pub fn response(&self) -> Option<Mti> {
        let function = match self.0[2] {
            b'0' => b'1',
            b'2' => b'3',
            _ => return None,
        };
        let origin = match self.0[3] {
            b'0' | b'1' => b'0',
            b'2' | b'3' => b'2',
            b'4' | b'5' => b'4',
            _ => return None,
        };
        Some(Mti([self.0[0], self.0[1], function, origin]))
    }
}

impl fmt::Debug for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Mti {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Mti {
    type Err = MtiError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mti::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_mtis() {
        for (req, resp) in [
            ("0200", "0210"),
            ("0400", "0410"),
            ("0401", "0410"),
            ("0420", "0430"),
            ("0421", "0430"),
            ("0800", "0810"),
            ("0100", "0110"),
            ("0500", "0510"),
        ] {
            assert_eq!(
                Mti::new(req).unwrap().response(),
                Some(Mti::new(resp).unwrap())
            );
        }
        assert_eq!(Mti::new("0210").unwrap().response(), None);
        assert_eq!(Mti::new("0430").unwrap().response(), None);
    }

    #[test]
    fn parse_rejects_non_digits() {
        assert!(Mti::new("02a0").is_err());
        assert!(Mti::new("020").is_err());
        assert!(Mti::new("02000").is_err());
        assert!(Mti::REVERSAL_ADVICE_REPEAT.is_repeat());
        assert!(!Mti::REVERSAL_ADVICE.is_repeat());
        assert_eq!(Mti::FINANCIAL_REQUEST.class(), 2);
    }
}
