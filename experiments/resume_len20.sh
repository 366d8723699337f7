#!/usr/bin/env bash
# Issue 32's length-20 reproduction across sessions (experiments/reproduce_len20.py):
#   experiments/resume_len20.sh [OUT]        resume (or start) every unfinished run, in the background,
#                                            from a snapshot of HEAD, in its own scheduler group
#                                            (LEN20_NICE=19: idle time only)
#   experiments/resume_len20.sh stop [OUT]   SIGTERM the training (it checkpoints after its current unit), or
#                                            the driver when it is scoring in-process
#   experiments/resume_len20.sh pause|cont [OUT]   SIGSTOP/SIGCONT it (for the test suite or a benchmark)
#   experiments/resume_len20.sh status [OUT] where each run stands
#   experiments/resume_len20.sh report [OUT] write it to experiments/results/reproduce_len20.json, its plots beside
#                                            it and its tables into docs/results.md (commit those)
# OUT defaults to /work/runs/repro20 (outside the repository; checkpoints are large).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
ACTION=resume
case "${1:-}" in stop|pause|cont|status|report) ACTION=$1; shift ;; esac
OUT=$(realpath -m "${1:-/work/runs/repro20}")
PY=${PYTHON:-$REPO/.venv/bin/python}
export LEAKGAN_SHARED_DATA=$(realpath -m "${LEAKGAN_SHARED_DATA:-$REPO/../shared/data}")
pids() { pgrep -f -- "--out=$OUT( |$)|--out $OUT( |$)|--logdir=$OUT/" || true; }
case $ACTION in
  stop)   # the training checkpoints on SIGTERM and the drivers then exit; with no training going (the
          # benchmark scoring or sweeping in-process), the benchmark is stopped (its files are written
          # atomically, its temporary folders removed) and a resume redoes the unfinished score
          # (a second SIGTERM makes a training quit without saving, so each process is signalled
          # once; one the driver starts meanwhile is signalled in the loop; CONT ends a pause)
          mains() { pgrep -f -- "leakgan_tf.main .*--logdir=$OUT/" || true; }
          signalled=" "
          term() { for p in "$@"; do case $signalled in *" $p "*) continue ;; esac
                     kill -TERM "$p" 2>/dev/null || true; kill -CONT "$p" 2>/dev/null || true; signalled="$signalled$p "
                   done; }
          first=$(mains)
          [ -n "$first" ] || first=$(pgrep -f -- "oracle_benchmark.py --out=$OUT( |$)" || true)  # it exits 143, then its driver
          term ${first:-$(pids)}
          for p in $(pids); do kill -CONT "$p" 2>/dev/null || true; done
          while [ -n "$(pids)" ]; do sleep 2; term $(mains); done; echo "stopped"; exit 0 ;;
  pause)  for p in $(pids); do kill -STOP "$p"; done; echo "paused: $(pids | tr '\n' ' ')"; exit 0 ;;
  cont)   for p in $(pids); do kill -CONT "$p"; done; echo "continued"; exit 0 ;;
  status) exec "$PY" "$REPO/experiments/reproduce_len20.py" --out "$OUT" --status ;;
  report) exec "$PY" "$REPO/experiments/reproduce_len20.py" --out "$OUT" --report "$REPO/experiments/results/reproduce_len20.json" \
            --docs "$REPO/docs/results.md" ;;
esac
if [ -n "$(pids)" ]; then echo "error: a run of $OUT is going already (pids $(pids | tr '\n' ' '))" >&2; exit 2; fi
SNAP=$OUT/code-$(git -C "$REPO" rev-parse --short HEAD)
if [ ! -d "$SNAP" ]; then
  mkdir -p "$SNAP.partial" && git -C "$REPO" archive HEAD | tar -x -C "$SNAP.partial" && mv "$SNAP.partial" "$SNAP"
fi
echo "$(date -u +%FT%TZ) resume from $SNAP" >> "$OUT/history.txt"
cd "$SNAP"
# CPU share: the run gets a session, hence a scheduler autogroup, of its own (setsid), weighted by
# LEN20_NICE (default 0: half the CPU against everything else the session runs; 19: only idle time).
# Without setsid it shared the caller's autogroup, where its nice 19 lost to any test run (and
# writing 19 to that autogroup lowered the caller's whole session too).
setsid nohup sh -c 'echo "${LEN20_NICE:-0}" > /proc/self/autogroup 2>/dev/null; exec "$0" experiments/reproduce_len20.py --out="$1"' \
  "$PY" "$OUT" >> "$OUT/driver.log" 2>&1 < /dev/null &
echo "started (pid $!): log $OUT/driver.log, code $SNAP"
