#!/usr/bin/env bash
# bench/soak.sh BUILD_DIR - the sustained mixed load behind `make soak` (docs/performance.md, "Soak").
#
# One gateway process, BUILD_DIR/gateway, on loopback against bench/fake_provider, under two
# loads at once for SOAK_DURATION seconds (default 180):
#
#   triggers  POST /v1/surveys at SOAK_CONNECTIONS (16) connections, bench/trigger.lua, every
#             request a new survey due at once: the dispatcher sends each one, unpaced, to the
#             fake while the load goes on;
#   replies   Twilio-signed inbound SMS webhooks at SOAK_REPLY_CONNECTIONS (4) connections,
#             bench/webhook.lua, from numbers the gateway has just texted.  Each window's pool,
#             one MessageSid per reply, is signed by bench/sign_webhooks in the middle of the
#             window before, from the numbers texted since the previous pool; it holds three
#             times the replies the gateway took lately (at most SOAK_REPLY_POOL, 40000), as
#             wrk reads the whole pool before it starts.
#
# A 2-second seed of triggers first gives the first window's replies their surveys.  Then wrk
# runs in consecutive 10-second windows (the next triggers start as soon as the last ones end,
# so that the load does not pause), and after each window the script prints a line: the
# window's triggers, replies and sends, the outbox backlog, the database, WAL and -shm file
# sizes, the gateway's RSS and open descriptors, its CPU time per trigger, the triggers'
# latency.  Once the load has stopped the gateway is watched for SOAK_IDLE (15) more seconds:
# how long the backlog takes to drain, what the files do when it is quiet.  Then a summary:
# start, end and idle figures, totals, whether the sends kept up, and how long the gateway
# takes to stop (closing the store checkpoints the WAL) and what it leaves on disk.
#
# What is printed is also in BUILD_DIR/soak/soak.log; wrk's output per window, the gateway's
# log and the last /metrics scrape stay in BUILD_DIR/soak.  The database lives there too, on
# the project's disk (a tmpfs would fake the durable commit and hide the files' growth), with
# the store's own durability settings.  The load stops early, with a note, when the disk gets
# down to SOAK_MIN_FREE_MIB (2048) free or the gateway stops answering.
#
# Exit status: 0 when the soak ran, whatever it found (a gateway that died or stopped answering
# is a finding, told in a note); 1 when the harness itself failed.
set -euo pipefail

B=${1:-build/bench}
HERE=$(cd "$(dirname "$0")" && pwd)
GW=$B/gateway
TOOLS=$B/bench
DUR=${SOAK_DURATION:-180}
CONNS=${SOAK_CONNECTIONS:-16}
REPLY_CONNS=${SOAK_REPLY_CONNECTIONS:-4}
POOL_MAX=${SOAK_REPLY_POOL:-40000}
IDLE=${SOAK_IDLE:-15}
MIN_FREE_MIB=${SOAK_MIN_FREE_MIB:-2048}
WINDOW=10               # seconds per line
SEED=2                  # seconds of triggers before the soak, for the first replies
POOL_MIN=2000
RUN=$B/soak
CONF=$RUN/gateway.conf
SOAK_LOG=$RUN/soak.log
DB=$RUN/gateway.db
LOG_TAG=soak
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

