# shellcheck shell=bash disable=SC2154 # top, state and port are tools/lab's
# The lab's one database for its two nodes (tools/lab up --nodes 2 and --ha;
# sourced by tools/lab): MariaDB, as a cloud's network nodes share it.
#
#   labdb_up     PRAAS_LAB_MARIADB_URL (mysql://USER:PASSWORD@HOST:PORT/, a
#                server someone runs) gets a database of the lab's own,
#                praas_lab_<port>, dropped by down. When none is configured,
#                the lab starts a MariaDB of its own through the tests'
#                scripts (test/mariadb/start.sh, which installs the packages
#                when missing): a private directory /var/lib/praas-lab.XXXXXX
#                (data, log, socket, pid), a free port on 127.0.0.1 and a
#                random password; down stops it and removes the directory.
#                Writes $state/database (the URL the agents read, without the
#                password) and $state/db-password (database_password_file).
#   labdb_down   undo labdb_up from what .lab records; also after a failed
#                or killed up.
#   labdb_where  one line for status: where the database is, and whether
#                the lab's own server runs.
#
# .lab records a step before it is taken (mariadb-dir before the start,
# mariadb-drop before the CREATE), so down finds everything up made.

labdb__free_port() {
	local p=$((port + 2))
	while ss -Htan "sport = :$p" | grep -q .; do p=$((p + 1)); done
	echo "$p"
}

# labdb__split URL: db_user, db_pass, db_host, db_port (the tests' splitter)
# from mysql://USER:PASSWORD@HOST:PORT/, or non-zero for another shape.
labdb__split() {
	[[ $1 =~ ^mysql://[^:@/]+:[^@/]*@[^:/]+:[0-9]+/$ ]] || return 1
	# shellcheck source=../test/integration/lib/mariadb.sh
	declare -F mariadb_split_url >/dev/null || . "$top/test/integration/lib/mariadb.sh"
	mariadb_split_url "$1"
}

labdb__sql() { # SQL
	MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" -N -B -e "$1"
}

# Starts the lab's own MariaDB; sets the URL it serves in LABDB_URL.
labdb__start_private() {
	local dir dbport pass
	dir=$(mktemp -d /var/lib/praas-lab.XXXXXX) || return 1
	echo "$dir" >"$state/mariadb-dir"
	# The mysql user must reach its data directory and socket.
	chmod 755 "$dir" || return 1
	dbport=$(labdb__free_port)
	pass=$(tr -dc 'a-zA-Z0-9' </dev/urandom | head -c 20)
	say "starting the lab's own MariaDB on 127.0.0.1:$dbport (data in $dir; test/mariadb/start.sh)"
	PRAAS_DB_DIR=$dir PRAAS_DB_PORT=$dbport PRAAS_DB_PASSWORD=$pass \
		bash "$top/test/mariadb/start.sh" --no-galera >"$state/mariadb.log" 2>&1 ||
		{ tail -n 5 "$state/mariadb.log" >&2; return 1; }
	LABDB_URL=$(sed -n 's/^PRAAS_TEST_MARIADB_URL=//p' "$dir/run/env")
	[[ -n $LABDB_URL ]]
}

labdb_up() {
	local db=praas_lab_$port
	if [[ -n ${PRAAS_LAB_MARIADB_URL:-} ]]; then
		LABDB_URL=$PRAAS_LAB_MARIADB_URL
		say "using the MariaDB of PRAAS_LAB_MARIADB_URL; the lab's database: $db"
		command -v mariadb >/dev/null ||
			die "the mariadb client is missing (apt-get install mariadb-client)"
	else
		labdb__start_private || die "cannot start the lab's MariaDB (log: $state/mariadb.log)"
	fi
	labdb__split "$LABDB_URL" ||
		die "the MariaDB URL must be mysql://USER:PASSWORD@HOST:PORT/ (PRAAS_LAB_MARIADB_URL)"
	echo "$LABDB_URL" >"$state/mariadb-drop"
	labdb__sql "CREATE DATABASE $db" || die "cannot create database $db on $db_host:$db_port"
	(umask 077 && echo "$db_pass" >"$state/db-password") || die "cannot write $state/db-password"
	echo "mysql://$db_user@$db_host:$db_port/$db" >"$state/database"
}

labdb_down() {
	local dir rc=0
	if [[ -f $state/mariadb-drop ]] && labdb__split "$(<"$state/mariadb-drop")"; then
		# The lab's own server is removed whole below; only a configured one needs the DROP.
		if [[ ! -f $state/mariadb-dir ]]; then
			labdb__sql "DROP DATABASE IF EXISTS praas_lab_$(<"$state/port")" || rc=1
		fi
	fi
	if [[ -f $state/mariadb-dir ]]; then
		dir=$(<"$state/mariadb-dir")
		if [[ $dir == /var/lib/praas-lab.* && -d $dir ]]; then
			PRAAS_DB_DIR=$dir bash "$top/test/mariadb/stop.sh" >/dev/null 2>&1 &&
				rm -rf "$dir" || rc=1
		fi
	fi
	return "$rc"
}

labdb_where() {
	local dir pid
	[[ -f $state/database ]] || return 0
	say "database: $(<"$state/database") (password in $state/db-password)"
	[[ -f $state/mariadb-dir ]] || return 0
	dir=$(<"$state/mariadb-dir")
	pid=$(awk '$1 == "single" { print $2 }' "$dir/run/pids" 2>/dev/null)
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		say "the lab's MariaDB running (pid $pid, data in $dir)"
	else
		say "the lab's MariaDB NOT running (log: $dir/log/single.err)"
	fi
}
