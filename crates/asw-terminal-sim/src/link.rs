//! How a terminal talks to the switch: encoding profile, length prefix, TPDU.

use std::str::FromStr;
use std::sync::Arc;

use asw_iso8583::{Dialect, DialectError, FrameCodec, LengthPrefix, Tpdu};

/// Encoding profile names accepted on the command line: `A`/`ascii`, `B`/`pos-binary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProfileName {
    /// Profile A, ASCII.
    Ascii,
    /// Profile B, POS binary with TPDU (the default).
    #[default]
    PosBinary,
}

impl FromStr for ProfileName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "A" | "a" | "ascii" => Ok(ProfileName::Ascii),
            "B" | "b" | "pos-binary" => Ok(ProfileName::PosBinary),
            other => Err(format!(
                "unknown profile {other:?}: use A/ascii or B/pos-binary"
            )),
        }
    }
}

impl ProfileName {
    /// The built-in dialect of the profile.
    pub fn dialect(self) -> Result<Dialect, DialectError> {
        match self {
            ProfileName::Ascii => Dialect::ascii(),
            ProfileName::PosBinary => Dialect::pos_binary(),
        }
    }
}

/// Everything needed to put messages on the wire the way the switch's listener expects.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Message encoding.
    pub dialect: Arc<Dialect>,
    /// Frame length header.
    pub prefix: LengthPrefix,
    /// TPDU sent with every request (`None`: the link has no TPDU).
    pub tpdu: Option<Tpdu>,
    /// Largest frame accepted from the switch.
    pub max_frame_bytes: usize,
}

impl LinkConfig {
    /// The usual link for a profile: B with TPDU `60 0001 0000` (NII 001), A without.
    pub fn for_profile(profile: ProfileName) -> Result<LinkConfig, DialectError> {
        let tpdu = match profile {
            ProfileName::PosBinary => Some(Tpdu::new([0x00, 0x01], [0x00, 0x00])),
            ProfileName::Ascii => None,
        };
        Ok(LinkConfig {
            dialect: Arc::new(profile.dialect()?),
            prefix: LengthPrefix::BinaryExclusive,
            tpdu,
            max_frame_bytes: asw_iso8583::frame::DEFAULT_MAX_FRAME,
        })
    }

    /// The frame codec of the link.
    pub fn codec(&self) -> FrameCodec {
        FrameCodec::new(self.prefix, self.tpdu.is_some(), self.max_frame_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names() {
        assert_eq!("A".parse::<ProfileName>(), Ok(ProfileName::Ascii));
        assert_eq!(
            "pos-binary".parse::<ProfileName>(),
            Ok(ProfileName::PosBinary)
        );
        assert!("C".parse::<ProfileName>().is_err());
    }
}
