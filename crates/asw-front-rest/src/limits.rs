//! Per-key concurrency: how many requests one API key may have in flight at once. Above it the
//! caller gets `429` with `Retry-After` instead of a queue that grows without bound (one
//! misbehaving integration must not take the switch from every other merchant).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Counts requests in flight per API key.
#[derive(Debug)]
pub struct InFlightLimit {
    max: usize,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

/// A request's place; dropping it frees the place.
#[derive(Debug)]
pub struct Permit {
    key: String,
    counts: Arc<Mutex<HashMap<String, usize>>>,
}

impl InFlightLimit {
    /// At most `max` requests in flight per key (0 is read as 1).
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            counts: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// A place for one more request of `key`, or `None` when it has `max` in flight.
    pub fn try_acquire(&self, key: &str) -> Option<Permit> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(key.to_string()).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Permit {
            key: key.to_string(),
            counts: Arc::clone(&self.counts),
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_max_places_and_a_dropped_permit_frees_one() {
        let limit = InFlightLimit::new(2);
        let a = limit.try_acquire("k1");
        let b = limit.try_acquire("k1");
        assert!(a.is_some() && b.is_some());
        assert!(limit.try_acquire("k1").is_none());
        assert!(limit.try_acquire("k2").is_some(), "keys are counted apart");
        drop(a);
        assert!(limit.try_acquire("k1").is_some());
    }
}
