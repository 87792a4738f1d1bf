//! The scripted answers of one kind of call: queues per id, consumed in order, and an optional
//! fallback the test opted into.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use asw_core::ports::UpstreamOutcome;

/// Answers for every call whose id has no queued answer left.
pub(crate) type Fallback<C, T> = Box<dyn Fn(&C) -> UpstreamOutcome<T> + Send + Sync>;

/// One scripted answer: the outcome and how long the call takes.
pub(crate) struct Answer<T> {
    pub(crate) outcome: UpstreamOutcome<T>,
    pub(crate) delay: Duration,
}

/// The script of one call kind (`C` the command, `T` the receipt).
pub(crate) struct Answers<C, T> {
    queued: HashMap<String, VecDeque<Answer<T>>>,
    fallback: Option<Fallback<C, T>>,
}

impl<C, T> Default for Answers<C, T> {
    fn default() -> Self {
        Self {
            queued: HashMap::new(),
            fallback: None,
        }
    }
}

impl<C, T> Answers<C, T> {
    pub(crate) fn push(&mut self, id: &str, answer: Answer<T>) {
        self.queued
            .entry(id.to_string())
            .or_default()
            .push_back(answer);
    }

    pub(crate) fn set_fallback(&mut self, fallback: Fallback<C, T>) {
        self.fallback = Some(fallback);
    }

    /// The next answer for `id`: its queue first, then the fallback; `None` when the call was
    /// not scripted at all.
    pub(crate) fn next(&mut self, id: &str, command: &C) -> Option<Answer<T>> {
        if let Some(answer) = self.queued.get_mut(id).and_then(VecDeque::pop_front) {
            return Some(answer);
        }
        self.fallback.as_ref().map(|fallback| Answer {
            outcome: fallback(command),
            delay: Duration::ZERO,
        })
    }

    /// Ids with scripted answers nobody asked for, and how many.
    pub(crate) fn unused(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = self
            .queued
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(id, q)| (id.clone(), q.len()))
            .collect();
        out.sort();
        out
    }
}
