"""The import graph, read from the source with ast (imports inside functions
count): no module imports a CLI module, the packages do not import each other
both ways, the oracle tool imports nothing of leakgan_tf, one place builds
the checkpoint object, and the modules that must stay TensorFlow-free at import
do not import it at top level."""
import ast
import pathlib

import pytest

from tests.conftest import REPO_ROOT

CLIS = {"leakgan_tf.main", "leakgan_tf.sample", "leakgan_tf.evaluate", "synthetic_oracle.__main__"}
PACKAGES = ("leakgan_tf", "synthetic_oracle")
TF_FREE = ("leakgan_tf.switches", "leakgan_tf.config", "leakgan_tf.errors", "leakgan_tf.run_dir",
           "leakgan_tf.flags", "synthetic_oracle.params", "synthetic_oracle.files", "synthetic_oracle.errors")


def module_name(path):
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files():
    """{module name: path} of the packages, the experiments and the tests."""
    paths = [p for d in (*PACKAGES, "experiments", "tests") for p in (REPO_ROOT / d).rglob("*.py")]
    return {module_name(p): p for p in paths}


def imports(source, known, top_level_only=False):
    """The modules of `known` (and other top-level names) that source imports.
    `from a import b` names a.b when that is a module, else a."""
    found = set()
    nodes = ast.parse(source).body if top_level_only else ast.walk(ast.parse(source))
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                name = f"{node.module}.{alias.name}"
                found.add(name if name in known else node.module)
    return found


@pytest.fixture(scope="module")
def graph():
    files = source_files()
    return {name: imports(path.read_text(), files) for name, path in files.items()}


def test_the_checker_sees_an_import_inside_a_function():
    source = "def f():\n    from leakgan_tf import main as train_main\n    import leakgan_tf.sample\n"
    assert imports(source, {"leakgan_tf.main", "leakgan_tf.sample"}) >= {"leakgan_tf.main", "leakgan_tf.sample"}
    assert imports("from leakgan_tf import data", {"leakgan_tf.data"}) == {"leakgan_tf.data"}


def test_no_module_imports_a_cli(graph):
    bad = sorted((name, target) for name, targets in graph.items() for target in targets & CLIS
                 if not (name == "synthetic_oracle.__main__" or target == name))
    assert bad == [], "CLI modules are entry points; move what others need into a library module"


def test_packages_do_not_import_each_other(graph):
    def uses(a, b):
        return any(t == b or t.startswith(b + ".") for name, targets in graph.items()
                   if name == a or name.startswith(a + ".") for t in targets)
    for a in PACKAGES:
        for b in PACKAGES:
            if a != b:
                assert not (uses(a, b) and uses(b, a)), f"{a} and {b} import each other"
    assert not uses("synthetic_oracle", "leakgan_tf"), "the oracle tool stands alone"


def test_one_place_builds_the_checkpoint_object():
    places = [(p.relative_to(REPO_ROOT), n) for p in (REPO_ROOT / "leakgan_tf").rglob("*.py")
              for n, line in enumerate(p.read_text().splitlines(), 1) if "tf.train.Checkpoint(" in line]
    assert [str(p) for p, _ in places] == ["leakgan_tf/run_dir.py"], places


@pytest.mark.parametrize("module", TF_FREE)
def test_tensorflow_free_modules_do_not_import_it_at_top_level(module):
    path = REPO_ROOT / pathlib.Path(*module.split(".")).with_suffix(".py")
    top = imports(path.read_text(), set(), top_level_only=True)
    assert not {t for t in top if t.split(".")[0] in ("tensorflow", "keras")}, top


def tf_functions_with_autograph(source):
    """Line numbers of the tf.function calls and decorators in source that leave AutoGraph on."""
    def is_tf_function(node):
        return isinstance(node, ast.Attribute) and node.attr == "function" and \
            isinstance(node.value, ast.Name) and node.value.id == "tf"
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and is_tf_function(node.func):
            off = any(k.arg == "autograph" and isinstance(k.value, ast.Constant) and k.value.value is False
                      for k in node.keywords)
            lines += [] if off else [node.lineno]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines += [d.lineno for d in node.decorator_list if is_tf_function(d)]  # a bare @tf.function
    return sorted(lines)


def test_the_autograph_checker_sees_calls_and_bare_decorators():
    source = "f = tf.function(g)\nh = tf.function(g, autograph=False)\n@tf.function\ndef k(): pass\n" \
             "@tf.function(autograph=False)\ndef m(): pass\n"
    assert tf_functions_with_autograph(source) == [1, 3]


def test_every_compiled_function_is_traced_without_autograph():
    """The models' loops are tf.while_loops or Python loops unrolled at trace time, so
    AutoGraph has nothing to convert; its conversion cost every process ~5 s of start-up
    (leakgan_tf.kernels.compiled). A tf.function with AutoGraph on must not creep back."""
    bad = [(str(p.relative_to(REPO_ROOT)), line) for d in PACKAGES for p in (REPO_ROOT / d).rglob("*.py")
           for line in tf_functions_with_autograph(p.read_text())]
    assert bad == [], f"use leakgan_tf.kernels.compiled (or autograph=False): {bad}"
