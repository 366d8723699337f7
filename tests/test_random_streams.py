"""The run's random streams are independent where the original's draws are
(review of 2026-12-07): seeds 256 apart do not replay one stream, and every derived
stream (row groups, positions, rollout prefixes, oracle batches) is named by 64
random bits, not 32."""
import numpy as np
import tensorflow as tf

from leakgan_tf.leakgan import LeakGAN
from leakgan_tf.models.sampling import fold_in, uniforms
from tests.helpers import tiny_config


def draws(seed, count=4):
    gan = LeakGAN(tiny_config(seed=seed))
    return [tuple(gan.next_seed().numpy()) for _ in range(count)]


def test_seeds_256_apart_draw_unrelated_streams_and_a_seed_repeats_its_own():
    # tf.random.Generator.from_seed put the seed in Philox's counter, which each draw
    # advances by 256: seed s + 256 made exactly seed s's draws, shifted by one
    a, b = draws(5), draws(5 + 256)
    assert not set(a) & set(b), (a, b)
    assert draws(5) == a


def test_derived_streams_are_named_by_64_random_bits():
    seed = tf.constant([88, 0], tf.int64)
    words = np.array([fold_in(seed, i).numpy()[0] for i in range(64)])
    # int32 data gave words in [−2³¹, 2³¹): a 32-bit name for each stream
    assert (np.abs(words) >= 2 ** 32).mean() > 0.9, words
    # the rows of a position's stream are addressed: rows 64–127 drawn alone are rows 64–127 of the whole call
    u = uniforms(seed, tf.constant(3), 256).numpy()
    np.testing.assert_array_equal(uniforms(seed, tf.constant(3), 64, first_row=64).numpy(), u[64:128])
    np.testing.assert_array_equal(uniforms(seed, tf.constant(3), 5, first_row=7).numpy(), u[7:12])  # odd first row
    assert not np.allclose(u[:64], u[64:128])
    assert not np.allclose(uniforms(seed, tf.constant(4), 256).numpy(), u)  # another position, another stream
    # 64-bit seeds: seeds equal in their low 32 bits draw unrelated streams (XLA's own seed handling kept 32)
    high = tf.constant([88 + 2 ** 40, 2 ** 33], tf.int64)
    assert not np.allclose(uniforms(high, tf.constant(3), 256).numpy(), u)


def test_reward_reals_are_a_fresh_batch_at_every_step_even_with_fixed_positives(tmp_path):
    """The original takes the next batch of its MLE loader at every G step; with
    --dis_positives=fixed (the paper variant) the reals were one fixed batch."""
    from leakgan_tf import sources
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"w{i % 7} w{i % 5} w{i % 3} w{i}\n" for i in range(200)))
    cfg = tiny_config(dataset="text", train_file=str(corpus), test_fraction=0.2, tokenizer="whitespace",
                      dis_positives="fixed", min_count=1)
    source = sources.from_config(cfg, tmp_path / "run")
    a, b = source.reward_reals(seed=11), source.reward_reals(seed=12)
    assert a.shape == b.shape and not np.array_equal(a, b)
    np.testing.assert_array_equal(source.positives(8, seed=11), source.positives(8, seed=12))  # fixed: the same
