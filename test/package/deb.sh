#!/usr/bin/env bash
# The Debian package, for real on this machine: tools/package builds
# praas_<version>_<arch>.deb (dpkg-buildpackage -us -uc -b in a temporary
# copy of the tree), lintian finds no error in it, dpkg installs it (the
# files of `dpkg -L`, praas.conf a conffile, the units neither enabled nor
# started), installs it again over an edited praas.conf (kept), removes it
# (only the conffiles stay) and purges it (nothing stays).
#
# The machine is left as it was: the package is purged at exit whatever
# happens, and a directory the package shares with something already there
# (a developer's `meson install` makes /var/lib/praas) is put back if dpkg
# removed it. It skips (77) when a praas package is already installed.
set -u
src=${PRAAS_SOURCE_ROOT:?}

# shellcheck source=../integration/lib/tap.sh
. "$src/test/integration/lib/tap.sh"

skip() {
	echo "SKIP: $*"
	exit 77
}
[[ $(id -u) == 0 ]] || skip "needs root (dpkg -i)"
command -v dpkg >/dev/null || skip "not a Debian system (no dpkg)"
"$src/tools/bootstrap" || {
	echo "not ok 1 - tools/bootstrap installs debhelper and lintian"
	exit 1
}
status=$(dpkg-query -W -f='${db:Status-Status}' praas 2>/dev/null || true)
[[ -z $status || $status == not-installed ]] ||
	skip "a praas package is already on this machine ($status): not touching it"

tmp=$(mktemp -d /tmp/praas-deb-test.XXXXXX)
declare -A existed=() # path -> "mode owner" of what was there before us

