#!/bin/sh
# Runs one test command under Oclgrind (docs/oclgrind.md) and fails if the command failed
# or Oclgrind reported anything.
#   run.sh [OCLGRIND OPTIONS --] COMMAND [ARGS]
# e.g. run.sh --compute-units 4 -- build/tests/test_fused --jobs 1 --filter 'fused/*'
#
# Oclgrind writes its reports (API misuse, out-of-bounds accesses, data races, barrier
# divergence, fatal errors) to --log. Every process that loads Oclgrind's runtime (Criterion
# forks one per test, test_cli starts the clgrad tool) opens that file anew, truncating
# what an earlier one wrote, so the log is a FIFO drained into one file by a reader here.
# Kernel binaries come from a fresh cache directory (CLGRAD_CACHE_DIR), so every program is
# built by Oclgrind in this run.
set -u
extra=""
case " $* " in
  *" -- "*)
    while [ $# -gt 0 ] && [ "$1" != -- ]; do extra="$extra $1"; shift; done
    shift ;;
esac
[ $# -gt 0 ] || { echo "usage: run.sh [OCLGRIND OPTIONS --] COMMAND [ARGS]" >&2; exit 2; }
command -v oclgrind >/dev/null || { echo "run.sh: oclgrind is not installed (apt-get install oclgrind)" >&2; exit 2; }

work=$(mktemp -d /tmp/clgrad-oclgrind-XXXXXX) || exit 2
reader=""
cleanup() {
  [ -n "$reader" ] && kill "$reader" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkfifo "$work/fifo" || exit 2
# Opened read-write, the reader never sees end-of-file between the processes' writes.
cat <>"$work/fifo" >"$work/log" &
reader=$!

# With CLGRAD_OCLGRIND_SHIM (tests/oclgrind/kernel_log.c, built as a module) and
# CLGRAD_OCLGRIND_KERNELS set, the command runs with the shim preloaded ahead of Oclgrind's
# runtime, which records the kernels enqueued for the coverage check.
if [ -n "${CLGRAD_OCLGRIND_SHIM:-}" ]; then
  set -- sh -c 'LD_PRELOAD="$0${LD_PRELOAD:+:$LD_PRELOAD}" exec "$@"' "$CLGRAD_OCLGRIND_SHIM" "$@"
fi

# --uninitialized is not used: it stops with "Unsupported instruction: freeze" on the
# optimised kernels, and with -cl-opt-disable it flags values written by
# clEnqueueFillBuffer as uninitialised (docs/oclgrind.md).
# shellcheck disable=SC2086 # extra is a list of options
CLGRAD_CACHE_DIR="$work/cache" oclgrind --check-api --data-races --log "$work/fifo" $extra \
  "$@" 2>"$work/stderr"
rc=$?
# The reader has read everything once a sentinel written after the last report came out.
echo "clgrad-oclgrind-end" >"$work/fifo"
i=0
while ! grep -q '^clgrad-oclgrind-end$' "$work/log" 2>/dev/null && [ $i -lt 100 ]; do
  sleep 0.1; i=$((i + 1))
done
kill "$reader" 2>/dev/null; wait "$reader" 2>/dev/null; reader=""

cat "$work/stderr" >&2
grep -v '^clgrad-oclgrind-end$' "$work/log" >"$work/reports"
status=0
if [ -s "$work/reports" ]; then
  echo "run.sh: Oclgrind reported $(grep -c . "$work/reports") lines:" >&2
  head -n 200 "$work/reports" >&2
  status=1
fi
# Reports that bypassed the log (fatal errors of the simulator, a crash at exit).
if grep -Eq 'OCLGRIND|Oclgrind - |Oclgrind:|corrupted|double free|Aborted|Segmentation' "$work/stderr"; then
  echo "run.sh: Oclgrind or the C runtime complained on stderr (above)" >&2
  status=1
fi
if [ $rc -ne 0 ]; then
  echo "run.sh: the command exited with $rc" >&2
  status=1
fi
exit $status
