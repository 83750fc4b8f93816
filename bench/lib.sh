# shellcheck shell=bash disable=SC2034
# bench/lib.sh - what bench/run.sh (`make bench`) and bench/soak.sh (`make soak`) share: the
# helpers, the fake provider, the gateway's configuration, starting and stopping the gateway,
# and the clean-up of every process started.  Sourced, not run.
#
# The caller sets, before sourcing:
#   LOG_TAG   the prefix of every message ("bench", "soak")
#   GW        the gateway binary
#   TOOLS     the directory of the benchmark's own binaries (fake_provider, sign_webhooks, ...)
#   RUN       the directory of this run's database, logs and outputs (created by the caller)
#   CONF      the configuration file written by write_gateway_config
# and gets:
#   R, NOTES  every figure by name; what the reader must know (errors, fallbacks)
#   GW_PID, FAKE_PID, BG_PIDS  the processes it started, killed at exit by pid alone
#   FAKE_URL, GW_PORT, GW_URL  once start_fake_provider has run
#
# Everything listens and connects on 127.0.0.1 only.

API_KEY=bench-key
TWILIO_SID=AC0123456789abcdef0123456789abcdef
TWILIO_TOKEN=0f1e2d3c4b5a69788796a5b4c3d2e1f0
TWILIO_FROM=+15005550006

declare -A R            # every figure, by name; written to the table and the JSON
NOTES=()                # what the table's reader must know (errors, fallbacks)
GW_PID=""
FAKE_PID=""
BG_PIDS=()              # load generators and helpers running in the background

log() { printf '%s: %s\n' "$LOG_TAG" "$*" >&2; }
die() { log "$*"; exit 1; }

# stop_pid PID: ends a process this script started and reaps it; nothing when it is gone.  Its
# status (143 after SIGTERM) is not the script's: under `set -e` a failing `wait` would end the
# clean-up before the next process.
stop_pid() {
	if [ -n "$1" ] && kill "$1" 2>/dev/null; then
		wait "$1" 2>/dev/null || :
	fi
}

