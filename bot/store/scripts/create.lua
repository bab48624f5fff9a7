-- Open an incident: next id, the hash, the first timeline entry, indexes and counts, atomically.
-- ARGV: prefix, title, description, severity, actor, now, channel, event_json, dedupe_key, dedupe_ttl
-- Returns {created (1|0), incident values...}; a repeated dedupe_key returns the first incident and
-- restarts the key's TTL (so an alert group that keeps firing keeps its incident).
local dedupe_key = ARGV[9]
if dedupe_key ~= '' then
  local seen = redis.call('GET', P .. 'd:' .. dedupe_key)
  if seen then
    redis.call('EXPIRE', P .. 'd:' .. dedupe_key, ARGV[10])
    return {0, incident_values(incident_key(seen))}
  end
end
local id = redis.call('INCR', P .. 'seq')
local sev, now = ARGV[4], ARGV[6]
local key = incident_key(id)
redis.call('HSET', key, 'id', id, 'title', ARGV[2], 'description', ARGV[3], 'severity', sev,
  'status', 'open', 'created_by', ARGV[5], 'created_at', now, 'updated_at', now,
  'status_by', ARGV[5], 'channel', ARGV[7])
redis.call('RPUSH', P .. 't:' .. id, ARGV[8])
redis.call('ZADD', P .. 'x:all', id, id)
enter_status(id, 'open', sev, now)
set_active(id, sev, now, true)
redis.call('HINCRBY', P .. 'c', 'opened:' .. sev, 1)
if dedupe_key ~= '' then
  redis.call('SET', P .. 'd:' .. dedupe_key, id, 'EX', ARGV[10])
end
return {1, incident_values(key)}
