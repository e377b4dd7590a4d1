#!/bin/sh
# Each public header compiles on its own, as C11 and as C++ (extern "C" guards), warning-free.
#   check.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1 build=$2
n=0
for h in "$src"/include/clgrad.h "$src"/include/clgrad/*.h; do
  name=${h#"$src"/include/}
  printf '#include "%s"\nint main(void) { return 0; }\n' "$name" |
    cc -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$src/include" -I"$build/include" -x c - ||
    { echo "public header $name does not compile alone as C" >&2; exit 1; }
  if command -v c++ >/dev/null; then
    printf '#include "%s"\nint main() { return 0; }\n' "$name" |
      c++ -Wall -Wextra -Werror -fsyntax-only -I"$src/include" -I"$build/include" -x c++ - ||
      { echo "public header $name does not compile alone as C++" >&2; exit 1; }
  fi
  n=$((n + 1))
done
echo "$n public headers compile alone"
