-- One page of an index, newest first, in one round trip.
-- ARGV: prefix, index name (all|active|open|in_progress|resolved), before id (exclusive), limit
-- Returns {next cursor or '', {hash fields...}, {hash fields...}, ...}
local limit = tonumber(ARGV[4])
local ids = redis.call('ZREVRANGEBYSCORE', P .. 'x:' .. ARGV[2], '(' .. ARGV[3], '-inf',
  'LIMIT', 0, limit + 1)
local result = {''}
for i = 1, math.min(#ids, limit) do
  result[#result + 1] = redis.call('HGETALL', incident_key(ids[i]))
end
if #ids > limit then
  result[1] = ids[limit]
end
return result
