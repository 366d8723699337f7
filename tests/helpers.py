"""Tiny configurations and numpy re-derivations shared by the tests."""
import numpy as np

from leakgan_tf.config import make_config


def tiny_config(**overrides):
    values = dict(vocab_size=30, seq_len=8, batch_size=4, gen_emb_dim=6, gen_hidden_dim=5, goal_size=3,
                  step_size=2, dis_emb_dim=5, dis_filter_sizes=(1, 2, 3, 8), dis_num_filters=(3, 4, 2, 3),
                  generated_num=16, sample_batch=8, pretrain_eval_epochs=(0,), seed=3)
    values.update(overrides)
    return make_config("synthetic20", **values)


def np_l2n(x):
    return x / np.sqrt(np.maximum((x * x).sum(-1, keepdims=True), 1e-12))


def np_features(disc, tokens):
    """Numpy re-derivation of Discriminator.features for int tokens [N, T] (−1 = pad)."""
    emb = disc.embedding.numpy()[tokens + 1]                     # [N, T, E]
    pooled = []
    for k, b in zip(disc.conv_kernels, disc.conv_biases):
        k, b = k.numpy(), b.numpy()
        h = k.shape[0]
        windows = np.stack([np.einsum("nje,jef->nf", emb[:, p:p + h], k) for p in range(tokens.shape[1] - h + 1)], 1)
        pooled.append(np.maximum(windows + b, 0).max(1))
    x = np.concatenate(pooled, -1)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    t = sig(x @ disc.gate_kernel.numpy() + disc.gate_bias.numpy())
    g = np.maximum(x @ disc.highway_kernel.numpy() + disc.highway_bias.numpy(), 0)
    return t * g + (1 - t) * x
