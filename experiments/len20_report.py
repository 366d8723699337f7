"""Issue 32's report, rendered from the run folders of experiments/reproduce_len20.py:
every scored point of every seed beside the repository's length-20 logs, the logs'
min–max band and whether each point lies inside it, runs of points outside it, final
and best points, the MLE rows, the β sweeps (does LeakGAN's quality–diversity curve lie
below MLE's, or move along it?), busy time per run and the machine.

  python experiments/reproduce_len20.py --out /work/runs/repro20 --report experiments/results/reproduce_len20.json \
      --docs docs/results.md      # the JSON, its two plots beside it, this section in docs/results.md

The section sits between MARK_BEGIN and MARK_END in docs/results.md; the text around it
is kept. The renderers below take plain dicts (what `collect` reads from the events and
evaluate's JSON), so the tables can be rebuilt from the committed JSON alone.
"""
import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import oracle_benchmark as ob  # noqa: E402  (experiments/ is not a package)

MARK_BEGIN, MARK_END = "<!-- reproduce-len20:begin -->", "<!-- reproduce-len20:end -->"
EPOCHS_PER_BLOCK = 8  # experiments/synthetic_len20.cfg: pretrain_g_epochs
METRICS = ("nll_oracle", "nll_oracle_beta1", "nll_test")
MLE_METRICS = METRICS + ("distinct4", "jeffreys", "bhattacharyya", "nll_balanced")
SWEEP_KEYS = ("beta", "nll_oracle", "nll_test", "distinct4")


def point(step):
    """The repository logs' name of a pretraining score: "k.e", after MLE epoch e + 1 of
    block k (steps count MLE epochs from 0 over all blocks)."""
    return f"{step // EPOCHS_PER_BLOCK + 1}.{step % EPOCHS_PER_BLOCK}"


def logs(phase):
    """[(label, {step: NLL-oracle at β = 1.5})] of the repository logs that have points of
    phase ("pretraining": log1.txt and log.txt; "adversarial": all three)."""
    ref = ob.REFERENCE[20]
    out = []
    for key, default in (("repo_log", "repo log1.txt (README)"), ("repo_log_2", None), ("repo_log_3", None)):
        points = ref[key].get(phase)
        if points:
            out.append((ref[key].get("label") or default, {int(k): v for k, v in points.items()}))
    return out


def collect(out, seeds, run_folder, position):
    """{seed: {pretraining, adversarial, mle, sweeps, busy_seconds, position}} read from the
    run folders under out (a seed without a run folder is left out)."""
    seeds_data = {}
    for seed in seeds:
        folder = run_folder(out, seed)
        pre, adv = folder / "pretrain_code", folder / "code"
        if not pre.exists():
            continue
        row = dict(pretraining=ob.trajectory(pre, "pretrain"), mle=ob.read_json(folder / "mle_eval.json"),
                   busy_seconds=dict(pretraining=ob.busy_seconds(pre)), position=position(pre))
        if adv.exists():
            row.update(adversarial=ob.trajectory(adv, "adversarial"), adversarial_position=position(adv))
            row["busy_seconds"]["adversarial"] = ob.busy_seconds(adv)
        sweeps = {}
        for name in ("mle", "code"):
            sweep = ob.read_json(folder / f"sweep_{name}.json")
            if sweep and sweep.get("sweep"):
                done = sweep.get("iterations_done", 0)
                sweeps[f"{name}@{done}"] = dict(
                    generator=name, iterations=done, protocol=sweep.get("sweep_protocol"),
                    rows=[{k: r.get(k) for k in SWEEP_KEYS} for r in sweep["sweep"]])
        row["sweeps"] = sweeps
        seeds_data[str(seed)] = row
    return seeds_data


def keep_old_sweeps(seeds_data, previous):
    """Adds the sweeps of an earlier report (a run's sweep at 50 iterations, before it went
    on to 100 and its sweep file was rewritten) that are no longer on disk."""
    for seed, row in (previous or {}).items():
        if seed in seeds_data:
            for key, sweep in (row.get("sweeps") or {}).items():
                seeds_data[seed]["sweeps"].setdefault(key, sweep)
    return seeds_data


