-- Change the assignee or the severity, or just add a note (field ''), with its timeline entry.
-- ARGV: prefix, id, field ('assignee'|'severity'|''), value, now, event_json
-- Returns {'ok'|'same'|'missing', previous value, incident values...}
local id, field, value, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = incident_key(id)
if redis.call('EXISTS', key) == 0 then
  return {'missing', '', {}}
end
local previous = ''
if field ~= '' then
  previous = redis.call('HGET', key, field) or ''
  if previous == value then
    return {'same', previous, incident_values(key)}
  end
end
if field == 'severity' then
  local status = redis.call('HGET', key, 'status')
  redis.call('HINCRBY', P .. 'c', status .. ':' .. previous, -1)
  redis.call('HINCRBY', P .. 'c', status .. ':' .. value, 1)
  redis.call('ZREM', by_severity(status, previous), id)
  redis.call('ZADD', by_severity(status, value), id, id)
  for _, index in ipairs({'x:open:', 'x:active:'}) do
    local since = redis.call('ZSCORE', P .. index .. previous, id)
    if since then
      redis.call('ZREM', P .. index .. previous, id)
      redis.call('ZADD', P .. index .. value, since, id)
    end
  end
end
if field ~= '' then
  redis.call('HSET', key, field, value)
end
redis.call('HSET', key, 'updated_at', now)
redis.call('RPUSH', P .. 't:' .. id, ARGV[6])
return {'ok', previous, incident_values(key)}
