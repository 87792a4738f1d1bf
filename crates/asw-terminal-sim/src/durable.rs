//! Durable transaction records: an append-only JSON-lines file, each line written with one
//! `write` and made durable (`fdatasync`) before the message it announces is sent, so a load
//! process killed with SIGKILL leaves a record of everything it may have put on the wire.
//!
//! The file holds [`Entry`] lines: a `run` header when a process starts, a `record` snapshot of
//! a transaction before each message it sends (with `in_flight` naming that message) and once
//! it is finished, and an `end` line when a run completed its schedule. The last snapshot of a
//! sequence number is what the terminal knows of it. A process restarted on the same file
//! ([`Journal::read`]) continues the numbering and the STANs, and settles what its predecessor
//! left in flight (see `load::run`).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::load::TxRecord;

/// STANs a restarted process skips past the last one its predecessor wrote: a STAN is taken a
/// moment before its snapshot is written, so a few taken concurrently may be missing from the
/// file; the switch must never see one twice (it is half of the duplicate key).
pub const STAN_MARGIN: u32 = 10_000;

/// The message a snapshot was written for, before sending it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlight {
    /// `purchase`, `void`, `refund`, `partial_refund`, `reversal_advice`, `resend`,
    /// `foreign_refund`, `foreign_void`.
    pub kind: String,
    /// The terminal sending it (another one for `foreign_*`).
    pub terminal_id: String,
    /// Its F11.
    pub stan: String,
}

/// One line of the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// A process starts: it schedules `scheduled` transactions numbered from `first_seq`.
    Run {
        /// Runs on this file so far, this one included.
        run: u32,
        /// Its first sequence number.
        first_seq: u64,
        /// How many it schedules.
        scheduled: u64,
    },
    /// A snapshot of one transaction (the last one of a sequence number wins).
    Record(Box<TxRecord>),
    /// The run finished every transaction it scheduled.
    End {
        /// Which run.
        run: u32,
    },
}

/// Why the file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DurableError {
    /// Opening, writing or syncing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A line other than the last one is not an entry (the last one may be torn by a kill).
    #[error("{path} line {line}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// The open file, appended to by every transaction of a run.
