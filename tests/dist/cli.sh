#!/bin/sh
# clgrad train --distributed under mpirun (docs/distributed.md), on this machine's device:
# the same model as one process (eval loss within 1e-5 relative) for P = 2 and 3, only rank
# 0 reporting and writing, a resumed run bit for bit (cmp of the checkpoints), and ranks
# that fail (a missing file on one rank, ranks with other data) stopping every rank with
# the reason, well within the timeout; --average-every (model averaging) learning as one
# process does and resuming bit for bit.
#   cli.sh BUILD_DIR MPIEXEC
set -eu
build=$1 mpiexec=$2
clgrad=$build/tools/clgrad
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() { timeout 120 "$mpiexec" --oversubscribe "$@"; }
fail() { echo "test_cli_dist: $*" >&2; exit 1; }

# 203 rows of y = 2a - 3.4b + 4.2 + noise (awk's generator, fixed seed)
awk 'BEGIN { srand(7); for (i = 0; i < 203; i++) { a = rand() * 4 - 2; b = rand() * 4 - 2
       printf "%.6f,%.6f,%.6f\n", a, b, 2 * a - 3.4 * b + 4.2 + (rand() - 0.5) * 0.02 } }' >"$dir/d.csv"
head -n 150 "$dir/d.csv" >"$dir/short.csv"
loss() { "$clgrad" eval --model "$1" --data "$dir/d.csv" --json | sed 's/.*"loss":\([^,]*\),.*/\1/'; }

"$clgrad" train --data "$dir/d.csv" --epochs 3 --batch 10 --save "$dir/one.clg" >/dev/null
one=$(loss "$dir/one.clg")
for np in 2 3; do
  run -np $np "$clgrad" train --distributed --data "$dir/d.csv" --epochs 3 --batch 10 \
    --save "$dir/p$np.clg" >"$dir/out$np" 2>"$dir/err$np" || { cat "$dir/err$np" >&2; fail "P=$np failed"; }
  lp=$(loss "$dir/p$np.clg")
  awk -v a="$lp" -v b="$one" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-5 * b) }' ||
    fail "P=$np: eval loss $lp, one process $one"
  [ "$(grep -c '^epoch 3, loss' "$dir/out$np")" = 1 ] || fail "P=$np: not one report per epoch"
  [ "$(grep -c '^rank [0-9] of '$np' (local' "$dir/out$np")" = $np ] || fail "P=$np: device lines"
  echo "test_cli_dist: P=$np eval loss $lp, one process $one"
done

# resumed on the same P: the same checkpoint as one run
run -np 2 "$clgrad" train --distributed --data "$dir/d.csv" --epochs 2 --batch 10 \
  --save "$dir/half.clg" >/dev/null
run -np 2 "$clgrad" train --distributed --data "$dir/d.csv" --resume "$dir/half.clg" --epochs 4 \
  --batch 10 --save "$dir/resumed.clg" >/dev/null
run -np 2 "$clgrad" train --distributed --data "$dir/d.csv" --epochs 4 --batch 10 \
  --save "$dir/whole.clg" >/dev/null
cmp -s "$dir/resumed.clg" "$dir/whole.clg" || fail "2 + 2 resumed epochs differ from 4"
echo "test_cli_dist: P=2 2 + 2 resumed epochs give 4 epochs' checkpoint bit for bit"

# --average-every: the ranks' models averaged every K local steps learn what one process
# learns (eval loss within 10%: 10 epochs reach the noise, 6e-5), and resume bit for bit
"$clgrad" train --data "$dir/d.csv" --epochs 10 --batch 10 --save "$dir/one10.clg" >/dev/null
one=$(loss "$dir/one10.clg")
run -np 3 "$clgrad" train --distributed --average-every 4 --data "$dir/d.csv" --epochs 10 \
  --batch 10 --save "$dir/avg.clg" >"$dir/out" 2>"$dir/err" || { cat "$dir/err" >&2; fail "--average-every failed"; }
