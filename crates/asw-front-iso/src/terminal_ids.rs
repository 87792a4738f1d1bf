//! The ids of a terminal request, all derived from its key (F42, F41, F13, F12, F11): the
//! duplicate-detection key, the `paymentRequestId` / `refundRequestId`, the RRN (F37) and back.
//!
//! Every id is a pure function of the terminal's key, so a reversal that arrives on another
//! connection, on another switch instance, or after a crash that lost the journal can still name
//! the payment it must cancel. The random-looking part is the core's keyed hash of the key
//! ([`IdGenerator::key_tag`]), so outsiders cannot predict ids and the id stays stable.

use asw_core::domain::{PaymentRequestId, RefundRequestId};
use asw_core::ids::IdGenerator;
use serde::{Deserialize, Serialize};
use time::{Date, Month, PrimitiveDateTime, Time};

/// The natural key of a terminal transaction: (MID, TID, local date, STAN), plus the local time.
///
/// STANs repeat daily and across terminals, so the key always carries the merchant, the terminal
/// and the date. The year is not on the wire (F13 is MMDD); [`infer_year`] settles it.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct TerminalKey {
    /// F42, trailing spaces removed.
    pub merchant_id: String,
    /// F41, trailing spaces removed.
    pub terminal_id: String,
    /// F13 `MMDD`, terminal local date.
    pub local_date: String,
    /// F12 `hhmmss`, terminal local time.
    pub local_time: String,
    /// F11 STAN, six digits.
    pub stan: String,
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
    /// The journal shard tag of this key.
    pub fn tag(&self, ids: &IdGenerator) -> String {
        ids.key_tag(&self.dedup_string())
    }

    /// `paymentRequestId` of the purchase identified by this key for `amount_minor` units.
    ///
    /// Layout: `YYMMDDhhmmss` + TID (alphanumerics only) + amount + STAN + key tag; at most 54
    /// characters (Antom allows 64).
    pub fn payment_request_id(&self, ids: &IdGenerator, amount_minor: u64) -> PaymentRequestId {
        PaymentRequestId::new(self.compose(ids, "", amount_minor))
    }

    /// `refundRequestId` of the refund identified by its own key (not the original's), so a
    /// re-sent refund reuses the id and Antom's idempotency protects the customer.
    pub fn refund_request_id(&self, ids: &IdGenerator, amount_minor: u64) -> RefundRequestId {
        RefundRequestId::new(self.compose(ids, "R", amount_minor))
    }

    fn compose(&self, ids: &IdGenerator, prefix: &str, amount_minor: u64) -> String {
        let tid: String = self
            .key
            .terminal_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        format!(
            "{prefix}{:02}{}{}{tid}{amount_minor}{}{}",
            self.year.rem_euclid(100),
            self.key.local_date,
            self.key.local_time,
            self.key.stan,
            self.tag(ids)
        )
    }

    /// The terminal's local request time (F13/F12 in the inferred year), without an offset.
    pub fn local_time(&self) -> Option<PrimitiveDateTime> {
        let date = key_date(self.key, self.year)?;
        let t = &self.key.local_time;
        let hour: u8 = t.get(..2)?.parse().ok()?;
        let minute: u8 = t.get(2..4)?.parse().ok()?;
        let second: u8 = t.get(4..6)?.parse().ok()?;
        Some(PrimitiveDateTime::new(
            date,
            Time::from_hms(hour, minute, second).ok()?,
        ))
    }

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

    fn with(ids: &IdGenerator, k: &TerminalKey, amount: u64) -> PaymentRequestId {
        DatedKey { key: k, year: 2026 }.payment_request_id(ids, amount)
    }

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
        let a = dated.payment_request_id(&ids, 1250);
        let b = with(&ids, &k, 1250);
        assert_eq!(a, b);
        assert!(a.as_str().starts_with("261121143015T00000011250000123"));
        assert!(a.as_str().len() <= 64);
        assert_eq!(a.key_tag(), Some(dated.tag(&ids).as_str()));
        let other_secret = dated.payment_request_id(&IdGenerator::new(b"other"), 1250);
        assert_ne!(a, other_secret);
        let next_stan = TerminalKey {
            stan: "000124".into(),
            ..k.clone()
        };
        let c = with(&ids, &next_stan, 1250);
        // Not consecutive: the tails differ unpredictably.
        assert_ne!(a.key_tag(), c.key_tag());
        let refund = dated.refund_request_id(&ids, 1250);
        assert!(refund.as_str().starts_with('R'));
    }

    #[test]
    fn longest_ids_fit_antom_limit() {
        let ids = IdGenerator::new(b"s");
        let k = TerminalKey {
            terminal_id: "ABCDEFGH".into(),
            ..key()
        };
        let id = DatedKey {
            key: &k,
            year: 2026,
        }
        .refund_request_id(&ids, 999_999_999_999);
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
}
