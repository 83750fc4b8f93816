#!/usr/bin/env bash
# bench/run.sh BUILD_DIR - the load tests behind `make bench` (docs/performance.md).
#
# Runs the gateway BUILD_DIR/gateway on loopback against bench/fake_provider (a fast fake of
# Twilio's Messages API) and drives it with wrk, one phase at a time, each in a gateway process
# of its own so that its peak RSS (VmHWM) is that phase's:
#
#   trigger64, trigger128  POST /v1/surveys for BENCH_DURATION s at 64, then 128 connections;
#                          every survey is due at one moment after both runs (delay_seconds);
#   dispatch               a new gateway finds all those surveys due and sends them, unpaced, to
#                          the fake, which times the first and the last send;
#   webhook                Twilio-signed replies from the numbers just surveyed (each with its own
#                          MessageSid) for BENCH_DURATION s at 64 connections, or until the
#                          pool of BENCH_WEBHOOK_POOL signed requests is spent;
#   repeat                 the first triggers of trigger64 sent again and again, as a helpdesk
#                          retrying does (each answered 200 with the survey it made);
#   lookup                 GET /v1/surveys/{id} over a thousand existing surveys;
#   mixed                  production's load: new triggers at 64 connections, each due at once,
#                          sent by the dispatcher to the fake while intake goes on; then the
#                          backlog is left to drain, and the CPU per message is counted from the
#                          first trigger to the last send;
#   export                 `gateway export` of BENCH_EXPORT_ROWS generated responses, under
#                          GNU time for the wall time and the peak RSS;
#   pg1_*, pg2_*           then, unless BENCH_PG=0, triggers, sends and replies with the store on
#                          a PostgreSQL cluster of the benchmark's own, one gateway instance and
#                          then two sharing a database (bench/pg.sh), with the CPU per request
#                          of the gateways and of PostgreSQL.
#
# Every phase also gives the gateway's CPU per request (user + system, all threads, from
# /proc/PID/stat) and, when perf is installed and BENCH_PERF is not 0, a profile of a slice of
# it in BUILD_DIR/bench-run/profile-PHASE.txt.
#
# Prints one table and writes bench/results.json.  Exit status: 0 when every phase ran (a
# figure may still miss its target; BENCH_STRICT=1 makes a miss fail too), 1 when the harness
# could not measure something.  The database lives under BUILD_DIR/bench-run, on the project's
# disk: the durable commit must really reach a disk, which a tmpfs /tmp would fake.
set -euo pipefail

B=${1:-build/bench}
HERE=$(cd "$(dirname "$0")" && pwd)
GW=$B/gateway
TOOLS=$B/bench
DUR=${BENCH_DURATION:-15}
POOL=${BENCH_WEBHOOK_POOL:-100000}
ROWS=${BENCH_EXPORT_ROWS:-1000000}
THREADS=${BENCH_WRK_THREADS:-2}
RESULTS=${BENCH_RESULTS:-$HERE/results.json}
RUN=$B/bench-run
CONF=$RUN/gateway.conf
LOG_TAG=bench
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
# shellcheck source=bench/pg.sh
. "$HERE/pg.sh"

require_built "$GW" "$TOOLS/fake_provider" "$TOOLS/sign_webhooks" "$TOOLS/verify_webhooks" \
	"$TOOLS/gen_responses"
command -v wrk >/dev/null || die "wrk is missing: run make bench (it installs it)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: run make bench (it installs it)"
command -v curl >/dev/null || die "curl is missing: run make deps"
[ "${BENCH_PG:-1}" = 0 ] || [ -n "$(find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null)" ] ||
	[ -n "${PG_BIN:-}" ] || die "PostgreSQL's server is missing: run make bench (it installs it), or BENCH_PG=0"

rm -rf "$RUN"
mkdir -p "$RUN"

# ---- helpers ----------------------------------------------------------------------------------

