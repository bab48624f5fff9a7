-- Everything /metrics needs in one round trip, O(1) in the number of incidents.
-- ARGV: prefix, severities...
-- Returns {counts hash fields, {since of the oldest open per severity}, {same for active}}
local oldest_open, oldest_active = {}, {}
for i = 2, #ARGV do
  local open = redis.call('ZRANGE', P .. 'x:open:' .. ARGV[i], 0, 0, 'WITHSCORES')
  local active = redis.call('ZRANGE', P .. 'x:active:' .. ARGV[i], 0, 0, 'WITHSCORES')
  oldest_open[#oldest_open + 1] = open[2] or ''
  oldest_active[#oldest_active + 1] = active[2] or ''
end
return {redis.call('HGETALL', P .. 'c'), oldest_open, oldest_active}