la=$(loss "$dir/avg.clg")
awk -v a="$la" -v b="$one" 'BEGIN { exit !(a <= 1.1 * b) }' ||
  fail "--average-every 4, P=3: eval loss $la, one process $one"
[ "$(grep -c '^epoch 10, loss' "$dir/out")" = 1 ] || fail "--average-every: not one report per epoch"
avg="--distributed --average-every 3 --data $dir/d.csv --batch 10"
run -np 2 "$clgrad" train $avg --momentum 0.9 --epochs 2 --save "$dir/ah.clg" >/dev/null
run -np 2 "$clgrad" train $avg --resume "$dir/ah.clg" --epochs 4 --save "$dir/ar.clg" >/dev/null
run -np 2 "$clgrad" train $avg --momentum 0.9 --epochs 4 --save "$dir/aw.clg" >/dev/null
cmp -s "$dir/ar.clg" "$dir/aw.clg" || fail "--average-every: 2 + 2 resumed epochs differ from 4"
if run -np 2 "$clgrad" train --distributed --average-every 2 --data "$dir/d.csv" --batch 10 \
     --resume "$dir/ah.clg" --epochs 4 >/dev/null 2>"$dir/err"; then
  fail "--resume with another --average-every passed"
fi
grep -q 'average=3' "$dir/err" || { cat "$dir/err" >&2; fail "no reason for another --average-every"; }
if run -np 3 "$clgrad" train $avg --resume "$dir/ah.clg" --epochs 4 >/dev/null 2>"$dir/err"; then
  fail "--resume of a 2-rank averaging run on 3 ranks passed"
fi
grep -q 'was trained on 2 ranks; this run has 3' "$dir/err" ||
  { cat "$dir/err" >&2; fail "no reason for the other ranks"; }
if "$clgrad" train --average-every 2 --data "$dir/d.csv" 2>"$dir/err"; then
  fail "--average-every without --distributed passed"
fi
grep -q 'distributed' "$dir/err" || fail "no reason for --average-every without --distributed"
echo "test_cli_dist: P=3 --average-every 4 eval loss $la, one process $one; resumed bit for bit"

# --shard: each rank streams its part of an .npy file (written with Python's struct, no
# numpy); the accuracy reported is the whole set's, as clgrad eval gives it
python3 - "$dir" <<'PY'
import random, struct, sys
random.seed(5)
def save(path, fmt, code, shape, values):
    head = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (code, shape)
    head += " " * (63 - (10 + len(head)) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode())
        f.write(struct.pack("<%d%s" % (len(values), fmt), *values))
X, y = [], []
for i in range(901):
    row = [random.gauss(0, 1) for _ in range(4)]
    X += row
    y.append(0 if row[0] + row[1] < -0.5 else 1 if row[2] - row[3] < 0.5 else 2)
save(sys.argv[1] + "/X.npy", "f", "<f4", "(901, 4)", X)
save(sys.argv[1] + "/y.npy", "i", "<i4", "(901,)", y)
order = sorted(range(901), key=lambda i: y[i])  # sorted by class: rank 0's shard has no 2
save(sys.argv[1] + "/Xs.npy", "f", "<f4", "(901, 4)", [X[4 * i + j] for i in order for j in range(4)])
save(sys.argv[1] + "/ys.npy", "i", "<i4", "(901,)", [y[i] for i in order])
with open(sys.argv[1] + "/xy.csv", "w") as f:  # the same rows as CSV, a header, class ids
    f.write("a,b,c,d,label\n")
    for i in range(901):
        f.write(",".join("%.9g" % X[4 * i + j] for j in range(4)) + ",%d\n" % y[i])
with open(sys.argv[1] + "/named.csv", "w") as f:  # class names: each part sees only some
    f.write("a,label\n" + "".join("%d,%s\n" % (i, "abc"[i % 3]) for i in range(90)))
