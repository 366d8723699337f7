"""Every numeric flag of every CLI has a checked range: a value outside it is
refused with one line naming the flag, before any work starts."""
import dataclasses
import json
import os
import subprocess
import sys

import pytest

from leakgan_tf import config
from leakgan_tf.config import RANGES, Config, make_config
from leakgan_tf.errors import UserError
from tests.conftest import REPO_ROOT
from tests.test_cli import assert_one_line_error, cli

# Values just outside each rule (and, where it has one, past its upper end).
OUTSIDE = {">=0": [-1], ">=1": [0], ">0": [0, -0.5], "(0,1]": [0, 1.5], "(0,1)": [0, 1], "[0,1]": [-0.5, 1.5],
           "seed": [-1, config.SEED_LIMIT]}
NUMERIC = [f.name for f in dataclasses.fields(Config)
           if isinstance(f.default, (int, float, tuple)) and not isinstance(f.default, bool)
           and f.name != "xla_phases"]


def test_every_numeric_field_has_a_range_and_every_field_a_help_text():
    from leakgan_tf.flags import _HELP
    assert sorted(RANGES) == sorted(NUMERIC)
    assert [f.name for f in dataclasses.fields(Config) if f.name not in _HELP] == []


@pytest.mark.parametrize("name,bad", [(n, v) for n, rule in RANGES.items() for v in OUTSIDE[RANGES[n]]])
def test_config_refuses_a_value_outside_the_range(name, bad):
    default = getattr(Config, name)
    value = (type(default[0])(bad),) + default[1:] if isinstance(default, tuple) else type(default)(bad)
    if isinstance(default, float) or isinstance(bad, float):
        value = (bad,) + default[1:] if isinstance(default, tuple) else bad
    with pytest.raises(UserError, match=f"^--{name}="):
        make_config(**{name: value})


def test_range_boundaries_are_accepted():
    make_config(pretrain_blocks=0, adversarial_iterations=0, eval_every=1, rollout_num=1,
                dis_dropout_keep_prob=1.0, mle_epoch_fraction=1.0, seed=config.SEED_LIMIT - 1, oracle_seed=0,
                rollout_update_rate=0.0)
    make_config(rollout_update_rate=1.0)


# The flags the CLIs define themselves (not Config fields), with values outside their range.
CLI_CASES = {
    "leakgan_tf.main": [("checkpoint_every", "0"), ("keep_checkpoints", "0")],
    "leakgan_tf.sample": [("num", "0"), ("num", "-3"), ("beta", "-1"), ("beta", "0"), ("seed", "-1")],
    "leakgan_tf.evaluate": [("seed", "-1"), ("generated_num", "-1"), ("betas", "1.0,-1"), ("betas", "x")],
    "synthetic_oracle.__main__": [("random_seed", "-1"), ("vocab", "1"), ("emb", "0"), ("hidden", "0"), ("num", "0"),
                                  ("length", "0"), ("seed", "-1")],
}
DRIVER = """
import json, sys
from absl import flags
import importlib
module = importlib.import_module(sys.argv[1])
getattr(module, "run_flags", None) and module.run_flags.define_flags()
getattr(module, "define_flags", None) and module.define_flags()
refused = {}
for arg in sys.argv[2:]:
    try:
        flags.FLAGS(["prog", arg])
        refused[arg] = None
    except flags.Error as e:
        refused[arg] = str(e)
    flags.FLAGS.unparse_flags()
print(json.dumps(refused))
"""


@pytest.mark.parametrize("module", sorted(CLI_CASES))
def test_cli_flags_refuse_values_outside_their_range(module):
    args = [f"--{name}={value}" for name, value in CLI_CASES[module]]
    result = subprocess.run([sys.executable, "-c", DRIVER, module, *args], capture_output=True, text=True,
                            cwd=REPO_ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), timeout=300)
    assert result.returncode == 0, result.stderr
    refused = json.loads(result.stdout.splitlines()[-1])
    for (name, _), arg in zip(CLI_CASES[module], args):
        assert refused[arg] and name in refused[arg], (arg, refused[arg])


def test_negative_beta_is_one_line_error_from_the_command_line(tmp_path):
    assert_one_line_error(cli(f"--logdir={tmp_path}", "--beta=-1", module="leakgan_tf.sample"), "--beta")
    assert_one_line_error(cli("--dry_run", "--eval_every=0"), "--eval_every=0", ">= 1")
