#!/usr/bin/env bash
# The first run on a machine with a GPU (issue 33): about 10 minutes on one GPU.
#   experiments/gpu_check.sh [OUT]      (OUT default ./gpu_check; PYTHON to choose the interpreter)
# 1. prints TensorFlow's devices and the backend a run would choose (kernels.choose) -> OUT/backend.json;
#    stops with an error when no GPU is visible (LEAKGAN_TF_SIMULATE_GPU=1 runs the rest on a CPU, for CI);
# 2. runs the GPU-relevant tests with the GPU defaults (backend choice, the graph scan for host-memory ops,
#    every phase under XLA against its plain graph, sampling, steps, rollouts, determinism) -> OUT/tests.xml;
# 3. every phase under XLA against its plain graph at length 20: xla_check.py -> OUT/xla_check.json;
# 4. times every phase at length 20 with the GPU defaults: bench_speed.py --quick -> OUT/bench_speed_gpu.json.
# Not yet run on a GPU: no machine of this project's has one that runs TensorFlow.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(realpath -m "${1:-gpu_check}")
PY=${PYTHON:-python}
if [ "${LEAKGAN_DOCCHECK:-}" = 1 ]; then exit 0; fi  # tests/test_docs.py: the documented command parses
mkdir -p "$OUT"
cd "$REPO"
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-1}
start=$(date +%s)

"$PY" - "$OUT/backend.json" <<'EOF'
import json, os, sys
import tensorflow as tf
from leakgan_tf import kernels
backend = kernels.choose(("auto",))
info = dict(backend.describe(), tensorflow=tf.__version__, built_with_cuda=tf.test.is_built_with_cuda(),
            cuda=tf.sysconfig.get_build_info().get("cuda_version", ""),
            gpus=[tf.config.experimental.get_device_details(d).get("device_name", d.name)
                  for d in tf.config.list_physical_devices("GPU")])
print(json.dumps(info, indent=1))
with open(sys.argv[1], "w") as f:
    json.dump(info, f, indent=1)
if backend.device != "gpu":
    sys.exit("error: no GPU is visible to TensorFlow (a CUDA build? `pip install -e .[gpu]`; "
             "LEAKGAN_TF_SIMULATE_GPU=1 checks the GPU path on a CPU)")
EOF

"$PY" -m pytest -q -n 0 -p no:cacheprovider --junitxml="$OUT/tests.xml" \
  tests/test_backends.py tests/test_sampling.py tests/test_steps.py tests/test_rollout.py tests/test_determinism.py \
  tests/test_random_streams.py tests/test_leaked.py

"$PY" experiments/xla_check.py --preset synthetic20 --out "$OUT/xla_check.json" || echo "gpu_check: xla_check FAILED (deviations in $OUT/xla_check.json)"
"$PY" experiments/bench_speed.py --quick --lengths 20 --paths incremental --out "$OUT/bench_speed_gpu.json"
echo "gpu_check: done in $(( $(date +%s) - start )) s; results in $OUT (backend.json, tests.xml, xla_check.json, bench_speed_gpu.json)"
