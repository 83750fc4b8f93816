#!/usr/bin/env bash
# tools/pg-cluster.sh start|restart|halt|stop|url DIR - a throwaway PostgreSQL cluster for the tests.
#
#   start DIR   initdb a cluster in DIR/data (unless there is one) and start it: no TCP, its
#               socket in DIR, fsync off (a test cluster only: nothing in it needs to survive
#               a power cut), a superuser `gateway` trusted on the socket; prints its URL.
#               PG_CLUSTER_FSYNC=on starts it with fsync and full-page writes on instead, as
#               a production server runs (`make bench`: a commit must really reach the disk,
#               so DIR must be on one, not on a tmpfs).
#   restart DIR stops it (fast shutdown: every session cut) and starts it again, data kept.
#   halt DIR    stops it (fast shutdown), data kept: `start DIR` starts it again.
#   stop DIR    stops it (fast shutdown) and removes DIR.
#   url DIR     prints the URL of the cluster in DIR: postgresql:///postgres?host=DIR&user=gateway
#
# PostgreSQL refuses to run as root, so under root (as CI runs) the cluster belongs to the
# `postgres` user that Debian's package creates and every command runs through runuser.
# Debian 12's server binaries live in /usr/lib/postgresql/15/bin (PG_BIN overrides).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
	echo "usage: $0 start|restart|halt|stop|url DIR" >&2
	exit 2
}
case ${PG_CLUSTER_FSYNC:-off} in
on) durability="-c fsync=on -c full_page_writes=on" ;;
off) durability="-c fsync=off -c full_page_writes=off" ;;
*)
	echo "pg-cluster: PG_CLUSTER_FSYNC must be on or off" >&2
	exit 2
	;;
esac
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
[ -x "$PG_BIN/initdb" ] || {
	echo "pg-cluster: no PostgreSQL server (initdb) found; run make deps" >&2
	exit 1
}

as_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

url() { printf 'postgresql:///postgres?host=%s&user=gateway\n' "$dir"; }

case "$cmd" in
start)
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	chmod 700 "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$PG_BIN/initdb" -D "$dir/data" -U gateway -A trust -E UTF8 --locale=C \
			--no-sync > "$dir/initdb.log" 2>&1 || {
			cat "$dir/initdb.log" >&2
			exit 1
		}
	fi
	if ! as_owner "$PG_BIN/pg_ctl" -D "$dir/data" status > /dev/null 2>&1; then
		as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
			-o "-c listen_addresses='' -c unix_socket_directories='$dir' $durability \
-c max_connections=200 -c shared_buffers=64MB" \
			start > /dev/null || {
			cat "$dir/server.log" >&2
			exit 1
		}
	fi
	url
	;;
restart)
	dir=$(cd "$dir" && pwd)
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 30 restart \
		> /dev/null || {
		cat "$dir/server.log" >&2
		exit 1
	}
	;;
halt)
	dir=$(cd "$dir" && pwd)
	as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null
	;;
stop)
	[ -d "$dir" ] || exit 0
	dir=$(cd "$dir" && pwd)
	if [ -f "$dir/data/PG_VERSION" ]; then
		as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
url)
	dir=$(cd "$dir" && pwd)
	url
	;;
*)
	echo "usage: $0 start|restart|halt|stop|url DIR" >&2
	exit 2
	;;
esac
