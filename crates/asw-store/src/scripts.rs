//! The Lua scripts. Each one is a single atomic step on keys of one shard (one hash tag).
//!
//! They never fail half-way on input we control: every argument is validated and formatted in
//! Rust before the call, because Redis does not roll back a script that errors after a write.
//! Scripts reach a record named by a duplicate key through `ARGV` (`txn` prefix of the same
//! shard), which stays inside the transaction's hash slot.

use std::sync::LazyLock;

use redis::Script;

/// Creates a transaction unless its duplicate key or a tombstone exists.
///
/// KEYS: txn, dedup, tomb, deadlines, audit, order (the merchant order's live attempt), the
/// merchant's payments index of the shard.
/// ARGV: journal id, version, record json, ttl ms (the retention plus its renewal slack, see
/// [`COMMIT`]), deadline score, deadline member, audit maxlen, log json, txn key prefix, state
/// name, '1' when the record locks its order; with the order lock also: created ms (the index
/// score), the oldest score kept (entries older than the retention are pruned), retention ms.
///
/// The record hash holds `v` (version), `s` (state), `d` (the record's JSON) and the
/// transaction's audit trail, one field `l<version>` per transition: one key, one TTL and one
/// command for the record and its trail (releases before it kept the trail in a `log:` list).
/// An attempt that replaces an earlier attempt of its order names it in `p`: the order's
/// attempts are a chain from the live one (releases before it listed them in an
/// `order:…:attempts` list, still read).
///
/// An order is taken while its live attempt is PENDING, UNKNOWN, APPROVED, AUTHORIZED or FAILED
/// (a cancel given up on): then `order_taken` and that attempt's record.
pub static BEGIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local owner = redis.call('GET', KEYS[2])
if owner then
  local d = redis.call('HGET', ARGV[9] .. owner, 'd')
  if d then return {'existing', d} end
end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'tombstoned'} end
local mine = redis.call('HGET', KEYS[1], 'd')
if mine then return {'existing', mine} end
local live = false
if ARGV[11] == '1' then
  live = redis.call('GET', KEYS[6])
  if live then
    local s = redis.call('HGET', ARGV[9] .. live, 's')
    if s == 'PENDING' or s == 'UNKNOWN' or s == 'APPROVED' or s == 'AUTHORIZED' or s == 'FAILED' then
      return {'order_taken', redis.call('HGET', ARGV[9] .. live, 'd')}
    end
  end
  local retention = tonumber(ARGV[14])
  redis.call('SET', KEYS[6], ARGV[1], 'PX', ARGV[4])
  redis.call('ZADD', KEYS[7], ARGV[12], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', '(' .. ARGV[13])
  if redis.call('PTTL', KEYS[7]) < retention then redis.call('PEXPIRE', KEYS[7], ARGV[4]) end
end
if live then
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[10], 'd', ARGV[3], 'l' .. ARGV[2], ARGV[8], 'p', live)
else
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[10], 'd', ARGV[3], 'l' .. ARGV[2], ARGV[8])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[6])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[7], '*', 'j', ARGV[1], 'x', ARGV[8])
return {'started'}
"#,
    )
});

