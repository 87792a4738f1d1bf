//! Shifting one switch instance's wall clock: the real mechanism, libfaketime (Debian's
//! `faketime` package), preloaded into the switch process. It moves what `clock_gettime` reads
//! for `CLOCK_REALTIME` — Rust's `SystemTime::now()`, and so the switch's `Clock` — by a fixed
//! offset, and with `FAKETIME_DONT_FAKE_MONOTONIC=1` leaves the monotonic clock (tokio's timers,
//! every timeout) alone: exactly a host whose clock is off by that much. The switch knows
//! nothing of it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::ChaosError;

/// Where Debian and others install the preload library.
const CANDIDATES: [&str; 4] = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
];

/// How far a measured shift may be from the asked one (process start-up lies between the two
/// readings).
const MEASURE_SLACK_MS: i64 = 250;

/// A wall-clock shift for one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockShift {
    library: PathBuf,
    offset_ms: i64,
}

impl ClockShift {
    /// A shift of `offset_ms` (positive: the clock runs ahead) with libfaketime from
    /// `$ASW_LIBFAKETIME` or its usual places.
    pub fn locate(offset_ms: i64) -> Result<Self, ChaosError> {
        let library = std::env::var_os("ASW_LIBFAKETIME")
            .map(PathBuf::from)
            .into_iter()
            .chain(CANDIDATES.iter().map(PathBuf::from))
            .find(|p| p.is_file())
            .ok_or(ChaosError::NoFaketime)?;
        Ok(Self { library, offset_ms })
    }

    /// A shift with the library at `library` (tests).
    pub fn with_library(library: &Path, offset_ms: i64) -> Self {
        Self {
            library: library.to_path_buf(),
            offset_ms,
        }
    }

    /// The shift in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// libfaketime's relative offset: signed seconds with milliseconds (`+0.400s`).
    pub fn spec(&self) -> String {
        let sign = if self.offset_ms < 0 { '-' } else { '+' };
        let abs = self.offset_ms.unsigned_abs();
        format!("{sign}{}.{:03}s", abs / 1_000, abs % 1_000)
    }

    /// Makes `command` run with the shifted wall clock (the monotonic clock untouched).
    pub fn apply(&self, command: &mut Command) {
        command
            .env("LD_PRELOAD", &self.library)
            .env("FAKETIME", self.spec())
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }

    /// Proves the shift works on this host before the run relies on it: `date` under the same
    /// preload must read the shifted time. Returns the measured shift.
    pub fn verify(&self) -> Result<i64, ChaosError> {
        let mut command = Command::new("date");
        command
            .arg("+%s%3N")
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        self.apply(&mut command);
        let before = wall_ms();
        let output = command
            .output()
            .map_err(|e| ChaosError::ClockShift(format!("date: {e}")))?;
        let after = wall_ms();
        let shifted: i64 = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|_| ChaosError::ClockShift("date printed no time".into()))?;
        let measured = shifted - (before + after) / 2;
        if (measured - self.offset_ms).abs() > MEASURE_SLACK_MS + (after - before) {
            return Err(ChaosError::ClockShift(format!(
                "asked for {} ms, libfaketime ({}) gave {measured} ms",
                self.offset_ms,
                self.library.display()
            )));
        }
        Ok(measured)
    }
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_spec_is_signed_seconds_with_milliseconds() {
        let lib = Path::new("/x");
        assert_eq!(ClockShift::with_library(lib, 400).spec(), "+0.400s");
        assert_eq!(ClockShift::with_library(lib, -1_250).spec(), "-1.250s");
        assert_eq!(ClockShift::with_library(lib, 0).spec(), "+0.000s");
    }

    /// The real mechanism on this host (the suite installs `faketime`: scripts/ensure-deps.sh).
    #[test]
    fn libfaketime_really_shifts_the_wall_clock_of_a_child() {
        let shift = ClockShift::locate(3_000).unwrap();
        let measured = shift.verify().unwrap();
        assert!((measured - 3_000).abs() <= MEASURE_SLACK_MS, "{measured}");
    }
}
