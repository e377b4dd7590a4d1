#!/bin/sh
# Installs the build into a temporary prefix, then builds a consumer through
# find_package(clgrad) and through pkg-config, runs both from a directory with
# no source tree, and checks what they print. $3 (optional): the build's CLGRAD_SANITIZE
# list; the consumers are then instrumented the same way, as a sanitized library needs.
set -eu
build=$(cd "$1" && pwd); src=$(cd "$2" && pwd)
san=""
[ -n "${3:-}" ] && san="-fsanitize=$3 -fno-omit-frame-pointer"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/tests/install" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libclgrad.so' | head -1)")
cd "$tmp"
LD_LIBRARY_PATH="$libdir" "$tmp/consumer/consumer" | grep -q "consumer ok .* 7.0"
# shellcheck disable=SC2086 # $san is a list of flags
PKG_CONFIG_PATH="$libdir/pkgconfig" cc $san -o "$tmp/pc" "$src/tests/install/consumer.c" \
  $(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --cflags --libs clgrad)
LD_LIBRARY_PATH="$libdir" "$tmp/pc" | grep -q "consumer ok .* 7.0"
# $4 (optional): the python3 the package was installed for; the installed package finds the
# installed library by itself (not through CLGRAD_LIBRARY). Not with a sanitized library.
py=""
if [ -n "${4:-}" ] && [ -z "$san" ]; then
  pkg=$(dirname "$(find "$tmp/prefix" -path '*/clgrad/_install.py' | head -1)")
  out=$(env -u CLGRAD_LIBRARY PYTHONPATH="$(dirname "$pkg")" "$4" -c \
    'import clgrad; ctx = clgrad.Context(); print("python ok", clgrad.version()); ctx.close()')
  case $out in
    "python ok"*) py=", and the installed Python package loaded it" ;;
    *) echo "install check: the installed Python package printed: $out" >&2; exit 1 ;;
  esac
fi
echo "install check: find_package and pkg-config consumers ran a kernel$py"
