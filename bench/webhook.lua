-- bench/webhook.lua - Twilio inbound SMS webhooks from a pre-signed pool, for wrk.
--
--	wrk -tT ... -s bench/webhook.lua URL -- POOL_FILE T
--
-- POOL_FILE (from bench/sign_webhooks.c) holds one "signature<TAB>form body" a line, each with
-- its own MessageSid.  Thread i of T sends lines i, i+T, i+2T, ... once each and then stops:
-- sending a line again would be answered as a duplicate, which costs the gateway less than a
-- new reply and would flatter the figure.

package.path = (debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "?.lua;" ..
	       package.path
local common = require("common")

local sigs, bodies = {}, {}
local next_line = 0
local spent = false

function setup(thread)
	common.setup(thread)
end

function init(args)
	local nthreads, i = tonumber(args[2]), 0

	for line in io.lines(args[1]) do
		if i % nthreads == tid then
			local sig, body = line:match("^([^\t]+)\t(.*)$")

			sigs[#sigs + 1] = sig
			bodies[#bodies + 1] = body
		end
		i = i + 1
	end
	common.init()
	wrk.method = "POST"
	wrk.path = "/webhooks/twilio"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
	next_line = next_line + 1
	if next_line > #bodies then
		-- The pool is spent: stop.  wrk wants a request anyway, so the last one goes again
		-- (a duplicate); from here on no answer is counted, which may drop a few answers to
		-- requests still in flight: the figure errs low, never high.
		wrk.thread:stop()
		spent = true
		next_line = #bodies
	end
	wrk.headers["X-Twilio-Signature"] = sigs[next_line]
	return wrk.format(nil, nil, nil, bodies[next_line])
end

function response(status)
	if not spent then
		common.count(status, 200)
	end
end

function done(summary, latency)
	common.done(summary, latency)
end
