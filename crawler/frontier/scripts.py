"""The Lua scripts of the shared frontier: each runs atomically in Redis.

Times are Redis's own clock (``TIME``, in milliseconds), so workers on machines whose clocks
disagree still agree on every deadline. Key roles are those of :func:`domain.frontier.lease_keys`
(KEYS, in the order of :data:`LEASE_KEY_ROLES`).
"""

from __future__ import annotations

# The order of the KEYS every lease script is given.
LEASE_KEY_ROLES = ("queue", "leases", "data", "info", "seq", "hosts", "host_of")

# Shared by the lease scripts: the time, counting a queued request's host, and putting a
# lease's request back in the queue.
_LEASE_COMMON = """
local queue, leases, data, info, seq, hosts, host_of =
    KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local function now_ms()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function enqueue(request, score, host)
    if redis.call('ZADD', queue, score, request) == 1 and host ~= '' then
        redis.call('HSET', host_of, redis.sha1hex(request), host)
        redis.call('HINCRBY', hosts, host, 1)
    end
end
local function drop_lease(id)
    redis.call('ZREM', leases, id)
    redis.call('HDEL', data, id)
    redis.call('HDEL', info, id)
end
local function requeue(id)
    local request = redis.call('HGET', data, id)
    local about = redis.call('HGET', info, id)
    if request and about then
        local lease = cjson.decode(about)
        enqueue(request, lease.score, lease.host)
    end
    drop_lease(id)
end
local function requeue_expired(now)
    local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
    for _, id in ipairs(expired) do requeue(id) end
    return #expired
end
"""

# KEYS: the lease keys, then the duplicate filter's set. ARGV: request, score (-priority),
# host, lease id to release ('' for none), the request's fingerprint ('' for a request not
# filtered). The fingerprint is recorded, the request enters the queue and the lease it came
# from (a retry, a redirect) ends, in one step: a worker that dies before it never leaves a
# fingerprint seen without its request queued, and a push retried after a lost reply (or
# raced by another worker) finds the fingerprint and queues nothing more. Returns 1 if the
# request was queued, 0 if its fingerprint was already seen.
# Among requests of one priority, hosts take turns: the score gets a fraction in [0.5, 1)
# that grows with how many of the host's requests are queued already (the k-th queued
# request of every host comes before the (k+1)-th of any), never reaching the next
# priority's scores. scrapy-redis orders equal scores by the encoded request, its URL first:
# every request of one host would come before any of the next, and the workers would all
# wait on that host's shared pace and in-flight cap while the other hosts sat idle.
PUSH = (
    _LEASE_COMMON
    + """
local queued, fingerprint = 1, ARGV[5] or ''
if fingerprint ~= '' and redis.call('SADD', KEYS[8], fingerprint) == 0 then
    queued = 0
else
    local score = tonumber(ARGV[2])
    if ARGV[3] ~= '' then
        local waiting = tonumber(redis.call('HGET', hosts, ARGV[3]) or '0')
        score = score + 1 - 1 / (waiting + 2)
    end
    enqueue(ARGV[1], score, ARGV[3])
end
if ARGV[4] ~= '' then drop_lease(ARGV[4]) end
return queued
"""
)

# ARGV: worker, lease milliseconds. Expired leases go back to the queue first; then the
# request with the lowest score is leased to the worker. Returns {lease id, request,
# requeued} or {false, false, requeued} when the queue is empty.
POP = (
    _LEASE_COMMON
    + """
local now = now_ms()
local requeued = requeue_expired(now)
local top = redis.call('ZRANGE', queue, 0, 0, 'WITHSCORES')
if #top == 0 then return {false, false, requeued} end
local request, score = top[1], tonumber(top[2])
redis.call('ZREM', queue, request)
local sha = redis.sha1hex(request)
local host = redis.call('HGET', host_of, sha) or ''
if host ~= '' then
    redis.call('HDEL', host_of, sha)
    if redis.call('HINCRBY', hosts, host, -1) <= 0 then redis.call('HDEL', hosts, host) end
end
local id = redis.call('INCR', seq)
redis.call('ZADD', leases, now + tonumber(ARGV[2]), id)
redis.call('HSET', data, id, request)
redis.call('HSET', info, id,
    cjson.encode({worker = ARGV[1], host = host, score = score, taken = now}))
return {id, request, requeued}
"""
)

# ARGV: lease ids. The requests are done: their leases end.
RELEASE = (
    _LEASE_COMMON
    + """
for _, id in ipairs(ARGV) do drop_lease(id) end
return #ARGV
"""
)

