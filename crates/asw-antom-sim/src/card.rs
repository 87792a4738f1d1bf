//! Hosted card payments (`CASHIER_PAYMENT`, `paymentMethodType = CARD`, an authorization):
//! the test cards, the checks the hosted card page applies to what the buyer typed, the
//! saved card (`cardToken`) and what the answers say about it (`paymentResultInfo`), the
//! capture mode, and the `CAPTURE_RESULT` body.
//!
//! Pure: no I/O and no clock. The state changes live in `ledger/card.rs`, the page in
//! `card_page.rs`.

use asw_antom::api::PayRequest;
use asw_antom::buyer::ThreeDsResult;
use asw_antom::capture::{CAPTURE_MODE_AUTOMATIC, CAPTURE_MODE_MANUAL};
use asw_antom::{AntomResult, PaymentResultInfo};

use crate::ledger::CardChecks;
use serde::Deserialize;
use time::Date;

use crate::ledger::param_illegal;
use crate::wallets::Wallet;

/// `paymentMethod.paymentMethodType` of card payments.
pub const CARD_METHOD_TYPE: &str = "CARD";

/// What the answers and pages show for the card method (it has no app, so no scheme and no
/// package: card answers carry no `applinkUrl` / `schemeUrl`).
pub(crate) const CARD_METHOD: Wallet = Wallet {
    method_type: CARD_METHOD_TYPE,
    display_name: "Card",
    scheme: "",
    app_identifier: "",
};

/// The test card that is authorized.
pub const APPROVE_PAN: &str = "4242424242424242";
/// The test card the issuer declines (`DO_NOT_HONOR`).
pub const DECLINE_PAN: &str = "4000000000000002";
/// The issuer's refusal (a card declined on the page, by the hook's `decline`, or a CVV that
/// is not three digits: issuers refuse a wrong CVV this way too).
pub const DECLINE_CODE: &str = "DO_NOT_HONOR";
/// A card number that is malformed, fails the Luhn check or is not one of [`TEST_CARDS`].
pub const INVALID_CARD_NUMBER: &str = "INVALID_CARD_NUMBER";
/// An expiry that is not `MM/YY` (or `MM/YYYY`) or lies in the past.
pub const INVALID_EXPIRATION_DATE: &str = "INVALID_EXPIRATION_DATE";

/// One test card and what the "issuer" does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestCard {
    /// The card number, digits only.
    pub pan: &'static str,
    /// `cardBrand`.
    pub brand: &'static str,
    /// `None`: authorized; otherwise the decline code.
    pub decline: Option<&'static str>,
}

/// Every card the page accepts; any other number is `INVALID_CARD_NUMBER`. The numbers are
/// the usual public test numbers (they pass the Luhn check).
pub const TEST_CARDS: &[TestCard] = &[
    TestCard {
        pan: APPROVE_PAN,
        brand: "VISA",
        decline: None,
    },
    TestCard {
        pan: "5555555555554444",
        brand: "MASTERCARD",
        decline: None,
    },
    TestCard {
        pan: DECLINE_PAN,
        brand: "VISA",
        decline: Some(DECLINE_CODE),
    },
    TestCard {
        pan: "4000000000009995",
        brand: "VISA",
        decline: Some("USER_BALANCE_NOT_ENOUGH"),
    },
    TestCard {
        pan: "6011111111111117",
        brand: "DISCOVER",
        decline: Some("CARD_NOT_SUPPORTED"),
    },
];

/// What the buyer typed on the card page (form fields `card_number`, `expiry`, `cvv`,
/// `holder`), or what the test hook sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub(crate) struct CardForm {
    pub card_number: String,
    pub expiry: String,
    pub cvv: String,
    pub holder: String,
}

impl CardForm {
    /// The form exactly as posted (`application/x-www-form-urlencoded`); absent fields are
    /// empty, which the checks refuse.
    pub fn from_form(body: &[u8]) -> Self {
        let mut form = Self::default();
        for (key, value) in form_urlencoded::parse(body) {
            let slot = match key.as_ref() {
                "card_number" => &mut form.card_number,
                "expiry" => &mut form.expiry,
                "cvv" => &mut form.cvv,
                "holder" => &mut form.holder,
                _ => continue,
            };
            *slot = value.into_owned();
        }
        form
    }

    /// The test hook's body: a JSON object or a form, every field optional; what is missing
    /// is filled from the approving test card (so an empty body approves).
    pub fn from_hook_body(body: &[u8]) -> Self {
        let sent = if body.iter().all(u8::is_ascii_whitespace) {
            Self::default()
        } else {
            serde_json::from_slice::<Self>(body).unwrap_or_else(|_| Self::from_form(body))
        };
        let test = Self::test_card();
        let or = |given: String, default: String| {
            if given.trim().is_empty() {
                default
            } else {
                given
            }
        };
        Self {
            card_number: or(sent.card_number, test.card_number),
            expiry: or(sent.expiry, test.expiry),
            cvv: or(sent.cvv, test.cvv),
            holder: or(sent.holder, test.holder),
        }
    }

