-- Shared by every script (prepended at load). ARGV[1] is the key prefix, which carries one hash
-- tag, so every key below lives in one cluster slot; KEYS[1] names a key of that slot for routing.
-- Indexes: x:id:<status>:<sev> and x:active and x:all are sorted sets scored by id (lists, newest
-- first; a status alone is the union of its four severities);
-- x:open:<sev> and x:active:<sev> are scored by the time the incident entered them (oldest ages).
-- Counts: hash c, fields "<status>:<sev>", "opened:<sev>", "resolved_total:<sev>".
local P = ARGV[1]

local function incident_key(id)
  return P .. 'i:' .. id
end

-- An incident's fields, in the order IncidentStore reads them (INCIDENT_FIELDS): values only,
-- half the strings of HGETALL to send and parse; a field the hash lacks comes back nil.
local INCIDENT_FIELDS = {'id', 'title', 'description', 'severity', 'status', 'created_by',
  'created_at', 'updated_at', 'status_by', 'assignee', 'acknowledged_at', 'resolved_at',
  'channel', 'message_ts'}

local function incident_values(key)
  return redis.call('HMGET', key, unpack(INCIDENT_FIELDS))
end

local function by_severity(status, sev)
  return P .. 'x:id:' .. status .. ':' .. sev
end

local function enter_status(id, status, sev, now)
  redis.call('ZADD', by_severity(status, sev), id, id)
  if status == 'open' then
    redis.call('ZADD', P .. 'x:open:' .. sev, now, id)
  end
  redis.call('HINCRBY', P .. 'c', status .. ':' .. sev, 1)
end

local function leave_status(id, status, sev)
  redis.call('ZREM', by_severity(status, sev), id)
  if status == 'open' then
    redis.call('ZREM', P .. 'x:open:' .. sev, id)
  end
  redis.call('HINCRBY', P .. 'c', status .. ':' .. sev, -1)
end

local function set_active(id, sev, now, active)
  if active then
    redis.call('ZADD', P .. 'x:active', id, id)
    redis.call('ZADD', P .. 'x:active:' .. sev, now, id)
  else
    redis.call('ZREM', P .. 'x:active', id)
    redis.call('ZREM', P .. 'x:active:' .. sev, id)
  end
end
