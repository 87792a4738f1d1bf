//! Masking of secrets in `Debug`/`Display` output.
//!
//! Payment codes are bearer tokens: whoever reads one from a log can pay with it. PANs,
//! track data, PIN blocks and ICC data are card secrets. They never leave this crate's
//! formatting in clear.

use std::fmt;

use crate::message::Message;
use crate::tlv::{PrivateData, Tag};

/// Fields shown as first 4 / last 4 characters only.
const PARTIAL: [u8; 2] = [2, 34];
/// Fields never shown (expiry, track 2/3/1, PIN block, ICC data).
const HIDDEN: [u8; 6] = [14, 35, 36, 45, 52, 55];

/// Masks a payment code or PAN, keeping the first 4 and last 4 characters
/// (`2812**********3456`); shorter than 12 characters, masked entirely (the one rule of
/// `asw-mask`).
pub fn mask_payment_code(code: &str) -> String {
    asw_mask::mask_middle(code)
}

/// Whether a field is masked in `Debug`/`Display` output of a [`Message`].
pub fn is_sensitive(field: u8) -> bool {
    PARTIAL.contains(&field) || HIDDEN.contains(&field) || field == 48
}

/// A field value rendered for logs: secrets masked, binary shown as hex.
struct Shown<'a> {
    field: u8,
    value: &'a [u8],
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = std::str::from_utf8(self.value)
            .ok()
            .filter(|t| t.bytes().all(|b| (0x20..=0x7E).contains(&b)));
        if HIDDEN.contains(&self.field) {
            return write!(f, "<{} bytes masked>", self.value.len());
        }
        if PARTIAL.contains(&self.field) {
            return match text {
                Some(t) => f.write_str(&mask_payment_code(t)),
                None => write!(f, "<{} bytes masked>", self.value.len()),
            };
        }
        if self.field == 48 {
            // Only the TLV layout tells where the payment code is; if it does not
            // parse, hide the whole field rather than risk leaking the code.
            return match PrivateData::parse(self.value) {
                Ok(data) => {
                    let mut first = true;
                    for (tag, value) in data.iter() {
                        if !first {
                            f.write_str(" ")?;
                        }
                        first = false;
                        if tag == Tag::PaymentCode {
                            write!(f, "{tag}={}", mask_payment_code(value))?;
                        } else {
                            write!(f, "{tag}={value}")?;
                        }
                    }
                    Ok(())
                }
                Err(_) => write!(f, "<{} bytes masked>", self.value.len()),
            };
        }
        match text {
            Some(t) => f.write_str(t),
            None => {
                for b in self.value {
                    write!(f, "{b:02X}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Value<'a>(Shown<'a>);
        impl fmt::Debug for Value<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "\"{}\"", self.0)
            }
        }
        let mut s = f.debug_map();
        s.entry(&"mti", &self.mti());
        for (field, value) in self.fields() {
            s.entry(&field, &Value(Shown { field, value }));
        }
        s.finish()
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.mti())?;
        for (field, value) in self.fields() {
            write!(f, " {field}=[{}]", Shown { field, value })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dialect, Mti};

    #[test]
    fn masks_codes() {
        assert_eq!(
            mask_payment_code("281234567890123456"),
            "2812**********3456"
        );
        assert_eq!(mask_payment_code("12345678"), "********");
        assert_eq!(mask_payment_code(""), "");
    }

    #[test]
    fn debug_and_display_hide_secrets() {
        let d = Dialect::pos_binary().unwrap();
        let mut m = Message::new(Mti::FINANCIAL_REQUEST);
        m.set(&d, 2, "4276555555555555").unwrap();
        m.set(&d, 35, "4276555555555555=2512").unwrap();
        m.set(&d, 41, "T0000001").unwrap();
        m.set(&d, 48, "PC018281234567890123456PR003abc").unwrap();
        m.set(&d, 52, vec![1u8, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        for text in [format!("{m:?}"), format!("{m}"), format!("{m:#?}")] {
            assert!(!text.contains("281234567890123456"), "{text}");
            assert!(!text.contains("4276555555555555"), "{text}");
            assert!(!text.contains("0102030405060708"), "{text}");
            assert!(text.contains("T0000001"), "{text}");
            assert!(text.contains("2812**********3456"), "{text}");
            assert!(text.contains("4276********5555"), "{text}");
            assert!(text.contains("PR=abc"), "{text}");
        }
        // Unparsable field 48 is hidden entirely.
        m.set(&d, 48, "281234567890123456").unwrap();
        assert!(!format!("{m:?}").contains("2812"));
    }
}