#[derive(Debug)]
pub struct RecordLog {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl RecordLog {
    /// Opens (or creates) `path` for appending.
    pub fn open(path: &Path) -> Result<RecordLog, DurableError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| DurableError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ok(RecordLog {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    /// Appends `entry` as one line and waits until it is on disk.
    pub fn append(&self, entry: &Entry) -> Result<(), DurableError> {
        let io = |source| DurableError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(entry).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        // A poisoned lock only means another writer panicked; the file itself is still whole
        // up to its last complete line.
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        file.write_all(&line).map_err(io)?;
        file.sync_data().map_err(io)
    }
}

/// One process run, as the file tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunView {
    /// Its number.
    pub run: u32,
    /// Its first sequence number.
    pub first_seq: u64,
    /// How many it scheduled.
    pub scheduled: u64,
    /// Whether it wrote its `end` (false: killed, or still running).
    pub ended: bool,
}

/// What a file holds: the runs and the last snapshot of every transaction.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    /// The runs, in order.
    pub runs: Vec<RunView>,
    /// The last snapshot of each sequence number.
    pub records: BTreeMap<u64, TxRecord>,
    /// The last STAN written per terminal, in file order.
    pub last_stans: BTreeMap<String, u32>,
    /// Whether the last line was torn (a kill during a write) and skipped.
    pub torn_tail: bool,
}

impl Journal {
    /// Reads `path`; a missing file is an empty journal.
    pub fn read(path: &Path) -> Result<Journal, DurableError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Journal::parse(&text).map_err(|(line, reason)| DurableError::Corrupt {
                path: path.to_path_buf(),
                line,
                reason,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Journal::default()),
            Err(source) => Err(DurableError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Parses the file's text; an unreadable line other than the last is an error (line
    /// number and reason).
    pub fn parse(text: &str) -> Result<Journal, (usize, String)> {
        let mut journal = Journal::default();
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = match serde_json::from_str(line) {
                Ok(entry) => entry,
                // Only the last line can be torn: every line is synced before the next one.
                Err(_) if index + 1 == lines.len() => {
                    journal.torn_tail = true;
                    continue;
                }
                Err(e) => return Err((index + 1, e.to_string())),
            };
            match entry {
                Entry::Run {
                    run,
                    first_seq,
                    scheduled,
                } => journal.runs.push(RunView {
                    run,
                    first_seq,
                    scheduled,
                    ended: false,
                }),
                Entry::End { run } => {
                    if let Some(view) = journal.runs.iter_mut().find(|r| r.run == run) {
                        view.ended = true;
                    }
                }
                Entry::Record(record) => {
                    journal.note_stans(&record);
                    journal.records.insert(record.seq, *record);
                }
            }
        }
        Ok(journal)
    }

    fn note_stans(&mut self, record: &TxRecord) {
        let mut note = |tid: &str, stan: &str| {
            if let Ok(stan) = stan.parse::<u32>() {
                self.last_stans.insert(tid.to_owned(), stan);
            }
        };
        note(&record.terminal_id, &record.stan);
        for f in record.follow_up.iter().chain(&record.other_follow_ups) {
            if !f.kind.starts_with("foreign") {
                note(&record.terminal_id, &f.stan);
            }
        }
        if let Some(flight) = &record.in_flight {
            note(&flight.terminal_id, &flight.stan);
        }
    }

    /// The first sequence number a new run may use.
    pub fn next_seq(&self) -> u64 {
        let by_runs = self
            .runs
            .iter()
            .map(|r| r.first_seq + r.scheduled)
            .max()
            .unwrap_or(0);
        let by_records = self.records.keys().next_back().map_or(0, |s| s + 1);
        by_runs.max(by_records)
    }

    /// The number of the next run.
    pub fn next_run(&self) -> u32 {
        self.runs.iter().map(|r| r.run).max().unwrap_or(0) + 1
    }

    /// Transactions whose last snapshot was written before a send that never finished: the
    /// process was killed with them in flight.
    pub fn in_flight(&self) -> impl Iterator<Item = &TxRecord> {
        self.records.values().filter(|r| r.in_flight.is_some())
    }

    /// Every record, in sequence order.
    pub fn transactions(&self) -> Vec<TxRecord> {
        self.records.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::load::{FollowUp, Scenario};

    fn record(seq: u64, stan: &str, flight: Option<(&str, &str)>) -> TxRecord {
        TxRecord {
            seq,
            scenario: Scenario::Void,
            merchant_id: "M1".into(),
            terminal_id: "CA000000".into(),
            local_date: "1206".into(),
            local_time: "101500".into(),
            transmission: "1206101500".into(),
            stan: stan.into(),
            amount: 1250,
            currency: 702,
            payment_code: "28**1234".into(),
            scheduled_at_ms: 1.0,
            sent_at_ms: None,
            sent_late: false,
            sent: false,
            response_code: None,
            rrn: None,
            payment_request_id: None,
            payment_id: None,
            latency_us: None,
            disconnected_before_answer: false,
            timed_out: false,
            error: None,
            follow_up: None,
            other_follow_ups: Vec::new(),
            terminal_believes_paid: false,
            in_flight: flight.map(|(kind, stan)| InFlight {
                kind: kind.into(),
                terminal_id: "CA000000".into(),
                stan: stan.into(),
            }),
            killed_while: None,
        }
    }

    fn line(entry: &Entry) -> String {
        serde_json::to_string(entry).unwrap() + "\n"
    }

    #[test]
    fn the_last_snapshot_wins_and_a_torn_tail_is_skipped() {
        let mut answered = record(0, "000100", None);
        answered.sent = true;
        answered.response_code = Some("00".into());
        answered.follow_up = Some(FollowUp {
            kind: "void",
            mti: "0200".into(),
            stan: "000102".into(),
            attempts: 1,
            response_code: Some("00".into()),
            answers: Vec::new(),
            rrn: None,
            latency_us: None,
            error: None,
        });
        let text = [
            line(&Entry::Run {
                run: 1,
                first_seq: 0,
                scheduled: 3,
            }),
            line(&Entry::Record(Box::new(record(
                0,
                "000100",
                Some(("purchase", "000100")),
            )))),
            line(&Entry::Record(Box::new(record(
                1,
                "000101",
                Some(("purchase", "000101")),
            )))),
            line(&Entry::Record(Box::new(answered))),
            "{\"record\": {\"seq\": 2, \"scen".into(),
        ]
        .concat();
        let journal = Journal::parse(&text).unwrap();
        assert!(journal.torn_tail);
        assert_eq!(journal.records.len(), 2);
        assert_eq!(journal.records[&0].follow_up.as_ref().unwrap().kind, "void");
        let in_flight: Vec<u64> = journal.in_flight().map(|r| r.seq).collect();
        assert_eq!(in_flight, [1]);
        assert_eq!(
            journal.runs,
            [RunView {
                run: 1,
                first_seq: 0,
                scheduled: 3,
                ended: false
            }]
        );
        // The next run numbers after everything scheduled, and continues the STANs after the
        // last one written (the void's).
        assert_eq!(journal.next_seq(), 3);
        assert_eq!(journal.next_run(), 2);
        assert_eq!(journal.last_stans["CA000000"], 102);
        // A broken line that is not the last one is corruption, not a kill.
        let broken = format!("{{\n{text}");
        assert_eq!(Journal::parse(&broken).unwrap_err().0, 1);
    }

    #[test]
    fn entries_are_durable_lines_read_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.jsonl");
        assert_eq!(Journal::read(&path).unwrap().records.len(), 0);
        let log = RecordLog::open(&path).unwrap();
        log.append(&Entry::Run {
            run: 1,
            first_seq: 0,
            scheduled: 1,
        })
        .unwrap();
        log.append(&Entry::Record(Box::new(record(0, "000007", None))))
            .unwrap();
        log.append(&Entry::End { run: 1 }).unwrap();
        drop(log);
        let journal = Journal::read(&path).unwrap();
        assert!(journal.runs[0].ended);
        assert!(!journal.torn_tail);
        assert_eq!(journal.transactions()[0].stan, "000007");
    }
}
