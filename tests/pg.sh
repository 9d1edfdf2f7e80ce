#!/usr/bin/env bash
# Throwaway PostgreSQL clusters for the tests: a primary (and optionally a
# streaming replica) in a temporary directory, listening on loopback only,
# trust authentication, stopped and removed by `stop`.
#
#   eval "$(tests/pg.sh start)"            one cluster with database idntest
#   eval "$(tests/pg.sh start --replica)"  plus a streaming replica of it
#   tests/pg.sh stop [DIR]                 stops both and removes DIR
#   tests/pg.sh primary-stop|primary-start [DIR]   for failover tests
#
# `start` prints shell assignments on stdout (everything else goes to
# stderr): IDN_TEST_PG (the primary's URI), IDN_TEST_PG_REPLICA (with
# --replica), IDN_PG_DIR (the directory, for stop) and IDN_TEST_PG_CTL (this
# script, so tests can stop and start the primary). DIR defaults to
# $IDN_PG_DIR. Needs the PostgreSQL server packages (scripts/deps.sh);
# PG_BIN overrides the directory of initdb, pg_ctl and friends. As root the
# server runs as the postgres system user (initdb refuses root).
set -eu
here=$(cd "$(dirname "$0")" && pwd)

pg_bin() {
	if [ -n "${PG_BIN:-}" ]; then
		echo "$PG_BIN"
		return
	fi
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	if [ -z "$d" ] && command -v pg_config >/dev/null; then
		d=$(pg_config --bindir)
	fi
	[ -x "$d/initdb" ] || {
		echo "pg.sh: no PostgreSQL server binaries (install postgresql)" >&2
		return 1
	}
	echo "$d"
}

# Runs a command as the cluster's owner.
as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 30000))
		if port_free "$p" && port_free "$((p + 1))"; then
			echo "$p"
			return
		fi
	done
	echo "pg.sh: no free port" >&2
	return 1
}

# Writes the settings of a test cluster: loopback only, its own socket
# directory, trust for loopback (also replication), room for the tests.
configure() {
	local data=$1 port=$2
	cat >>"$data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$(dirname "$data")'
max_connections = 300
wal_level = replica
max_wal_senders = 4
hot_standby = on
hot_standby_feedback = on
EOF
	cat >"$data/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
EOF
}

start_cluster() {
	local bin=$1 data=$2
	as_owner "$bin/pg_ctl" -D "$data" -l "$data.log" -w -t 60 start >&2 || {
		echo "pg.sh: $data did not start:" >&2
		tail -20 "$data.log" >&2
		return 1
	}
}

cmd_start() {
	local replica=0
	[ "${1:-}" = "--replica" ] && replica=1
	local bin dir port
	bin=$(pg_bin)
	dir=$(mktemp -d "${TMPDIR:-/tmp}/idn-pg.XXXXXX")
	chmod 0755 "$dir"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
	echo "$bin" >"$dir/bin"
	as_owner "$bin/initdb" -D "$dir/primary" -U postgres --auth=trust \
		-E UTF8 --locale=C -N >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		rm -rf "$dir"
		return 1
	}
	local ok=0
	for _ in 1 2 3; do
		port=$(free_port)
		configure "$dir/primary" "$port"
		if start_cluster "$bin" "$dir/primary"; then
			ok=1
			break
		fi
	done
	if [ "$ok" -ne 1 ]; then
		rm -rf "$dir"
		return 1
	fi
	echo "$port" >"$dir/port"
	# from here on a failure stops what runs and removes the directory
	trap 'cmd_stop "$dir" >/dev/null 2>&1 || true' ERR
	as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres idntest >&2
	echo "export IDN_PG_DIR='$dir'"
	echo "export IDN_TEST_PG_CTL='$here/pg.sh'"
	echo "export IDN_TEST_PG='postgresql://postgres@127.0.0.1:$port/idntest'"
	if [ "$replica" -ne 1 ]; then
		trap - ERR
		return 0
	fi

	as_owner "$bin/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres \
		-D "$dir/replica" -R -X stream -c fast >&2
	local rport=$((port + 1)) started=0
	port_free "$rport" || rport=$(free_port)
	echo "unix_socket_directories = '$dir'" >>"$dir/replica/postgresql.conf"
	for _ in 1 2 3; do
		# a port taken meanwhile: try another (the last setting wins)
		echo "port = $rport" >>"$dir/replica/postgresql.conf"
		if start_cluster "$bin" "$dir/replica"; then
			started=1
			break
		fi
		rport=$(free_port)
	done
	[ "$started" -eq 1 ] || false
	echo "$rport" >"$dir/replica_port"
	trap - ERR
	echo "export IDN_TEST_PG_REPLICA='postgresql://postgres@127.0.0.1:$rport/idntest'"
}

pick_dir() {
	local dir=${1:-${IDN_PG_DIR:-}}
	case "$dir" in
	*/idn-pg.*) ;;
	*)
		echo "pg.sh: not a directory made by pg.sh start: '$dir'" >&2
		return 1
		;;
	esac
	[ -d "$dir" ] || {
		echo "pg.sh: $dir does not exist" >&2
		return 1
	}
	echo "$dir"
}

stop_cluster() {
	local bin=$1 data=$2
	[ -f "$data/postmaster.pid" ] || return 0
	as_owner "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >&2 ||
		as_owner "$bin/pg_ctl" -D "$data" -m immediate -w stop >&2 || true
}

cmd_stop() {
	local dir bin
	dir=$(pick_dir "${1:-}")
	bin=$(cat "$dir/bin")
	[ -d "$dir/replica" ] && stop_cluster "$bin" "$dir/replica"
	stop_cluster "$bin" "$dir/primary"
	rm -rf "$dir"
}

case "${1:-}" in
start) shift && cmd_start "$@" ;;
stop) shift && cmd_stop "$@" ;;
primary-stop)
	dir=$(pick_dir "${2:-}")
	stop_cluster "$(cat "$dir/bin")" "$dir/primary"
	;;
primary-start)
	dir=$(pick_dir "${2:-}")
	start_cluster "$(cat "$dir/bin")" "$dir/primary"
	;;
*)
	echo "usage: $0 start [--replica] | stop [DIR] | primary-stop [DIR] | primary-start [DIR]" >&2
	exit 2
	;;
esac
