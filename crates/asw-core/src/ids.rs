//! Deterministic identifiers: `paymentRequestId`, `refundRequestId`, RRN and approval codes.
//!
//! Every id is a pure function of the terminal's key, so a reversal that arrives on another
//! connection, on another switch instance, or after a crash that lost the journal can still name
//! the payment it must cancel. Antom asks for ids that are unique, never reset and not
//! consecutive, built from time + terminal + amount + serial number + a random-looking part
//! (seed 003): the random-looking part is a keyed hash (HMAC-SHA256 with a per-deployment secret)
//! of the key, so outsiders cannot predict ids and the id stays stable for the same key.

use aws_lc_rs::hmac;
use time::{Date, Month};

use crate::domain::{PaymentRequestId, RefundRequestId, TerminalKey};

/// Derives ids from terminal keys with a deployment secret.
pub struct IdGenerator {
    key: hmac::Key,
}

impl std::fmt::Debug for IdGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdGenerator(<secret>)")
    }
}

/// A terminal key whose year has been settled, ready to derive ids from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatedKey<'a> {
    /// The key as the terminal sent it.
    pub key: &'a TerminalKey,
    /// The inferred four-digit year of F13.
    pub year: i32,
}

impl DatedKey<'_> {
    /// `MID|TID|YYYYMMDD|STAN`: the duplicate-detection key the journal indexes.
    pub fn dedup_string(&self) -> String {
        format!(
            "{}|{}|{:04}{}|{}",
            self.key.merchant_id,
            self.key.terminal_id,
            self.year,
            self.key.local_date,
            self.key.stan
        )
    }
}

impl IdGenerator {
    /// Creates a generator; the secret must be the same on every instance of a deployment.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    fn mac_hex(&self, parts: &[&str], hex_len: usize) -> String {
        let mut ctx = hmac::Context::with_key(&self.key);
        for part in parts {
            ctx.update(part.as_bytes());
            ctx.update(b"\x1f");
        }
        let tag = ctx.sign();
        let mut out = hex::encode(tag.as_ref());
        out.truncate(hex_len);
        out
    }

    /// The 8-hex-character tag of a key: ends every id derived from it and names the journal
    /// shard, so all of a transaction's Redis keys can be found from the key or from the id.
    pub fn key_tag(&self, key: &DatedKey<'_>) -> String {
        self.mac_hex(&["key", &key.dedup_string()], 8)
    }

    /// `paymentRequestId` of the purchase identified by `key` for `amount_minor` units.
    ///
    /// Layout: `YYMMDDhhmmss` + TID (alphanumerics only) + amount + STAN + key tag; at most 54
    /// characters (Antom allows 64).
    pub fn payment_request_id(&self, key: &DatedKey<'_>, amount_minor: u64) -> PaymentRequestId {
        PaymentRequestId::new(self.compose("", key, amount_minor))
    }

    /// `refundRequestId` of the refund identified by its own key (not the original's), so a
    /// re-sent refund reuses the id and Antom's idempotency protects the customer.
    pub fn refund_request_id(&self, key: &DatedKey<'_>, amount_minor: u64) -> RefundRequestId {
        RefundRequestId::new(self.compose("R", key, amount_minor))
    }

    fn compose(&self, prefix: &str, key: &DatedKey<'_>, amount_minor: u64) -> String {
        let tid: String = key
            .key
            .terminal_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        format!(
            "{prefix}{:02}{}{}{tid}{amount_minor}{}{}",
            key.year.rem_euclid(100),
            key.key.local_date,
            key.key.local_time,
            key.key.stan,
            self.key_tag(key)
        )
    }

    /// A six-character approval code (F38) for an approved payment, stable for its id.
    pub fn approval_code(&self, id: &PaymentRequestId) -> String {
        self.mac_hex(&["approval", id.as_str()], 6)
            .to_ascii_uppercase()
    }
}

/// Retrieval reference number (F37, `an12`): `YDDDhh` + STAN.
///
/// STANs are unique per terminal per day, so the RRN is unique per terminal for ten years and can
/// be turned back into the key (with the MID and TID of the message that quotes it).
pub fn rrn(key: &DatedKey<'_>) -> Option<String> {
    let date = key_date(key.key, key.year)?;
    let hour = key.key.local_time.get(..2)?;
    Some(format!(
        "{}{:03}{hour}{}",
        key.year.rem_euclid(10),
        date.ordinal(),
        key.key.stan
    ))
}

