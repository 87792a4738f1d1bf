//! Reading the switch's answers: F39, the field 48 elements and F37, as a terminal (or a
//! test standing in for one) looks at them.

use asw_iso8583::Message;
use asw_iso8583::tlv::{PrivateData, Tag};

/// The fields of an answer a terminal acts on. Implemented for [`Message`] so every answer
/// is read the same way by the CLI, the load generator's callers and the end-to-end tests.
pub trait Answer {
    /// F39, or `""` when the answer has none (so a comparison with `"00"` simply fails).
    fn response_code(&self) -> &str;
    /// A field 48 element, or `None` when F48 is absent, unparsable or lacks `tag`.
    fn private_tag(&self, tag: Tag) -> Option<&str>;
    /// F48 `PR`: the `paymentRequestId` a later void, refund or inquiry can quote.
    fn payment_request_id(&self) -> Option<&str> {
        self.private_tag(Tag::PaymentRequestId)
    }
    /// F48 `PI`: Antom's `paymentId`.
    fn payment_id(&self) -> Option<&str> {
        self.private_tag(Tag::PaymentId)
    }
    /// F48 `QC`: the order code to display as a QR.
    fn order_code(&self) -> Option<&str> {
        self.private_tag(Tag::OrderCode)
    }
    /// F48 `QE`: until when the order code can be paid (store local time, `YYYYMMDDhhmmss`).
    fn order_code_expiry(&self) -> Option<&str> {
        self.private_tag(Tag::OrderCodeExpiry)
    }
    /// F37 without its space padding (the switch pads the 12-character field).
    fn rrn(&self) -> Option<&str>;
}

impl Answer for Message {
    fn response_code(&self) -> &str {
        self.get_str(39).unwrap_or("")
    }

    fn private_tag(&self, tag: Tag) -> Option<&str> {
        PrivateData::parse(self.get(48)?).ok()?.get(tag)
    }

    fn rrn(&self) -> Option<&str> {
        self.get_str(37).map(str::trim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asw_iso8583::tlv::PrivateDataBuilder;
    use asw_iso8583::{Dialect, MessageBuilder, Mti};

    #[test]
    fn reads_code_tags_and_the_unpadded_rrn() {
        let d = Dialect::pos_binary().unwrap();
        let mut b = MessageBuilder::new(&d, Mti::FINANCIAL_RESPONSE);
        b.set_padded(37, "61230001").unwrap();
        b.set(39, "00").unwrap();
        let mut data = PrivateDataBuilder::new();
        data.push(Tag::PaymentRequestId, "P-1").unwrap();
        data.push(Tag::PaymentId, "A-2").unwrap();
        b.set(48, data.build()).unwrap();
        let answer = b.build();
        assert_eq!(answer.response_code(), "00");
        assert_eq!(answer.payment_request_id(), Some("P-1"));
        assert_eq!(answer.payment_id(), Some("A-2"));
        assert_eq!(answer.private_tag(Tag::ResultMessage), None);
        assert_eq!(answer.rrn(), Some("61230001"));
    }

    #[test]
    fn missing_fields_read_as_empty() {
        let d = Dialect::pos_binary().unwrap();
        let answer = MessageBuilder::new(&d, Mti::FINANCIAL_RESPONSE).build();
        assert_eq!(answer.response_code(), "");
        assert_eq!(answer.payment_request_id(), None);
        assert_eq!(answer.rrn(), None);
    }
}