# run_wrk NAME CONNECTIONS SCRIPT ARGS...: wrk's output in $RUN/wrk-NAME.txt.
run_wrk() {
	local name=$1 conns=$2 script=$3 t0

	shift 3
	log "$name: wrk -t$THREADS -c$conns -d${DUR}s -s $(basename "$script")"
	t0=$(cpu_ticks "$GW_PID")
	profile_during "$name" "$DUR"
	wrk -t"$THREADS" -c"$conns" -d"${DUR}s" --timeout 10s --latency -s "$script" "$GW_URL" \
		-- "$@" > "$RUN/wrk-$name.txt" 2> "$RUN/wrk-$name.err" ||
		die "wrk failed (see $RUN/wrk-$name.err)"
	R[${name}_cpu_ticks]=$(( $(cpu_ticks "$GW_PID") - t0 ))
	wait_profiles
	grep -q '^bench ' "$RUN/wrk-$name.txt" || die "wrk printed no summary (see $RUN/wrk-$name.*)"
	local f=$RUN/wrk-$name.txt
	R[${name}_ok]=$(field "$f" ok)
	R[${name}_other]=$(field "$f" other)
	R[${name}_socket_errors]=$(field "$f" socket_errors)
	R[${name}_timeouts]=$(field "$f" timeouts)
	R[${name}_elapsed_s]=$(field "$f" elapsed_s)
	[ "${R[${name}_ok]:-0}" -gt 0 ] || die "$name: no expected answer at all (see $RUN/wrk-$name.*)"
	R[${name}_per_s]=$(calc "${R[${name}_ok]} / ${R[${name}_elapsed_s]}")
	R[${name}_p50_ms]=$(field "$f" p50_ms)
	R[${name}_p99_ms]=$(field "$f" p99_ms)
	# the gateway's CPU (all threads) per answer counted; what it spent on requests wrk left
	# unanswered at the end is charged to the others, so the figure errs high, never low
	R[${name}_cpu_us]=$(cpu_us_per "${R[${name}_cpu_ticks]}" "${R[${name}_ok]}")
	local bad=$(( R[${name}_other] + R[${name}_socket_errors] + R[${name}_timeouts] ))
	[ "$bad" -eq 0 ] || NOTES+=("$name: ${R[${name}_other]} unexpected answers," \
		"${R[${name}_socket_errors]} socket errors, ${R[${name}_timeouts]} timeouts" \
		"(see $RUN/wrk-$name.*)")
}

# ---- set-up -----------------------------------------------------------------------------------

log "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
R[loadavg_start]=$(cut -d' ' -f1 /proc/loadavg)

start_fake_provider "$RUN/sent-numbers.txt"
write_gateway_config

# ---- triggers ---------------------------------------------------------------------------------

# Every trigger asks to be sent at DUE, after both runs: no send competes with the API, and
# the dispatch phase finds them all due at once.
DUE=$(( $(now_s) + 2 * DUR + 30 ))
prefix=$(printf '%x' "$(now_s)")
digit=6
for conns in 64 128; do
	name=trigger$conns
	start_gateway "$name"
	run_wrk "$name" "$conns" "$HERE/trigger.lua" "$prefix-$conns" "$digit" "$API_KEY" "$DUE"
	stop_gateway "$name"
	# wrk stops with up to one request per connection unanswered, which the gateway may
	# still have committed; fewer surveys than 202s would be a lost acknowledgement.
	queued=$(metric "$RUN/metrics-$name.txt" gateway_surveys_triggered_total 'outcome="queued"')
	R[${name}_queued]=$queued
	[ "$queued" -ge "${R[${name}_ok]}" ] && [ "$queued" -le $(( R[${name}_ok] + conns )) ] ||
		NOTES+=("$name: wrk counted ${R[${name}_ok]} answers 202, the gateway $queued surveys queued")
	digit=7
done
[ "$(now_s)" -lt "$DUE" ] ||
	NOTES+=("dispatch: the trigger runs overran; some surveys may have been sent early")
TRIGGERED=$(( R[trigger64_queued] + R[trigger128_queued] ))

# ---- export data (made while the triggered surveys wait to be due) ------------------------------

EXPORT_DB=$RUN/export.db
log "export: generating $ROWS responses"
t0=$(date +%s.%N)
GATEWAY_STORE_PATH=$EXPORT_DB "$GW" export -c "$CONF" -o /dev/null ||
	die "gateway export could not create $EXPORT_DB"
"$TOOLS/gen_responses" "$EXPORT_DB" "$ROWS" || die "gen_responses failed"
R[export_generate_s]=$(calc "$(date +%s.%N) - $t0")

# ---- dispatch ---------------------------------------------------------------------------------