for v in SOAK_DURATION=$DUR SOAK_CONNECTIONS=$CONNS SOAK_REPLY_CONNECTIONS=$REPLY_CONNS \
	 SOAK_REPLY_POOL=$POOL_MAX SOAK_IDLE=$IDLE SOAK_MIN_FREE_MIB=$MIN_FREE_MIB; do
	[[ ${v#*=} =~ ^[0-9]+$ ]] || die "${v%%=*} must be a whole number, not '${v#*=}'"
done
# Base 10: a leading zero would make bash read the number as octal.
DUR=$(( 10#$DUR )) CONNS=$(( 10#$CONNS )) REPLY_CONNS=$(( 10#$REPLY_CONNS ))
POOL_MAX=$(( 10#$POOL_MAX )) IDLE=$(( 10#$IDLE )) MIN_FREE_MIB=$(( 10#$MIN_FREE_MIB ))
[ "$DUR" -gt 0 ] || die "SOAK_DURATION must be at least 1 (seconds)"
if [ "$CONNS" -eq 0 ] || [ "$REPLY_CONNS" -eq 0 ] || [ "$POOL_MAX" -eq 0 ]; then
	die "SOAK_CONNECTIONS, SOAK_REPLY_CONNECTIONS and SOAK_REPLY_POOL must be at least 1"
fi
require_built "$GW" "$TOOLS/fake_provider" "$TOOLS/sign_webhooks"
for c in wrk curl timeout; do
	command -v "$c" >/dev/null || die "$c is missing: run make soak (it installs what it needs)"
done

# wrk wants no more threads than connections.
T_THREADS=$(( CONNS < 2 ? CONNS : 2 ))
R_THREADS=$(( REPLY_CONNS < 2 ? REPLY_CONNS : 2 ))
TICK=$(getconf CLK_TCK)
PREFIX=soak$(printf '%x' "$(now_s)")
DIGIT=5
WINDOWS=$(( (DUR + WINDOW - 1) / WINDOW ))

rm -rf "$RUN"
mkdir -p "$RUN/wrk" "$RUN/metrics"

# ---- helpers ----------------------------------------------------------------------------------

# emit TEXT...: one line, printed and kept in the soak log.
emit() { printf '%s\n' "$*" | tee -a "$SOAK_LOG"; }

# table_row COLUMN...: one line of the table, each column aligned under the header's.
table_row() { printf '%5s %7s %7s %7s %7s %8s %5s %8s %8s %8s %8s %5s %11s %7s %7s %7s' "$@"; }

# gateway_alive: the gateway runs (an exited one not yet reaped is a zombie kill -0 still finds).
gateway_alive() {
	kill -0 "$GW_PID" 2>/dev/null &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$GW_PID/status" 2>/dev/null
}

f0() { printf '%.0f' "$1"; }
secs_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
f1() { printf '%.1f' "$1"; }
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
kib_as_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# The gateway's state, as S[NAME_*].  Each returns 1 when the gateway cannot be read (gone, or
# /metrics unanswered for 10 s).
declare -A S

# sample_proc NAME: the clock, the gateway's CPU ticks, RSS and open descriptors, the sizes of
# the database's three files.
sample_proc() {
	local n=$1 stat

	S[${n}_t]=$(date +%s.%N)
	stat=$(cat "/proc/$GW_PID/stat" 2>/dev/null) || return 1
	# utime and stime are fields 14 and 15; the name in field 2 may hold spaces.
	stat=${stat##*) }
	S[${n}_ticks]=$(echo "$stat" | awk '{ print $12 + $13 }')
	S[${n}_rss_kib]=$(awk '/^VmRSS:/ { print $2 }' "/proc/$GW_PID/status")
	S[${n}_fds]=$(ls "/proc/$GW_PID/fd" | wc -l)
	S[${n}_db]=$(size_of "$DB")
	S[${n}_wal]=$(size_of "$DB-wal")
	S[${n}_shm]=$(size_of "$DB-shm")
}

# sample_counters NAME: the gateway's counters from /metrics (kept in $RUN/metrics/NAME.txt).
sample_counters() {
	local m=$RUN/metrics/$1.txt

	curl -sf --max-time 10 "$GW_URL/metrics" > "$m" || return 1
	S[${1}_queued]=$(metric "$m" gateway_surveys_triggered_total 'outcome="queued"')
	S[${1}_replies]=$(metric "$m" gateway_replies_total 'provider=')
	S[${1}_sent]=$(metric "$m" gateway_messages_sent_total 'result="accepted"')
	S[${1}_backlog]=$(metric "$m" gateway_outbox_messages 'state=')
}

sample() { sample_proc "$1" && sample_counters "$1"; }

# per_s KEY FROM TO: how fast S[*_KEY] grew from sample FROM to sample TO.
per_s() { calc "(${S[${3}_$1]} - ${S[${2}_$1]}) / (${S[${3}_t]} - ${S[${2}_t]})"; }

# forget_pid PID: PID was reaped; cleanup() must not signal whatever gets its number next.
forget_pid() {
	local p keep=()

	for p in "${BG_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BG_PIDS=("${keep[@]}")
}

# wrk_bg NAME SECONDS CONNECTIONS THREADS SCRIPT ARGS...: wrk in the background, its output in
# $RUN/wrk/NAME.txt; sets WRK_PID.  `timeout` bounds it should wrk hang.
wrk_bg() {
	local name=$1 secs=$2 conns=$3 threads=$4 script=$5

	shift 5
	timeout -k 5 $(( secs + 30 )) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s \
		-s "$script" "$GW_URL" -- "$@" > "$RUN/wrk/$name.txt" 2> "$RUN/wrk/$name.err" &
	WRK_PID=$!
	BG_PIDS+=("$WRK_PID")
}

# wrk_wait NAME PID: waits for that wrk and checks it printed its summary.
wrk_wait() {
	wait "$2" || die "wrk $1 failed with status $? (see $RUN/wrk/$1.*)"
	forget_pid "$2"
	grep -q '^bench ' "$RUN/wrk/$1.txt" || die "wrk $1 printed no summary (see $RUN/wrk/$1.*)"
}

# wrk_errors NAME: the answers other than expected, socket errors and timeouts of that run.
wrk_errors() {
	local f=$RUN/wrk/$1.txt

	echo $(( $(field "$f" other) + $(field "$f" socket_errors) + $(field "$f" timeouts) ))
}

# start_triggers W SECONDS: window W's triggers; sets T_PID.  Each run's counter starts past
# every request of the runs before (AFTER), so that every trigger surveys a new customer.
start_triggers() {
	wrk_bg "trigger-$1" "$2" "$CONNS" "$T_THREADS" "$HERE/trigger.lua" \
		"$PREFIX" "$DIGIT" "$API_KEY" 0 "$AFTER"
	T_PID=$WRK_PID
}

# start_replies W SECONDS: window W's replies, from $RUN/pool-W.txt; sets R_PID.
start_replies() {
	wrk_bg "reply-$1" "$2" "$REPLY_CONNS" "$R_THREADS" "$HERE/webhook.lua" \
		"$RUN/pool-$1.txt" "$R_THREADS"
	R_PID=$WRK_PID
}

# sign_pool FILE COUNT: in the background, FILE gets COUNT signed replies from the numbers the
# fake provider was asked to text since the last call; sets SIGN_PID.
NUMBERS_SEEN=0
sign_pool() {
	local numbers=$RUN/numbers.txt total

	fake_stats > /dev/null || die "the fake provider does not answer"     # flushes the file
	total=$(wc -l < "$RUN/sent-numbers.txt")
	if [ "$total" -gt "$NUMBERS_SEEN" ]; then
		tail -n +$(( NUMBERS_SEEN + 1 )) "$RUN/sent-numbers.txt" |
			head -n $(( total - NUMBERS_SEEN )) | sort -u > "$numbers.new"
		mv "$numbers.new" "$numbers"
		NUMBERS_SEEN=$total
	fi                      # else the numbers of the last pool again
	[ -s "$numbers" ] || die "the fake provider was asked to text no number at all"
	timeout 120 nice -n 5 "$TOOLS/sign_webhooks" --url "$GW_URL/webhooks/twilio" \
		--token "$TWILIO_TOKEN" --account-sid "$TWILIO_SID" --to "$TWILIO_FROM" \
		--numbers "$numbers" --count "$2" -o "$1" 2> "$RUN/sign.err" &
	SIGN_PID=$!
	BG_PIDS+=("$SIGN_PID")
}

sign_wait() {
	wait "$SIGN_PID" || die "sign_webhooks failed with status $? (see $RUN/sign.err)"
	forget_pid "$SIGN_PID"
}

# pool_size FROM: three windows' worth of the replies the gateway took since sample FROM, within
# POOL_MIN..POOL_MAX.
pool_size() {
	local now

	now=$(curl -sf --max-time 10 "$GW_URL/metrics" | awk '
		$1 ~ /^gateway_replies_total[{]/ { s += $2 } END { print s + 0 }') || now=0
	awk -v n="$now" -v f="${S[${1}_replies]}" -v dt="$(calc "$(date +%s.%N) - ${S[${1}_t]}")" \
		-v w="$WINDOW" -v lo="$POOL_MIN" -v hi="$POOL_MAX" 'BEGIN {
		c = dt > 0 ? 3 * w * (n - f) / dt : hi
		if (c < lo) c = lo
		if (c > hi) c = hi
		printf "%d", c }'
}

# ---- set-up and seed --------------------------------------------------------------------------

start_fake_provider "$RUN/sent-numbers.txt"
write_gateway_config
start_gateway soak
log "gateway pid $GW_PID on $GW_URL, database $DB"

log "seed: ${SEED}s of triggers, so that the first window's replies have surveys to answer"
AFTER=0
start_triggers seed "$SEED"
wrk_wait trigger-seed "$T_PID"
AFTER=$(( $(field "$RUN/wrk/trigger-seed.txt" requests) + CONNS ))
seed_ok=$(field "$RUN/wrk/trigger-seed.txt" ok)
[ "${seed_ok:-0}" -gt 0 ] || die "seed: no trigger was accepted (see $RUN/wrk/trigger-seed.*)"
for _ in $(seq 120); do         # 0.25 s steps: at most 30 s
	[ "$(fake_stats | json_num accepted)" -ge "$seed_ok" ] && break
	sleep 0.25
done
declare -A POOL_OF=([1]=$POOL_MAX)     # each window's pool of replies
sign_pool "$RUN/pool-1.txt" "$POOL_MAX"
sign_wait

# ---- the soak ---------------------------------------------------------------------------------

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
emit "Survey gateway soak, $(date -u +%Y-%m-%dT%H:%M:%SZ): ${DUR}s, triggers at $CONNS" \
	"connections, replies at $REPLY_CONNS, one line per ${WINDOW}s"
emit "$(nproc) x $CPU, Linux $(uname -r), load average $(cut -d' ' -f1 /proc/loadavg) at start" \
	"(wrk on the same cores); database on $(df -P "$RUN" | awk 'NR == 2 { print $1 }')"
emit "$(table_row t_s trig trig/s repl/s sent/s backlog errs db_MiB wal_MiB shm_KiB rss_MiB fds \
	cpu_us/trig p50_ms p99_ms max_ms)"

sample start || die "the gateway cannot be read after the seed (see $RUN/gateway-soak.log)"
S[start_t]=$(date +%s.%N)      # the sample took a moment; nothing moved meanwhile
# window_len W: the last window takes what is left of SOAK_DURATION.
window_len() {
	local left=$(( DUR - ($1 - 1) * WINDOW ))

	echo $(( left < WINDOW ? left : WINDOW ))
}
start_triggers 1 "$(window_len 1)"
start_replies 1 "$(window_len 1)"
prev=start
elapsed=0
TRIG_OK=0
ERRS=0
POOL_SPENT=0
STOP=""
for (( w = 1; w <= WINDOWS; w++ )); do
	len=$(window_len "$w")
	next=$(( w + 1 ))
	# The next window's replies, from the numbers texted meanwhile, signed while this one runs.
	sleep $(( len / 2 ))
	if [ "$next" -le "$WINDOWS" ]; then
		POOL_OF[$next]=$(pool_size "$prev")
		sign_pool "$RUN/pool-$next.txt" "${POOL_OF[$next]}"
	fi
	wrk_wait "trigger-$w" "$T_PID"
	elapsed=$(( elapsed + len ))
	tf=$RUN/wrk/trigger-$w.txt
	AFTER=$(( AFTER + $(field "$tf" requests) + CONNS ))

	# The next triggers start at once, before the sample: a pause in the load, however short,
	# is a moment a checkpoint might use that production under steady load never gives it.
	free_kib=$(( $(stat -f -c '%a * %S' "$RUN") / 1024 ))
	if ! gateway_alive; then
		STOP="the gateway was gone at ${elapsed}s (see $RUN/gateway-soak.log)"
	elif [ "$free_kib" -lt $(( MIN_FREE_MIB * 1024 )) ]; then
		STOP="the disk under $RUN had $(( free_kib / 1024 )) MiB free after ${elapsed}s"
		STOP+=" (SOAK_MIN_FREE_MIB=$MIN_FREE_MIB)"
	fi
	[ -n "$STOP" ] || [ "$next" -gt "$WINDOWS" ] || start_triggers "$next" "$(window_len "$next")"
	sample "w$w" || STOP=${STOP:-"the gateway stopped answering after ${elapsed}s"}
	wrk_wait "reply-$w" "$R_PID"
	rm -f "$RUN/pool-$w.txt"
	if [ "$next" -le "$WINDOWS" ]; then
		sign_wait
		[ -n "$STOP" ] || start_replies "$next" "$(window_len "$next")"
	fi
	if [ -n "$STOP" ] && [ -z "${S[w${w}_backlog]:-}" ]; then
		break           # nothing to print for this window
	fi

	# trig/s over the time wrk ran; the gateway's own counters over the time between samples.
	trig=$(field "$tf" ok)
	trig_rate=$(awk -v n="$trig" -v s="$(field "$tf" elapsed_s)" \
		'BEGIN { print (s > 0 ? n / s : 0) }')
	errs=$(( $(wrk_errors "trigger-$w") + $(wrk_errors "reply-$w") ))
	TRIG_OK=$(( TRIG_OK + trig ))
	ERRS=$(( ERRS + errs ))
	# webhook.lua stops a thread whose share of the pool is spent: the window's rate is a floor.
	[ $(( $(field "$RUN/wrk/reply-$w.txt" ok) + REPLY_CONNS )) -lt "${POOL_OF[$w]}" ] ||
		POOL_SPENT=$(( POOL_SPENT + 1 ))
	cpu=-
	[ "$trig" -eq 0 ] || cpu=$(awk -v d="$(( ${S[w${w}_ticks]} - ${S[${prev}_ticks]} ))" \
		-v hz="$TICK" -v n="$trig" 'BEGIN { printf "%.0f", d * 1e6 / hz / n }')
	emit "$(table_row "$elapsed" "$trig" "$(f0 "$trig_rate")" \
		"$(f0 "$(per_s replies "$prev" "w$w")")" "$(f0 "$(per_s sent "$prev" "w$w")")" \
		"${S[w${w}_backlog]}" "$errs" "$(mib "${S[w${w}_db]}")" "$(mib "${S[w${w}_wal]}")" \
		"$(( ${S[w${w}_shm]} / 1024 ))" "$(kib_as_mib "${S[w${w}_rss_kib]}")" "${S[w${w}_fds]}" \
		"$cpu" "$(f1 "$(field "$tf" p50_ms)")" "$(f1 "$(field "$tf" p99_ms)")" \
		"$(f1 "$(field "$tf" max_ms)")")"
	prev=w$w
	[ -z "$STOP" ] || break
done
if [ "$prev" = start ]; then           # a finding all the same: the gateway did not last
	emit "note: $STOP, before the first window was measured"
	exit 0
fi
END=$prev
[ -z "$STOP" ] || NOTES+=("$STOP; the load stopped there")
rm -f "$RUN"/pool-*.txt

# ---- idle and summary -------------------------------------------------------------------------

# The load has stopped (a window cut short leaves its next runs behind: stop them too).  For
# IDLE seconds: how long the outbox takes to empty, and what the files do when it is quiet.
for p in "${BG_PIDS[@]}"; do
	stop_pid "$p"
done
BG_PIDS=()
drained=""
[ "${S[${END}_backlog]}" -gt 0 ] || drained=0
for (( i = 0; i < IDLE * 4; i++ )); do          # 0.25 s steps
	sleep 0.25
	[ -z "$drained" ] || continue
	sample_counters idle || break
	[ "${S[idle_backlog]}" -gt 0 ] ||
		drained=$(secs_since "${S[${END}_t]}")
done
if sample idle; then
	IDLE_OK=1
else
	IDLE_OK=""
	NOTES+=("the gateway could not be read ${IDLE}s after the load stopped")
fi

# Totals over the soak (the seed excluded), from the gateway's counters.
soak_s=$(calc "${S[${END}_t]} - ${S[start_t]}")
queued=$(( S[${END}_queued] - S[start_queued] ))
sent=$(( S[${END}_sent] - S[start_sent] ))
replies=$(( S[${END}_replies] - S[start_replies] ))
backlog=${S[${END}_backlog]}
# Keeping up: what waits when the load stops is what two seconds of triggers leave (or the
# dispatcher's window of 256 in flight), not a queue that grew all along.
keep_limit=$(awk -v q="$queued" -v s="$soak_s" \
	'BEGIN { l = 2 * q / s; printf "%d", l < 256 ? 256 : l }')
if [ "$backlog" -le "$keep_limit" ]; then kept_up=yes; else kept_up=no; fi

growth() { awk -v d="$(( ${S[${END}_$1]} - ${S[start_$1]} ))" -v s="$soak_s" \
	'BEGIN { printf "%.1f", d / 1048576 / s }'; }
rate() { awk -v n="$1" -v s="$soak_s" 'BEGIN { printf "%.0f", n / s }'; }
# col FORMAT NAME KEY: sample NAME's KEY as FORMAT (raw, mib, kib, kib_as_mib); "?" for an idle
# sample that could not be taken.
col() {
	if [ "$2" = idle ] && [ -z "$IDLE_OK" ]; then
		echo "?"
		return
	fi
	case $1 in
	raw) echo "${S[${2}_$3]}" ;;
	kib) echo $(( S[${2}_$3] / 1024 )) ;;
	*) "$1" "${S[${2}_$3]}" ;;
	esac
}
row() { emit "$(printf '%-16s %12s %12s %12s' "$1" "$(col "$2" start "$3")" \
	"$(col "$2" "$END" "$3")" "$(col "$2" idle "$3")")"; }
emit ""
emit "Summary: ${soak_s%.*}s of load; start = after the seed, end = when the load stopped," \
	"idle = ${IDLE}s later"
emit "$(printf '%-16s %12s %12s %12s' "" start end idle)"
row "database MiB" mib db
row "WAL MiB" mib wal
row "-shm KiB" kib shm
row "RSS MiB" kib_as_mib rss_kib
row "open fds" raw fds
row "outbox backlog" raw backlog
emit "under load the WAL grew $(growth wal) MiB/s, the database file $(growth db) MiB/s"
emit "triggers: $queued queued by the gateway ($(rate "$queued")/s); wrk counted $TRIG_OK" \
	"answers 202"
emit "sends: $sent accepted by the provider ($(rate "$sent")/s): surveys, re-prompts and" \
	"thank-yous alike"
emit "replies: $replies taken ($(rate "$replies")/s):$(
	for o in answer reprompt comment opt_out opt_in stored duplicate; do
		printf ' %s %s' "$o" $(( $(metric "$RUN/metrics/$END.txt" gateway_replies_total \
			"outcome=\"$o\"") - $(metric "$RUN/metrics/start.txt" gateway_replies_total \
			"outcome=\"$o\"") ))
	done)"
if [ -n "$drained" ]; then
	drain="drained ${drained}s after the load stopped"
elif [ -n "$IDLE_OK" ]; then
	drain="${S[idle_backlog]} still waiting ${IDLE}s after the load stopped"
else
	drain="what became of it is unknown"
fi
emit "sends kept up: $kept_up (backlog $backlog when the load stopped, limit $keep_limit; $drain)"
[ "$ERRS" -eq 0 ] || NOTES+=("$ERRS requests got an unexpected answer, a socket error or a" \
	"timeout (see $RUN/wrk/*.txt)")
[ "$POOL_SPENT" -eq 0 ] || NOTES+=("in $POOL_SPENT window(s) the pool of signed replies ran" \
	"out before the window's end: their replies/s is a floor")
for n in "${NOTES[@]}"; do emit "note: $n"; done

# How long the gateway takes to stop (closing the store checkpoints what the WAL holds) and
# what it leaves on disk.  One that does not stop cleanly is a finding, not a failure of the
# harness; one still running after 120 s is killed.
status=0
t0=$(date +%s.%N)
if kill -TERM "$GW_PID" 2>/dev/null; then
	for (( i = 0; i < 1200; i++ )); do     # 0.1 s steps
		gateway_alive || break
		sleep 0.1
	done
	if gateway_alive; then
		kill -KILL "$GW_PID" 2>/dev/null || :
		emit "note: the gateway did not stop within 120 s of SIGTERM and was killed"
	fi
	wait "$GW_PID" || status=$?
fi
GW_PID=""
emit "stop: the gateway took $(secs_since "$t0")s to stop and left a database of" \
	"$(mib "$(size_of "$DB")") MiB and a WAL of $(mib "$(size_of "$DB-wal")") MiB"
[ "$status" -eq 0 ] ||
	emit "note: the gateway exited with status $status when stopped (see $RUN/gateway-soak.log)"
emit "(raw output in $RUN; these lines in $SOAK_LOG)"
exit 0