    /// The approving test card with a far expiry.
    pub fn test_card() -> Self {
        Self {
            card_number: APPROVE_PAN.to_owned(),
            expiry: "12/99".to_owned(),
            cvv: "123".to_owned(),
            holder: "TEST BUYER".to_owned(),
        }
    }
}

/// A card the "issuer" authorized, kept for the answers and as a saved card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CardOnFile {
    pub brand: &'static str,
    pub bin: String,
    pub last_four: String,
    /// Digits of the number, for the masked `cardNo`.
    pub pan_len: usize,
    pub expiry_month: String,
    pub expiry_year: String,
    pub holder: String,
}

/// Applies the page's checks and the test card's outcome: the card, or the decline code.
pub(crate) fn check(form: &CardForm, today: Date) -> Result<CardOnFile, &'static str> {
    let pan: String = form
        .card_number
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    if !(12..=19).contains(&pan.len()) || !pan.bytes().all(|b| b.is_ascii_digit()) || !luhn(&pan) {
        return Err(INVALID_CARD_NUMBER);
    }
    let Some(card) = TEST_CARDS.iter().find(|c| c.pan == pan) else {
        return Err(INVALID_CARD_NUMBER);
    };
    let (month, year) = parse_expiry(&form.expiry).ok_or(INVALID_EXPIRATION_DATE)?;
    if (year, month) < (today.year(), u8::from(today.month())) {
        return Err(INVALID_EXPIRATION_DATE);
    }
    let cvv = form.cvv.trim();
    if cvv.len() != 3 || !cvv.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DECLINE_CODE);
    }
    if let Some(code) = card.decline {
        return Err(code);
    }
    Ok(CardOnFile {
        brand: card.brand,
        bin: pan.get(..6).unwrap_or_default().to_owned(),
        last_four: pan.get(pan.len() - 4..).unwrap_or_default().to_owned(),
        pan_len: pan.len(),
        expiry_month: format!("{month:02}"),
        expiry_year: format!("{:02}", year % 100),
        holder: form.holder.trim().to_owned(),
    })
}

/// `MM/YY` or `MM/YYYY` (spaces allowed around the slash) as (month, full year).
fn parse_expiry(text: &str) -> Option<(u8, i32)> {
    let (month, year) = text.split_once('/')?;
    let (month, year) = (month.trim(), year.trim());
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(month) || !all_digits(year) || month.len() > 2 {
        return None;
    }
    let month: u8 = month.parse().ok()?;
    let year: i32 = match year.len() {
        2 => 2000 + year.parse::<i32>().ok()?,
        4 => year.parse().ok()?,
        _ => return None,
    };
    (1..=12).contains(&month).then_some((month, year))
}

/// The Luhn check digit test every real card number passes.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                if twice > 9 { twice - 9 } else { twice }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// `paymentResultInfo` of an authorized card. `token` is the saved card's `cardToken`;
/// `payment_id` makes the scheme ids unique per payment; `checks` are what the merchant asked
/// for (3-D Secure, a billing address for AVS), reported as passed.
pub(crate) fn result_info(
    card: &CardOnFile,
    token: &str,
    payment_id: &str,
    checks: CardChecks,
) -> PaymentResultInfo {
    let tail = payment_id
        .get(payment_id.len().saturating_sub(6)..)
        .unwrap_or(payment_id);
    PaymentResultInfo {
        card_no: Some(format!(
            "{}{}",
            "*".repeat(card.pan_len.saturating_sub(4)),
            card.last_four
        )),
        card_brand: Some(card.brand.to_owned()),
        card_bin: Some(card.bin.clone()),
        last_four: Some(card.last_four.clone()),
        expiry_month: Some(card.expiry_month.clone()),
        expiry_year: Some(card.expiry_year.clone()),
        cardholder_name: (!card.holder.is_empty()).then(|| card.holder.clone()),
        funding: Some("CREDIT".to_owned()),
        issuing_country: Some("SG".to_owned()),
        card_token: Some(token.to_owned()),
        network_transaction_id: Some(format!("SIMNTI{payment_id}")),
        // AVS: a full match when a billing address was sent, else the scheme's "address
        // matches, postal code not checked".
        avs_result_raw: Some(if checks.billing_address { "Y" } else { "A" }.to_owned()),
        cvv_result_raw: Some("Y".to_owned()),
        authorization_code: Some(tail.to_owned()),
        refusal_code_raw: None,
        refusal_reason_raw: None,
        three_ds_result: checks.three_ds.then(|| ThreeDsResult {
            three_ds_version: Some("2.2.0".to_owned()),
            eci: Some("05".to_owned()),
        }),
    }
}

/// `paymentFactor.captureMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CaptureMode {
    /// Captured by the simulator right after the authorization.
    Automatic,
    /// Captured by the merchant's `capture` call.
    Manual,
}