curl -sf -X POST -o /dev/null "$FAKE_URL/reset" || die "the fake provider does not answer"
start_gateway dispatch
wait_s=$(( DUE - $(now_s) ))
[ "$wait_s" -le 0 ] || { log "dispatch: $TRIGGERED surveys due in ${wait_s}s"; sleep "$wait_s"; }
log "dispatch: waiting for $TRIGGERED sends"
t0=$(cpu_ticks "$GW_PID")
wait_sends "$TRIGGERED" 90 10   # at most 90 s, then the rate of what was sent
stats=$(fake_stats)
R[dispatch_cpu_ticks]=$(( $(cpu_ticks "$GW_PID") - t0 ))
stop_gateway dispatch
R[dispatch_sent]=$(echo "$stats" | json_num accepted)
first_ns=$(echo "$stats" | json_num first_ns)
last_ns=$(echo "$stats" | json_num last_ns)
R[dispatch_elapsed_s]=$(calc "($last_ns - $first_ns) / 1e9")
if [ "${R[dispatch_sent]}" -ge 2 ] && [ "$last_ns" -gt "$first_ns" ]; then
	R[dispatch_per_s]=$(calc "(${R[dispatch_sent]} - 1) / ${R[dispatch_elapsed_s]}")
	R[dispatch_cpu_us]=$(cpu_us_per "${R[dispatch_cpu_ticks]}" "${R[dispatch_sent]}")
else
	die "dispatch: the fake provider saw ${R[dispatch_sent]} sends"
fi
[ "${R[dispatch_sent]}" -eq "$TRIGGERED" ] ||
	NOTES+=("dispatch: ${R[dispatch_sent]} of $TRIGGERED surveys reached the fake provider")

# ---- webhooks ---------------------------------------------------------------------------------

sort -u "$RUN/sent-numbers.txt" > "$RUN/numbers.txt"
R[webhook_numbers]=$(wc -l < "$RUN/numbers.txt")
log "webhook: signing $POOL replies from ${R[webhook_numbers]} surveyed numbers"
"$TOOLS/sign_webhooks" --url "$GW_URL/webhooks/twilio" --token "$TWILIO_TOKEN" \
	--account-sid "$TWILIO_SID" --to "$TWILIO_FROM" --numbers "$RUN/numbers.txt" \
	--count "$POOL" -o "$RUN/webhooks.txt" || die "sign_webhooks failed"
# The signature checks alone, on one core: what each webhook costs before any other work.
"$TOOLS/verify_webhooks" --url "$GW_URL/webhooks/twilio" --token "$TWILIO_TOKEN" \
	"$RUN/webhooks.txt" > "$RUN/verify.txt" || die "verify_webhooks failed (see $RUN/verify.txt)"
for k in twilio_us meta_us sha256_us body_bytes; do
	R[verify_$k]=$(field "$RUN/verify.txt" "$k")
done
curl -sf -X POST -o /dev/null "$FAKE_URL/reset" || die "the fake provider does not answer"
start_gateway webhook
run_wrk webhook 64 "$HERE/webhook.lua" "$RUN/webhooks.txt" "$THREADS"
stop_gateway webhook
R[webhook_thanks_sent]=$(fake_stats | json_num accepted)
[ "${R[webhook_ok]}" -lt "$POOL" ] || NOTES+=("webhook: the pool of $POOL signed replies ran out" \
	"before ${DUR}s; the rate is over the time it lasted")
for o in answer reprompt comment stored duplicate; do
	R[webhook_outcome_$o]=$(metric "$RUN/metrics-webhook.txt" gateway_replies_total "outcome=\"$o\"")
done
[ "${R[webhook_outcome_duplicate]}" -le "$THREADS" ] ||
	NOTES+=("webhook: ${R[webhook_outcome_duplicate]} replies were duplicates")

# ---- repeated triggers and lookups ------------------------------------------------------------

# The first WRAP triggers of each wrk thread of trigger64 (half of what the slowest could have
# sent, so every one exists) again and again.
start_gateway repeat
wrap=$(( R[trigger64_ok] / THREADS / 2 ))
[ "$wrap" -ge 1 ] || die "repeat: trigger64 made too few surveys"
run_wrk repeat 64 "$HERE/trigger.lua" "$prefix-64" 6 "$API_KEY" "$DUE" 0 "$wrap"
stop_gateway repeat
R[repeat_distinct]=$(( wrap * THREADS ))

start_gateway lookup
curl -sf -H "Authorization: Bearer $API_KEY" "$GW_URL/v1/surveys?status=sent&limit=1000" |
	grep -o '"id":"[0-9a-f]\{24\}"' | cut -d'"' -f4 > "$RUN/survey-ids.txt" || :
