//! Store adapter: the Redis journal, atomic transitions, idempotency keys, deadline index and SAF streams.
