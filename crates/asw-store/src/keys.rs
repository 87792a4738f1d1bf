//! The key layout. Every key of a transaction carries the hash tag `{<shard>}` so that the
//! record, its duplicate key, its tombstone and the queue structures its atomic scripts touch all
//! live in one Redis Cluster slot.

use asw_core::ports::StoreError;

/// Builds keys for one deployment prefix and shard count.
#[derive(Clone, Debug)]
pub struct KeyLayout {
    prefix: String,
    shards: u32,
    /// `<prefix>:{<shard>}:` of every shard, built once.
    bases: Vec<String>,
}

/// Shards whose key base is built ahead (any real deployment has far fewer); the others' are
/// built per key.
const PREBUILT_BASES: u32 = 4096;

fn base(prefix: &str, shard: u32) -> String {
    format!("{prefix}:{{{shard}}}:")
}

impl KeyLayout {
    /// A layout for `prefix` spread over `shards` hash tags (at least one).
    pub fn new(prefix: &str, shards: u32) -> Self {
        let shards = shards.max(1);
        Self {
            prefix: prefix.to_string(),
            shards,
            bases: (0..shards.min(PREBUILT_BASES))
                .map(|shard| base(prefix, shard))
                .collect(),
        }
    }

    /// How many shards there are.
    pub fn shards(&self) -> u32 {
        self.shards
    }

    /// The shard of a transaction tag (8 hex characters).
    pub fn shard_of(&self, tag: &str) -> Result<u32, StoreError> {
        let value = u32::from_str_radix(tag, 16)
            .map_err(|_| StoreError::Corrupt(format!("journal tag {tag:?} is not hexadecimal")))?;
        Ok(value % self.shards)
    }

    /// `<prefix>:{<shard>}:` followed by `parts`, in one allocation: a purchase builds a dozen
    /// keys, and two `format!`s per key showed in the profile.
    fn key(&self, shard: u32, parts: &[&str]) -> String {
        let base = match self.bases.get(shard as usize) {
            Some(base) => std::borrow::Cow::Borrowed(base.as_str()),
            None => std::borrow::Cow::Owned(base(&self.prefix, shard)),
        };
        let mut key =
            String::with_capacity(base.len() + parts.iter().map(|p| p.len()).sum::<usize>());
        key.push_str(&base);
        for part in parts {
            key.push_str(part);
        }
        key
    }

    /// `txn:<journal_id>` prefix, used by scripts to reach a record named by a duplicate key.
    pub fn txn_prefix(&self, shard: u32) -> String {
        self.key(shard, &["txn:"])
    }
    /// Record hash: `v` (version), `s` (state), `d` (the record's JSON) and its audit trail,
    /// one `l<version>` field per transition.
    pub fn txn(&self, shard: u32, journal_id: &str) -> String {
        self.key(shard, &["txn:", journal_id])
    }
    /// The audit trail list of a record begun by an earlier release (this one keeps the trail
    /// in the record hash); still read by `txn show` and renewed with the record.
    pub fn txn_log(&self, shard: u32, journal_id: &str) -> String {
        self.key(shard, &["log:", journal_id])
    }
    /// Duplicate-detection key → journal id.
    pub fn dedup(&self, shard: u32, dedup_key: &str) -> String {
        self.key(shard, &["dedup:", dedup_key])
    }
    /// Tombstone of a reversal whose original was never seen.
    pub fn tomb(&self, shard: u32, dedup_key: &str) -> String {
        self.key(shard, &["tomb:", dedup_key])
    }
    /// Deadline index (zset, score = gateway deadline ms, member = `tag:journal_id`).
    pub fn deadlines(&self, shard: u32) -> String {
        self.key(shard, &["deadlines"])
    }
    /// SAF stream.
    pub fn saf(&self, shard: u32) -> String {
        self.key(shard, &["saf"])
    }
    /// Delayed retries (zset, score = due ms).
    pub fn saf_delayed(&self, shard: u32) -> String {
        self.key(shard, &["saf:delayed"])
    }
    /// Dead letters (stream).
    pub fn saf_dead(&self, shard: u32) -> String {
        self.key(shard, &["saf:dead"])
    }
    /// A merchant order's live attempt (`<merchant>|<order id>` → journal id).
    pub fn order(&self, shard: u32, order: &str) -> String {
        self.key(shard, &["order:", order])
    }
    /// A merchant's REST payments in this shard (sorted set: created ms → journal id).
    pub fn merchant_payments(&self, shard: u32, merchant_id: &str) -> String {
        self.key(shard, &["merchant:", merchant_id, ":payments"])
    }
    /// Every attempt of a merchant order, oldest first (list of journal ids), as releases before
    /// the attempts' chain (`p` in each record) kept them: read, no longer written.
    pub fn order_attempts(&self, shard: u32, order: &str) -> String {
        self.key(shard, &["order:", order, ":attempts"])
    }
    /// Merchants' events waiting for delivery (stream; written by the commit script).
    pub fn outbox(&self, shard: u32) -> String {
        self.key(shard, &["outbox"])
    }
    /// Events whose delivery waits for a retry (zset, score = due ms).
    pub fn outbox_delayed(&self, shard: u32) -> String {
        self.key(shard, &["outbox:delayed"])
    }
    /// Events whose delivery gave up (stream).
    pub fn outbox_dead(&self, shard: u32) -> String {
        self.key(shard, &["outbox:dead"])
    }
    /// The first response given under a front's idempotency key (its duplicate key).
    pub fn response(&self, shard: u32, dedup_key: &str) -> String {
        self.key(shard, &["resp:", dedup_key])
    }
    /// Audit stream (capped).
    pub fn audit(&self, shard: u32) -> String {
        self.key(shard, &["audit"])
    }
}

/// The deadline-index member of a transaction.
pub fn deadline_member(tag: &str, journal_id: &str) -> String {
    format!("{tag}:{journal_id}")
}

/// Splits a deadline-index member back into `(tag, journal_id)`.
pub fn split_deadline_member(member: &str) -> Option<(String, String)> {
    let (tag, id) = member.split_once(':')?;
    Some((tag.to_string(), id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_shard_hash_tag() {
        let layout = KeyLayout::new("asw", 4);
        let shard = layout.shard_of("0000000b").unwrap();
        assert_eq!(shard, 3);
        assert_eq!(layout.txn(shard, "P1"), "asw:{3}:txn:P1");
        assert_eq!(
            layout.dedup(shard, "M|T|20251121|000001"),
            "asw:{3}:dedup:M|T|20251121|000001"
        );
        assert_eq!(layout.saf(shard), "asw:{3}:saf");
        assert_eq!(layout.saf_delayed(shard), "asw:{3}:saf:delayed");
        assert!(layout.shard_of("xyz").is_err());
        assert_eq!(
            split_deadline_member(&deadline_member("a1b2c3d4", "ID:x")),
            Some(("a1b2c3d4".to_string(), "ID:x".to_string()))
        );
    }
}
