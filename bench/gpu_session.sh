#!/usr/bin/env bash
# Everything the project measures on a lent GPU, in one call of about 8 minutes
# (the device tool: command "bash bench/gpu_session.sh", carry [".whl"], timeout_s 590).
# Parts run one after another, each under its own time limit and logged to $OUT, so
# one that fails leaves the others' results:
#   1. bench/gpu.py: population throughput (W, large, panel; P = 64 ... 4096) against
#      the card's matmul rate and against a torch.nn.LSTM loop on the same GPU;
#   2. the m1_monthly flagfile end to end (benchmarks off: statsforecast is not there);
#   3. a sweep of 1,024 members on M1 monthly (random learning rates, one bucket): what
#      the chunk's host side (metrics, checkpoints of every member) costs at that size;
#   4. the engine's tests on the GPU at float32 matmul precision (RNNJAX_TEST_PLATFORM).
# Session 14 ran parts 1, 2 and 4 (234 s in all; BUILD_NOTES); part 3 is new since.
# The machine's image has jax, flax, optax, orbax, torch, pytest; what the sweep needs
# beyond that travels as wheels in .whl/ (ignored by git: `echo /.whl/ >> .git/info/exclude`),
# installed into /tmp/site; session 14 fetched them here with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux2014_x86_64 -d .whl tensorboardX==2.6.5 \
#     optuna==5.1.0 alembic==1.20.1 Mako==1.4.3 colorlog==6.12.0 SQLAlchemy==2.1.9
set -u
OUT=${OUT:-/tmp/gpu_session}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if compgen -G '.whl/*.whl' > /dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
part() {  # part NAME SECONDS COMMAND...: runs COMMAND, its output in $OUT/NAME.log
  local name=$1 limit=$2 t0
  shift 2
  t0=$(date +%s)
  echo "== $name (limit $limit s): $*"
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  echo "== $name: exit $? after $(( $(date +%s) - t0 )) s"
}
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm \
    --format=csv
  nproc
  python3 -c 'import sys, jax, flax, optax, orbax.checkpoint, torch, optuna, tensorboardX
print(sys.version.split()[0], "jax", jax.__version__, "flax", flax.__version__, "optax",
      optax.__version__, "torch", torch.__version__, "optuna", optuna.__version__)
print(jax.devices())'
} > "$OUT/machine.log" 2>&1
cat "$OUT/machine.log"

part gpu_bench 220 python3 -m bench.gpu --budget_s=180
tail -n 20 "$OUT/gpu_bench.log"

WORK=/tmp/m1_monthly
part m1_monthly 100 python3 -m experiments.population_sweep \
  --flagfile=experiments/flagfiles/m1_monthly.flags --classical_baselines=false \
  --workdir="$WORK"
cp "$WORK/summary.json" "$OUT/m1_monthly_summary.json" 2>/dev/null
grep -v '^ *$' "$OUT/m1_monthly.log" | tail -n 25

WORK=/tmp/population_1024
part population_1024 140 python3 -m experiments.population_sweep \
  --flagfile=experiments/flagfiles/m1_monthly.flags --classical_baselines=false \
  --lookback=36 --search=random --num_members=1024 --num_seeds=1 \
  '--learning_rate=loguniform(3e-4,3e-3)' --train_steps=500 --eval_every=250 --refit=0 \
  --ensemble=top --figures=false --workdir="$WORK"
cp "$WORK/summary.json" "$OUT/population_1024_summary.json" 2>/dev/null
grep -E 'members in|chunk|compiles|final model' "$OUT/population_1024.log" | tail -n 8

part gpu_tests 100 env RNNJAX_TEST_PLATFORM=cuda JAX_DEFAULT_MATMUL_PRECISION=highest \
  XLA_PYTHON_CLIENT_PREALLOCATE=false python3 -m pytest -q -n 8 -p no:cacheprovider -rf \
  --durations=5 tests/test_cells.py tests/test_fused.py tests/test_population.py \
  tests/test_model.py
tail -n 30 "$OUT/gpu_tests.log"
