-- After an upgrade from the per-status list indexes (x:open, x:in_progress, x:resolved): build the
-- status x severity ones from the incidents, once. A no-op, O(1), when their sizes add up to x:all.
-- ARGV: prefix, statuses (comma-separated), severities (comma-separated)
-- Returns how many incidents were indexed (0: nothing to do).
local statuses, severities = {}, {}
for s in string.gmatch(ARGV[2], '[^,]+') do statuses[#statuses + 1] = s end
for s in string.gmatch(ARGV[3], '[^,]+') do severities[#severities + 1] = s end
local indexed = 0
for _, status in ipairs(statuses) do
  for _, sev in ipairs(severities) do
    indexed = indexed + redis.call('ZCARD', by_severity(status, sev))
  end
end
if indexed == redis.call('ZCARD', P .. 'x:all') then
  return 0
end
local ids = redis.call('ZRANGE', P .. 'x:all', 0, -1)
for _, id in ipairs(ids) do
  local fields = redis.call('HMGET', incident_key(id), 'status', 'severity')
  if fields[1] and fields[2] then
    redis.call('ZADD', by_severity(fields[1], fields[2]), id, id)
  end
end
for _, status in ipairs(statuses) do
  redis.call('DEL', P .. 'x:' .. status)
end
return #ids
