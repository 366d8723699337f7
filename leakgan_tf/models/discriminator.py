"""The highway-CNN discriminator whose feature vector is leaked to the generator
(spec §3, the original `Discriminator.py`)."""
from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

from leakgan_tf.kernels import DiscriminatorKernels
from leakgan_tf.models import initializers as init
from leakgan_tf.models import sampling
from leakgan_tf.models.ops import to_dtype

PAD_ID = -1  # generator-side padding of unfinished prefixes; looks up embedding row 0
REAL, FAKE = 1, 0  # class indices: P(real) = softmax(logits)[:, 1] is the reward


class Discriminator(keras.Model):
    """Embedding -> one VALID conv per (width, count) -> ReLU -> max over time ->
    concat [N, D_f] -> 1 highway layer -> dropout -> 2-way classifier.

    Args:
      vocab_size: V; token ids are in [0, V) and PAD_ID (-1) is also legal.
      seq_len: T, the full sequence length.
      emb_dim: E_d.
      filter_sizes, num_filters: paired lists (zip semantics, as the original).
      dropout_keep_prob: keep probability applied only when training=True.
      l2_reg_lambda: λ of λ·(½‖W_d‖² + ½‖b_d‖²) on the classifier.
      compute_dtype: dtype of the convolutions and highway matmuls ("bfloat16":
        mixed precision; weights, features and logits stay float32).
      kernels: the backend's primitives for the pooled convolutions and the highway's
        matmuls (kernels.DiscriminatorKernels; `Backend.discriminator_kernels`).
      sparse_gradient, native_forward: without `kernels`, the CPU primitives with the
        native sparse gradient of the pooled convolutions and their native forward
        where they can be had (False inside XLA-compiled steps).
    """

    def __init__(self, vocab_size: int, seq_len: int, emb_dim: int, filter_sizes: Sequence[int],
                 num_filters: Sequence[int], dropout_keep_prob: float = 1.0, l2_reg_lambda: float = 0.0,
                 compute_dtype: str = "float32", sparse_gradient: bool = True, native_forward: bool = True,
                 kernels: DiscriminatorKernels | None = None, **kwargs):
        super().__init__(**kwargs)
        self.compute_dtype_ = tf.as_dtype(compute_dtype)
        self.kernels = kernels or DiscriminatorKernels(sparse_gradient=sparse_gradient, native_forward=native_forward)
        pairs = list(zip(filter_sizes, num_filters))
        if any(h > seq_len for h, _ in pairs):
            raise ValueError(f"filter widths {filter_sizes} must not exceed the sequence length {seq_len}")
        self.vocab_size, self.seq_len, self.emb_dim = vocab_size, seq_len, emb_dim
        self.filter_sizes = [h for h, _ in pairs]
        self.num_filters = [n for _, n in pairs]
        self.feature_dim = sum(self.num_filters)
        self.dropout_keep_prob = dropout_keep_prob
        self.l2_reg_lambda = l2_reg_lambda
        d = self.feature_dim
        self.embedding = self.add_weight(shape=(vocab_size + 1, emb_dim), initializer=init.uniform(1.0),
                                         name="embedding")
        self.conv_kernels = [self.add_weight(shape=(h, emb_dim, n), initializer=init.truncated_normal(0.1),
                                             name=f"conv{h}_kernel") for h, n in pairs]
        self.conv_biases = [self.add_weight(shape=(n,), initializer=init.constant(0.1), name=f"conv{h}_bias")
                            for h, n in pairs]
        self.highway_kernel = self.add_weight(shape=(d, d), initializer=init.tf1_glorot_uniform(d),
                                              name="highway_kernel")
        self.highway_bias = self.add_weight(shape=(d,), initializer=init.tf1_glorot_uniform(d), name="highway_bias")
        self.gate_kernel = self.add_weight(shape=(d, d), initializer=init.tf1_glorot_uniform(d), name="gate_kernel")
        self.gate_bias = self.add_weight(shape=(d,), initializer=init.tf1_glorot_uniform(d), name="gate_bias")
        self.out_kernel = self.add_weight(shape=(d, 2), initializer=init.truncated_normal(0.1), name="out_kernel")
        self.out_bias = self.add_weight(shape=(2,), initializer=init.constant(0.1), name="out_bias")
        self.built = True  # every weight is created above

    def embed(self, tokens: tf.Tensor) -> tf.Tensor:
        """tokens int [N, T] (PAD_ID allowed) -> [N, T, E_d]."""
        # int64 index arithmetic: TensorFlow's GPU kernels for int32 keep their tensors in host memory
        return tf.gather(self.embedding, tf.cast(tokens, tf.int64) - PAD_ID)

    def pooled(self, tokens: tf.Tensor, native: bool = True) -> tf.Tensor:
        """Max-over-time conv features before the highway: [N, D_f]; native=False:
        TensorFlow's ops only (a graph a SavedModel keeps)."""
        low = lambda v: to_dtype(v, self.compute_dtype_)  # noqa: E731
        return self.kernels.pooled(low(self.embed(tokens)), [low(k) for k in self.conv_kernels],
                                   [low(b) for b in self.conv_biases], native)

    def highway(self, pooled: tf.Tensor) -> tf.Tensor:
        """One highway layer, gate bias offset 0: [N, D_f] -> [N, D_f]."""
        low = lambda v: to_dtype(v, self.compute_dtype_)  # noqa: E731
        pooled = low(pooled)
        t = tf.sigmoid(self.kernels.matmul(pooled, low(self.gate_kernel)) + low(self.gate_bias))
        g = tf.nn.relu(self.kernels.matmul(pooled, low(self.highway_kernel)) + low(self.highway_bias))
        return to_dtype(t * g + (1.0 - t) * pooled, tf.float32)

    def features(self, tokens: tf.Tensor, training: bool = False, native: bool = True,
                 seed: tf.Tensor | None = None) -> tf.Tensor:
        """The leaked feature f = F(s): tokens [N, T] -> [N, D_f]; native: see pooled.
        With training and dropout, `seed` int64 [2] draws the mask (stateless: a resumed
        run draws the masks an uninterrupted one does)."""
        f = self.highway(self.pooled(tokens, native))
        if training and self.dropout_keep_prob < 1.0:
            if seed is None:
                raise ValueError("D's dropout needs a seed: pass seed= (LeakGAN draws one from the run's stream)")
            f = sampling.dropout(f, 1.0 - self.dropout_keep_prob, seed)
        return f

    def classify(self, features: tf.Tensor) -> tf.Tensor:
        """[N, D_f] -> logits [N, 2]."""
        return tf.matmul(features, self.out_kernel) + self.out_bias

    def call(self, tokens: tf.Tensor, training: bool = False, seed: tf.Tensor | None = None) -> tf.Tensor:
        """tokens [N, T] -> logits [N, 2] (class 1 = real); seed: see features."""
        return self.classify(self.features(tokens, training=training, seed=seed))

    def prob_real(self, tokens: tf.Tensor) -> tf.Tensor:
        """P(real) [N], the reward D gives a finished sequence."""
        return tf.nn.softmax(self(tokens))[:, REAL]

    def classification_loss(self, tokens: tf.Tensor, labels: tf.Tensor, training: bool = True,
                            seed: tf.Tensor | None = None) -> tf.Tensor:
        """Mean softmax cross-entropy + λ·(½‖W_d‖² + ½‖b_d‖²); labels int [N] (1 = real);
        seed: the dropout mask's (see features)."""
        logits = self(tokens, training=training, seed=seed)
        xent = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        l2 = tf.nn.l2_loss(self.out_kernel) + tf.nn.l2_loss(self.out_bias)
        return xent + self.l2_reg_lambda * l2, logits