impl CaptureMode {
    /// `AUTOMATIC` when absent or empty, as Antom defaults; `None` for any other value.
    pub fn parse(value: Option<&str>) -> Option<Self> {
        match value.map(str::trim) {
            None | Some("") => Some(Self::Automatic),
            Some(CAPTURE_MODE_AUTOMATIC) => Some(Self::Automatic),
            Some(CAPTURE_MODE_MANUAL) => Some(Self::Manual),
            Some(_) => None,
        }
    }

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Automatic => CAPTURE_MODE_AUTOMATIC,
            Self::Manual => CAPTURE_MODE_MANUAL,
        }
    }
}

/// The card-only checks of an online `pay`: the simulator only does authorizations (hosted
/// mode), so `isAuthorization` must be true; the capture mode must be one Antom knows.
pub(crate) fn validate(req: &PayRequest) -> Result<(), AntomResult> {
    if req.payment_factor.is_authorization != Some(true) {
        return Err(param_illegal(
            "paymentFactor.isAuthorization must be true for CARD",
        ));
    }
    if CaptureMode::parse(req.payment_factor.capture_mode.as_deref()).is_none() {
        return Err(param_illegal(
            "paymentFactor.captureMode must be AUTOMATIC or MANUAL",
        ));
    }
    if let Some(token) = &req.payment_method.payment_method_id
        && (token.expose().is_empty() || token.expose().chars().count() > 128)
    {
        return Err(param_illegal(
            "paymentMethod.paymentMethodId must be a cardToken of at most 128 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> Date {
        Date::from_calendar_date(2025, time::Month::June, 15).unwrap()
    }

    fn form(pan: &str, expiry: &str, cvv: &str) -> CardForm {
        CardForm {
            card_number: pan.into(),
            expiry: expiry.into(),
            cvv: cvv.into(),
            holder: "A B".into(),
        }
    }

    #[test]
    fn test_cards_pass_luhn_and_decide_as_listed() {
        for card in TEST_CARDS {
            assert!(luhn(card.pan), "{}", card.pan);
            let got = check(&form(card.pan, "12/30", "123"), today());
            match card.decline {
                None => assert_eq!(got.map(|c| c.brand), Ok(card.brand)),
                Some(code) => assert_eq!(got, Err(code)),
            }
        }
        let ok = check(&form("4242 4242 4242 4242", "06/2025", "999"), today()).unwrap();
        assert_eq!((ok.bin.as_str(), ok.last_four.as_str()), ("424242", "4242"));
        assert_eq!(
            (ok.expiry_month.as_str(), ok.expiry_year.as_str()),
            ("06", "25")
        );
    }

    #[test]
    fn bad_numbers_expiries_and_cvvs_have_their_codes() {
        for pan in [
            "4242424242424241",
            "4111111111111111",
            "42424242",
            "abcd",
            "",
        ] {
            assert_eq!(
                check(&form(pan, "12/30", "123"), today()),
                Err(INVALID_CARD_NUMBER),
                "{pan}"
            );
        }
        for expiry in ["05/25", "13/30", "00/30", "1230", "12/3", "", "ab/cd"] {
            assert_eq!(
                check(&form(APPROVE_PAN, expiry, "123"), today()),
                Err(INVALID_EXPIRATION_DATE),
                "{expiry}"
            );
        }
        for cvv in ["12", "1234", "abc", ""] {
            assert_eq!(
                check(&form(APPROVE_PAN, "12/30", cvv), today()),
                Err(DECLINE_CODE),
                "{cvv}"
            );
        }
    }

    #[test]
    fn forms_and_hook_bodies_are_read() {
        let f = CardForm::from_form(b"card_number=4000+0000+0000+0002&expiry=12%2F30&cvv=123&x=1");
        assert_eq!(f.card_number, "4000 0000 0000 0002");
        assert_eq!(f.expiry, "12/30");
        assert!(f.holder.is_empty());
        assert_eq!(CardForm::from_hook_body(b""), CardForm::test_card());
        let hook = CardForm::from_hook_body(br#"{"card_number":"4000000000000002"}"#);
        assert_eq!(hook.card_number, DECLINE_PAN);
        assert_eq!(hook.cvv, "123");
        let hook = CardForm::from_hook_body(b"card_number=5555555555554444");
        assert_eq!(hook.card_number, "5555555555554444");
    }

    #[test]
    fn capture_modes_default_to_automatic() {
        assert_eq!(CaptureMode::parse(None), Some(CaptureMode::Automatic));
        assert_eq!(CaptureMode::parse(Some("")), Some(CaptureMode::Automatic));
        assert_eq!(
            CaptureMode::parse(Some("MANUAL")),
            Some(CaptureMode::Manual)
        );
        assert_eq!(CaptureMode::parse(Some("manual")), None);
    }

    #[test]
    fn result_info_masks_the_number() {
        let card = check(&form(APPROVE_PAN, "12/30", "123"), today()).unwrap();
        let info = result_info(
            &card,
            "TOKEN",
            "20250615194010800100100000001",
            CardChecks::default(),
        );
        assert_eq!(info.card_no.as_deref(), Some("************4242"));
        assert_eq!(info.card_token.as_deref(), Some("TOKEN"));
        assert_eq!(info.last_four.as_deref(), Some("4242"));
    }
}
