-- bench/lookup.lua - GET /v1/surveys/{id} over a list of existing surveys, for wrk.
--
--	wrk ... -s bench/lookup.lua URL -- IDS_FILE API_KEY
--
-- IDS_FILE holds one survey id a line (bench/run.sh takes them from GET /v1/surveys); each
-- thread walks the whole list from its own offset, round and round.  Only 200s count.

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" ..
	       package.path
local common = require("common")

local ids = {}
local next_id = 0

function setup(thread)
	common.setup(thread)
end

function init(args)
	for line in io.lines(args[1]) do
		if #line > 0 then
			ids[#ids + 1] = line
		end
	end
	next_id = (tid * 7919) % #ids
	common.init()
	wrk.method = "GET"
	wrk.headers["Authorization"] = "Bearer " .. args[2]
end

function request()
	next_id = next_id % #ids + 1
	return wrk.format(nil, "/v1/surveys/" .. ids[next_id])
end

function response(status)
	common.count(status, 200)
end

function done(summary, latency)
	common.done(summary, latency)
end
