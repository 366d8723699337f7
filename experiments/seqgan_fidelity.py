"""leakgan_tf's SeqGAN against the official SeqGAN (LantaoYu/SeqGAN, TF1), one step
of each kind from the same weights.

  python experiments/seqgan_fidelity.py --seqgan_dir ~/SeqGAN [--out FILE.json] [--seed 0]

--seqgan_dir is a checkout of the official repository; nothing of it is copied
here. Its generator.py, discriminator.py and rollout.py are imported in a child
process under TensorFlow 2 `compat.v1`, through bench_original's in-memory
Python-2 transform (`Py2Finder`: no algorithm or hyperparameter is changed), and
built with sequence_gan.py's settings (vocabulary 5,000, length 20, batch 64,
E = H = 32, D embedding 64 and its filter table, L2 0.2, ROLLOUT(generator, 0.8)).
The child writes its initial weights, inputs and results to a .npz; this process
loads those weights into a leakgan_tf SeqGAN (theirs → ours: LSTM gates packed
[i | f | o | candidate], D's highway matrices transposed, D's embedding after our
pad row) and runs the same steps in the same order:

  mle_step            one MLE update on a batch of 64 (loss, clipped gradient, weights after)
  discriminator_step  P(real) of a batch, then one D update (dropout keep 1.0 on both
                      sides: the masks are random draws), loss and weights after
  adversarial_step    one G update on a sampled batch with the same rewards fed in
                      (loss, clipped gradient, weights after)
  rollout_update      their ROLLOUT.update_params(), then the rollout network's weights
                      (theirs: the updated tensors; ours: the rollout policy)
  rollout_rewards     their get_reward and our rollout_rewards with the output bias of a
                      token raised by 1000 on both sides, which makes every rollout draw
                      that token (deterministic, so the rewards compare exactly); their
                      rollout graph drawing it although the bias was raised after
                      update_params shows that it reads the generator's current weights

The JSON holds each quantity's max abs difference, its tolerance (TOLERANCE) and
magnitude, each step's largest difference ("summary") and "passed".
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
MODULES = ("generator.py", "discriminator.py", "rollout.py")
# sequence_gan.py's settings (lines 14-29, 88, 137, 146)
VOCAB, SEQ_LEN, BATCH, EMB, HIDDEN, START = 5000, 20, 64, 32, 32, 0
DIS_EMB, L2 = 64, 0.2
FILTERS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20]
COUNTS = [100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160]
ROLLOUT_NUM, UPDATE_RATE = 16, 0.8
FORCED_TOKEN, FORCING = 7, 1000.0
GATES = ("i", "f", "og", "c")  # their LSTM's W<g>, U<g>, b<g>, our packed gate order
# Differences allowed (float32 rounding of the same computation in other op orders):
# losses relative to their value; gradients relative to the tensor's largest entry (the
# adversarial loss sums 1,280 terms to about 5,000); weights after a step as a fraction
# of its learning rate: on Adam's first step the update is lr·g/(|g| + 3.2e-7), which
# moves by up to lr·δ/3.2e-7 for a rounding difference δ in a gradient entry near 0
# (embedding rows seen once: entries of 1e-7), so δ = 1e-9 costs 0.3% of lr and the
# 5% allowed covers δ up to 1.6e-8 (a wrong step, lr or clip moves entries by ~lr);
# probabilities absolute.
TOLERANCE = dict(loss_relative=1e-5, gradient_relative=1e-4, weights_per_lr=5e-2, prob_real=1e-5, rewards=1e-5)


def check_dir(path):
    folder = pathlib.Path(path).expanduser().resolve()
    missing = [m for m in MODULES if not (folder / m).is_file()]
    if missing:
        raise SystemExit(f"error: --seqgan_dir={path} is not a checkout of LantaoYu/SeqGAN: it lacks "
                         f"{', '.join(missing)}")
    return folder


# ============================================================================ the official code (child)
def dense(value, shape):
    """A gradient as a dense array (TF1 returns IndexedSlicesValue for embedding lookups)."""
    if hasattr(value, "indices"):
        out = np.zeros(shape, np.float32)
        np.add.at(out, value.indices, value.values)
        return out
    return np.asarray(value)


def run_original(folder, out, seed):
    """Builds their models, runs the steps, writes everything to the .npz out."""
    sys.path.insert(0, str(HERE))
    from bench_original import Py2Finder  # the in-memory Python-2 transform of the LeakGAN benchmark
    Py2Finder(folder).install()
    import discriminator as their_d
    import generator as their_g
    import rollout as their_r
    tf = their_g.tf  # tensorflow.compat.v1, v2 behaviour off (the transform)
    tf.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    gen = their_g.Generator(VOCAB, BATCH, EMB, HIDDEN, SEQ_LEN, START)
    disc = their_d.Discriminator(sequence_length=SEQ_LEN, num_classes=2, vocab_size=VOCAB, embedding_size=DIS_EMB,
                                 filter_sizes=FILTERS, num_filters=COUNTS, l2_reg_lambda=L2)
    sess = tf.Session()
    sess.run(tf.global_variables_initializer())
    rollout = their_r.ROLLOUT(gen, UPDATE_RATE)
    g_names = ["g_embeddings"] + [f"{w}{g}" for g in GATES for w in ("W", "U", "b")] + ["Wo", "bo"]
    g_vars = [getattr(gen, n) for n in g_names]
    assert g_vars == gen.g_params
    result = {f"init/g/{n}": v for n, v in zip(g_names, sess.run(g_vars))}
    result.update({f"init/d/{v.name}": x for v, x in zip(disc.params, sess.run(disc.params))})
    mle_x = rng.integers(0, VOCAB, size=(BATCH, SEQ_LEN)).astype(np.int32)
    grads = sess.run(gen.pretrain_grad, {gen.x: mle_x})
    _, loss = sess.run([gen.pretrain_updates, gen.pretrain_loss], {gen.x: mle_x})
    result.update({"mle/x": mle_x, "mle/loss": loss, **{f"mle/grad/{n}": dense(g, v.shape)
                                                         for n, g, v in zip(g_names, grads, g_vars)},
                   **{f"mle/after/{n}": v for n, v in zip(g_names, sess.run(g_vars))}})
    d_x = rng.integers(0, VOCAB, size=(BATCH, SEQ_LEN)).astype(np.int32)
    d_labels = rng.integers(0, 2, size=BATCH).astype(np.int32)
    feed = {disc.input_x: d_x, disc.input_y: np.eye(2, dtype=np.float32)[d_labels], disc.dropout_keep_prob: 1.0}
    probs = sess.run(disc.ypred_for_auc, feed)[:, 1]
    loss, _ = sess.run([disc.loss, disc.train_op], feed)
    result.update({"d/x": d_x, "d/labels": d_labels, "d/prob_real": probs, "d/loss": loss,
                   **{f"d/after/{v.name}": x for v, x in zip(disc.params, sess.run(disc.params))}})
    adv_x = gen.generate(sess)
    rewards = rng.uniform(size=(BATCH, SEQ_LEN)).astype(np.float32)
    grads = sess.run(gen.g_grad, {gen.x: adv_x, gen.rewards: rewards})
    _, loss = sess.run([gen.g_updates, gen.g_loss], {gen.x: adv_x, gen.rewards: rewards})
    result.update({"adv/x": adv_x, "adv/rewards": rewards, "adv/loss": loss,
                   **{f"adv/grad/{n}": dense(g, v.shape) for n, g, v in zip(g_names, grads, g_vars)},
                   **{f"adv/after/{n}": v for n, v in zip(g_names, sess.run(g_vars))}})
    rollout.update_params()
    r_names = ["g_embeddings"] + [f"{w}{g}" for g in GATES for w in ("W", "U", "b")] + ["Wo", "bo"]
    result.update({f"rollout/{n}": v for n, v in zip(r_names, sess.run([getattr(rollout, n) for n in r_names]))})
    bo = sess.run(gen.bo)
    sess.run(gen.bo.assign(bo + FORCING * np.eye(VOCAB, dtype=np.float32)[FORCED_TOKEN]))
    completed = sess.run(rollout.gen_x, {rollout.x: adv_x, rollout.given_num: 1})
    result["rollout/reads_current_generator"] = np.array(bool((completed[:, 1:] == FORCED_TOKEN).all()))
    result["rewards/forced"] = rollout.get_reward(sess, adv_x, ROLLOUT_NUM, disc)
    np.savez(out, **result)


# ============================================================================ ours
def gates(init, prefix):
    """Their LSTM weights as our packed kernel, recurrent and bias ([i | f | o | candidate])."""
    return [np.concatenate([init[f"{prefix}{w}{g}"] for g in GATES], axis=-1) for w in ("W", "U", "b")]


def ours_layout(arrays, prefix):
    """{our generator weight path: array} from their arrays under prefix (e.g. "init/g/")."""
    kernel, recurrent, bias = gates(arrays, prefix)
    return {"embedding": arrays[f"{prefix}g_embeddings"], "lstm/kernel": kernel, "lstm/recurrent": recurrent,
            "lstm/bias": bias, "out_kernel": arrays[f"{prefix}Wo"], "out_bias": arrays[f"{prefix}bo"]}


def d_layout(arrays, prefix, pad_row):
    """{our D weight name: array} from their D variables under prefix."""
    name = lambda n: f"{prefix}discriminator/{n}:0"  # noqa: E731
    out = {"embedding": np.concatenate([pad_row[None], arrays[name("embedding/W")]]),
           "highway_kernel": arrays[name("Highway/highway_lin_0/Matrix")].T,
           "highway_bias": arrays[name("Highway/highway_lin_0/Bias")],
           "gate_kernel": arrays[name("Highway/highway_gate_0/Matrix")].T,
           "gate_bias": arrays[name("Highway/highway_gate_0/Bias")],
           "out_kernel": arrays[name("output/W")], "out_bias": arrays[name("output/b")]}
    for h in FILTERS:
        out[f"conv{h}_kernel"] = arrays[name(f"conv-maxpool-{h}/W")][:, :, 0, :]
        out[f"conv{h}_bias"] = arrays[name(f"conv-maxpool-{h}/b")]
    return out


def generator_weights(gen):
    """{ours_layout key: variable} of a SeqGANGenerator."""
    return {"embedding": gen.embedding, "lstm/kernel": gen.lstm.kernel, "lstm/recurrent": gen.lstm.recurrent,
            "lstm/bias": gen.lstm.bias, "out_kernel": gen.out_kernel, "out_bias": gen.out_bias}


def short(path):
    return path.split("/", 1)[1] if "/" in path else path


def run_ours(npz):
    import tensorflow as tf

    from leakgan_tf.config import make_config
    from leakgan_tf.seqgan import SeqGAN, mle_loss, policy_gradient_loss
    theirs = dict(np.load(npz))
    cfg = make_config(model="seqgan", vocab_size=VOCAB, seq_len=SEQ_LEN, batch_size=BATCH, gen_emb_dim=EMB,
                      gen_hidden_dim=HIDDEN, start_token=START, gen_learning_rate=0.01, grad_clip=5.0,
                      dis_emb_dim=DIS_EMB, dis_filter_sizes=tuple(FILTERS), dis_num_filters=tuple(COUNTS),
                      dis_dropout_keep_prob=1.0, dis_l2_lambda=L2, dis_learning_rate=1e-4, rollout_num=ROLLOUT_NUM,
                      rollout_update_rate=UPDATE_RATE, rollout_beta=1.0)
    gan = SeqGAN(cfg)
    g_weights = generator_weights(gan.generator)
    d_weights = {short(w.path): w for w in gan.discriminator.weights}
    for k, v in ours_layout(theirs, "init/g/").items():
        g_weights[k].assign(v)
    for k, v in d_layout(theirs, "init/d/", d_weights["embedding"].numpy()[0]).items():
        d_weights[k].assign(v)
    diffs = {}

    def compare(key, ours, expected, kind, lr=None):
        ours, expected = np.asarray(ours, np.float64), np.asarray(expected, np.float64)
        diff, magnitude = float(np.abs(ours - expected).max()), float(np.abs(expected).max())
        scale = {"loss_relative": magnitude, "gradient_relative": magnitude, "weights_per_lr": lr}.get(kind, 1.0)
        tolerance = TOLERANCE[kind] * scale
        diffs[key] = dict(max_abs_diff=diff, tolerance=tolerance, magnitude=magnitude)

    def clipped_grads(loss_fn):
        variables = gan.generator.trainable_variables
        with tf.GradientTape() as tape:
            loss = loss_fn()
        grads = [tf.convert_to_tensor(g) for g in tape.gradient(loss, variables)]
        grads, _ = tf.clip_by_global_norm(grads, cfg.grad_clip)
        names = {id(v): k for k, v in g_weights.items()}
        return {names[id(v)]: g.numpy() for v, g in zip(variables, grads)}

    def compare_generator(step, prefix_theirs):
        for k, v in ours_layout(theirs, prefix_theirs).items():
            compare(f"{step}/{k}", g_weights[k].numpy(), v, "weights_per_lr", cfg.gen_learning_rate)

    # MLE step
    x = tf.constant(theirs["mle/x"])
    grads = clipped_grads(lambda: mle_loss(gan.generator.teacher_forced(x).log_probs))
    for k, v in ours_layout(theirs, "mle/grad/").items():
        compare(f"mle_step/gradient/{k}", grads[k], v, "gradient_relative")
    compare("mle_step/loss", gan.pretrain_step(x).numpy(), theirs["mle/loss"], "loss_relative")
    compare_generator("mle_step/weights_after", "mle/after/")
    # D step
    x, labels = tf.constant(theirs["d/x"]), tf.constant(theirs["d/labels"])
    compare("discriminator_step/prob_real", gan.prob_real(x).numpy(), theirs["d/prob_real"], "prob_real")
    loss, _ = gan.discriminator_step(x, labels)
    compare("discriminator_step/loss", loss.numpy(), theirs["d/loss"], "loss_relative")
    after = d_layout(theirs, "d/after/", d_weights["embedding"].numpy()[0])
    for k, v in after.items():
        compare(f"discriminator_step/weights_after/{k}", d_weights[k].numpy(), v, "weights_per_lr",
                cfg.dis_learning_rate)
    # adversarial G step with their rewards
    x, reward = tf.constant(theirs["adv/x"]), tf.constant(theirs["adv/rewards"])
    grads = clipped_grads(lambda: policy_gradient_loss(gan.generator.teacher_forced(x).log_probs, reward))
    for k, v in ours_layout(theirs, "adv/grad/").items():
        compare(f"adversarial_step/gradient/{k}", grads[k], v, "gradient_relative")
    loss, _ = gan.policy_gradient_step(x, reward)
    compare("adversarial_step/loss", loss.numpy(), theirs["adv/loss"], "loss_relative")
    compare_generator("adversarial_step/weights_after", "adv/after/")
    # the rollout network's update
    gan.update_rollout()
    policy = generator_weights(gan.rollout_policy())
    for k, v in ours_layout(theirs, "rollout/").items():
        compare(f"rollout_update/weights/{k}", policy[k].numpy(), v, "weights_per_lr", cfg.gen_learning_rate)
    # rewards of forced (deterministic) rollouts
    bias = g_weights["out_bias"]
    bias.assign(bias.numpy() + FORCING * np.eye(VOCAB, dtype=np.float32)[FORCED_TOKEN])
    rewards = gan.rollout_rewards(x, tf.constant([1, 2], tf.int64)).numpy()
    compare("rollout_rewards/forced", rewards, theirs["rewards/forced"], "rewards")
    reads_current = bool(theirs["rollout/reads_current_generator"])
    passed = reads_current and all(d["max_abs_diff"] <= d["tolerance"] for d in diffs.values())
    steps = sorted({k.split("/")[0] for k in diffs})
    summary = {s: max(d["max_abs_diff"] for k, d in diffs.items() if k.split("/")[0] == s) for s in steps}
    return dict(passed=passed, their_rollout_reads_current_generator=reads_current, summary=summary,
                forced_rollout=f"bias of token {FORCED_TOKEN} raised by {FORCING} after update_params",
                diffs=diffs, seqgan_dir=None, settings=dict(vocab=VOCAB, seq_len=SEQ_LEN, batch=BATCH, emb=EMB,
                                                            hidden=HIDDEN, rollout_num=ROLLOUT_NUM,
                                                            update_rate=UPDATE_RATE, dis_dropout_keep_prob=1.0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seqgan_dir", required=True, help="a checkout of LantaoYu/SeqGAN (not modified)")
    parser.add_argument("--out", default="", help="also write the JSON report here")
    parser.add_argument("--seed", type=int, default=0, help="their initial weights and the inputs")
    parser.add_argument("--side", choices=("both", "original"), default="both", help=argparse.SUPPRESS)
    parser.add_argument("--npz", default="", help="the official side's results: written by --side=original; with "
                        "--side=both, read from there if it exists (skips rerunning the official code)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from doccheck import exit_if_doccheck  # experiments/doccheck.py: LEAKGAN_DOCCHECK=1 stops here
    exit_if_doccheck(args)
    folder = check_dir(args.seqgan_dir)
    if args.side == "original":
        run_original(folder, args.npz, args.seed)
        return
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory(prefix="seqgan_fidelity_") as scratch:
        npz = pathlib.Path(args.npz) if args.npz else pathlib.Path(scratch) / "original.npz"
        if not npz.is_file():
            child = subprocess.run([sys.executable, __file__, f"--seqgan_dir={folder}", "--side=original",
                                    f"--npz={npz}", f"--seed={args.seed}"], cwd=scratch,
                                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL",
                                                                                           "3")))
            if child.returncode:
                raise SystemExit(f"error: the official code failed (exit {child.returncode}; its output is above)")
        report = run_ours(npz)
    report["seqgan_dir"] = str(folder)
    text = json.dumps(report, indent=1)
    if args.out:
        pathlib.Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
