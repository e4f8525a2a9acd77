#!/bin/sh
# meson install step: put praas.conf in place only when none is there,
# so an operator's edited file survives upgrades. The shipped file is
# always installed beside it as praas.conf.default for comparison.
set -eu
src=$1
dir="${DESTDIR:-}$2"
mkdir -p "$dir"
cp "$src" "$dir/praas.conf.default"
if [ ! -e "$dir/praas.conf" ]; then
	cp "$src" "$dir/praas.conf"
	chmod 0644 "$dir/praas.conf"
fi
