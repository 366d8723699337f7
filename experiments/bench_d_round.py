"""One adversarial D round of the Trainer (fresh negatives, fresh oracle positives,
3 D epochs, the accuracy check) at the length-20 sizes, with its D steps run two
ways that alternate in one process: one compiled call per round
(`LeakGAN.discriminator_epochs`, the Trainer since 2026-12-04) and one call of
`LeakGAN.discriminator_step` per batch (the Trainer before). Both make the same
updates in the same order (tests/test_steps.py); only the calling differs.
(Until 2026-12-04 this benchmark compared D batches fed by tf.data with batches
fed as tensors: experiments/results/bench_d_round.json.)

  python experiments/bench_d_round.py --rounds 3 --out experiments/results/bench_d_round_compiled.json
"""
import argparse
import dataclasses
import datetime
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = pathlib.Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from leakgan_tf.startup import prefer_onednn  # noqa: E402

prefer_onednn()  # as the CLIs run


def per_step(gan):
    """discriminator_epochs as the Trainer ran it before: one compiled call per batch."""
    import numpy as np

    def epochs(tokens, labels, count):
        return np.array([gan.discriminator_step(tokens[i], labels[i])[0].numpy()
                         for _ in range(count) for i in range(tokens.shape[0])])
    return epochs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per arm (after one warm-up each)")
    parser.add_argument("--out", default=str(HERE / "results" / "bench_d_round_compiled.json"))
    args = parser.parse_args()
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)

    import bench_speed

    from leakgan_tf.sources import OracleSource
    from leakgan_tf.train import Trainer
    from synthetic_oracle.model import OracleLSTM

    cfg = bench_speed.config_for(20, "incremental")
    oracle = OracleLSTM.from_seed(0, cfg.vocab_size, cfg.oracle_emb_dim, cfg.oracle_hidden_dim)
    with tempfile.TemporaryDirectory() as run:
        trainer = Trainer(cfg, run, OracleSource(oracle, cfg, run), fresh=True, out=sys.stderr)
        gan = trainer.gan
        arms = {"per_step": per_step(gan), "compiled": gan.discriminator_epochs}
        seconds = {name: [] for name in arms}
        full = trainer.cfg
        for r in range(args.rounds + 1):  # round 0: warm-up on 1,024 rows, not timed
            trainer.cfg = dataclasses.replace(full, generated_num=1024) if r == 0 else full
            for name, epochs in arms.items():
                gan.discriminator_epochs = epochs  # the instance's attribute: what the Trainer calls
                t0 = time.perf_counter()
                trainer.discriminator_round(r, "bench")
                if r:
                    seconds[name].append(round(time.perf_counter() - t0, 2))
                    print(f"round {r} {name:8s} {seconds[name][-1]:7.2f} s", flush=True)
    medians = {name: statistics.median(v) for name, v in seconds.items()}
    report = dict(date=datetime.datetime.now().isoformat(timespec="seconds"), cpus=os.cpu_count(),
                  command=sys.argv, protocol=f"length 20, {cfg.num_samples} negatives and positives, "
                  f"{cfg.d_epochs} D epochs per round; arms alternate in one process",
                  seconds=seconds, medians=medians,
                  speedup=round(medians["per_step"] / medians["compiled"], 3))
    pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    tmp = pathlib.Path(args.out).with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, args.out)
    print(f"medians {medians} -> {report['speedup']}x; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
