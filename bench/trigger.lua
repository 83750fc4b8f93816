-- bench/trigger.lua - POST /v1/surveys with a new survey on every request, for wrk.
--
--	wrk ... -s bench/trigger.lua URL -- PREFIX DIGIT API_KEY DUE_EPOCH [AFTER [REPEAT]]
--
-- Triggers are unique per (interaction.id, kind), so each request carries its own interaction
-- id, customer id and phone, made of PREFIX (one per run), the thread number and a counter; the
-- phone is +34, DIGIT (one per run), two digits of thread and seven of counter.  delay_seconds
-- makes every survey due at DUE_EPOCH: the dispatcher stays idle during the run and the
-- dispatch benchmark later finds all of them due at once (0: due at once, sent while the load
-- goes on).  The counter starts after AFTER (default 0): consecutive runs with one PREFIX and
-- DIGIT survey new customers when each run's AFTER is at least the requests the earlier runs
-- sent (their answered requests plus one in flight per connection).
--
-- REPEAT N (a number > 0) sends, instead, triggers 2 to N + 1 of an earlier run with the same
-- PREFIX and DIGIT over and over, as a helpdesk retrying does: each is answered 200 with the
-- survey that run created, and only 200s count.  (Not the first: wrk's first thread builds one
-- request before the run, to check the script, and never sends it.)

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" ..
	       package.path
local common = require("common")

local counter = 0
local prefix, digit, due, wrap
local want = 202

local body_format = '{"customer":{"id":"cust-%s-%d-%d","phone":"+34%s%02d%07d",' ..
	'"name":"Ana","locale":"es"},"kind":"nps","channel":"sms",' ..
	'"interaction":{"id":"chat-%s-%d-%d","touchpoint":"support_chat","agent":"agent-7",' ..
	'"opened_at":"2026-11-22T10:00:00Z","closed_at":"2026-11-22T10:12:30Z"},' ..
	'"delay_seconds":%d}'

function setup(thread)
	common.setup(thread)
end

function init(args)
	prefix, digit, due = args[1], args[2], tonumber(args[4])
	counter = tonumber(args[5] or "0")
	wrap = tonumber(args[6] or "0")
	if wrap > 0 then
		want = 200
	end
	common.init()
	wrk.method = "POST"
	wrk.path = "/v1/surveys"
	wrk.headers["Authorization"] = "Bearer " .. args[3]
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	local delay = due - os.time()

	counter = counter + 1
	if wrap > 0 and (counter > wrap + 1 or counter < 2) then
		counter = 2
	end
	if delay < 0 then
		delay = 0
	end
	return wrk.format(nil, nil, nil, string.format(body_format, prefix, tid, counter, digit,
			  tid, counter, prefix, tid, counter, delay))
end

function response(status)
	common.count(status, want)
end

function done(summary, latency)
	common.done(summary, latency)
end
