#!/usr/bin/env bash
# `meson install` into a DESTDIR: the binaries, the systemd units (running
# the installed binaries with the installed praas.conf), praas.conf and
# clouds.yaml.example, the state directory /var/lib/praas (0700), the docs;
# then an install over an edited praas.conf keeps the edit.
set -u
build=${PRAAS_BUILD_ROOT:?}
src=${PRAAS_SOURCE_ROOT:?}

# shellcheck source=lib/tap.sh
. "$(dirname "$0")/lib/tap.sh"

command -v meson >/dev/null || { echo "SKIP: meson is not installed"; exit 77; }
dest=$(mktemp -d /tmp/praas-install-test.XXXXXX)
trap 'rm -rf "$dest"' EXIT

# Where this build installs things.
opt() {
	meson introspect "$build" --buildoptions |
		python3 -c 'import json, sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}[sys.argv[1]])' "$1"
}
prefix=$(opt prefix)
bindir=$prefix/$(opt bindir)
[[ $(opt bindir) == /* ]] && bindir=$(opt bindir)
sysconfdir=$(opt sysconfdir)
[[ $sysconfdir == /* ]] || sysconfdir=$prefix/$sysconfdir
confdir=$sysconfdir/praas
unitdir=$(opt systemdunitdir)
[[ -n $unitdir ]] || unitdir=$prefix/lib/systemd/system
docdir=$prefix/$(opt datadir)/doc/praas

install_to_dest() {
	meson install -C "$build" --no-rebuild --destdir "$dest" >"$dest.log" 2>&1
	local rc=$?
	[[ $rc == 0 ]] || sed 's/^/#   /' "$dest.log"
	rm -f "$dest.log"
	return "$rc"
}

check "meson install into a DESTDIR" install_to_dest

# --- binaries
for b in praas-pat-agent praas-monitor-agent praas; do
	check "$bindir/$b is installed and executable" test -x "$dest$bindir/$b"
done
out=$("$dest$bindir/praas" --version 2>&1)
check "the installed praas runs ($out)" test "${out%% *}" = praas

# --- units: they run the installed binaries with the installed config
for u in praas-pat-agent praas-monitor-agent; do
	f=$dest$unitdir/$u.service
	check "$unitdir/$u.service is installed" test -f "$f"
	exec=$(sed -n 's/^ExecStart=//p' "$f")
	check "$u.service: ExecStart runs $bindir/$u" test "${exec%% *}" = "$bindir/$u"
	check "$u.service: ExecStart's binary is in the tree" test -x "$dest${exec%% *}"
	check "$u.service: it reads $confdir/praas.conf" test "${exec#* }" = "--config $confdir/praas.conf"
	check "$u.service: no @placeholder@ is left" bash -c "! grep -q '@[a-z]*@' '$f'"
	check "$u.service: WantedBy=multi-user.target" grep -qx 'WantedBy=multi-user.target' "$f"
	for e in $(sed -n 's/^Exec[A-Za-z]*=\([^ ]*\).*/\1/p' "$f"); do
		[[ $e == "$bindir"/* ]] && e=$dest$e
		check "$u.service: $e is executable" test -x "$e"
	done
done
check "praas-pat-agent.service makes /var/lib/praas (StateDirectory)" \
	grep -qx 'StateDirectory=praas' "$dest$unitdir/praas-pat-agent.service"
check "praas-pat-agent.service makes /run/praas (RuntimeDirectory)" \
	grep -qx 'RuntimeDirectory=praas' "$dest$unitdir/praas-pat-agent.service"

# --- configuration and state
check "praas.conf is installed as shipped" cmp -s "$src/conf/praas.conf" "$dest$confdir/praas.conf"
check "praas.conf.default beside it" cmp -s "$src/conf/praas.conf" "$dest$confdir/praas.conf.default"
check "clouds.yaml.example is installed" cmp -s "$src/conf/clouds.yaml.example" "$dest$confdir/clouds.yaml.example"
check "no clouds.yaml is installed (it holds secrets: the operator writes it)" test ! -e "$dest$confdir/clouds.yaml"
check "the installed praas.conf passes --check-config" \
	"$dest$bindir/praas-pat-agent" --config "$dest$confdir/praas.conf" --check-config
check "the state directory /var/lib/praas exists" test -d "$dest/var/lib/praas"
check "the state directory is 0700" test "$(stat -c %a "$dest/var/lib/praas")" = 700

# --- docs
for d in README.md operator-guide.md tenant-guide.md api.md openapi.json; do
	check "doc $d is installed" test -s "$dest$docdir/$d"
done
check "the log-file drop-in example is installed, ExecStart= at the installed agent" \
	grep -q "^ExecStart=$bindir/praas-pat-agent .*--log-file /var/log/praas/" \
	"$dest$docdir/examples/log-file.conf.example"
check "the units' Documentation= names an installed file" \
	test -f "$dest$(sed -n 's|^Documentation=file://||p' "$dest$unitdir/praas-pat-agent.service")"

# --- an install over an edited praas.conf keeps it
printf '# edited by the operator\n' >>"$dest$confdir/praas.conf"
sed -i 's/^  # port_app = 3000;.*/  port_app = 3999;/' "$dest$confdir/praas.conf"
edited=$(cat "$dest$confdir/praas.conf")
check "the operator's edit is a real change" test "$edited" != "$(cat "$src/conf/praas.conf")"
check "meson install again" install_to_dest
check "the edited praas.conf is kept" test "$(cat "$dest$confdir/praas.conf")" = "$edited"
check "praas.conf.default is the shipped one" cmp -s "$src/conf/praas.conf" "$dest$confdir/praas.conf.default"

# --- and a deleted one comes back
rm -f "$dest$confdir/praas.conf"
check "meson install after praas.conf was removed" install_to_dest
check "praas.conf is installed again" cmp -s "$src/conf/praas.conf" "$dest$confdir/praas.conf"

tap_finish