/// Inverts [`rrn`]: the local date (MMDD), the year and the STAN it encodes.
pub fn parse_rrn(rrn: &str, today: Date) -> Option<(String, i32, String)> {
    if rrn.len() != 12 || !rrn.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year_digit: i32 = rrn.get(..1)?.parse().ok()?;
    let ordinal: u16 = rrn.get(1..4)?.parse().ok()?;
    let stan = rrn.get(6..12)?.to_string();
    let this_year = today.year();
    let year = [this_year, this_year - 1, this_year - 2]
        .into_iter()
        .chain(this_year - 9..this_year - 2)
        .find(|y| y.rem_euclid(10) == year_digit)?;
    let date = Date::from_ordinal_date(year, ordinal).ok()?;
    Some((
        format!("{:02}{:02}", u8::from(date.month()), date.day()),
        year,
        stan,
    ))
}

fn key_date(key: &TerminalKey, year: i32) -> Option<Date> {
    let (month, day) = parse_mmdd(&key.local_date)?;
    Date::from_calendar_date(year, month, day).ok()
}

fn parse_mmdd(mmdd: &str) -> Option<(Month, u8)> {
    if mmdd.len() != 4 {
        return None;
    }
    let month: u8 = mmdd.get(..2)?.parse().ok()?;
    let day: u8 = mmdd.get(2..)?.parse().ok()?;
    Some((Month::try_from(month).ok()?, day))
}

/// Picks the year of an F13 `MMDD` date: the one that puts it closest to `today`, so a 31 Dec
/// transaction processed on 1 Jan keeps last year. `None` when MMDD is not a date in any
/// candidate year.
pub fn infer_year(mmdd: &str, today: Date) -> Option<i32> {
    let (month, day) = parse_mmdd(mmdd)?;
    let y = today.year();
    [y, y - 1, y + 1]
        .into_iter()
        .filter_map(|year| Date::from_calendar_date(year, month, day).ok())
        .min_by_key(|date| (*date - today).whole_days().abs())
        .map(|date| date.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn key() -> TerminalKey {
        TerminalKey {
            merchant_id: "M00000000000001".into(),
            terminal_id: "T0000001".into(),
            local_date: "1121".into(),
            local_time: "143015".into(),
            stan: "000123".into(),
        }
    }

    #[test]
    fn payment_request_id_is_deterministic_and_keyed() {
        let ids = IdGenerator::new(b"test-secret");
        let k = key();
        let dated = DatedKey {
            key: &k,
            year: 2026,
        };
        let a = ids.payment_request_id(&dated, 1250);
        let b = ids.payment_request_id(&dated, 1250);
        assert_eq!(a, b);
        assert!(a.as_str().starts_with("261121143015T00000011250000123"));
        assert!(a.as_str().len() <= 64);
        assert_eq!(a.key_tag(), Some(ids.key_tag(&dated).as_str()));
        let other_secret = IdGenerator::new(b"other").payment_request_id(&dated, 1250);
        assert_ne!(a, other_secret);
        let next_stan = TerminalKey {
            stan: "000124".into(),
            ..k.clone()
        };
        let c = ids.payment_request_id(
            &DatedKey {
                key: &next_stan,
                year: 2026,
            },
            1250,
        );
        // Not consecutive: the tails differ unpredictably.
        assert_ne!(a.key_tag(), c.key_tag());
        let refund = ids.refund_request_id(&dated, 1250);
        assert!(refund.as_str().starts_with('R'));
    }

    #[test]
    fn longest_ids_fit_antom_limit() {
        let ids = IdGenerator::new(b"s");
        let k = TerminalKey {
            terminal_id: "ABCDEFGH".into(),
            ..key()
        };
        let id = ids.refund_request_id(
            &DatedKey {
                key: &k,
                year: 2026,
            },
            999_999_999_999,
        );
        assert!(id.as_str().len() <= 64, "{}", id.as_str().len());
    }

    #[test]
    fn year_inference_handles_new_year() {
        assert_eq!(infer_year("1231", date!(2027 - 01 - 01)), Some(2026));
        assert_eq!(infer_year("0101", date!(2026 - 12 - 31)), Some(2027));
        assert_eq!(infer_year("1121", date!(2026 - 11 - 22)), Some(2026));
        assert_eq!(infer_year("0229", date!(2027 - 03 - 01)), Some(2028));
        assert_eq!(infer_year("1340", date!(2026 - 11 - 22)), None);
        assert_eq!(infer_year("ab", date!(2026 - 11 - 22)), None);
    }

    #[test]
    fn rrn_round_trips() {
        let k = key();
        let dated = DatedKey {
            key: &k,
            year: 2026,
        };
        let r = rrn(&dated).unwrap();
        assert_eq!(r, "632514000123");
        assert_eq!(
            parse_rrn(&r, date!(2026 - 11 - 22)),
            Some(("1121".into(), 2026, "000123".into()))
        );
        assert_eq!(parse_rrn("abc", date!(2026 - 11 - 22)), None);
    }

    #[test]
    fn approval_codes_are_six_alphanumerics() {
        let ids = IdGenerator::new(b"s");
        let code = ids.approval_code(&PaymentRequestId::new("x"));
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
