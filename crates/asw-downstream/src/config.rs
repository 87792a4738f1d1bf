//! Server configuration: every limit is one value with one default.

use std::net::SocketAddr;
use std::time::Duration;

use asw_iso8583::{Dialect, DialectError, FrameCodec, LengthPrefix};
use serde::{Deserialize, Serialize};

/// Wire encoding profile of the listener (see the dialect document, "encoding profiles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Profile B: BCD MTI, binary bitmaps, BCD numerics (the default).
    #[default]
    PosBinary,
    /// Profile A: ASCII MTI, hex bitmaps, ASCII numerics.
    Ascii,
}

impl Profile {
    /// Loads the built-in dialect of this profile.
    pub fn dialect(self) -> Result<Dialect, DialectError> {
        match self {
            Profile::PosBinary => Dialect::pos_binary(),
            Profile::Ascii => Dialect::ascii(),
        }
    }
}

/// How the frame length is written (mirrors [`LengthPrefix`], with serde names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FramePrefix {
    /// 2-byte big-endian length excluding itself (the default).
    #[default]
    BinaryExclusive,
    /// 2-byte big-endian length including itself.
    BinaryInclusive,
    /// 4 ASCII digits excluding itself.
    Ascii4,
    /// 2 bytes of packed BCD excluding itself.
    Bcd2,
}

impl From<FramePrefix> for LengthPrefix {
    fn from(prefix: FramePrefix) -> Self {
        match prefix {
            FramePrefix::BinaryExclusive => LengthPrefix::BinaryExclusive,
            FramePrefix::BinaryInclusive => LengthPrefix::BinaryInclusive,
            FramePrefix::Ascii4 => LengthPrefix::Ascii4,
            FramePrefix::Bcd2 => LengthPrefix::Bcd2,
        }
    }
}

/// Configuration of the terminal-facing listener. Unknown keys are rejected so a typo
/// does not silently fall back to a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Encoding profile of the messages.
    pub profile: Profile,
    /// Length header variant.
    pub frame_prefix: FramePrefix,
    /// Whether every frame carries a 5-byte TPDU (profile B terminals do).
    pub tpdu: bool,
    /// Largest frame body (TPDU + message) accepted; checked before buffering the body.
    pub max_frame_bytes: usize,
    /// Open connections across all peers; more are closed at once.
    pub max_connections: usize,
    /// Open connections from one source IP address.
    pub max_connections_per_ip: usize,
    /// Requests handed to the handler and not yet answered, per connection; when full
    /// the connection is not read until one completes (back-pressure).
    pub max_outstanding_per_connection: usize,
    /// A connection with no traffic and nothing outstanding is closed after this.
    pub idle_timeout_ms: u64,
    /// A connection that has not completed a valid exchange within this long after it was
    /// accepted is closed (see the crate documentation for what counts). Keeps silent or
    /// garbage-speaking connections from holding seats for the whole idle timeout.
    pub first_message_timeout_ms: u64,
    /// A frame that has started must be complete within this (slow senders).
    pub read_timeout_ms: u64,
    /// Writing and flushing one response must finish within this.
    pub write_timeout_ms: u64,
    /// On shutdown, how long to wait for in-flight handlers before giving up.
    pub shutdown_grace_ms: u64,
    /// TLS on the listener; `None` serves plain TCP (a private network, or TLS ended in
    /// front of the switch).
    pub tls: Option<crate::tls::TlsConfig>,
    /// Hosts that speak for several terminals on one connection; every other connection
    /// speaks for the first terminal admitted on it (see [`crate::IdentityPolicy`]).
    pub concentrators: Vec<crate::identity_config::ConcentratorConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8583)),
            profile: Profile::PosBinary,
            frame_prefix: FramePrefix::BinaryExclusive,
            tpdu: true,
            max_frame_bytes: asw_iso8583::frame::DEFAULT_MAX_FRAME,
            max_connections: 2048,
            max_connections_per_ip: 256,
            max_outstanding_per_connection: 64,
            idle_timeout_ms: 300_000,
            // A terminal signs on or transacts right after connecting; 10 s is ample even
            // for a dial-up or GPRS link, and short against the 300 s idle timeout.
            first_message_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            write_timeout_ms: 5_000,
            // Longer than the terminal timeout, so a purchase in flight can finish.
            shutdown_grace_ms: 65_000,
            tls: None,
            concentrators: Vec::new(),
        }
    }
}

