-- One page of the union of some id-scored indexes (disjoint), newest first, in one round trip:
-- each index gives at most limit + 1 ids below the cursor, so a page is O(k log N + k * limit).
-- ARGV: prefix, before id (exclusive), limit, index names (all|active|open|…|id:open:sev1|…)
-- Returns {next cursor or '', {incident values...}, {incident values...}, ...}
local before, limit = '(' .. ARGV[2], tonumber(ARGV[3])
local ids = {}
for i = 4, #ARGV do
  local found = redis.call('ZREVRANGEBYSCORE', P .. 'x:' .. ARGV[i], before, '-inf',
    'LIMIT', 0, limit + 1)
  for _, id in ipairs(found) do
    ids[#ids + 1] = tonumber(id)
  end
end
table.sort(ids, function(a, b) return a > b end)
local result = {''}
for i = 1, math.min(#ids, limit) do
  result[#result + 1] = incident_values(incident_key(ids[i]))
end
if #ids > limit then
  result[1] = ids[limit]
end
return result