def band_table(ours, references):
    """Rows {step, ours: {seed: value}, logs: [value|None], band: (lo, hi)|None,
    inside: {seed: True/False/None}} over every step any seed or log scored.
    ours: {seed: {step: value}}; references: [(label, {step: value})]. The band is the
    logs' min–max where at least two logs scored the step."""
    steps = sorted({s for values in ours.values() for s in values})
    rows = []
    for step in steps:
        at = [log.get(step) for _, log in references]
        have = [v for v in at if v is not None]
        band = (min(have), max(have)) if len(have) >= 2 else None
        mine = {seed: values.get(step) for seed, values in ours.items()}
        inside = {seed: None if band is None or v is None else band[0] <= v <= band[1] for seed, v in mine.items()}
        rows.append(dict(step=step, ours=mine, logs=at, band=band, inside=inside))
    return rows


def outside_streaks(rows, seed, at_least=3):
    """[(first step, last step, count, "above"/"below")] of the runs of at_least or more
    consecutive scored points of seed outside the band (issue 32: such a run needs its
    cause found before the next run starts). A point without a band ends no streak."""
    streaks, current = [], []
    for r in rows:
        if r["inside"].get(seed) is None:
            continue
        if r["inside"][seed]:
            current = []
            continue
        side = "above" if r["ours"][seed] > r["band"][1] else "below"
        if current and current[-1][1] != side:
            current = []
        current.append((r["step"], side))
        if len(current) == at_least:
            streaks.append([current[0][0], r["step"], at_least, side])
        elif len(current) > at_least:
            streaks[-1][1:3] = [r["step"], len(current)]
    return [tuple(s) for s in streaks]


def curve_gap(mle_rows, gan_rows):
    """[(β, NLL-test, LeakGAN's NLL-oracle minus MLE's at the same NLL-test)] for the
    LeakGAN sweep points inside the NLL-test range of the MLE sweep (MLE's curve
    interpolated linearly in NLL-test): negative means LeakGAN lies below MLE's curve,
    better quality at the same diversity; near zero means it only moves along it."""
    curve = sorted((r["nll_test"], r["nll_oracle"]) for r in mle_rows
                   if r.get("nll_test") is not None and r.get("nll_oracle") is not None)
    gaps = []
    for r in gan_rows:
        x = r.get("nll_test")
        for (x0, y0), (x1, y1) in zip(curve, curve[1:]):
            if x is not None and x0 <= x <= x1 and x1 > x0:
                gaps.append((r["beta"], x, r["nll_oracle"] - (y0 + (y1 - y0) * (x - x0) / (x1 - x0))))
                break
    return gaps


def trajectory_at_beta1(rows):
    """The adversarial scored points as points of LeakGAN's curve at β = 1:
    [{beta: 1.0, iteration, nll_test, nll_oracle}] (the runs' NLL-test is at β = 1,
    as the sweep's row at β = 1 is)."""
    return [dict(beta=1.0, iteration=r["step"], nll_test=r["nll_test"], nll_oracle=r["nll_oracle_beta1"])
            for r in rows or [] if r.get("nll_test") is not None and r.get("nll_oracle_beta1") is not None]


def fmt(value, digits=3):
    return ob.fmt(value, digits)


def _cell(row, metrics=METRICS):
    return " / ".join(fmt(row.get(m)) for m in metrics) if row else "–"


def _inside(flag):
    return "–" if flag is None else "yes" if flag else "**no**"


def _trajectory_table(seeds_data, phase, label_of_step, head):
    refs = logs(phase)
    rows_by_seed = {seed: {r["step"]: r for r in d.get(phase) or []} for seed, d in seeds_data.items()}
    rows_by_seed = {seed: rows for seed, rows in rows_by_seed.items() if rows}
    if not rows_by_seed:
        return [], {}
    ours = {seed: {s: r.get("nll_oracle") for s, r in rows.items()} for seed, rows in rows_by_seed.items()}
    table = band_table(ours, refs)
    seeds = list(rows_by_seed)
    lines = ["| " + head + " | " + " | ".join(f"seed {s} β=1.5 / β=1.0 / NLL-test" for s in seeds) + " | "
             + " | ".join(label for label, _ in refs) + " | logs' band | inside (" + ", ".join(seeds) + ") |",
             "|---|" + "---|" * (len(seeds) + len(refs) + 2)]
    for r in table:
        lines.append(f"| {label_of_step(r['step'])} | "
                     + " | ".join(_cell(rows_by_seed[s].get(r["step"])) for s in seeds) + " | "
                     + " | ".join(fmt(v) for v in r["logs"]) + " | "
                     + (f"{fmt(r['band'][0])}–{fmt(r['band'][1])}" if r["band"] else "–") + " | "
                     + ", ".join(_inside(r["inside"][s]) for s in seeds) + " |")
    return lines, {seed: outside_streaks(table, seed) for seed in seeds}


