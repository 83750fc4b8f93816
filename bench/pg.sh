# shellcheck shell=bash disable=SC2034,SC2153
# bench/pg.sh - the PostgreSQL phases of `make bench`: the gateway with `[store] backend =
# postgres`, one instance and then two sharing one database, on a PostgreSQL cluster of the
# benchmark's own.  Sourced by bench/run.sh after its SQLite phases (BENCH_PG=0: not at all).
#
# The cluster (tools/pg-cluster.sh, PG_CLUSTER_FSYNC=on: fsync and full-page writes on, as a
# production server runs) keeps its data in $RUN/pg, on the project's disk like the SQLite
# database: a commit must really reach a disk, which a tmpfs /tmp would fake.  It is stopped at
# exit, its server.log kept.  For N in 1 and 2 instances, on a fresh database each:
#
#   pgN_trigger  N gateways, wrk at 64 connections in all (64/N at each instance, a wrk process
#                per instance) for BENCH_DURATION s of bench/trigger.lua; every survey is due at
#                one moment after the run;
#   pgN_send     N new gateways find all those surveys due at once and send them, unpaced, to
#                bench/fake_provider (first to last send, as the SQLite dispatch phase);
#   pgN_reply    N new gateways take Twilio-signed replies from the numbers just sent to (the
#                SQLite webhook phase's pool, signed anew), 64 connections in all.
#
# Rates of two instances are the sum of each wrk's; latencies the worse of the two.  CPU per
# request is counted twice: the gateways' (every instance, every thread: /proc/PID/stat) and
# PostgreSQL's (the postmaster and all its children, the backends, walwriter, checkpointer and
# autovacuum; a child that exits meanwhile is counted in the postmaster's cutime/cstime once
# reaped).  Sets R[pgN_PHASE_*]; adds to NOTES.

PG_TOOL=$HERE/../tools/pg-cluster.sh
PG_DIR=$RUN/pg
PG_ON=0                 # 1 while the cluster runs
PG_GW_PIDS=()           # the gateways on PostgreSQL now running
PG_WRK_PIDS=()          # their load generators now running
PG_PORTS=()             # instance i listens on 127.0.0.1:PG_PORTS[i]

# The PostgreSQL phases' clean-up, then lib.sh's: load generators, gateways, the cluster.
pg_cleanup() {
	local p

	for p in "${PG_WRK_PIDS[@]}" "${PG_GW_PIDS[@]}"; do
		stop_pid "$p"
	done
	if [ "$PG_ON" = 1 ]; then
		bash "$PG_TOOL" halt "$PG_DIR" > /dev/null 2>&1 || :
		rm -rf "$PG_DIR/data"
	fi
	cleanup
}
trap pg_cleanup EXIT

# fmax A B: the larger number.
fmax() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (a + 0 > b + 0 ? a : b) }'; }

# pg_url DB: the libpq URL of database DB of the cluster.
pg_url() { printf 'postgresql:///%s?host=%s&user=gateway' "$1" "$PG_DIR_ABS"; }

# pg_ticks: CPU ticks (user + system) the cluster has used so far: the postmaster, its reaped
# children (cutime, cstime) and its children now running.
pg_ticks() {
	local pm c

	pm=$(head -1 "$PG_DIR/data/postmaster.pid")
	{
		sed 's/.*) //' "/proc/$pm/stat" | awk '{ print $12 + $13 + $14 + $15 }'
		for c in $(pgrep -P "$pm"); do
			cpu_ticks "$c" 2>/dev/null || :
		done
	} | awk '{ s += $1 } END { print s + 0 }'
}

# gw_ticks: CPU ticks the running gateways on PostgreSQL have used so far, summed.
gw_ticks() {
	local p s=0

	for p in "${PG_GW_PIDS[@]}"; do
		s=$(( s + $(cpu_ticks "$p") ))
	done
	echo "$s"
}

# pg_start_gateways NAME N DB: N gateways on database DB, instance i on PG_PORTS[i], each
# logging to $RUN/gateway-NAME-i.log.  All have the public URL of instance 0, as instances behind
# one load balancer do: a provider signs its webhooks for the URL it was given.
pg_start_gateways() {
	local name=$1 n=$2 url i

	url=$(pg_url "$3")
	PG_GW_PIDS=()
	for (( i = 0; i < n; i++ )); do
		GATEWAY_STORE_BACKEND=postgres GATEWAY_STORE_URL=$url \
			GATEWAY_SERVER_LISTEN=127.0.0.1:${PG_PORTS[i]} \
			GATEWAY_SERVER_PUBLIC_URL=$PG_PUBLIC_URL \
			GATEWAY_PROVIDER_TWILIO_AUTH_TOKEN=$TWILIO_TOKEN \
			"$GW" serve -c "$CONF" > "$RUN/gateway-$name-$i.log" 2>&1 &
		PG_GW_PIDS+=($!)
	done
	for (( i = 0; i < n; i++ )); do
		wait_http "http://127.0.0.1:${PG_PORTS[i]}/healthz" ||
			die "the gateway did not start on PostgreSQL (see $RUN/gateway-$name-$i.log)"
	done
}

