"""Oracle parameters (spec §8): 15 named float32 arrays, stored as .npz.

Shapes, with V = vocabulary, E = embedding size, H = hidden size:
  embedding [V, E]; Wi, Wf, Wog, Wc [E, H]; Ui, Uf, Uog, Uc [H, H];
  bi, bf, bog, bc [H]; Wo [H, V]; bo [V].
"""
import hashlib
import pathlib
import pickle
import zipfile

import numpy as np

from synthetic_oracle.errors import OracleError
from synthetic_oracle.files import atomic_save_npz

NAMES = ("embedding", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wog", "Uog", "bog", "Wc", "Uc", "bc", "Wo", "bo")


def expected_shapes(vocab, emb, hidden):
    """{name: shape} for an oracle with the given sizes, in NAMES order."""
    gate = {"W": (emb, hidden), "U": (hidden, hidden), "b": (hidden,)}
    shapes = {"embedding": (vocab, emb)}
    for g in ("i", "f", "og", "c"):
        shapes.update({k + g: s for k, s in gate.items()})
    shapes.update(Wo=(hidden, vocab), bo=(vocab,))
    return {name: shapes[name] for name in NAMES}


def random_params(seed, vocab, emb, hidden):
    """Every array N(0, 1), drawn with np.random.default_rng(seed).standard_normal
    in NAMES order (PCG64 + ziggurat: the same on every platform)."""
    for name, value in (("vocab", vocab), ("emb", emb), ("hidden", hidden)):
        if int(value) < 1:
            raise OracleError(f"oracle size {name}={value} must be a positive integer")
    if int(seed) < 0:
        raise OracleError(f"oracle seed {seed} must be non-negative")
    rng = np.random.default_rng(int(seed))
    return {name: rng.standard_normal(shape).astype(np.float32)
            for name, shape in expected_shapes(int(vocab), int(emb), int(hidden)).items()}


# The fixed length-40 oracle (experiments/synthetic_len40.cfg: --oracle_seed=40,
# V = 5000, E = H = 64): its arrays' digest, so a numpy that drew other numbers is caught.
LENGTH40_ORACLE = dict(seed=40, vocab=5000, emb=64, hidden=64,
                       sha256="abc5c232e529d463156e72cc688c6d19f3f4c8a4282de0a69bd033a363e3eddb")


def digest(params):
    """sha256 of the arrays' little-endian float32 bytes in NAMES order."""
    h = hashlib.sha256()
    for name in NAMES:
        h.update(np.ascontiguousarray(params[name], dtype="<f4").tobytes())
    return h.hexdigest()


def check_params(params, source="oracle parameters"):
    """Validates {name: array} and returns it as float32 arrays in NAMES order."""
    missing = [n for n in NAMES if n not in params]
    if missing:
        raise OracleError(f"{source}: missing array(s) {', '.join(missing)}; an oracle needs all of {' '.join(NAMES)}")
    arrays = {n: np.asarray(params[n]) for n in NAMES}
    for name, a in arrays.items():
        if not np.issubdtype(a.dtype, np.floating):
            raise OracleError(f"{source}: array {name} has dtype {a.dtype}, expected floats")
    emb, wi = arrays["embedding"], arrays["Wi"]
    if emb.ndim != 2 or wi.ndim != 2:
        bad = "embedding" if emb.ndim != 2 else "Wi"
        raise OracleError(f"{source}: array {bad} has shape {arrays[bad].shape}, expected a matrix")
    (vocab, size), hidden = emb.shape, wi.shape[1]
    if min(vocab, size, hidden) < 1:
        raise OracleError(f"{source}: empty arrays (V={vocab}, E={size}, H={hidden}); all sizes must be positive")
    for name, shape in expected_shapes(vocab, size, hidden).items():
        if arrays[name].shape != shape:
            raise OracleError(f"{source}: array {name} has shape {arrays[name].shape}, expected {shape} "
                            f"(V={vocab}, E={size} from embedding, H={hidden} from Wi)")
        if not np.all(np.isfinite(arrays[name])):
            raise OracleError(f"{source}: array {name} holds NaN or infinite values")
    return {n: a.astype(np.float32) for n, a in arrays.items()}


def load_npz(path):
    """Loads and validates an oracle .npz; returns {name: float32 array}."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise OracleError(f"oracle parameter file {path} not found; pass an existing .npz "
                        f"(python -m synthetic_oracle create/convert makes one)")
    if not zipfile.is_zipfile(path):
        raise OracleError(f"{path} is not an .npz archive (not a zip file); "
                        f"recreate it with python -m synthetic_oracle create or convert")
    try:
        with np.load(path, allow_pickle=False) as npz:
            params = {name: npz[name] for name in npz.files}
    except Exception as e:  # corrupt archives raise OSError, ValueError, BadZipFile, zlib.error, ...
        raise OracleError(f"{path} is not a readable .npz archive ({_first_line(e)}); "
                        f"recreate it with python -m synthetic_oracle create or convert") from None
    return check_params(params, str(path))


def _first_line(error):
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


def save_npz(path, params):
    """Validates params and writes them atomically to path (.npz)."""
    atomic_save_npz(path, **check_params(params))


class _ArrayUnpickler(pickle.Unpickler):
    """Rebuilds only numpy arrays: every other global is refused, so loading
    cannot run arbitrary code."""

    @staticmethod
    def _latin1_encode(text, encoding="utf-8", errors="strict"):
        # Python-3 protocol-0 pickles store bytes as _codecs.encode(str, "latin1").
        if encoding.lower().replace("-", "") != "latin1":
            raise pickle.UnpicklingError(f"_codecs.encode with encoding {encoding!r}")
        return text.encode("latin1", errors)

    def find_class(self, module, name):
        reconstruct = np._core.multiarray._reconstruct if hasattr(np, "_core") else np.core.multiarray._reconstruct
        allowed = {("numpy.core.multiarray", "_reconstruct"): reconstruct,
                   ("numpy._core.multiarray", "_reconstruct"): reconstruct,
                   ("numpy", "ndarray"): np.ndarray,
                   ("numpy", "dtype"): np.dtype,
                   ("_codecs", "encode"): self._latin1_encode}
        if (module, name) not in allowed:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return allowed[(module, name)]


def convert_pickle(pkl_path, npz_path):
    """Converts the original target_params.pkl (a pickle of a list of 15
    float32 arrays, NAMES order) to .npz without running pickled code.
    Returns the validated {name: array}."""
    pkl_path = pathlib.Path(pkl_path)
    if not pkl_path.is_file():
        raise OracleError(f"pickle file {pkl_path} not found; pass the original save/target_params.pkl")
    try:
        with open(pkl_path, "rb") as f:
            value = _ArrayUnpickler(f, encoding="latin1").load()
    except pickle.UnpicklingError as e:
        raise OracleError(f"{pkl_path} is not a plain pickle of numpy arrays ({e}); "
                        f"only the original target_params.pkl format is accepted") from None
    except Exception as e:  # malformed pickles raise many kinds of errors
        raise OracleError(f"cannot unpickle {pkl_path} ({_first_line(e)}); "
                        f"pass the original save/target_params.pkl") from None
    if not (isinstance(value, list) and len(value) == len(NAMES)
            and all(isinstance(a, np.ndarray) for a in value)):
        raise OracleError(f"{pkl_path} does not hold a list of {len(NAMES)} numpy arrays; "
                        f"pass the original save/target_params.pkl")
    params = check_params(dict(zip(NAMES, value)), str(pkl_path))
    atomic_save_npz(npz_path, **params)
    return params
