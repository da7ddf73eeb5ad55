#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and the demo.
#
#   bash scripts/cluster.sh start    # fresh cluster (wipes an old one unless VS_KEEP=1)
#   bash scripts/cluster.sh status
#   bash scripts/cluster.sh psql [psql args...]
#   bash scripts/cluster.sh stop     # stops it and removes the data dir unless VS_KEEP=1
#
# Settings (environment):
#   VS_CLUSTER_DIR  data directory          (default /tmp/vecsearch-cluster)
#   VS_PORT         TCP port on 127.0.0.1   (default 54329; never use 5432)
#   VS_KEEP=1       start: reuse an existing cluster; stop: keep the data dir
#   VS_EXTRA_CONF   start: extra postgresql.conf lines for a new cluster (e.g. shared_buffers = 4GB)
#   VS_PGBIN        PostgreSQL's bin directory (default /usr/lib/postgresql/15/bin; e.g. a copy
#                   of the installation with another build of vecsearch in it, to compare two)
#
# The server listens on 127.0.0.1 only, with its unix socket inside the data dir, and trusts
# every local connection (initdb --auth=trust): do not use it for anything but throwaway data.
# When run as root the server runs as the `postgres` system user, otherwise as the caller.
set -euo pipefail

PGBIN=${VS_PGBIN:-/usr/lib/postgresql/15/bin}
DATADIR=${VS_CLUSTER_DIR:-/tmp/vecsearch-cluster}
PORT=${VS_PORT:-54329}
KEEP=${VS_KEEP:-0}
LOGFILE="$DATADIR/server.log"

die() { echo "cluster.sh: $*" >&2; exit 1; }

[ -x "$PGBIN/pg_ctl" ] || die "$PGBIN/pg_ctl not found; run scripts/install-deps.sh"
[ "$PORT" != 5432 ] || die "refusing to use port 5432 (the Debian default cluster's port)"
case "$DATADIR" in
	/*) ;;
	*) die "VS_CLUSTER_DIR must be an absolute path (got '$DATADIR')" ;;
esac
[ "$DATADIR" != / ] || die "VS_CLUSTER_DIR must not be /"

# Who owns and runs the server.
if [ "$(id -u)" -eq 0 ]; then
	PGOSUSER=postgres
	id -u "$PGOSUSER" >/dev/null 2>&1 || die "no 'postgres' system user; install postgresql-15 first"
	as_pg() { (cd / && runuser -u "$PGOSUSER" -- "$@"); }
else
	PGOSUSER=$(id -un)
	as_pg() { (cd / && "$@"); }
fi

is_cluster() { [ -f "$DATADIR/PG_VERSION" ]; }
is_running() { is_cluster && as_pg "$PGBIN/pg_ctl" -D "$DATADIR" status >/dev/null 2>&1; }

# The settings to repeat when calling this script again, when they are not the defaults.
settings() {
	local s=""
	[ "$DATADIR" = /tmp/vecsearch-cluster ] || s+="VS_CLUSTER_DIR=$DATADIR "
	[ "$PORT" = 54329 ] || s+="VS_PORT=$PORT "
	echo "$s"
}

print_env() {
	echo "  connect: PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres psql"
	echo "       or: $(settings)bash scripts/cluster.sh psql"
}

# Remove the data dir, but only if it is a cluster or an empty directory (never a random path).
remove_datadir() {
	if [ -d "$DATADIR" ]; then
		if is_cluster || [ -z "$(ls -A "$DATADIR")" ]; then
			rm -rf "$DATADIR"
		else
			die "$DATADIR exists and is not a PostgreSQL data directory; not touching it"
		fi
	fi
}

do_stop() {
	if is_running; then
		as_pg "$PGBIN/pg_ctl" -D "$DATADIR" -m fast -w -t 60 stop >/dev/null
		echo "cluster.sh: stopped the cluster in $DATADIR (port $PORT)"
	fi
	if [ "$KEEP" != 1 ]; then
		remove_datadir
	fi
}

do_start() {
	if [ "$KEEP" = 1 ] && is_running; then
		echo "cluster.sh: reusing the running cluster in $DATADIR (port $PORT)"
		print_env
		return 0
	fi
	if [ "$KEEP" != 1 ] || ! is_cluster; then
		KEEP=0 do_stop
		mkdir -p "$(dirname "$DATADIR")"
		mkdir -m 700 "$DATADIR"
		[ "$(id -u)" -ne 0 ] || chown "$PGOSUSER:" "$DATADIR"
		local initlog
		initlog=$(mktemp)
		if ! as_pg "$PGBIN/initdb" -D "$DATADIR" --auth=trust -U postgres --encoding=UTF8 \
				--locale=C --no-instructions >"$initlog" 2>&1; then
			cat "$initlog" >&2
			rm -f "$initlog"
			die "initdb failed"
		fi
		rm -f "$initlog"
		as_pg tee -a "$DATADIR/postgresql.conf" >/dev/null <<-EOF

		# ---- vecsearch throwaway test cluster (scripts/cluster.sh) ----
		listen_addresses = '127.0.0.1'
		port = $PORT
		unix_socket_directories = '$DATADIR'
		shared_buffers = 256MB
		maintenance_work_mem = 512MB
		work_mem = 64MB
		max_parallel_workers_per_gather = 2
		max_parallel_maintenance_workers = 2
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_wal_size = 4GB
		log_min_messages = warning
		log_min_error_statement = error
		lc_messages = 'C'
		EOF
		# later lines win: a caller (the benchmark) can size memory for its data
		[ -z "${VS_EXTRA_CONF:-}" ] || printf '%s\n' "$VS_EXTRA_CONF" | as_pg tee -a "$DATADIR/postgresql.conf" >/dev/null
	fi
	if ! as_pg "$PGBIN/pg_ctl" -D "$DATADIR" -l "$LOGFILE" -w -t 60 start >/dev/null; then
		echo "cluster.sh: server failed to start; last lines of $LOGFILE:" >&2
		tail -n 30 "$LOGFILE" >&2 || true
		exit 1
	fi
	echo "cluster.sh: PostgreSQL 15 running as OS user '$PGOSUSER' on 127.0.0.1:$PORT, data in $DATADIR"
	print_env
}

do_status() {
	if is_running; then
		echo "cluster.sh: running in $DATADIR on 127.0.0.1:$PORT"
		print_env
	elif is_cluster; then
		echo "cluster.sh: stopped (data dir $DATADIR exists)"
		return 3
	else
		echo "cluster.sh: no cluster in $DATADIR"
		return 3
	fi
}

cmd=${1:-}
[ $# -eq 0 ] || shift
case "$cmd" in
	start) do_start ;;
	stop) do_stop ;;
	status) do_status ;;
	psql) exec "$PGBIN/psql" -X -h 127.0.0.1 -p "$PORT" -U postgres "$@" ;;
	*)
		echo "usage: $0 start|stop|status|psql [psql args]" >&2
		exit 2
		;;
esac