/// Compare-and-set of a record with its side effects.
///
/// KEYS: txn, dedup, deadlines, saf, audit, legacy log (the `log:` list of a record begun by an
/// earlier release, renewed with the record while it exists), outbox.
/// ARGV: expected version, new version, record json, retention ms, deadline index (0 keep, 1
/// remove, 2 add back), deadline member, SAF entry json ('' for none), journal id, log json
/// without its opening brace (the previous state is prepended here, read from the record), audit
/// maxlen, new state name, gateway deadline ms (the score when added back), merchant event json
/// ('' for none; appended to the outbox stream), renewed ttl ms (retention plus slack).
/// Optionally KEYS[8], the key an earlier release kept a front's answer in, with ARGV a front's
/// answer text: the text goes into the record hash (`a`, see [`SAVE_ANSWER`]) unless an answer is
/// kept already (there or in the old key); an empty text drops the kept answer, wherever it is.
///
/// The log line goes into the record hash as `l<new version>` (see [`BEGIN`]). The record and
/// its duplicate key are kept at least the retention after the last change: a key with less
/// than that left is renewed to the retention plus a slack, so the commits that follow a begin
/// within the slack (nearly all) write no `PEXPIRE`.
pub static COMMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local cur = redis.call('HMGET', KEYS[1], 'v', 's')
local v = cur[1]
if not v then return {'conflict'} end
if v ~= ARGV[1] then return {'conflict', redis.call('HGET', KEYS[1], 'd')} end
local log = '{"from":"' .. (cur[2] or '') .. '",' .. ARGV[9]
local retention = tonumber(ARGV[4])
local function keep(key)
  if redis.call('PTTL', key) < retention then redis.call('PEXPIRE', key, ARGV[14]) end
end
if KEYS[8] and ARGV[15] ~= '' and redis.call('HEXISTS', KEYS[1], 'a') == 0
    and redis.call('EXISTS', KEYS[8]) == 0 then
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[11], 'd', ARGV[3], 'l' .. ARGV[2], log, 'a', ARGV[15])
else
  redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[11], 'd', ARGV[3], 'l' .. ARGV[2], log)
end
keep(KEYS[1])
keep(KEYS[2])
local legacy = redis.call('PTTL', KEYS[6])
if legacy ~= -2 and legacy < retention then redis.call('PEXPIRE', KEYS[6], ARGV[14]) end
if ARGV[5] == '1' then
  redis.call('ZREM', KEYS[3], ARGV[6])
elseif ARGV[5] == '2' then
  redis.call('ZADD', KEYS[3], ARGV[12], ARGV[6])
end
local id = ''
if ARGV[7] ~= '' then id = redis.call('XADD', KEYS[4], '*', 'e', ARGV[7], 'a', '0') end
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[10], '*', 'j', ARGV[8], 'x', log)
if ARGV[13] ~= '' then redis.call('XADD', KEYS[7], '*', 'e', ARGV[13], 'a', '0') end
if KEYS[8] and ARGV[15] == '' then
  redis.call('HDEL', KEYS[1], 'a')
  redis.call('DEL', KEYS[8])
end
return {'committed', id}
"#,
    )
});

/// The answer kept for a front's request: the record hash's `a`, else the key of its own an
/// earlier release kept it in. An `a` is void while its record is an approval nobody was told
/// (`UNDELIVERED`): it said a success that every hand-over then failed to deliver. This
/// release's un-handing commit drops it; an earlier release's, during a rolling upgrade, drops
/// only its own key (which is therefore never stale). The record is read only when an `a` is
/// there to judge.
///
/// KEYS: txn, the old answer key.
pub static LOAD_ANSWER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local kept = redis.call('HGET', KEYS[1], 'a')
if kept and not string.find(redis.call('HGET', KEYS[1], 'd') or '', '"delivery":"UNDELIVERED"', 1, true) then
  return kept
end
return redis.call('GET', KEYS[2])
"#,
    )
});

/// Keeps a front's answer unless one is kept already (as [`LOAD_ANSWER`] reads it: a void `a` is
/// written over), and returns the one kept before (nil when this one was kept). The answer goes
/// into the record hash (`a`): no key, TTL or expiry of its own, and it lives as long as the
/// record its replay needs. Without a record (expired), into the old answer key for the ttl
/// given.
///
/// KEYS: txn, the old answer key. ARGV: answer text, ttl ms.
pub static SAVE_ANSWER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local kept = redis.call('HGET', KEYS[1], 'a')
if kept and not string.find(redis.call('HGET', KEYS[1], 'd') or '', '"delivery":"UNDELIVERED"', 1, true) then
  return kept
end
local old = redis.call('GET', KEYS[2])
if old then return old end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'a', ARGV[1])
else
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
end
return false
"#,
    )
});

