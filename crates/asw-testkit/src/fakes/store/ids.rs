//! Stream ids as Redis makes them: `<ms>-<seq>`, strictly increasing even when the clock stands
//! still or goes back (a second entry in the same millisecond gets the next sequence number).

use std::fmt;

/// A stream entry id, ordered like Redis orders them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct StreamId {
    ms: i64,
    seq: u64,
}

impl StreamId {
    /// Parses `<ms>-<seq>`; `None` for anything else (such an id names no entry).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (ms, seq) = text.split_once('-')?;
        Some(Self {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }

    /// The id after `self` for an entry added at `now_ms`.
    pub(crate) fn next(self, now_ms: i64) -> Self {
        if now_ms > self.ms {
            Self { ms: now_ms, seq: 0 }
        } else {
            Self {
                ms: self.ms,
                seq: self.seq + 1,
            }
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ids_increase_when_time_stands_still_or_goes_back() {
        let a = StreamId::default().next(100);
        let b = a.next(100);
        let c = b.next(50);
        assert!(a < b && b < c);
        assert_eq!(c.to_string(), "100-2");
        assert_eq!(StreamId::parse("100-2"), Some(c));
        assert_eq!(StreamId::parse("x"), None);
    }
}