PY
run -np 3 "$clgrad" train --distributed --shard --stream --data "$dir/X.npy" --labels "$dir/y.npy" \
  --model softmax --epochs 5 --batch 30 --save "$dir/shard.clg" >"$dir/out" 2>"$dir/err" ||
  { cat "$dir/err" >&2; fail "--shard failed"; }
said=$(sed -n 's/^train accuracy //p' "$dir/out")
all=$("$clgrad" eval --model "$dir/shard.clg" --data "$dir/X.npy" --labels "$dir/y.npy" --json |
      sed 's/.*"accuracy":\([^,}]*\).*/\1/')
awk -v a="$said" -v b="$all" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-4 && b > 0.7) }' ||
  fail "--shard: train accuracy $said, clgrad eval over all rows $all"
echo "test_cli_dist: P=3 --shard train accuracy $said (clgrad eval over all rows: $all)"
run -np 3 "$clgrad" train --distributed --shard --stream --data "$dir/Xs.npy" --labels "$dir/ys.npy" \
  --model softmax --epochs 2 --batch 30 --test "$dir/X.npy" --test-labels "$dir/y.npy" \
  >"$dir/out" 2>"$dir/err" || { cat "$dir/err" >&2; fail "--shard of sorted labels failed"; }
grep -q 'test acc' "$dir/out" || fail "--shard of sorted labels: no test accuracy"
echo "test_cli_dist: P=3 --shard of labels sorted by class (shards lacking classes) trains"
# CSV shards: each rank parses the lines that start in its third of the file's bytes
run -np 3 "$clgrad" train --distributed --shard --stream --data "$dir/xy.csv" --model softmax \
  --epochs 5 --batch 30 --save "$dir/csv.clg" >"$dir/out" 2>"$dir/err" ||
  { cat "$dir/err" >&2; fail "--shard of a CSV file failed"; }
said=$(sed -n 's/^train accuracy //p' "$dir/out")
all=$("$clgrad" eval --model "$dir/csv.clg" --data "$dir/xy.csv" --json |
      sed 's/.*"accuracy":\([^,}]*\).*/\1/')
awk -v a="$said" -v b="$all" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d < 1e-4 && b > 0.7) }' ||
  fail "--shard of a CSV file: train accuracy $said, clgrad eval over all rows $all"
if run -np 2 "$clgrad" train --distributed --shard --stream --data "$dir/named.csv" \
     --model softmax >/dev/null 2>"$dir/err"; then
  fail "--shard of a CSV file with class names passed"
fi
grep -q 'names' "$dir/err" || { cat "$dir/err" >&2; fail "no reason for the CSV shard's class names"; }
echo "test_cli_dist: P=3 --shard of a CSV file: train accuracy $said (eval over all rows: $all)"

# a rank that cannot read its file, then ranks with other data: every rank stops, at once
t0=$(date +%s)
if run -np 1 "$clgrad" train --distributed --data "$dir/d.csv" : \
     -np 1 "$clgrad" train --distributed --data "$dir/missing.csv" >"$dir/out" 2>"$dir/err"; then
  fail "a missing file on rank 1 passed"
fi
grep -q 'missing.csv' "$dir/err" && grep -q 'rank 1 of 2 failed with CLG_ERR_IO' "$dir/err" ||
  { cat "$dir/err" >&2; fail "no reason for the missing file"; }
if run -np 2 "$clgrad" train --distributed --data "$dir/d.csv" : \
     -np 1 "$clgrad" train --distributed --data "$dir/short.csv" >"$dir/out" 2>"$dir/err"; then
  fail "ranks with other data passed"
fi
grep -q 'disagree: the training rows is 203 on rank 0 but 150 on rank 2' "$dir/err" ||
  { cat "$dir/err" >&2; fail "no reason for the other data"; }
took=$(( $(date +%s) - t0 ))
[ "$took" -lt 60 ] || fail "the failing runs took $took s (timeout 120 s each)"
echo "test_cli_dist: a failing rank stops every rank, with its reason (both runs: $took s)"