def _streak_lines(streaks, phase, label_of_step):
    said = []
    for seed, runs in streaks.items():
        for first, last, count, side in runs:
            said.append(f"seed {seed}'s {phase} points {label_of_step(first)}–{label_of_step(last)} ({count} in a "
                        f"row) lie {side} the logs' band")
    if not said:
        return [f"Every {phase} point lies inside the logs' band or leaves it for fewer than three points in a row."]
    return ["Outside the logs' band for three or more points in a row (issue 32: find the cause before the next run "
            "starts): " + "; ".join(said) + "."]


def _spread_line(seeds_data, phase, label_of_step):
    """The spread of our seeds' NLL-oracle beside the spread of the repository's logs."""
    ours = {seed: {r["step"]: r.get("nll_oracle") for r in d.get(phase) or []} for seed, d in seeds_data.items()}
    ours = {s: v for s, v in ours.items() if v}
    if len(ours) < 2:
        return []
    shared = sorted(set.intersection(*(set(v) for v in ours.values())))
    if not shared:
        return []
    spread = [max(v[s] for v in ours.values()) - min(v[s] for v in ours.values()) for s in shared]
    refs = [log for _, log in logs(phase)]
    at = [[log[s] for log in refs if s in log] for s in shared]
    theirs = [max(values) - min(values) for values in at if len(values) >= 2]
    line = (f"Spread of seeds {', '.join(ours)} ({phase}, NLL-oracle β=1.5, {label_of_step(shared[0])}–"
            f"{label_of_step(shared[-1])}): mean max−min {sum(spread) / len(spread):.3f}, largest {max(spread):.3f}")
    if theirs:
        line += f"; the repository's logs at the same points: mean {sum(theirs) / len(theirs):.3f}, " \
                f"largest {max(theirs):.3f}"
    return ["", line + "."]


def _final_and_best(seeds_data):
    lines = ["| run | last scored iteration | NLL-oracle there | best (iteration) |", "|---|---|---|---|"]
    for seed, d in seeds_data.items():
        rows = [r for r in d.get("adversarial") or [] if r.get("nll_oracle") is not None]
        if rows:
            best = min(rows, key=lambda r: r["nll_oracle"])
            done = (d.get("adversarial_position") or {}).get("iterations_done", "?")
            lines.append(f"| seed {seed} ({done} iterations done) | {rows[-1]['step']} | "
                         f"{fmt(rows[-1]['nll_oracle'])} | {fmt(best['nll_oracle'])} ({best['step']}) |")
    for label, log in logs("adversarial"):
        last = max(log)
        best = min(log, key=log.get)
        lines.append(f"| {label} | {last} | {fmt(log[last])} | {fmt(log[best])} ({best}) |")
    return lines


def _mle_rows(seeds_data):
    lines = ["| seed | blocks | NLL-oracle β=1.5 | NLL-oracle β=1.0 | NLL-test | distinct-4 β=1.5 | Jeffreys | "
             "Bhattacharyya | balanced NLL |", "|---|---|---|---|---|---|---|---|---|"]
    for seed, d in seeds_data.items():
        mle = d.get("mle")
        if mle:
            lines.append(f"| {seed} | {mle.get('blocks_done')} | " + " | ".join(fmt(mle.get(m)) for m in MLE_METRICS)
                         + " |")
    ref = ob.REFERENCE[20]
    lines.append(f"| repo log1.txt / log.txt (last pretraining point, 10.5) | 10 | "
                 f"{fmt(ref['repo_log']['pretrain_end'])} / {fmt(ref['repo_log_2']['pretrain_end'])} | "
                 "– | – | – | – | – | – |")
    lines.append(f"| paper Table 1, MLE | – | – | {fmt(ref['paper']['mle'])} | – | – | – | – | – |")
    return lines


