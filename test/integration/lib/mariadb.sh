# shellcheck shell=bash
# mariadb.sh: a database of the test's own on the loopback MariaDB of
# test/mariadb/start.sh (its URL from $PRAAS_TEST_MARIADB_URL or that
# script's env file). Source after topo.sh.
#
#   mariadb_test_db PREFIX TOPO_NAME   skip (77) unless that MariaDB runs;
#                      topo_init TOPO_NAME; sets db_user, db_pass, db_host,
#                      db_port and db_name (PREFIX + pid + random), creates
#                      the database and drops it at exit
#   mariadb_split_url URL   db_user, db_pass, db_host, db_port from
#                      mysql://USER:PASSWORD@HOST:PORT/
#   sql [ARGS]         the mariadb client as that user (-N -B)

mariadb_test_db() { # PREFIX TOPO_NAME
	local env_file=/run/praas-mariadb/env url
	url=${PRAAS_TEST_MARIADB_URL:-$(sed -n 's/^PRAAS_TEST_MARIADB_URL=//p' "$env_file" 2>/dev/null)}
	[[ -n $url ]] || topo_skip "the loopback MariaDB is not running (sudo test/mariadb/start.sh)"
	mariadb_split_url "$url"
	db_name=$1$$_$RANDOM
	topo_init "$2"
	sql praas_admin -e "CREATE DATABASE $db_name" || topo_fail "create database $db_name"
	topo_on_exit "MYSQL_PWD='$db_pass' mariadb --no-defaults -h $db_host -P $db_port -u $db_user praas_admin -e 'DROP DATABASE IF EXISTS $db_name' || true"
}

# mysql://USER:PASSWORD@HOST:PORT/ into db_user, db_pass, db_host, db_port
# (also tools/lab's, with the lab's database).
mariadb_split_url() {
	local rest=${1#mysql://} hostport
	db_user=${rest%%:*}
	db_pass=${rest#*:}
	db_pass=${db_pass%@*}
	hostport=${rest##*@}
	hostport=${hostport%/}
	db_host=${hostport%:*}
	db_port=${hostport##*:}
}

sql() {
	MYSQL_PWD=$db_pass mariadb --no-defaults -h "$db_host" -P "$db_port" -u "$db_user" -N -B "$@"
}