R[lookup_ids]=$(wc -l < "$RUN/survey-ids.txt")
[ "${R[lookup_ids]}" -gt 0 ] || die "lookup: GET /v1/surveys listed no sent survey"
run_wrk lookup 64 "$HERE/lookup.lua" "$RUN/survey-ids.txt" "$API_KEY"
stop_gateway lookup

# ---- mixed load -------------------------------------------------------------------------------

# New surveys due at once: the dispatcher sends while intake goes on, as in production.  Then
# the backlog drains (at most 60 s); the CPU per message runs from the first trigger to the
# moment the fake provider has them all.
curl -sf -X POST -o /dev/null "$FAKE_URL/reset" || die "the fake provider does not answer"
start_gateway mixed
t0=$(cpu_ticks "$GW_PID")
run_wrk mixed 64 "$HERE/trigger.lua" "$prefix-mixed" 8 "$API_KEY" 0
R[mixed_sent_during]=$(fake_stats | json_num accepted)
R[mixed_delivered_per_s]=$(calc "${R[mixed_sent_during]} / ${R[mixed_elapsed_s]}")
wait_sends "${R[mixed_ok]}" 60 5
R[mixed_sent]=$(fake_stats | json_num accepted)
R[mixed_cpu_us]=$(cpu_us_per "$(( $(cpu_ticks "$GW_PID") - t0 ))" "${R[mixed_sent]}")
stop_gateway mixed
[ "${R[mixed_sent]}" -ge "${R[mixed_ok]}" ] ||
	NOTES+=("mixed: ${R[mixed_sent]} sends for ${R[mixed_ok]} triggers answered 202")

# ---- export -----------------------------------------------------------------------------------

log "export: gateway export of $ROWS responses"
sync
( export GATEWAY_STORE_PATH=$EXPORT_DB
  /usr/bin/time -v -o "$RUN/export.time" "$GW" export -c "$CONF" ) | wc -l > "$RUN/export.lines" ||
	die "gateway export failed (see $RUN/export.time)"
R[export_rows]=$(( $(cat "$RUN/export.lines") - 1 ))
wall=$(sed -n 's/.*Elapsed (wall clock) time.*: //p' "$RUN/export.time")
R[export_s]=$(echo "$wall" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }')
R[export_rss_mib]=$(awk '/Maximum resident set size/ { printf "%.1f", $NF / 1024 }' "$RUN/export.time")
[ "${R[export_rows]}" -eq "$ROWS" ] ||
	NOTES+=("export: wrote ${R[export_rows]} rows, expected $ROWS")
rm -f "$EXPORT_DB" "$EXPORT_DB-wal" "$EXPORT_DB-shm"     # half a gigabyte, made anew each run

# ---- PostgreSQL -------------------------------------------------------------------------------

BENCH_PG=${BENCH_PG:-1}
[ "$BENCH_PG" = 0 ] || pg_bench

# ---- table and results.json -------------------------------------------------------------------

CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
NPROC=$(nproc)
KERNEL=$(uname -r)
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
R[loadavg_end]=$(cut -d' ' -f1 /proc/loadavg)

# verdict VALUE OP TARGET [ERRORS]: PASS or MISS (a figure measured with errors cannot pass).
verdict() {
	local ok
	ok=$(awk -v v="$1" -v t="$3" -v op="$2" \
		'BEGIN { print (op == ">=" ? v >= t : v <= t) ? 1 : 0 }')
	if [ "$ok" = 1 ] && [ "${4:-0}" -eq 0 ]; then
		echo PASS
	else
		echo MISS
	fi
}
errs() { echo $(( R[${1}_other] + R[${1}_socket_errors] + R[${1}_timeouts] )); }

