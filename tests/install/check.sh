#!/bin/sh
# Installs the build into a temporary prefix, then builds a consumer through
# find_package(clgrad) and through pkg-config, runs both from a directory with
# no source tree, and checks what they print.
set -eu
build=$(cd "$1" && pwd); src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/tests/install" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libclgrad.so' | head -1)")
cd "$tmp"
LD_LIBRARY_PATH="$libdir" "$tmp/consumer/consumer" | grep -q "consumer ok .* 7.0"
PKG_CONFIG_PATH="$libdir/pkgconfig" cc -o "$tmp/pc" "$src/tests/install/consumer.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs clgrad)
LD_LIBRARY_PATH="$libdir" "$tmp/pc" | grep -q "consumer ok .* 7.0"
echo "install check: find_package and pkg-config consumers ran a kernel"