# Only the processes this script started, by pid: the background helpers first, so that none
# of them sees the gateway go away, then the gateway, then the fake provider.
cleanup() {
	local p

	for p in "${BG_PIDS[@]}"; do
		stop_pid "$p"
	done
	stop_pid "$GW_PID"
	stop_pid "$FAKE_PID"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# require_built FILE...: each must be an executable `make bench` builds.
require_built() {
	local f

	for f in "$@"; do
		[ -x "$f" ] || die "$f is missing: run make $LOG_TAG"
	done
}

now_s() { date +%s; }

# Floating-point arithmetic: calc EXPR.
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

# The value of key=value pair KEY in the line "bench ..." of FILE.
field() { sed -n "s/^bench .*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" | tail -1; }

# The sum of every sample of METRIC whose labels contain MATCH, in a /metrics dump FILE.
metric() { awk -v m="$2" -v l="$3" '$1 ~ "^"m"[{ ]" && index($1, l) { s += $2 } END { print s + 0 }' "$1"; }

# CPU time (user + system) process PID has used so far, in clock ticks (fields 14 and 15 of
# /proc/PID/stat, counted after the ")" that ends the command name, which may hold spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
CLK_TCK=$(getconf CLK_TCK)

# cpu_us_per TICKS COUNT: microseconds of CPU per item.
cpu_us_per() { calc "$1 * 1000000 / $CLK_TCK / $2"; }

# Peak RSS (VmHWM) of process PID in MiB.
peak_rss_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# Waits up to 15 s for URL to answer 200.
wait_http() {
	for _ in $(seq 150); do
		curl -sf -o /dev/null "$1" && return 0
		sleep 0.1
	done
	return 1
}

# start_fake_provider TO_FILE: bench/fake_provider on a loopback port of its own, writing the
# To of every send to TO_FILE; sets FAKE_PID and FAKE_URL, then picks the gateway's GW_PORT and
# GW_URL.
start_fake_provider() {
	"$TOOLS/fake_provider" --to-file "$1" > "$RUN/fake.out" 2>&1 &
	FAKE_PID=$!
	for _ in $(seq 100); do
		grep -q '^port ' "$RUN/fake.out" 2>/dev/null && break
		sleep 0.05
	done
	FAKE_PORT=$(sed -n 's/^port //p' "$RUN/fake.out")
	[ -n "$FAKE_PORT" ] || die "the fake provider did not start (see $RUN/fake.out)"
	FAKE_URL=http://127.0.0.1:$FAKE_PORT
	GW_PORT=$("$TOOLS/fake_provider" --free-port)
	GW_URL=http://127.0.0.1:$GW_PORT
}

# write_gateway_config: $CONF for a gateway on GW_PORT with its database in $RUN/gateway.db,
# sending SMS and WhatsApp through Twilio at the fake provider.  Fatigue and quiet hours off
# (the same numbers are surveyed and answered again and again), pacing off, no per-address
# limit (wrk is one address).  The store keeps its own durability settings.
write_gateway_config() {
	umask 077
	cat > "$CONF" <<EOF
[server]
listen = 127.0.0.1:$GW_PORT
public_url = $GW_URL
connection_limit = 1024
per_ip_connection_limit = 0
api_keys = $API_KEY

[store]
path = $RUN/gateway.db

[survey]
min_days_between = 0
quiet_hours = off

[channels]
sms = twilio
whatsapp = twilio

[dispatch]
whatsapp_pair_interval = 0s

[provider.twilio]
account_sid = $TWILIO_SID
from = $TWILIO_FROM
base_url = $FAKE_URL
rate = off
EOF
	umask 022
}

# start_gateway NAME: a gateway on $CONF, its output in $RUN/gateway-NAME.log.
start_gateway() {
	GATEWAY_PROVIDER_TWILIO_AUTH_TOKEN=$TWILIO_TOKEN "$GW" serve -c "$CONF" \
		> "$RUN/gateway-$1.log" 2>&1 &
	GW_PID=$!
	wait_http "$GW_URL/healthz" ||
		die "the gateway did not start (see $RUN/gateway-$1.log)"
}

# stop_gateway NAME: scrapes /metrics to $RUN/metrics-NAME.txt once the counters settle
# (requests wrk left in flight still finish), keeps the peak RSS as R[NAME_rss_mib], then stops
# the gateway and checks it stopped cleanly.
stop_gateway() {
	local m=$RUN/metrics-$1.txt

	: > "$m.last"
	for _ in $(seq 20); do
		curl -sf "$GW_URL/metrics" | grep -v '^gateway_http_responses_total' > "$m" || :
		# SQLite's checkpointer runs every 200 ms, idle or not: its counters never settle
		grep -v '^gateway_store_checkpoint' "$m" > "$m.now" || :
		cmp -s "$m.last" "$m.now" && break
		mv "$m.now" "$m.last"
		sleep 0.5
	done
	rm -f "$m.now" "$m.last"
	R[$1_rss_mib]=$(peak_rss_mib "$GW_PID")
	kill -TERM "$GW_PID"
	wait "$GW_PID" || die "the gateway exited with status $? (see $RUN/gateway-$1.log)"
	GW_PID=""
}

# profile_during NAME SECONDS: in the background, waits a quarter of SECONDS, then samples the
# gateway's stacks with perf for half of them and writes $RUN/profile-NAME.txt: the CPU by
# thread, and by thread and function (self time); perf's data, call chains included, stays in
# $RUN/perf-NAME.data (perf report -i ... --children).  Nothing without perf
# or with BENCH_PERF=0.  perf samples 499 times a second, which costs the gateway a few per cent
# of CPU during that half.
profile_during() {
	local name=$1 secs=$2

	[ "${BENCH_PERF:-1}" != 0 ] && command -v perf >/dev/null || return 0
	(
		sleep "$(calc "$secs / 4")"
		perf record -q -F 499 -g -p "$GW_PID" -o "$RUN/perf-$name.data" \
			-- sleep "$(calc "$secs / 2")" > /dev/null 2>&1 || exit 0
		{
			echo "# $name: CPU by thread (the gateway names its threads gw-*)"
			perf report -i "$RUN/perf-$name.data" --no-children --stdio -g none \
				--sort comm --percent-limit 0.5 2>/dev/null | grep -E '^ +[0-9]'
			echo
			echo "# $name: self time by thread and function"
			perf report -i "$RUN/perf-$name.data" --no-children --stdio -g none \
				--sort comm,dso,sym --percent-limit 0.5 2>/dev/null |
				grep -E '^ +[0-9]' | head -50
		} > "$RUN/profile-$name.txt"
	) &
	BG_PIDS+=($!)
}

# wait_profiles: the profiles started so far are written.
wait_profiles() {
	local p

	for p in "${BG_PIDS[@]}"; do
		wait "$p" 2>/dev/null || :
	done
	BG_PIDS=()
}

fake_stats() { curl -sf "$FAKE_URL/stats"; }

# wait_sends COUNT MAX_S QUIET_S: waits, in 0.25 s steps, until the fake provider has accepted
# COUNT sends, for at most MAX_S seconds, or until QUIET_S seconds pass without a new send.
wait_sends() {
	local want=$1 steps=$(( $2 * 4 )) quiet=$(( $3 * 4 )) sent last=-1 still=0

	for _ in $(seq "$steps"); do
		sent=$(fake_stats | json_num accepted)
		[ "${sent:-0}" -ge "$want" ] && return 0
		if [ "$sent" = "$last" ]; then
			still=$(( still + 1 ))
			[ "$still" -lt "$quiet" ] || return 0
		else
			still=0
		fi
		last=$sent
		sleep 0.25
	done
}
json_num() { sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p"; }
