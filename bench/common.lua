-- bench/common.lua - what the wrk scripts of `make bench` share: a monotonic clock, per-thread
-- counts of answers, and the one summary line bench/run.sh reads.
--
-- Each wrk thread runs its own copy of the script; setup() and done() run in a separate state
-- that sees the threads only through thread:get(), so the counts live in each thread's globals
-- (n_ok, n_other, t_start, t_last) and done() adds them up.

local ffi = require("ffi")

ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]]

local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec")
local threads = {}
local M = {}

-- Seconds on the monotonic clock: wrk's own duration is the whole -d even when a thread stops
-- early (webhook pools run out), so rates are taken over the time requests really ran.
function M.now()
	ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
	return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- setup(): numbers the threads 0, 1, ... (global tid) and keeps them for done().
function M.setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

-- init(): in the thread, before its first request.
function M.init()
	n_ok, n_other = 0, 0
	t_start = M.now()
	t_last = t_start
end

-- response(): counts the answer as expected (`want`) or not.
function M.count(status, want)
	if status == want then
		n_ok = n_ok + 1
	else
		n_other = n_other + 1
		if n_other <= 3 then
			io.stderr:write(string.format("bench: unexpected HTTP %d\n", status))
		end
	end
	t_last = M.now()
end

-- done(): one line of key=value pairs (latencies in ms) for bench/run.sh.
function M.done(summary, latency)
	local ok, other, t0, t1 = 0, 0, math.huge, 0
	local e = summary.errors

	for _, t in ipairs(threads) do
		ok = ok + t:get("n_ok")
		other = other + t:get("n_other")
		t0 = math.min(t0, t:get("t_start"))
		t1 = math.max(t1, t:get("t_last"))
	end
	io.write(string.format("bench requests=%d ok=%d other=%d socket_errors=%d timeouts=%d" ..
			       " elapsed_s=%.3f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
			       summary.requests, ok, other, e.connect + e.read + e.write,
			       e.timeout, t1 - t0, latency:percentile(50) / 1000,
			       latency:percentile(99) / 1000, latency.max / 1000))
end

return M