/// A configuration value that cannot work; every problem is listed with its key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid downstream configuration: {}", .problems.join("; "))]
pub struct ConfigError {
    /// One entry per bad key, `key: why`.
    pub problems: Vec<String>,
}

impl ServerConfig {
    /// Checks the whole configuration and reports every problem at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        let mut positive = |key: &str, value: u64| {
            if value == 0 {
                problems.push(format!("{key}: must be at least 1"));
            }
        };
        positive("max_frame_bytes", self.max_frame_bytes as u64);
        positive("max_connections", self.max_connections as u64);
        positive("max_connections_per_ip", self.max_connections_per_ip as u64);
        positive(
            "max_outstanding_per_connection",
            self.max_outstanding_per_connection as u64,
        );
        positive("idle_timeout_ms", self.idle_timeout_ms);
        positive("first_message_timeout_ms", self.first_message_timeout_ms);
        positive("read_timeout_ms", self.read_timeout_ms);
        positive("write_timeout_ms", self.write_timeout_ms);
        if let Some(tls) = &self.tls {
            positive("tls.handshake_timeout_ms", tls.handshake_timeout_ms);
        }
        // The identity settings are checked by compiling them (merchant networks are the
        // caller's and are checked when the policy is built with them).
        if let Err(e) = crate::identity::IdentityPolicy::new(self, &Default::default()) {
            problems.extend(e.problems);
        }
        let capacity = LengthPrefix::from(self.frame_prefix).capacity();
        if self.max_frame_bytes > capacity {
            problems.push(format!(
                "max_frame_bytes: {} is above what the {:?} header can express ({capacity})",
                self.max_frame_bytes, self.frame_prefix
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError { problems })
        }
    }

    /// The frame codec for this listener.
    pub fn frame_codec(&self) -> FrameCodec {
        FrameCodec::new(self.frame_prefix.into(), self.tpdu, self.max_frame_bytes)
    }

    pub(crate) fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub(crate) fn first_message_timeout(&self) -> Duration {
        Duration::from_millis(self.first_message_timeout_ms)
    }

    pub(crate) fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.read_timeout_ms)
    }

    pub(crate) fn write_timeout(&self) -> Duration {
        Duration::from_millis(self.write_timeout_ms)
    }

    pub(crate) fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_dialect_document() {
        let config = ServerConfig::default();
        config.validate().unwrap();
        assert_eq!(config.max_frame_bytes, 4096);
        assert!(config.tpdu);
        assert_eq!(config.frame_codec().max_frame(), 4096);
    }

    #[test]
    fn every_problem_is_reported() {
        let config = ServerConfig {
            max_connections: 0,
            read_timeout_ms: 0,
            frame_prefix: FramePrefix::Ascii4,
            max_frame_bytes: 20_000,
            ..ServerConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err}");
    }

    #[test]
    fn a_zero_first_message_timeout_is_refused_by_name() {
        let config = ServerConfig {
            first_message_timeout_ms: 0,
            ..ServerConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert_eq!(
            err.problems,
            ["first_message_timeout_ms: must be at least 1"],
            "{err}"
        );
        assert_eq!(ServerConfig::default().first_message_timeout_ms, 10_000);
    }

    #[test]
    fn deserializes_partial_config_and_rejects_typos() {
        let config: ServerConfig = serde_json::from_str(
            r#"{"profile": "ascii", "tpdu": false, "frame_prefix": "ascii4"}"#,
        )
        .unwrap();
        assert_eq!(config.profile, Profile::Ascii);
        assert_eq!(config.frame_prefix, FramePrefix::Ascii4);
        assert_eq!(config.max_connections, 2048);
        assert!(serde_json::from_str::<ServerConfig>(r#"{"max_conections": 1}"#).is_err());
    }
}