def _sweep_lines(seeds_data):
    lines, gaps = [], []
    for seed, d in seeds_data.items():
        for sweep in sorted((d.get("sweeps") or {}).values(), key=lambda s: (s["generator"] != "mle", s["iterations"])):
            name = "MLE" if sweep["generator"] == "mle" else f"LeakGAN after {sweep['iterations']} iterations"
            for r in sweep["rows"]:
                lines.append(f"| {seed} | {name} | {r['beta']:g} | {fmt(r.get('nll_oracle'))} | "
                             f"{fmt(r.get('nll_test'))} | {fmt(r.get('distinct4'))} |")
            mle = (d.get("sweeps") or {}).get("mle@0")
            if sweep["generator"] == "code" and mle:
                gap = curve_gap(mle["rows"], sweep["rows"])
                gaps.append(f"seed {seed}, LeakGAN after {sweep['iterations']} iterations: "
                            + (", ".join(f"β={b:g} {g:+.3f}" for b, _, g in gap) if gap else
                               "no point inside MLE's NLL-test range"))
    along = []
    for seed, d in seeds_data.items():
        mle = (d.get("sweeps") or {}).get("mle@0")
        points = trajectory_at_beta1(d.get("adversarial"))
        if mle and points:
            gap = {p["iteration"]: g for p in points for _, _, g in curve_gap(mle["rows"], [p])}
            along.append(f"seed {seed}: " + ", ".join(f"{p['iteration']}: {gap[p['iteration']]:+.3f}"
                                                       if p["iteration"] in gap else f"{p['iteration']}: outside"
                                                       for p in points))
    if not lines:
        return ["No β sweep yet (each run is swept when it reaches its target)."]
    out = ["| seed | generator | β | NLL-oracle | NLL-test at β | distinct-4 |", "|---|---|---|---|---|---|", *lines]
    if gaps:
        out += ["", "LeakGAN's NLL-oracle minus MLE's curve at the same NLL-test (negative: below MLE's curve, "
                    "better quality at equal diversity; near 0: it moves along the curve): " + "; ".join(gaps) + "."]
    if along:
        out += ["", "Every scored adversarial iteration as a point at β = 1 (its NLL-oracle at β = 1 and NLL-test), "
                    "minus MLE's curve at that NLL-test, by iteration (\"outside\": beyond the NLL-test range of "
                    "MLE's sweep): " + "; ".join(along) + "."]
    return out


def _busy_lines(seeds_data, machine):
    lines = ["| seed | pretraining | adversarial | per adversarial iteration |", "|---|---|---|---|"]
    for seed, d in seeds_data.items():
        busy = d.get("busy_seconds") or {}
        done = (d.get("adversarial_position") or {}).get("iterations_done") or 0
        per = f"{busy['adversarial'] / done / 60:.1f} min" if done and busy.get("adversarial") else "–"
        lines.append(f"| {seed} | {ob.hours(busy.get('pretraining'))} | {ob.hours(busy.get('adversarial'))} | {per} |")
    return [f"Busy time (the runs' units summed from their events: D rounds, MLE epochs, G steps, evaluations; "
            f"pauses between sessions not counted) on {machine}, shared with other work in most sessions, so "
            f"not benchmark figures:", "", *lines]


def markdown(body):
    """The docs section (between the markers) of a report body (reproduce_len20.report)."""
    seeds_data, machine = body["seeds"], body["machine"]
    machine_text = f"{machine.get('model') or machine.get('cpu')}, {machine.get('cores')} cores" + (
        ", AVX-512" if machine.get("avx512") else "")
    pre_lines, pre_streaks = _trajectory_table(seeds_data, "pretraining", point, "point")
    adv_lines, adv_streaks = _trajectory_table(seeds_data, "adversarial", str, "iteration")
    position = []
    for seed, d in seeds_data.items():
        pre = d.get("position") or {}
        adv = d.get("adversarial_position")
        target = body["targets"].get(seed)
        position.append(f"seed {seed}: {pre.get('blocks_done', 0)} of 10 pretraining blocks"
                        + (f", {adv.get('iterations_done', 0)} adversarial iterations" if adv else "")
                        + (f" (target {target})" if target else ""))
    lines = [MARK_BEGIN, "",
             "Written by `experiments/reproduce_len20.py --report` from the runs' event files and scores "
             f"({'full protocol reached' if body['full_protocol'] else 'runs still going: not the full protocol yet'}"
             f"). Position: {'; '.join(position) or 'nothing run yet'}. NLL-oracle per token, nats, "
             f"{body.get('samples_per_score', 9984):,} samples per score; each of our cells is β=1.5 / β=1.0 / "
             "NLL-test; the logs' columns are β = 1.5 (the code's sampling temperature). Plot: "
             "`experiments/results/reproduce_len20.png`.", ""]
    if pre_lines:
        lines += ["Pretraining (\"k.e\": after MLE epoch e+1 of block k, as the logs print it; `log2.txt` has no "
                  "points here: its pretraining ran MLE epochs 0–115 without interleaved D rounds, from a checkpoint "
                  "with D pretrained):", "", *pre_lines, "", *_streak_lines(pre_streaks, "pretraining", point),
                  *_spread_line(seeds_data, "pretraining", point), ""]
    if adv_lines:
        lines += ["Adversarial training (scored after the iteration's G step; the logs by `total_batch`, each after "
                  "its own pretraining):", "", *adv_lines, "", *_streak_lines(adv_streaks, "adversarial", str),
                  *_spread_line(seeds_data, "adversarial", str), "", *_final_and_best(seeds_data), ""]
    lines += ["The MLE rows (each seed's generator at the end of pretraining, scored by `evaluate`, sampling seed 0; "
              "the divergences at β = 1.5, nats per sequence):", "", *_mle_rows(seeds_data), "",
              "β sweeps (plot `experiments/results/reproduce_len20_sweep.png`):", "", *_sweep_lines(seeds_data), "",
              *_busy_lines(seeds_data, machine_text), "", MARK_END]
    return "\n".join(lines)


