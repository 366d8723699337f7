"""The synthetic-data oracle of SeqGAN/LeakGAN (spec §8): an LSTM with fixed
N(0, 1) parameters that generates the "real" data and scores samples (NLL-oracle).

  OracleLSTM.from_npz(path) / from_seed(seed, vocab, emb, hidden)
  oracle.generate(num, length, seed) -> int32 [num, length]
  oracle.nll(tokens) -> mean per-token NLL in nats
  python -m synthetic_oracle {create,generate,nll,convert} ...

A self-contained tool: it imports nothing of leakgan_tf (leakgan_tf uses it).
Bad input raises OracleError (one line naming the fix).
"""
from synthetic_oracle.errors import OracleError  # noqa: F401
from synthetic_oracle.params import NAMES, convert_pickle, load_npz, random_params, save_npz  # noqa: F401


def __getattr__(name):  # OracleLSTM imports TensorFlow: load it only when asked for
    if name == "OracleLSTM":
        from synthetic_oracle.model import OracleLSTM
        return OracleLSTM
    raise AttributeError(f"module 'synthetic_oracle' has no attribute {name!r}")
