//! Builders for each message of the default dialect's message set (purchase, void,
//! refund, reversal request/advice, status inquiry, network management).

use asw_iso8583::tlv::{PrivateDataBuilder, Tag, TlvError};
use asw_iso8583::{BuildError, Dialect, Message, MessageBuilder, Mti};

use crate::clock::Stamp;

/// F3 of a purchase.
pub const PURCHASE: &str = "000000";
/// F3 of a merchant-presented order code (the terminal displays the dynamic QR it gets back).
pub const ORDER_CODE: &str = "910000";
/// F3 of a void.
pub const VOID: &str = "020000";
/// F3 of a refund.
pub const REFUND: &str = "200000";
/// F3 of a status inquiry.
pub const INQUIRY: &str = "900000";

/// Why a message could not be built from the given values (a usage error).
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// A value does not fit its field.
    #[error(transparent)]
    Field(#[from] BuildError),
    /// A field 48 element is invalid.
    #[error(transparent)]
    PrivateData(#[from] TlvError),
    /// A void, refund or inquiry names no original (RRN, paymentRequestId or paymentId).
    #[error(
        "the original transaction must be named by --rrn, --payment-request-id or --payment-id"
    )]
    NoReference,
}

/// How a void, refund or inquiry names the original purchase.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reference {
    /// F37 of the original's answer.
    pub rrn: Option<String>,
    /// F48 `PR` of the original's answer.
    pub payment_request_id: Option<String>,
    /// F48 `PI` of the original's answer.
    pub payment_id: Option<String>,
}

impl Reference {
    fn is_empty(&self) -> bool {
        self.rrn.is_none() && self.payment_request_id.is_none() && self.payment_id.is_none()
    }
}

/// The original request a reversal repeats: its key and amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// Original F3.
    pub processing_code: String,
    /// Original F4 (minor units).
    pub amount: u64,
    /// Original F49 (ISO 4217 numeric).
    pub currency: u16,
    /// Original F11.
    pub stan: u32,
    /// Original F12 `hhmmss`.
    pub local_time: String,
    /// Original F13 `MMDD`.
    pub local_date: String,
    /// Original F37, when the terminal got one.
    pub rrn: Option<String>,
}

impl Original {
    /// The original of a purchase (or any request) built by this crate.
    pub fn of(request: &Message) -> Option<Original> {
        Some(Original {
            processing_code: request.get_str(3)?.to_owned(),
            amount: request.get_str(4)?.parse().ok()?,
            currency: request.get_str(49)?.parse().ok()?,
            stan: request.get_str(11)?.parse().ok()?,
            local_time: request.get_str(12)?.to_owned(),
            local_date: request.get_str(13)?.to_owned(),
            rrn: None,
        })
    }
}

/// Builds the messages of one terminal (merchant id F42, terminal id F41).
#[derive(Debug, Clone)]
pub struct MessageFactory<'d> {
    dialect: &'d Dialect,
    merchant_id: String,
    terminal_id: String,
    nii: Option<String>,
}

impl<'d> MessageFactory<'d> {
    /// A factory for terminal `terminal_id` (≤ 8) of merchant `merchant_id` (≤ 15).
    pub fn new(dialect: &'d Dialect, merchant_id: &str, terminal_id: &str) -> Self {
        MessageFactory {
            dialect,
            merchant_id: merchant_id.to_owned(),
            terminal_id: terminal_id.to_owned(),
            nii: None,
        }
    }

    /// Also sends F24 (NII, 3 digits), as TPDU terminals do.
    pub fn with_nii(mut self, nii: &str) -> Self {
        self.nii = Some(nii.to_owned());
        self
    }

    /// The terminal id (F41).
    pub fn terminal_id(&self) -> &str {
        &self.terminal_id
    }

    /// The merchant id (F42).
    pub fn merchant_id(&self) -> &str {
        &self.merchant_id
    }

