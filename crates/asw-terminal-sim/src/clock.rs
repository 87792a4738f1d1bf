//! Terminal time: F7 is UTC (MMDDhhmmss), F12/F13 are the terminal's local time and date.

use time::{OffsetDateTime, UtcOffset};

/// The terminal's notion of local time: UTC plus a fixed offset read once at start-up
/// (reading the offset later is unsound in multi-threaded programs on Unix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    offset: UtcOffset,
}

/// The time fields of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// F11.
    pub stan: u32,
    /// F12, local `hhmmss`.
    pub local_time: String,
    /// F13, local `MMDD`.
    pub local_date: String,
    /// F7, UTC `MMDDhhmmss`.
    pub transmission: String,
}

impl Clock {
    /// A clock with the given offset from UTC.
    pub fn with_offset(offset: UtcOffset) -> Self {
        Clock { offset }
    }

    /// A clock in UTC.
    pub fn utc() -> Self {
        Clock {
            offset: UtcOffset::UTC,
        }
    }

    /// The machine's local offset, or UTC when it cannot be read. Call before starting
    /// threads.
    pub fn local() -> Self {
        Clock {
            offset: UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC),
        }
    }

    /// The stamp of a message sent now with `stan`.
    pub fn stamp(&self, stan: u32) -> Stamp {
        Self::stamp_at(OffsetDateTime::now_utc(), self.offset, stan)
    }

    fn stamp_at(utc: OffsetDateTime, offset: UtcOffset, stan: u32) -> Stamp {
        let local = utc.to_offset(offset);
        Stamp {
            stan,
            local_time: format!(
                "{:02}{:02}{:02}",
                local.hour(),
                local.minute(),
                local.second()
            ),
            local_date: format!("{:02}{:02}", u8::from(local.month()), local.day()),
            transmission: format!(
                "{:02}{:02}{:02}{:02}{:02}",
                u8::from(utc.month()),
                utc.day(),
                utc.hour(),
                utc.minute(),
                utc.second()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn local_fields_use_the_offset_and_f7_stays_utc() {
        let utc = datetime!(2026-12-31 20:30:15 UTC);
        let s = Clock::stamp_at(utc, offset!(+8), 7);
        assert_eq!(s.local_time, "043015");
        assert_eq!(s.local_date, "0101");
        assert_eq!(s.transmission, "1231203015");
        assert_eq!(s.stan, 7);
    }
}
