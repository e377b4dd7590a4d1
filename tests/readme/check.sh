#!/bin/sh
# Runs the README's command-line quickstart as written: the first ```sh block after
# "## Command line", in a scratch directory laid out like a clone (build/, examples/).
# Usage: check.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1 src=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
ln -s "$build" "$dir/build"
ln -s "$src/examples" "$dir/examples"
awk '/^## Command line/ {on = 1} on && /^```sh$/ {grab = 1; next} grab && /^```$/ {exit} grab' \
    "$src/README.md" > "$dir/quickstart.sh"
[ -s "$dir/quickstart.sh" ] || { echo "readme: no quickstart block found"; exit 1; }
cd "$dir"
sh -eu quickstart.sh > out.txt 2>&1 || { cat out.txt; echo "readme: the quickstart failed"; exit 1; }
for f in wine.clg wine.csv wine.svg predictions.csv; do
  [ -s "$f" ] || { cat out.txt; echo "readme: $f not written"; exit 1; }
done
# The claims next to the block: the standardized softmax classifies the test wines well,
# and predictions name the classes.
acc=$(sed -n 's/^accuracy \([0-9.]*\)$/\1/p' out.txt)
awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }' || { cat out.txt; echo "readme: accuracy '$acc' < 0.9"; exit 1; }
grep -q '^class_[012],' predictions.csv || { head predictions.csv; echo "readme: no class names"; exit 1; }
[ "$(wc -l < predictions.csv)" -eq 36 ] || { echo "readme: predictions.csv has not 35 rows"; exit 1; }
echo "readme: quickstart ran; test accuracy $acc"
