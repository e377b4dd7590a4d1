#!/bin/sh
# After the Oclgrind subset (ctest label "oclgrind"): fails unless its kernel log
# (tests/oclgrind/kernel_log.c) shows every kernel of cl/*.cl, CLBlast's GEMM kernels, and
# the fused paths that CLGRAD_FUSED=auto chooses on Oclgrind's GPU-typed device.
#   coverage.sh SOURCE_DIR KERNEL_LOG
set -u
src=$1 log=$2
[ -s "$log" ] || { echo "coverage.sh: no kernel log at $log (run the whole subset: ctest -C Oclgrind -L oclgrind)" >&2; exit 1; }
missing=0
kernels=$(sed -n 's/^__kernel void \([A-Za-z0-9_]*\).*/\1/p' "$src"/cl/*.cl)
count=0
for k in $kernels; do
  count=$((count + 1))
  if ! cut -f1 "$log" | grep -qx "$k"; then
    echo "coverage.sh: kernel $k (cl/*.cl) never ran under Oclgrind" >&2
    missing=1
  fi
done
# CLBlast's matrix products (Xgemm, XgemmDirect*, their copy and pad kernels) and the
# closed form's GEMV and GER (Xgemv, Xger).
for k in 'Xgemm' 'XgemmDirect' 'Xgemv' 'Xger'; do
  if ! cut -f1 "$log" | grep -q "^$k"; then
    echo "coverage.sh: no CLBlast kernel $k* ran under Oclgrind" >&2
    missing=1
  fi
done
# CLGRAD_FUSED unset or auto on a GPU-typed device with >= 2 compute units: the split step.
if ! grep -Eq "^fused_split_step	CLGRAD_FUSED=(auto)?	" "$log"; then
  echo "coverage.sh: CLGRAD_FUSED=auto never chose the split step (run with --compute-units >= 2)" >&2
  missing=1
fi
# ... and with one compute unit, the epoch kernel.
if ! grep -Eq "^fused_sgd_epoch	CLGRAD_FUSED=(auto)?	" "$log"; then
  echo "coverage.sh: CLGRAD_FUSED=auto never chose the epoch kernel" >&2
  missing=1
fi
[ $missing -eq 0 ] && echo "coverage.sh: all $count kernels of cl/*.cl, CLBlast's and the automatic fused paths ran under Oclgrind"
exit $missing