# pg_stop_gateways NAME: stops them one by one as lib.sh's stop_gateway does (each one's
# /metrics in $RUN/metrics-NAME-i.txt, its peak RSS in R[NAME-i_rss_mib], a clean exit).
pg_stop_gateways() {
	local name=$1 i

	for i in "${!PG_GW_PIDS[@]}"; do
		GW_PID=${PG_GW_PIDS[i]} GW_URL=http://127.0.0.1:${PG_PORTS[i]}
		stop_gateway "$name-$i"
	done
	PG_GW_PIDS=()
	GW_URL=""
}

# pg_metric NAME METRIC MATCH: metric() summed over the instances' scrapes of phase NAME.
pg_metric() {
	local f s=0

	for f in "$RUN/metrics-$1"-*.txt; do
		s=$(( s + $(metric "$f" "$2" "$3") ))
	done
	echo "$s"
}

# pg_run_wrk NAME CONNECTIONS SCRIPT ARGS_FN: one wrk per running gateway, CONNECTIONS and
# THREADS shared among them, for DUR s; ARGS_FN I sets WRK_ARGS, the script's arguments for
# instance I.  Each wrk's output in $RUN/wrk-NAME-I.txt.  Sets R[NAME_*] as run.sh's run_wrk
# does (rates summed, latencies the worse), with the CPU per answer of the gateways
# (NAME_cpu_us) and of PostgreSQL (NAME_pg_cpu_us).
pg_run_wrk() {
	local name=$1 conns=$2 script=$3 args_fn=$4 n=${#PG_GW_PIDS[@]} i f g0 p0 k
	local threads=$(( THREADS / ${#PG_GW_PIDS[@]} ))

	[ "$threads" -ge 1 ] || threads=1
	log "$name: $n x wrk -t$threads -c$(( conns / n )) -d${DUR}s -s $(basename "$script")"
	g0=$(gw_ticks)
	p0=$(pg_ticks)
	PG_WRK_PIDS=()
	for (( i = 0; i < n; i++ )); do
		"$args_fn" "$i"
		wrk -t"$threads" -c$(( conns / n )) -d"${DUR}s" --timeout 10s --latency -s "$script" \
			"http://127.0.0.1:${PG_PORTS[i]}" -- "${WRK_ARGS[@]}" \
			> "$RUN/wrk-$name-$i.txt" 2> "$RUN/wrk-$name-$i.err" &
		PG_WRK_PIDS+=($!)
	done
	for i in "${!PG_WRK_PIDS[@]}"; do
		wait "${PG_WRK_PIDS[i]}" || die "wrk failed (see $RUN/wrk-$name-$i.err)"
	done
	PG_WRK_PIDS=()
	R[${name}_cpu_ticks]=$(( $(gw_ticks) - g0 ))
	R[${name}_pg_cpu_ticks]=$(( $(pg_ticks) - p0 ))
	for k in ok other socket_errors timeouts per_s elapsed_s p50_ms p99_ms; do
		R[${name}_$k]=0
	done
	for (( i = 0; i < n; i++ )); do
		f=$RUN/wrk-$name-$i.txt
		grep -q '^bench ' "$f" || die "wrk printed no summary (see $RUN/wrk-$name-$i.*)"
		for k in ok other socket_errors timeouts; do
			R[${name}_$k]=$(( R[${name}_$k] + $(field "$f" "$k") ))
		done
		[ "$(field "$f" ok)" -gt 0 ] ||
			die "$name: instance $i gave no expected answer at all (see $RUN/wrk-$name-$i.*)"
		R[${name}_per_s]=$(calc "${R[${name}_per_s]} + $(field "$f" ok) / $(field "$f" elapsed_s)")
		for k in elapsed_s p50_ms p99_ms; do
			R[${name}_$k]=$(fmax "$(field "$f" "$k")" "${R[${name}_$k]}")
		done
	done
	R[${name}_cpu_us]=$(cpu_us_per "${R[${name}_cpu_ticks]}" "${R[${name}_ok]}")
	R[${name}_pg_cpu_us]=$(cpu_us_per "${R[${name}_pg_cpu_ticks]}" "${R[${name}_ok]}")
	local bad=$(( R[${name}_other] + R[${name}_socket_errors] + R[${name}_timeouts] ))
	[ "$bad" -eq 0 ] || NOTES+=("$name: ${R[${name}_other]} unexpected answers," \
		"${R[${name}_socket_errors]} socket errors, ${R[${name}_timeouts]} timeouts" \
		"(see $RUN/wrk-$name-*)")
}

# Instance I's bench/trigger.lua arguments: a prefix and a phone digit of its own, so the two
# instances' surveys are all new and their numbers all different.
pg_trigger_args() {
	WRK_ARGS=("pg$PG_N-$PG_PREFIX-$1" $(( 6 + $1 )) "$API_KEY" "$PG_DUE")
}

# Instance I's share of the signed replies, sent by its wrk's threads.
pg_reply_args() {
	local threads=$(( THREADS / ${#PG_GW_PIDS[@]} ))

	[ "$threads" -ge 1 ] || threads=1
	WRK_ARGS=("$RUN/pg$PG_N-webhooks-$1.txt" "$threads")
}

# pg_phases N: the three phases with N instances on a database of their own.
pg_phases() {
	local n=$1 db=bench_pg$1 p=pg$1 i o sent_before stats first_ns last_ns wait_s queued g0 p0

	PG_N=$n
	"$PG_BIN_DIR/createdb" -h "$PG_DIR_ABS" -U gateway "$db" || die "createdb $db failed"

	# triggers, each due at PG_DUE, after the run and the send phase's start
	pg_start_gateways "${p}_trigger" "$n" "$db"
	PG_DUE=$(( $(now_s) + DUR + 30 ))
	pg_run_wrk "${p}_trigger" 64 "$HERE/trigger.lua" pg_trigger_args
	pg_stop_gateways "${p}_trigger"
	queued=$(pg_metric "${p}_trigger" gateway_surveys_triggered_total 'outcome="queued"')
	R[${p}_trigger_queued]=$queued
	[ "$queued" -ge "${R[${p}_trigger_ok]}" ] && [ "$queued" -le $(( R[${p}_trigger_ok] + 64 )) ] ||
		NOTES+=("${p}_trigger: wrk counted ${R[${p}_trigger_ok]} answers 202, the gateways $queued surveys queued")

	# sends: every survey due at once, N fresh instances sharing the outbox
	curl -sf -X POST -o /dev/null "$FAKE_URL/reset" || die "the fake provider does not answer"
	sent_before=$(wc -l < "$RUN/sent-numbers.txt")
	pg_start_gateways "${p}_send" "$n" "$db"
	wait_s=$(( PG_DUE - $(now_s) ))
	if [ "$wait_s" -gt 0 ]; then
		log "${p}_send: $queued surveys due in ${wait_s}s"
		sleep "$wait_s"
	else
		NOTES+=("${p}_send: the trigger run overran; some surveys may have been sent early")
	fi
	log "${p}_send: waiting for $queued sends by $n instance(s)"
	g0=$(gw_ticks)
	p0=$(pg_ticks)
	wait_sends "$queued" 120 10
	stats=$(fake_stats)
	R[${p}_send_cpu_ticks]=$(( $(gw_ticks) - g0 ))
	R[${p}_send_pg_cpu_ticks]=$(( $(pg_ticks) - p0 ))
	pg_stop_gateways "${p}_send"
	R[${p}_send_sent]=$(echo "$stats" | json_num accepted)
	first_ns=$(echo "$stats" | json_num first_ns)
	last_ns=$(echo "$stats" | json_num last_ns)
	if [ "${R[${p}_send_sent]}" -lt 2 ] || [ "$last_ns" -le "$first_ns" ]; then
		die "${p}_send: the fake provider saw ${R[${p}_send_sent]} sends"
	fi
	R[${p}_send_elapsed_s]=$(calc "($last_ns - $first_ns) / 1e9")
	R[${p}_send_per_s]=$(calc "(${R[${p}_send_sent]} - 1) / ${R[${p}_send_elapsed_s]}")
	R[${p}_send_cpu_us]=$(cpu_us_per "${R[${p}_send_cpu_ticks]}" "${R[${p}_send_sent]}")
	R[${p}_send_pg_cpu_us]=$(cpu_us_per "${R[${p}_send_pg_cpu_ticks]}" "${R[${p}_send_sent]}")
	[ "${R[${p}_send_sent]}" -eq "$queued" ] ||
		NOTES+=("${p}_send: ${R[${p}_send_sent]} of $queued surveys reached the fake provider")

	# replies from the numbers this phase sent to, each instance its share of the pool
	tail -n +$(( sent_before + 1 )) "$RUN/sent-numbers.txt" | sort -u > "$RUN/$p-numbers.txt"
	R[${p}_reply_numbers]=$(wc -l < "$RUN/$p-numbers.txt")
	log "${p}_reply: signing $POOL replies from ${R[${p}_reply_numbers]} surveyed numbers"
	"$TOOLS/sign_webhooks" --url "$PG_PUBLIC_URL/webhooks/twilio" --token "$TWILIO_TOKEN" \
		--account-sid "$TWILIO_SID" --to "$TWILIO_FROM" --numbers "$RUN/$p-numbers.txt" \
		--count "$POOL" -o "$RUN/$p-webhooks.txt" || die "sign_webhooks failed"
	for (( i = 0; i < n; i++ )); do
		awk -v n="$n" -v i="$i" 'NR % n == i' "$RUN/$p-webhooks.txt" > "$RUN/$p-webhooks-$i.txt"
	done
	curl -sf -X POST -o /dev/null "$FAKE_URL/reset" || die "the fake provider does not answer"
	pg_start_gateways "${p}_reply" "$n" "$db"
	pg_run_wrk "${p}_reply" 64 "$HERE/webhook.lua" pg_reply_args
	pg_stop_gateways "${p}_reply"
	[ "${R[${p}_reply_ok]}" -lt "$POOL" ] || NOTES+=("${p}_reply: the pool of $POOL signed" \
		"replies ran out before ${DUR}s; the rate is over the time it lasted")
	for o in answer reprompt comment stored duplicate; do
		R[${p}_reply_outcome_$o]=$(pg_metric "${p}_reply" gateway_replies_total "outcome=\"$o\"")
	done
	[ "${R[${p}_reply_outcome_duplicate]}" -le "$THREADS" ] ||
		NOTES+=("${p}_reply: ${R[${p}_reply_outcome_duplicate]} replies were duplicates")
	rm -f "$RUN/$p"-webhooks*.txt
}

# pg_bench: the cluster, both instance counts, the cluster stopped.
pg_bench() {
	local i

	log "postgres: starting a cluster in $PG_DIR (fsync on)"
	PG_CLUSTER_FSYNC=on bash "$PG_TOOL" start "$PG_DIR" > /dev/null ||
		die "tools/pg-cluster.sh could not start a cluster in $PG_DIR"
	PG_ON=1
	PG_DIR_ABS=$(cd "$PG_DIR" && pwd)
	PG_BIN_DIR=${PG_BIN:-$(find /usr/lib/postgresql -maxdepth 2 -name bin | sort -V | tail -1)}
	PG_VERSION=$("$PG_BIN_DIR/postgres" --version | awk '{ print $3 }')
	PG_PREFIX=$(printf '%x' "$(now_s)")
	PG_PORTS=("$GW_PORT")
	while [ "${#PG_PORTS[@]}" -lt 2 ]; do
		i=$("$TOOLS/fake_provider" --free-port)
		[ "$i" = "${PG_PORTS[0]}" ] || PG_PORTS+=("$i")
	done
	PG_PUBLIC_URL=http://127.0.0.1:${PG_PORTS[0]}
	pg_phases 1
	pg_phases 2
	bash "$PG_TOOL" halt "$PG_DIR" > /dev/null || NOTES+=("postgres: the cluster did not stop cleanly")
	PG_ON=0
	rm -rf "$PG_DIR/data"
}

# pg_rss NAME: the instances' peak RSS of phase NAME as a JSON array.
pg_rss() {
	local i sep="" out="["

	for (( i = 0; i < 2; i++ )); do
		[ -n "${R[$1-${i}_rss_mib]:-}" ] || continue
		out+="$sep${R[$1-${i}_rss_mib]}"
		sep=", "
	done
	echo "$out]"
}

# pg_table: the PostgreSQL figures beside SQLite's, for run.sh's table.
pg_table() {
	local f='%-44s %14s %14s %14s\n' k sq pg what

	lat() { printf '%.1f / %.1f' "${R[${1}_p50_ms]}" "${R[${1}_p99_ms]}"; }
	num() { printf '%.0f' "${R[$1]}"; }
	both() { printf '%.0f' "$(calc "${R[${1}_cpu_us]} + ${R[${1}_pg_cpu_us]}")"; }
	echo
	echo "The store on PostgreSQL $PG_VERSION (a local cluster, fsync on; a fresh database for" \
		"1 instance, another for 2), beside SQLite."
	echo "64 connections in all, split between the instances; 2 instances: rates summed," \
		"latencies the worse of the two."
	echo "The $NPROC cores are shared by the gateway(s), PostgreSQL and wrk: rates are the" \
		"machine's, the CPU per request is what to compare."
	# shellcheck disable=SC2059  # the format is ours
	{
		printf "$f" "figure" "SQLite" "PG, 1 inst." "PG, 2 inst."
		printf "$f" "triggers/s, 64 connections" "$(num trigger64_per_s)" \
			"$(num pg1_trigger_per_s)" "$(num pg2_trigger_per_s)"
		printf "$f" "  latency p50 / p99 (ms)" "$(lat trigger64)" "$(lat pg1_trigger)" \
			"$(lat pg2_trigger)"
		printf "$f" "replies/s, 64 connections" "$(num webhook_per_s)" \
			"$(num pg1_reply_per_s)" "$(num pg2_reply_per_s)"
		printf "$f" "  latency p50 / p99 (ms)" "$(lat webhook)" "$(lat pg1_reply)" \
			"$(lat pg2_reply)"
		printf "$f" "sends/s to the fake provider, unpaced" "$(num dispatch_per_s)" \
			"$(num pg1_send_per_s)" "$(num pg2_send_per_s)"
		for k in "trigger64 trigger new trigger" "webhook reply reply" "dispatch send send"; do
			read -r sq pg what <<< "$k"
			printf "$f" "CPU (us) per $what: gateway(s)" "$(num "${sq}_cpu_us")" \
				"$(num "pg1_${pg}_cpu_us")" "$(num "pg2_${pg}_cpu_us")"
			printf "$f" "  PostgreSQL" "-" "$(num "pg1_${pg}_pg_cpu_us")" \
				"$(num "pg2_${pg}_pg_cpu_us")"
			printf "$f" "  gateway(s) + PostgreSQL" "$(num "${sq}_cpu_us")" \
				"$(both "pg1_$pg")" "$(both "pg2_$pg")"
		done
	}
}

# pg_json: the "postgres" member of bench/results.json (with its trailing comma).
pg_json() {
	local n p k

	printf '  "postgres": {"version": "%s", "fsync": "on",\n' "$PG_VERSION"
	for n in 1 2; do
		p=pg$n
		printf '    "instances_%s": {\n' "$n"
		for k in trigger reply; do
			printf '      "%s": {"per_s": %s, "ok": %s, "elapsed_s": %s, "p50_ms": %s, "p99_ms": %s, "unexpected": %s, "socket_errors": %s, "timeouts": %s, "rss_mib": %s, "cpu_us": %s, "pg_cpu_us": %s},\n' \
				"$k" "${R[${p}_${k}_per_s]}" "${R[${p}_${k}_ok]}" "${R[${p}_${k}_elapsed_s]}" \
				"${R[${p}_${k}_p50_ms]}" "${R[${p}_${k}_p99_ms]}" "${R[${p}_${k}_other]}" \
				"${R[${p}_${k}_socket_errors]}" "${R[${p}_${k}_timeouts]}" \
				"$(pg_rss "${p}_$k")" "${R[${p}_${k}_cpu_us]}" "${R[${p}_${k}_pg_cpu_us]}"
		done
		printf '      "reply_detail": {"numbers": %s, "answer": %s, "reprompt": %s, "stored": %s, "duplicate": %s},\n' \
			"${R[${p}_reply_numbers]}" "${R[${p}_reply_outcome_answer]}" \
			"${R[${p}_reply_outcome_reprompt]}" "${R[${p}_reply_outcome_stored]}" \
			"${R[${p}_reply_outcome_duplicate]}"
		printf '      "send": {"per_s": %s, "sent": %s, "triggered": %s, "elapsed_s": %s, "rss_mib": %s, "cpu_us": %s, "pg_cpu_us": %s}\n' \
			"${R[${p}_send_per_s]}" "${R[${p}_send_sent]}" "${R[${p}_trigger_queued]}" \
			"${R[${p}_send_elapsed_s]}" "$(pg_rss "${p}_send")" "${R[${p}_send_cpu_us]}" \
			"${R[${p}_send_pg_cpu_us]}"
		[ "$n" = 2 ] && printf '    }\n' || printf '    },\n'
	done
	printf '  },\n'
}