rows=()
row() { rows+=("$(printf '%-44s %14s  %-10s %s' "$1" "$2" "$3" "$4")"); }
int() { printf '%.0f' "$1"; }
ms() { printf '%.1f' "$1"; }
# the mixed load first: it is the one production has
v=$(verdict "${R[mixed_per_s]}" ">=" 12000 "$(errs mixed)")
row "mixed: triggers/s, 64 conn., sent at once" "$(int "${R[mixed_per_s]}")" ">= 12000" "$v"
v=$(verdict "${R[mixed_delivered_per_s]}" ">=" "$(calc "0.95 * ${R[mixed_per_s]}")")
row "  messages delivered/s meanwhile" "$(int "${R[mixed_delivered_per_s]}")" ">= accepted" "$v"
v=$(verdict "${R[mixed_p99_ms]}" "<=" 20 "$(errs mixed)")
row "  latency p50 / p99 (ms)" "$(ms "${R[mixed_p50_ms]}") / $(ms "${R[mixed_p99_ms]}")" "p99 <= 20" "$v"
v=$(verdict "${R[mixed_cpu_us]}" "<=" 100)
row "  gateway CPU (us) per message, end to end" "$(int "${R[mixed_cpu_us]}")" "<= 100" "$v"
v=$(verdict "${R[trigger64_per_s]}" ">=" 20000 "$(errs trigger64)")
row "triggers/s alone, 64 connections" "$(int "${R[trigger64_per_s]}")" ">= 20000" "$v"
v=$(verdict "${R[trigger64_p99_ms]}" "<=" 10 "$(errs trigger64)")
row "  latency p50 / p99 (ms)" "$(ms "${R[trigger64_p50_ms]}") / $(ms "${R[trigger64_p99_ms]}")" "p99 <= 10" "$v"
row "triggers/s alone, 128 connections" "$(int "${R[trigger128_per_s]}")" "-" ""
row "  latency p50 / p99 (ms)" "$(ms "${R[trigger128_p50_ms]}") / $(ms "${R[trigger128_p99_ms]}")" "-" ""
v=$(verdict "${R[webhook_per_s]}" ">=" 15000 "$(errs webhook)")
row "webhook replies/s, 64 connections" "$(int "${R[webhook_per_s]}")" ">= 15000" "$v"
row "  latency p50 / p99 (ms)" "$(ms "${R[webhook_p50_ms]}") / $(ms "${R[webhook_p99_ms]}")" "-" ""
row "  signature check alone (us): Twilio / Meta" "${R[verify_twilio_us]} / ${R[verify_meta_us]}" "-" ""
v=$(verdict "${R[dispatch_per_s]}" ">=" 10000)
row "sends/s to the fake provider, unpaced" "$(int "${R[dispatch_per_s]}")" ">= 10000" "$v"
row "repeated triggers/s (200), 64 connections" "$(int "${R[repeat_per_s]}")" "-" ""
row "  latency p50 / p99 (ms)" "$(ms "${R[repeat_p50_ms]}") / $(ms "${R[repeat_p99_ms]}")" "-" ""
row "GET /v1/surveys/{id}/s, 64 connections" "$(int "${R[lookup_per_s]}")" "-" ""
row "  latency p50 / p99 (ms)" "$(ms "${R[lookup_p50_ms]}") / $(ms "${R[lookup_p99_ms]}")" "-" ""
# gateway CPU per request, every thread, from /proc
cpu_row() {
	local v
	v=$(verdict "${R[${1}_cpu_us]}" "<=" "$3" "$(errs "$1")")
	row "gateway CPU (us) per $2" "$(int "${R[${1}_cpu_us]}")" "<= $3" "$v"
}
cpu_row trigger64 "new trigger" 50
row "  per new trigger, 128 connections" "$(int "${R[trigger128_cpu_us]}")" "-" ""
cpu_row webhook "webhook reply" 60
v=$(verdict "${R[dispatch_cpu_us]}" "<=" 40)
row "gateway CPU (us) per send" "$(int "${R[dispatch_cpu_us]}")" "<= 40" "$v"
cpu_row repeat "repeated trigger" 30
cpu_row lookup "GET survey" 30
for p in trigger64 trigger128 webhook dispatch repeat lookup mixed; do
	v=$(verdict "${R[${p}_rss_mib]}" "<=" 64)
	row "peak RSS (MiB), $p" "${R[${p}_rss_mib]}" "<= 64" "$v"
done
v=$(verdict "${R[export_s]}" "<=" 3)
row "export of $ROWS rows (s)" "${R[export_s]}" "<= 3" "$v"
v=$(verdict "${R[export_rss_mib]}" "<=" 64)
row "  peak RSS (MiB)" "${R[export_rss_mib]}" "<= 64" "$v"
MISSES=$(printf '%s\n' "${rows[@]}" | grep -c ' MISS$' || true)