def plot(body, path):
    """Pretraining and adversarial NLL-oracle (β = 1.5) of every seed beside the
    repository's logs, one PNG; None without matplotlib or before the first score."""
    if not any(d.get(phase) for d in body["seeds"].values() for phase in ("pretraining", "adversarial")):
        return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    styles = ("-", ":", "-.", "--")
    for ax, phase, xlabel in ((axes[0], "pretraining", "MLE epoch (10 blocks of 8; scored at epochs 0 and 5)"),
                              (axes[1], "adversarial", "adversarial iteration")):
        for seed, d in body["seeds"].items():
            rows = [r for r in d.get(phase) or [] if r.get("nll_oracle") is not None]
            if rows:
                ax.plot([r["step"] for r in rows], [r["nll_oracle"] for r in rows], marker="o", markersize=3,
                        label=f"ours, seed {seed}")
        for i, (label, log) in enumerate(logs(phase)):
            ax.plot(list(log), list(log.values()), color="black", alpha=0.5, linestyle=styles[i % 4], label=label)
        ax.set_title(f"length 20, {phase}: NLL-oracle at β = 1.5")
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=8)
    from leakgan_tf.sweep import save_png
    return save_png(fig, path)


def plot_sweeps(body, path):
    """Every seed's MLE and LeakGAN sweeps, NLL-oracle against NLL-test at β (each point
    named by its β), and each seed's scored adversarial iterations at β = 1 (named by
    iteration). None without matplotlib or before the first sweep."""
    sweeps = [(seed, s) for seed, d in body["seeds"].items() for s in (d.get("sweeps") or {}).values()]
    if not sweeps:
        return None
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for seed, s in sorted(sweeps, key=lambda x: (x[0], x[1]["generator"] != "mle", x[1]["iterations"])):
        rows = [r for r in s["rows"] if r.get("nll_test") is not None and r.get("nll_oracle") is not None]
        label = f"seed {seed}, " + ("MLE" if s["generator"] == "mle" else f"LeakGAN after {s['iterations']} it.") \
            + ", over β"
        ax.plot([r["nll_test"] for r in rows], [r["nll_oracle"] for r in rows], marker="o", label=label)
        for r in rows:
            ax.annotate(f"β={r['beta']:g}", (r["nll_test"], r["nll_oracle"]), textcoords="offset points",
                        xytext=(4, 4), fontsize=7)
    for seed, d in body["seeds"].items():
        points = trajectory_at_beta1(d.get("adversarial"))
        if points:
            ax.plot([p["nll_test"] for p in points], [p["nll_oracle"] for p in points], marker="s", markersize=3,
                    linestyle=":", label=f"seed {seed}, LeakGAN's scored iterations at β = 1")
            for p in points[::2]:
                ax.annotate(str(p["iteration"]), (p["nll_test"], p["nll_oracle"]), textcoords="offset points",
                            xytext=(-10, -10), fontsize=7)
    ax.set_xlabel("NLL-test at β (diversity: lower covers held-out data better)")
    ax.set_ylabel("NLL-oracle of samples at β (quality: lower is better)")
    ax.set_title("length 20: quality–diversity, MLE's temperature curve and LeakGAN")
    ax.legend(fontsize=7)
    from leakgan_tf.sweep import save_png
    return save_png(fig, path)


def write_docs(path, section):
    """Replaces the section between the markers in path (appends it when absent)."""
    ob.write_docs(path, section, MARK_BEGIN, MARK_END, heading=None)


def previous_seeds(path):
    """The seeds of the report saved at path, {} when there is none (or an old format)."""
    path = pathlib.Path(path)
    return (json.loads(path.read_text()).get("seeds") or {}) if path.exists() else {}