    fn base(&self, mti: Mti, stamp: &Stamp) -> Result<MessageBuilder<'d>, FlowError> {
        let mut b = MessageBuilder::new(self.dialect, mti);
        b.set(7, stamp.transmission.clone())?;
        b.set_number(11, u64::from(stamp.stan))?;
        b.set(12, stamp.local_time.clone())?;
        b.set(13, stamp.local_date.clone())?;
        if let Some(nii) = &self.nii {
            b.set(24, nii.clone())?;
        }
        b.set_padded(41, &self.terminal_id)?;
        b.set_padded(42, &self.merchant_id)?;
        Ok(b)
    }

    fn financial(
        &self,
        stamp: &Stamp,
        processing_code: &str,
        amount: u64,
        currency: u16,
    ) -> Result<MessageBuilder<'d>, FlowError> {
        let mut b = self.base(Mti::FINANCIAL_REQUEST, stamp)?;
        b.set(3, processing_code.to_owned())?;
        b.set_number(4, amount)?;
        b.set(22, "032")?;
        b.set(25, "00")?;
        b.set_number(49, u64::from(currency))?;
        Ok(b)
    }

    fn reference(b: &mut MessageBuilder<'_>, reference: &Reference) -> Result<(), FlowError> {
        if reference.is_empty() {
            return Err(FlowError::NoReference);
        }
        if let Some(rrn) = &reference.rrn {
            b.set_padded(37, rrn)?;
        }
        let mut data = PrivateDataBuilder::new();
        if let Some(id) = &reference.payment_request_id {
            data.push(Tag::PaymentRequestId, id)?;
        }
        if let Some(id) = &reference.payment_id {
            data.push(Tag::PaymentId, id)?;
        }
        if !data.is_empty() {
            b.set(48, data.build())?;
        }
        Ok(())
    }

    /// 0200/000000: a QR purchase with the scanned code in F48 `PC`.
    pub fn purchase(
        &self,
        stamp: &Stamp,
        amount: u64,
        currency: u16,
        payment_code: &str,
    ) -> Result<Message, FlowError> {
        let mut b = self.financial(stamp, PURCHASE, amount, currency)?;
        let mut data = PrivateDataBuilder::new();
        data.push(Tag::PaymentCode, payment_code)?;
        b.set(48, data.build())?;
        Ok(b.build())
    }

    /// 0200/910000: a purchase the buyer pays by scanning the code the switch answers with
    /// (F48 `QC`, payable until `QE`); no payment code. Poll its outcome with [`Self::inquiry`].
    pub fn order_code(
        &self,
        stamp: &Stamp,
        amount: u64,
        currency: u16,
    ) -> Result<Message, FlowError> {
        Ok(self.financial(stamp, ORDER_CODE, amount, currency)?.build())
    }

    /// 0200/020000: void of a purchase (its amount), naming the original.
    pub fn void(
        &self,
        stamp: &Stamp,
        amount: u64,
        currency: u16,
        original: &Reference,
    ) -> Result<Message, FlowError> {
        let mut b = self.financial(stamp, VOID, amount, currency)?;
        Self::reference(&mut b, original)?;
        Ok(b.build())
    }

    /// 0200/200000: refund (full or partial), naming the original.
    pub fn refund(
        &self,
        stamp: &Stamp,
        amount: u64,
        currency: u16,
        original: &Reference,
    ) -> Result<Message, FlowError> {
        let mut b = self.financial(stamp, REFUND, amount, currency)?;
        Self::reference(&mut b, original)?;
        Ok(b.build())
    }

    /// 0100/900000: status of an earlier transaction.
    pub fn inquiry(&self, stamp: &Stamp, original: &Reference) -> Result<Message, FlowError> {
        let mut b = self.base(Mti::AUTH_REQUEST, stamp)?;
        b.set(3, INQUIRY)?;
        Self::reference(&mut b, original)?;
        Ok(b.build())
    }

    fn reversal_like(
        &self,
        mti: Mti,
        transmission: &str,
        original: &Original,
        reason: &str,
    ) -> Result<Message, FlowError> {
        let stamp = Stamp {
            stan: original.stan,
            local_time: original.local_time.clone(),
            local_date: original.local_date.clone(),
            transmission: transmission.to_owned(),
        };
        let mut b = self.base(mti, &stamp)?;
        b.set(3, original.processing_code.clone())?;
        b.set_number(4, original.amount)?;
        b.set(22, "032")?;
        b.set(25, "00")?;
        if let Some(rrn) = &original.rrn {
            b.set_padded(37, rrn)?;
        }
        b.set(39, reason.to_owned())?;
        b.set_number(49, u64::from(original.currency))?;
        Ok(b.build())
    }

    /// 0400 (or 0401 when `repeat`): reversal request repeating the original's F3, F4,
    /// F11, F12, F13 with a reason in F39 (`98` = no answer in time).
    pub fn reversal(
        &self,
        transmission: &str,
        original: &Original,
        reason: &str,
        repeat: bool,
    ) -> Result<Message, FlowError> {
        let mti = if repeat {
            Mti::REVERSAL_REQUEST_REPEAT
        } else {
            Mti::REVERSAL_REQUEST
        };
        self.reversal_like(mti, transmission, original, reason)
    }

    /// 0420 (or 0421 when `repeat`): reversal advice, same fields as the reversal.
    pub fn reversal_advice(
        &self,
        transmission: &str,
        original: &Original,
        reason: &str,
        repeat: bool,
    ) -> Result<Message, FlowError> {
        let mti = if repeat {
            Mti::REVERSAL_ADVICE_REPEAT
        } else {
            Mti::REVERSAL_ADVICE
        };
        self.reversal_like(mti, transmission, original, reason)
    }

    /// 0800 with F70 `code` (`001` sign-on, `002` sign-off, `301` echo).
    pub fn network(&self, stamp: &Stamp, code: &str) -> Result<Message, FlowError> {
        let mut b = self.base(Mti::NETWORK_REQUEST, stamp)?;
        b.set(70, code.to_owned())?;
        Ok(b.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use asw_iso8583::tlv::PrivateData;

    fn stamp(stan: u32) -> Stamp {
        Stamp {
            stan,
            local_time: "143015".into(),
            local_date: "1121".into(),
            transmission: "1121063015".into(),
        }
    }

    #[test]
    fn purchase_matches_the_dialect() {
        let d = Dialect::pos_binary().unwrap();
        let f = MessageFactory::new(&d, "M00000000000001", "T0000001").with_nii("001");
        let m = f
            .purchase(&stamp(123), 1250, 344, "281234567890123456")
            .unwrap();
        assert_eq!(m.mti(), Mti::FINANCIAL_REQUEST);
        assert_eq!(
            m.field_numbers().collect::<Vec<_>>(),
            vec![3, 4, 7, 11, 12, 13, 22, 24, 25, 41, 42, 48, 49]
        );
        assert_eq!(m.get_str(3), Some("000000"));
        assert_eq!(m.get_str(4), Some("000000001250"));
        assert_eq!(m.get_str(22), Some("032"));
        let data = PrivateData::parse(m.get(48).unwrap()).unwrap();
        assert_eq!(data.get(Tag::PaymentCode), Some("281234567890123456"));
        assert!(!m.has(2), "never the wallet code in F2");
    }

    #[test]
    fn void_refund_inquiry_need_a_reference() {
        let d = Dialect::ascii().unwrap();
        let f = MessageFactory::new(&d, "M1", "T1");
        let none = Reference::default();
        assert!(matches!(
            f.void(&stamp(1), 1, 344, &none),
            Err(FlowError::NoReference)
        ));
        let r = Reference {
            rrn: Some("612300000001".into()),
            payment_request_id: Some("P-1".into()),
            payment_id: None,
        };
        let void = f.void(&stamp(2), 1250, 344, &r).unwrap();
        assert_eq!(void.get_str(3), Some(VOID));
        assert_eq!(void.get_str(37), Some("612300000001"));
        assert_eq!(void.get_str(48), Some("PR003P-1"));
        assert_eq!(void.get_str(41), Some("T1      "));
        assert_eq!(
            f.refund(&stamp(3), 10, 344, &r).unwrap().get_str(3),
            Some(REFUND)
        );
        let inquiry = f.inquiry(&stamp(4), &r).unwrap();
        assert_eq!(inquiry.mti(), Mti::AUTH_REQUEST);
        assert_eq!(inquiry.get_str(3), Some(INQUIRY));
    }

    #[test]
    fn reversals_repeat_the_original_key() {
        let d = Dialect::pos_binary().unwrap();
        let f = MessageFactory::new(&d, "M00000000000001", "T0000001");
        let purchase = f
            .purchase(&stamp(123), 1250, 344, "281234567890123456")
            .unwrap();
        let original = Original::of(&purchase).unwrap();
        for (advice, repeat, mti) in [
            (false, false, "0400"),
            (false, true, "0401"),
            (true, false, "0420"),
            (true, true, "0421"),
        ] {
            let m = if advice {
                f.reversal_advice("1121063100", &original, "98", repeat)
            } else {
                f.reversal("1121063100", &original, "98", repeat)
            }
            .unwrap();
            assert_eq!(m.mti().as_str(), mti);
            for n in [3, 4, 11, 12, 13, 41, 42, 49] {
                assert_eq!(m.get(n), purchase.get(n), "field {n}");
            }
            assert_eq!(m.get_str(39), Some("98"));
            assert!(!m.has(48));
        }
    }

    #[test]
    fn network_management() {
        let d = Dialect::pos_binary().unwrap();
        let f = MessageFactory::new(&d, "M1", "T1");
        let m = f.network(&stamp(9), "301").unwrap();
        assert_eq!(m.mti(), Mti::NETWORK_REQUEST);
        assert_eq!(m.get_str(70), Some("301"));
    }
}