echo
echo "Survey gateway benchmark, $DATE"
echo "$NPROC x $CPU, Linux $KERNEL, load average ${R[loadavg_start]} at start (wrk on the same cores)"
printf '%-44s %14s  %-10s %s\n' "figure" "measured" "target" "result"
printf '%s\n' "${rows[@]}"
[ "$BENCH_PG" = 0 ] || pg_table
for n in "${NOTES[@]}"; do echo "note: $n"; done
echo "($MISSES target(s) missed; raw output in $RUN; results in $RESULTS)"

{
	printf '{\n  "date": "%s",\n' "$DATE"
	printf '  "machine": {"nproc": %s, "cpu": "%s", "kernel": "%s", "loadavg_start": %s, "loadavg_end": %s},\n' \
		"$NPROC" "${CPU//\"/}" "$KERNEL" "${R[loadavg_start]}" "${R[loadavg_end]}"
	printf '  "settings": {"duration_s": %s, "wrk_threads": %s, "webhook_pool": %s, "export_rows": %s},\n' \
		"$DUR" "$THREADS" "$POOL" "$ROWS"
	for p in trigger64 trigger128 webhook repeat lookup mixed; do
		printf '  "%s": {"per_s": %s, "ok": %s, "elapsed_s": %s, "p50_ms": %s, "p99_ms": %s, "unexpected": %s, "socket_errors": %s, "timeouts": %s, "rss_mib": %s, "cpu_us": %s},\n' \
			"$p" "${R[${p}_per_s]}" "${R[${p}_ok]}" "${R[${p}_elapsed_s]}" \
			"${R[${p}_p50_ms]}" "${R[${p}_p99_ms]}" "${R[${p}_other]}" \
			"${R[${p}_socket_errors]}" "${R[${p}_timeouts]}" "${R[${p}_rss_mib]}" \
			"${R[${p}_cpu_us]}"
	done
	printf '  "webhook_detail": {"numbers": %s, "thanks_sent": %s, "answer": %s, "reprompt": %s, "stored": %s, "duplicate": %s},\n' \
		"${R[webhook_numbers]}" "${R[webhook_thanks_sent]}" "${R[webhook_outcome_answer]}" \
		"${R[webhook_outcome_reprompt]}" "${R[webhook_outcome_stored]}" \
		"${R[webhook_outcome_duplicate]}"
	printf '  "mixed_detail": {"delivered_per_s": %s, "sent_during": %s, "sent": %s},\n' \
		"${R[mixed_delivered_per_s]}" "${R[mixed_sent_during]}" "${R[mixed_sent]}"
	printf '  "verify": {"body_bytes": %s, "twilio_us": %s, "meta_us": %s, "sha256_us": %s},\n' \
		"${R[verify_body_bytes]}" "${R[verify_twilio_us]}" "${R[verify_meta_us]}" \
		"${R[verify_sha256_us]}"
	printf '  "dispatch": {"per_s": %s, "sent": %s, "triggered": %s, "elapsed_s": %s, "rss_mib": %s, "cpu_us": %s},\n' \
		"${R[dispatch_per_s]}" "${R[dispatch_sent]}" "$TRIGGERED" "${R[dispatch_elapsed_s]}" \
		"${R[dispatch_rss_mib]}" "${R[dispatch_cpu_us]}"
	printf '  "export": {"rows": %s, "seconds": %s, "rss_mib": %s, "generate_s": %s},\n' \
		"${R[export_rows]}" "${R[export_s]}" "${R[export_rss_mib]}" "${R[export_generate_s]}"
	if [ "$BENCH_PG" = 0 ]; then printf '  "postgres": null,\n'; else pg_json; fi
	printf '  "targets": {"mixed_per_s": 12000, "mixed_p99_ms": 20, "mixed_cpu_us": 100, "trigger64_per_s": 20000, "trigger64_p99_ms": 10, "webhook_per_s": 15000, "dispatch_per_s": 10000, "trigger64_cpu_us": 50, "webhook_cpu_us": 60, "dispatch_cpu_us": 40, "repeat_cpu_us": 30, "lookup_cpu_us": 30, "rss_mib": 64, "export_s": 3},\n'
	printf '  "missed": %s,\n  "notes": [' "$MISSES"
	sep=""
	for n in "${NOTES[@]}"; do printf '%s\n    "%s"' "$sep" "${n//\"/\'}"; sep=","; done
	printf '\n  ]\n}\n'
} > "$RESULTS"

if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$MISSES" -gt 0 ]; then
	exit 1
fi
exit 0