# ARGV: lease milliseconds, lease ids. Leases still held get a new deadline; a lease that
# expired and went back to the queue is not taken again (ZADD XX).
RENEW = (
    _LEASE_COMMON
    + """
local deadline = now_ms() + tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
    renewed = renewed + redis.call('ZADD', leases, 'XX', 'CH', deadline, ARGV[i])
end
return renewed
"""
)

# ARGV: lease ids. Their requests go back to the queue now (a worker that stops cleanly
# hands back what it did not finish).
REQUEUE = (
    _LEASE_COMMON
    + """
for _, id in ipairs(ARGV) do requeue(id) end
return #ARGV
"""
)

# The shared pace of one host. KEYS: the host's key. ARGV: the worker's delay (ms), the
# milliseconds the key lives past its last use. The request reserves the first start time
# that is ``delay`` (or the host's Crawl-delay ``floor``, whichever is longer) after the
# last reserved one and not within a pause; returns {wait ms, pause ms left}.
ACQUIRE = """
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', key, 'next', 'floor', 'pause')
local next_at = tonumber(state[1]) or 0
local floor = tonumber(state[2]) or 0
local pause = tonumber(state[3]) or 0
local delay = math.max(tonumber(ARGV[1]), floor)
local start = math.max(now, next_at, pause)
redis.call('HSET', key, 'next', start + delay)
redis.call('PEXPIRE', key, start + delay - now + tonumber(ARGV[2]))
return {start - now, math.max(pause - now, 0)}
"""

# KEYS: the host's key. ARGV: field ('floor' or 'pause'), value in ms (a delay for 'floor',
# a duration from now for 'pause'), the milliseconds the key lives past it. Never lowers.
RAISE = """
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local value = tonumber(ARGV[2])
if ARGV[1] == 'pause' then value = now + value end
local old = tonumber(redis.call('HGET', key, ARGV[1])) or 0
if value > old then redis.call('HSET', key, ARGV[1], value) end
local ttl = redis.call('PTTL', key)
local keep = math.max(value - now, 0) + tonumber(ARGV[3])
if ttl < keep then redis.call('PEXPIRE', key, keep) end
return math.max(value, old)
"""

# KEYS: the host's key. ARGV: the worker's delay (ms), the milliseconds the key lives past
# its last use. A request whose turn came is sent only if the host's last request was sent
# ``delay`` (or ``floor``) ago and no pause holds it: then it is the last one sent
# ({0, 0}); else {milliseconds still to wait, 1 if a pause is the reason}. A worker whose
# turn came late (a busy process) thus never sends closer to the one before than the delay.
SEND = """
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', key, 'sent', 'floor', 'pause', 'next')
local sent = tonumber(state[1]) or 0
local delay = math.max(tonumber(ARGV[1]), tonumber(state[2]) or 0)
local paused = (tonumber(state[3]) or 0) - now
local wait = math.max(sent + delay - now, paused, 0)
if wait > 0 then return {wait, paused > 0 and 1 or 0} end
redis.call('HSET', key, 'sent', now)
if (tonumber(state[4]) or 0) < now + delay then redis.call('HSET', key, 'next', now + delay) end
redis.call('PEXPIRE', key, delay + tonumber(ARGV[2]))
return {0, 0}
"""

# The shared in-flight cap of one host: a sorted set of slot tokens scored by their deadline
# (Redis time, ms). KEYS: the host's in-flight key. ARGV: the cap (this worker's
# CONCURRENT_REQUESTS_PER_DOMAIN, its downloader slot's concurrency), the token, how long the
# slot is held without word (ms). Slots past their deadline (a killed worker's) are dropped
# first; returns 1 when the token took a slot, 0 when the host has ``cap`` requests in flight.
TAKE_SLOT = """
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hold = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
if redis.call('ZCARD', key) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', key, now + hold, ARGV[2])
if redis.call('PTTL', key) < hold then redis.call('PEXPIRE', key, hold) end
return 1
"""

# KEYS: the host's in-flight key. ARGV: the token, the new hold (ms). A slot still held gets
# a new deadline (1); a slot that expired meanwhile is not taken again (0).
RENEW_SLOT = """
local key = KEYS[1]
if not redis.call('ZSCORE', key, ARGV[1]) then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local hold = tonumber(ARGV[2])
redis.call('ZADD', key, now + hold, ARGV[1])
if redis.call('PTTL', key) < hold then redis.call('PEXPIRE', key, hold) end
return 1
"""
