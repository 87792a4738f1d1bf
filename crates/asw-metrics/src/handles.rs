//! Handles of hot-path series, resolved once per label combination.
//!
//! Recording by name (`counter!(NAME, "k" => v)`) asks the recorder for the series on every
//! call: the Prometheus exporter copies the key into an owned one (an allocation), hashes it and
//! looks it up in its registry. In the switch's profile that is ~1 µs a call under load, and a
//! purchase makes a dozen. A handle records with one atomic operation.
//!
//! A [`HandleCache`] keeps the handles of one metric, one per label combination (the label
//! values are the `&'static str`s of the metric's declared lists, so the set is small and
//! bounded). It is only used once the binary has installed its global recorder and called
//! [`pin_to_global_recorder`]: until then every call goes by name, so a test that records into
//! a local recorder (`metrics::with_local_recorder`) sees exactly what it did before.

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once the global recorder is installed for the life of the process.
static PINNED: AtomicBool = AtomicBool::new(false);

/// Most label combinations one cache keeps; beyond it (a bug: label values are bounded) calls
/// go by name again rather than grow without end.
const MAX_ENTRIES: usize = 256;

/// Lets every [`HandleCache`] keep the handles it resolves. Call it right after installing the
/// process's global recorder: handles resolved before then would belong to whatever recorder
/// was current (none, or a test's local one).
pub fn pin_to_global_recorder() {
    PINNED.store(true, Ordering::Release);
}

/// Whether [`pin_to_global_recorder`] was called.
fn pinned() -> bool {
    PINNED.load(Ordering::Acquire)
}

/// The handles of one metric, by label values. Declare one `static` per metric at its call
/// site: `static SENT: HandleCache<Counter> = HandleCache::new();`.
pub struct HandleCache<H> {
    entries: RwLock<Vec<Entry<H>>>,
}

/// One label combination (the values, in order) and its handle.
type Entry<H> = (Box<[&'static str]>, H);

impl<H> HandleCache<H> {
    /// An empty cache, usable as a `static`.
    pub const fn new() -> Self {
        Self {
            entries: RwLock::new(Vec::new()),
        }
    }
}

impl<H> Default for HandleCache<H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: Clone> HandleCache<H> {
    /// Runs `record` on the handle for `labels` (the values, in the order `resolve` names
    /// them), resolving it by name with `resolve` the first time, or every time while the
    /// cache is not pinned.
    pub fn with(
        &self,
        labels: &[&'static str],
        resolve: impl FnOnce() -> H,
        record: impl FnOnce(&H),
    ) {
        if !pinned() {
            return record(&resolve());
        }
        if let Ok(entries) = self.entries.read()
            && let Some((_, handle)) = entries.iter().find(|(key, _)| **key == *labels)
        {
            return record(handle);
        }
        let handle = resolve();
        if let Ok(mut entries) = self.entries.write()
            && entries.len() < MAX_ENTRIES
            && !entries.iter().any(|(key, _)| **key == *labels)
        {
            entries.push((labels.into(), handle.clone()));
        }
        record(&handle);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: failing loudly is the point

    use super::*;
    use metrics::{Counter, counter};

    static THINGS: HandleCache<Counter> = HandleCache::new();

    fn count(kind: &'static str) {
        THINGS.with(
            &[kind],
            || counter!("antom_switch_test_cached_total", "kind" => kind),
            |c| c.increment(1),
        );
    }

    #[test]
    fn records_by_name_until_pinned_then_through_one_handle_per_label_set() {
        // Unpinned: each call asks the current recorder, here a local one.
        let local = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let local_text = local.handle();
        metrics::with_local_recorder(&local, || {
            count("a");
            count("a");
        });
        assert!(
            local_text
                .render()
                .contains(r#"antom_switch_test_cached_total{kind="a"} 2"#)
        );
        assert!(THINGS.entries.read().unwrap().is_empty());

        // Pinned: handles resolved once each and reused, counts land in the same series.
        let global = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let text = global.handle();
        metrics::with_local_recorder(&global, || {
            pin_to_global_recorder();
            count("a");
            count("b");
        });
        count("a");
        count("a");
        assert_eq!(THINGS.entries.read().unwrap().len(), 2);
        let rendered = text.render();
        assert!(
            rendered.contains(r#"antom_switch_test_cached_total{kind="a"} 3"#),
            "{rendered}"
        );
        assert!(
            rendered.contains(r#"antom_switch_test_cached_total{kind="b"} 1"#),
            "{rendered}"
        );
    }
}