restore() {
	local p
	if [[ $(dpkg-query -W -f='${db:Status-Status}' praas 2>/dev/null) != not-installed ]] &&
		dpkg-query -W praas >/dev/null 2>&1; then
		echo "# cleanup: purging the praas package"
		dpkg_retry -P praas >/dev/null 2>&1 || echo "# cleanup: dpkg -P praas failed" >&2
	fi
	for p in "${!existed[@]}"; do
		[[ -e $p ]] && continue
		echo "# cleanup: $p was there before the test: making it again"
		install -d -m "${existed[$p]% *}" -o "${existed[$p]#* }" "$p"
	done
	rm -rf "$tmp"
}
trap restore EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# dpkg refuses to run while apt or another dpkg holds its lock: wait (5 min).
dpkg_retry() {
	local i out rc
	for ((i = 0; i < 60; i++)); do
		out=$(dpkg "$@" 2>&1)
		rc=$?
		if [[ $rc != 0 ]] && grep -q 'dpkg frontend lock\|dpkg status database is locked' <<<"$out"; then
			sleep 5
			continue
		fi
		printf '%s\n' "$out"
		return "$rc"
	done
	printf '%s\n' "$out"
	return 1
}

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print('%.1f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }

# --- build
t0=$(now)
deb=$("$src/tools/package" "$tmp/out" 2>"$tmp/package.err")
rc=$?
echo "figure: deb-build $(elapsed "$t0") s"
if [[ $rc != 0 || ! -f $deb ]]; then
	not_ok "tools/package builds the .deb" "$(cat "$tmp/package.err")"
	tap_finish
	exit 1
fi
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
[[ ${deb##*/} == "praas_${version}_$arch.deb" ]] && ok "tools/package builds ${deb##*/}" ||
	not_ok "tools/package builds praas_${version}_$arch.deb" "made: $deb"
echo "figure: deb-size $(stat -c %s "$deb") bytes"
left=$(cd "$src" && git status --porcelain --ignored 2>/dev/null | grep -v '^!! build' | grep -E '^(\?\?|!!)' |
	grep -E 'debian/(praas|\.debhelper|files|debhelper-build-stamp|tmp)|obj-|\.deb$' || true)
[[ -z $left ]] && ok "the source tree has no build products" ||
	not_ok "the source tree has no build products" "$left"

# --- lintian: no error; the warnings are printed
lintian --version >/dev/null 2>&1 || not_ok "lintian runs" "$(lintian --version 2>&1)"
lint=$(lintian --pedantic --display-info "$deb" 2>&1 | grep -v 'running with root privileges')
errors=$(grep -c '^E: ' <<<"$lint")
warnings=$(grep -c '^W: ' <<<"$lint")
echo "figure: lintian-errors $errors tags"
echo "figure: lintian-warnings $warnings tags"
[[ -n $lint ]] && sed 's/^/# lintian: /' <<<"$lint"
((errors == 0)) && ok "lintian finds no error" || not_ok "lintian finds no error" "$(grep '^E: ' <<<"$lint")"
# The check can fail: a package without a copyright file is an error.
mkdir -p "$tmp/bad/DEBIAN" "$tmp/bad/usr/bin"
printf 'Package: praas-bad\nVersion: 1\nArchitecture: all\nMaintainer: x <x@example.org>\nDescription: x\n' \
	>"$tmp/bad/DEBIAN/control"
printf '#!/bin/sh\n' >"$tmp/bad/usr/bin/praas-bad" && chmod 755 "$tmp/bad/usr/bin/praas-bad"
dpkg-deb -Zgzip --root-owner-group -b "$tmp/bad" "$tmp/bad.deb" >/dev/null 2>&1
lintian "$tmp/bad.deb" 2>&1 | grep -q '^E: ' && ok "lintian would report an error (a package without copyright)" ||
	not_ok "lintian would report an error (a package without copyright)"

# --- what was there before (a developer's meson install may share a directory)
mapfile -t paths < <(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep -v '^$\|^/$\|^\.$')
for p in "${paths[@]}"; do
	[[ -d $p ]] && existed[$p]="$(stat -c '%a %U' "$p")"
	[[ -e $p && ! -d $p ]] && {
		not_ok "no file of the package is on the machine before" "$p exists"
		tap_finish
		exit 1
	}
done
ok "no file of the package is on the machine before (${#paths[@]} paths in the .deb)"

# --- install
t0=$(now)
out=$(dpkg_retry -i "$deb")
rc=$?
echo "figure: deb-install $(elapsed "$t0") s"
[[ $rc == 0 ]] && ok "dpkg -i installs it" || not_ok "dpkg -i installs it" "$out"
[[ $(dpkg-query -W -f='${db:Status-Status} ${Version}' praas) == "installed $version" ]] &&
	ok "dpkg says praas $version is installed" || not_ok "dpkg says praas $version is installed"
listed=$(dpkg -L praas)
want=(
	/usr/bin/praas-pat-agent /usr/bin/praas-monitor-agent /usr/bin/praas
	/lib/systemd/system/praas-pat-agent.service /lib/systemd/system/praas-monitor-agent.service
	/etc/praas/praas.conf /etc/praas/clouds.yaml.example
	/var/lib/praas /var/log/praas
	/usr/share/man/man1/praas.1.gz /usr/share/man/man8/praas-pat-agent.8.gz
	/usr/share/man/man8/praas-monitor-agent.8.gz /usr/share/man/man5/praas.conf.5.gz
	/usr/share/bash-completion/completions/praas
	/usr/share/doc/praas/copyright /usr/share/doc/praas/examples/log-file.conf.example
)
missing=()
for p in "${want[@]}"; do
	grep -qxF "$p" <<<"$listed" && [[ -e $p ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && ok "dpkg -L lists, and the machine has, the ${#want[@]} expected paths" ||
	not_ok "dpkg -L lists, and the machine has, the expected paths" "missing: ${missing[*]}"
echo "figure: deb-files $(grep -c . <<<"$listed") paths"
conffiles=$(dpkg-query -W -f='${Conffiles}\n' praas | awk 'NF {print $1}')
grep -qx /etc/praas/praas.conf <<<"$conffiles" && ok "praas.conf is a conffile" ||
	not_ok "praas.conf is a conffile" "conffiles: $conffiles"
[[ $(stat -c %a /var/lib/praas) == 700 ]] && ok "/var/lib/praas is 0700" ||
	not_ok "/var/lib/praas is 0700" "$(stat -c %a /var/lib/praas)"
for u in praas-pat-agent praas-monitor-agent; do
	enabled=$(find /etc/systemd/system -name "$u.service" 2>/dev/null)
	[[ -z $enabled ]] && ok "$u.service is not enabled on install" ||
		not_ok "$u.service is not enabled on install" "$enabled"
	exec=$(sed -n 's/^ExecStart=//p' "/lib/systemd/system/$u.service")
	[[ $exec == "/usr/bin/$u --config /etc/praas/praas.conf" ]] && ok "$u.service runs $exec" ||
		not_ok "$u.service runs /usr/bin/$u --config /etc/praas/praas.conf" "ExecStart=$exec"
	# Other tests may run the agent from a build tree: only /usr/bin's counts.
	running=
	for pid in $(pgrep -f "^/usr/bin/$u( |\$)"); do
		[[ $(readlink "/proc/$pid/exe" 2>/dev/null) == /usr/bin/$u ]] && running+=" $pid"
	done
	[[ -z $running ]] && ok "$u is not started on install" || not_ok "$u is not started on install" "pids:$running"
done
doc=$(sed -n 's|^Documentation=file://||p' /lib/systemd/system/praas-pat-agent.service)
[[ -n $doc && -f $doc ]] && ok "the units' Documentation= names an installed file ($doc)" ||
	not_ok "the units' Documentation= names an installed file" "Documentation=file://$doc"
out=$(/usr/bin/praas --version 2>&1)
[[ $out == "praas ${version%%-*}" ]] && ok "the installed praas runs: $out" || not_ok "the installed praas runs" "$out"
out=$(/usr/bin/praas-pat-agent --check-config 2>&1)
rc=$?
[[ $rc == 0 ]] && ok "praas-pat-agent --check-config reads /etc/praas/praas.conf by default: $out" ||
	not_ok "praas-pat-agent --check-config reads /etc/praas/praas.conf by default" "exit $rc: $out"
grep -q '/usr/local' /etc/praas/praas.conf && not_ok "praas.conf names /etc/praas, not /usr/local" \
	"$(grep -n /usr/local /etc/praas/praas.conf)" || ok "praas.conf names /etc/praas, not /usr/local"
if command -v man >/dev/null; then
	out=$(MANWIDTH=80 man -l /usr/share/man/man5/praas.conf.5.gz 2>&1 | grep -c 'clouds_file')
	[[ $out -ge 1 ]] && ok "man praas.conf renders from the package (names /etc/praas/clouds.yaml)" ||
		not_ok "man praas.conf renders from the package"
fi

# --- upgrade over itself, with an edited praas.conf
sed -i 's/^  # port_app = 3000;.*/  port_app = 3999;/' /etc/praas/praas.conf
printf '# edited by the operator\n' >>/etc/praas/praas.conf
edited=$(cat /etc/praas/praas.conf)
grep -q '^  port_app = 3999;' /etc/praas/praas.conf && ok "praas.conf edited (port_app = 3999)" ||
	not_ok "praas.conf edited (port_app = 3999)"
t0=$(now)
out=$(dpkg_retry -i "$deb" </dev/null)
rc=$?
echo "figure: deb-upgrade $(elapsed "$t0") s"
[[ $rc == 0 ]] && ok "dpkg -i over the installed package (upgrade) succeeds" ||
	not_ok "dpkg -i over the installed package (upgrade) succeeds" "$out"
[[ $(cat /etc/praas/praas.conf) == "$edited" ]] && ok "the edited praas.conf is kept" ||
	not_ok "the edited praas.conf is kept" "$(diff <(echo "$edited") /etc/praas/praas.conf)"
[[ ! -e /etc/praas/praas.conf.dpkg-new && ! -e /etc/praas/praas.conf.dpkg-old ]] &&
	ok "no .dpkg-new or .dpkg-old beside it" || not_ok "no .dpkg-new or .dpkg-old beside it"

# --- remove: only the conffiles stay
out=$(dpkg_retry -r praas)
rc=$?
[[ $rc == 0 ]] && ok "dpkg -r removes it" || not_ok "dpkg -r removes it" "$out"
[[ $(dpkg-query -W -f='${db:Status-Status}' praas) == config-files ]] &&
	ok "dpkg keeps its config files" || not_ok "dpkg keeps its config files"
stay=()
for p in "${paths[@]}"; do
	[[ -e $p ]] || continue
	[[ -n ${existed[$p]:-} ]] && continue
	grep -qxF "$p" <<<"$conffiles" && continue
	[[ -d $p ]] && [[ /etc/praas == "$p" ]] && continue
	stay+=("$p")
done
((${#stay[@]} == 0)) && ok "after dpkg -r, only the conffiles are left" ||
	not_ok "after dpkg -r, only the conffiles are left" "left: ${stay[*]}"
[[ $(cat /etc/praas/praas.conf 2>/dev/null) == "$edited" ]] && ok "the edited praas.conf is still there" ||
	not_ok "the edited praas.conf is still there"

# --- purge: nothing stays
out=$(dpkg_retry -P praas)
rc=$?
[[ $rc == 0 ]] && ok "dpkg -P purges it" || not_ok "dpkg -P purges it" "$out"
stay=()
for p in "${paths[@]}" /etc/praas/praas.conf; do
	[[ -e $p && -z ${existed[$p]:-} ]] && stay+=("$p")
done
((${#stay[@]} == 0)) && ok "after dpkg -P, no file of the package is left" ||
	not_ok "after dpkg -P, no file of the package is left" "left: ${stay[*]}"
status=$(dpkg-query -W -f='${db:Status-Status}' praas 2>/dev/null || echo not-installed)
[[ $status == not-installed ]] && ok "dpkg no longer knows praas" || not_ok "dpkg no longer knows praas" "$status"

tap_finish
