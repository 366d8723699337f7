"""A scan of TensorFlow graphs for ops that would leave the GPU on the GPU backend.

No GPU here can run TensorFlow (and the CPU wheel registers no GPU kernels), so the
rules come from TensorFlow's kernel registrations, read in its sources:

- int32 arithmetic, comparisons and reductions: their GPU kernels are registered
  with every input and output in host memory ("A special GPU kernel for int32 ...
  requires all int32 inputs and outputs to be in host memory", e.g.
  core/kernels/cwise_op_add_1.cc), so each such op on a batch tensor copies it to
  the host and back. Scalars and small index vectors (shapes, positions) are cheap
  there; a tensor with a batch dimension is not.
- ArgMax/ArgMin over int32: registered on the GPU only for the floating types and
  bool (core/kernels/argmax_op.cc); placed on the CPU.
- leakgan_tf's native ops (Leakgan*): CPU kernels only.
- stateless seed derivations: more than `max_seed_ops` Philox draws in one loop
  body (a step needs at most three: its step seed, a stream's key, the draw) means
  a derivation per row group (a Python loop's worth of small kernels per token).

`findings(graph, batch)` returns what breaks these rules in a graph and in every
function graph it holds (while bodies, conditionals), recursively.
"""
from __future__ import annotations

import dataclasses

import tensorflow as tf

INT32_HOST_OPS = frozenset({
    "Add", "AddV2", "Sub", "Mul", "FloorDiv", "FloorMod", "TruncateDiv", "Minimum", "Maximum", "Neg", "Abs",
    "Sum", "Max", "Min", "Prod", "Cumsum", "Less", "LessEqual", "Greater", "GreaterEqual", "Equal", "NotEqual",
})
ARG_OPS = frozenset({"ArgMax", "ArgMin"})
SEED_OPS = frozenset({"StatelessRandomGetKeyCounter", "StatelessRandomUniformFullIntV2", "StatelessRandomUniformV2",
                      "StatelessRandomUniform", "StatelessRandomUniformFullInt", "StatelessRandomUniformInt",
                      "StatelessRandomNormal", "StatelessRandomNormalV2", "StatelessRandomGetKeyCounterAlg"})


@dataclasses.dataclass(frozen=True)
class Finding:
    graph: str
    op: str
    type: str
    why: str

    def __str__(self):
        return f"{self.graph}: {self.op} ({self.type}): {self.why}"


def _dtype(op, attr):
    try:
        return op.get_attr(attr)
    except ValueError:
        return None


def _has_batch_dim(tensor, batch: int) -> bool:
    """An unknown dimension, or a multiple of `batch` (scan a model whose batch size
    divides none of its other sizes: sequence length, filter widths, shape vectors)."""
    shape = tensor.shape
    if shape.rank is None:
        return True
    return any(d is None or (d >= batch and d % batch == 0) for d in shape.as_list())


def _function_graphs(graph):
    for f in getattr(graph, "_functions", {}).values():
        if hasattr(f, "graph"):
            yield f.graph


def findings(graph: tf.Graph, batch: int, max_seed_ops: int = 3, name: str = "step") -> list[Finding]:
    """The ops of `graph` (and its function graphs) that break the module's rules; a
    tensor "has a batch dimension" when a dimension is unknown or a multiple of `batch`."""
    out = []
    seeds = []
    for op in graph.get_operations():
        if op.type.startswith("Leakgan"):
            out.append(Finding(name, op.name, op.type, "a native CPU op"))
        elif op.type in ARG_OPS and _dtype(op, "T") == tf.int32:
            out.append(Finding(name, op.name, op.type, "ArgMax/ArgMin over int32 has no GPU kernel"))
        elif op.type in INT32_HOST_OPS and _dtype(op, "T") == tf.int32 and \
                any(_has_batch_dim(t, batch) for t in (*op.inputs, *op.outputs)):
            out.append(Finding(name, op.name, op.type, "int32 arithmetic on a batch tensor runs in host memory"))
        elif op.type in SEED_OPS:
            seeds.append(op.name)
    if len(seeds) > max_seed_ops and name != "step":  # a loop body: derivations per step, not per row group
        out.append(Finding(name, ", ".join(seeds), "seeds", f"{len(seeds)} seed derivations in one loop body "
                                                           f"(at most {max_seed_ops})"))
    for i, sub in enumerate(_function_graphs(graph)):
        out.extend(findings(sub, batch, max_seed_ops, name=f"{name}/{getattr(sub, 'name', i)}"))
    return out
