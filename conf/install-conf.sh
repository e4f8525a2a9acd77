#!/bin/sh
# meson install step: put praas.conf in place only when none is there,
# so an operator's edited file survives upgrades. The shipped file is
# always installed beside it as praas.conf.default for comparison.
# Its comments name the default paths of a /usr/local build; they are
# rewritten to the configured directory (/etc/praas in the Debian
# package), so the file tells the truth wherever it lands.
set -eu
src=$1
dir="${DESTDIR:-}$2"
mkdir -p "$dir"
sed "s|/usr/local/etc/praas|$2|g" "$src" >"$dir/praas.conf.default"
chmod 0644 "$dir/praas.conf.default"
if [ ! -e "$dir/praas.conf" ]; then
	cp "$dir/praas.conf.default" "$dir/praas.conf"
	chmod 0644 "$dir/praas.conf"
fi
