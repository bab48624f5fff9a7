-- Compare-and-set a status change: legal only from the statuses in ARGV[6] (comma-separated), so
-- two replicas or two clicks racing can never both win.
-- ARGV: prefix, id, target, actor, now, allowed_from, event_json, guarded ('1': refuse on a sev1
-- and record the attempt with refused_json), refused_json
-- Returns {'ok'|'same'|'illegal'|'forbidden'|'missing', previous status, incident values...}
local id, target, actor, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local key = incident_key(id)
local current = redis.call('HGET', key, 'status')
if not current then
  return {'missing', '', {}}
end
if current == target then
  return {'same', current, incident_values(key)}
end
if not string.find(',' .. ARGV[6] .. ',', ',' .. current .. ',', 1, true) then
  return {'illegal', current, incident_values(key)}
end
local sev = redis.call('HGET', key, 'severity')
if ARGV[8] == '1' and sev == 'sev1' then
  redis.call('RPUSH', P .. 't:' .. id, ARGV[9])
  return {'forbidden', current, incident_values(key)}
end
leave_status(id, current, sev)
enter_status(id, target, sev, now)
local was_active, is_active = current ~= 'resolved', target ~= 'resolved'
if was_active ~= is_active then
  set_active(id, sev, now, is_active)
end
redis.call('HSET', key, 'status', target, 'status_by', actor, 'updated_at', now)
if target == 'in_progress' and redis.call('HEXISTS', key, 'acknowledged_at') == 0 then
  redis.call('HSET', key, 'acknowledged_at', now)
elseif target == 'resolved' then
  redis.call('HSET', key, 'resolved_at', now)
  redis.call('HINCRBY', P .. 'c', 'resolved_total:' .. sev, 1)
elseif target == 'open' then
  redis.call('HDEL', key, 'resolved_at')
end
redis.call('RPUSH', P .. 't:' .. id, ARGV[7])
return {'ok', current, incident_values(key)}