/// Tombstone + cancel for a reversal whose original was never seen, atomic against BEGIN.
///
/// KEYS: dedup, tomb, saf, audit.
/// ARGV: tombstone json, SAF entry json, ttl ms, txn key prefix, payment request id, log json,
/// audit maxlen.
pub static REVERSE_UNSEEN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local owner = redis.call('GET', KEYS[1])
if owner then
  local d = redis.call('HGET', ARGV[4] .. owner, 'd')
  if d then return {'exists', d} end
end
if redis.call('EXISTS', KEYS[2]) == 1 then return {'already'} end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
redis.call('XADD', KEYS[3], '*', 'e', ARGV[2], 'a', '0')
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', 'j', ARGV[5], 'x', ARGV[6])
return {'created'}
"#,
    )
});

/// Hands due deadline-index entries to one sweeper: each is re-scored to the lease end so that
/// other sweepers skip it until then; entries whose record expired are dropped.
///
/// KEYS: deadlines. ARGV: now ms, max, lease end ms, txn key prefix.
pub static DUE_FOR_SWEEP: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, m in ipairs(members) do
  local sep = string.find(m, ':', 1, true)
  local jid = sep and string.sub(m, sep + 1) or m
  if redis.call('EXISTS', ARGV[4] .. jid) == 0 then
    redis.call('ZREM', KEYS[1], m)
  else
    redis.call('ZADD', KEYS[1], 'XX', ARGV[3], m)
    table.insert(out, m)
  end
end
return out
"#,
    )
});

/// Reads a record with a write that replicates (its retention renewed), so the `WAIT` that
/// follows on the same connection confirms every earlier write to the record's master too:
/// replication is one ordered stream per master.
///
/// KEYS: txn. ARGV: ttl ms.
pub static LOAD_CONFIRMED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return redis.call('HGET', KEYS[1], 'd')
"#,
    )
});

/// Acknowledge and delete a delivery. KEYS: saf. ARGV: group, id.
pub static ACK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return acked
"#,
    )
});

/// Schedule a retry and acknowledge the delivery in one step; a delivery someone else already
/// acknowledged is not scheduled twice.
///
/// KEYS: saf, delayed. ARGV: group, id, due ms, delayed member json.
pub static RETRY_AT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if acked == 1 then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4]) end
redis.call('XDEL', KEYS[1], ARGV[2])
return acked
"#,
    )
});

/// Move due retries back into the stream. KEYS: delayed, saf, dead. ARGV: now ms, max, now ms.
pub static PROMOTE_DUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(members) do
  local ok, t = pcall(cjson.decode, m)
  if ok and type(t) == 'table' and type(t.e) == 'string' then
    redis.call('XADD', KEYS[2], '*', 'e', t.e, 'a', tostring(t.a or '0'), 'err', tostring(t.err or ''))
  else
    redis.call('XADD', KEYS[3], '*', 'e', m, 'a', '0', 'reason', 'unreadable delayed entry', 'at', ARGV[3])
  end
  redis.call('ZREM', KEYS[1], m)
end
return #members
"#,
    )
});

/// Dead-letter a delivery and acknowledge it in one step.
///
/// KEYS: saf, dead. ARGV: group, id, entry json, attempts, reason, now ms, original id.
pub static DEAD_LETTER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
if acked == 1 then
  redis.call('XADD', KEYS[2], '*', 'e', ARGV[3], 'a', ARGV[4], 'reason', ARGV[5], 'at', ARGV[6], 'orig', ARGV[7])
end
redis.call('XDEL', KEYS[1], ARGV[2])
return acked
"#,
    )
});

/// Put one dead letter back into the stream with its attempts reset. KEYS: dead, saf. ARGV: id.
pub static REPLAY_DEAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return 0 end
local fields = found[1][2]
local entry = nil
for i = 1, #fields, 2 do
  if fields[i] == 'e' then entry = fields[i + 1] end
end
if not entry then return 0 end
redis.call('XADD', KEYS[2], '*', 'e', entry, 'a', '0')
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
"#,
    )
});
