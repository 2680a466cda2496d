"""Bad input, tried as a user would: each gives a clear error and leaves the snapshots untouched.

Every row runs against a directory that holds a real run's committed snapshots; after the call,
the directory's files and their sha256 must be exactly as before.
"""

from __future__ import annotations

import hashlib
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.trainer.numpy_agents import LinearSoftmaxPolicy, RandomSearch
from tests.trainer.numpy_experiment import build
from trainer import GymEnv, SnapshotConfig, Trainer, set_seed
from trainer.errors import ConfigError, NotAFileError, NotSetupError, SnapshotCorruptError
from trainer.samplers import LocalSampler
from trainer.snapshots import Snapshotter

REPO = Path(__file__).resolve().parents[1]


def fingerprint(directory: Path) -> dict[str, str]:
    """Snapshots, their records and progress.csv (debug.log may record the attempt)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir())
            if p.name.endswith((".pkl", ".commit.json")) or p.name == "progress.csv"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("bad_inputs") / "exp"
    build(str(directory), mode="all").train(n_epochs=3, batch_size=100)
    return directory


def restored(run_dir: Path) -> Trainer:
    trainer = Trainer(SnapshotConfig(str(run_dir), "all"))
    trainer.restore(str(run_dir))
    return trainer


def fresh(run_dir: Path) -> Trainer:
    return build(str(run_dir), mode="all")


def other_dir(run_dir: Path, name: str) -> Path:
    path = run_dir.parent / name
    path.mkdir(exist_ok=True)
    return path


def truncated_copy(run_dir: Path) -> str:
    copy = other_dir(run_dir, "truncated")
    for p in run_dir.glob("itr_2.pkl*"):
        (copy / p.name).write_bytes(p.read_bytes())
    payload = copy / "itr_2.pkl"
    payload.write_bytes(payload.read_bytes()[: payload.stat().st_size // 2])
    return str(copy)


def foreign_pickle(run_dir: Path) -> str:
    directory = other_dir(run_dir, "foreign")
    (directory / "itr_0.pkl").write_bytes(pickle.dumps({"not": "a snapshot"}))
    return str(directory)


def policy_for_other_env(run_dir: Path) -> None:
    set_seed(1)
    cartpole, acrobot = GymEnv("CartPole-v1"), GymEnv("Acrobot-v1")
    policy = LinearSoftmaxPolicy(cartpole.spec)
    sampler = LocalSampler(agents=policy, envs=acrobot, max_episode_length=50)
    algo = RandomSearch(acrobot.spec, policy, sampler)
    Trainer(SnapshotConfig(str(run_dir), "all")).setup(algo, acrobot)


# (id, call, expected exception, text the message must contain)
ROWS: list[tuple[str, Callable[[Path], Any], type[BaseException], str]] = [
    ("epochs negative", lambda d: fresh(d).train(-1, 100), ConfigError, "n_epochs=-1"),
    ("epochs zero", lambda d: fresh(d).train(0, 100), ConfigError, "n_epochs=0"),
    ("epochs float", lambda d: fresh(d).train(1.5, 100), ConfigError, "n_epochs=1.5"),
    ("epochs string", lambda d: fresh(d).train("10", 100), ConfigError, "n_epochs='10'"),
    ("epochs None", lambda d: fresh(d).train(None, 100), ConfigError, "n_epochs=None"),
    ("batch zero", lambda d: fresh(d).train(2, 0), ConfigError, "batch_size=0"),
    ("batch negative", lambda d: fresh(d).train(2, -5), ConfigError, "batch_size=-5"),
    ("batch float", lambda d: fresh(d).train(2, 2.5), ConfigError, "batch_size=2.5"),
    ("batch string", lambda d: fresh(d).train(2, "4000"), ConfigError, "batch_size='4000'"),
    ("resume epochs negative", lambda d: restored(d).resume(n_epochs=-3), ConfigError,
     "n_epochs=-3"),
    ("resume batch string", lambda d: restored(d).resume(batch_size="x"), ConfigError,
     "batch_size='x'"),
    ("unknown snapshot mode", lambda d: Trainer(SnapshotConfig(str(d), "sometimes")),
     ConfigError, "sometimes"),
    ("gap zero", lambda d: Trainer(SnapshotConfig(str(d), "gap", 0)), ConfigError,
     "snapshot_gap=0"),
    ("last with gap", lambda d: Trainer(SnapshotConfig(str(d), "last", 3)), ValueError, "gap"),
    ("unknown protocol", lambda d: Trainer(SnapshotConfig("nosuchfs://bucket/run")),
     ConfigError, "nosuchfs"),
    ("s3 url without bucket", lambda d: Trainer(SnapshotConfig("s3://")), ConfigError, "bucket"),
    ("snapshot dir is a file", lambda d: Trainer(SnapshotConfig(str(d / "progress.csv"))),
     OSError, "not a directory"),
    ("config without fields", lambda d: Trainer({"snapshot_dir": str(d)}), ConfigError,
     "snapshot_dir"),
    ("from_epoch missing", lambda d: Trainer(SnapshotConfig(str(d), "all")).restore(str(d), 99),
     NotAFileError, "99"),
    ("from_epoch negative", lambda d: Trainer(SnapshotConfig(str(d), "all")).restore(str(d), -1),
     ConfigError, "-1"),
    ("from_epoch float", lambda d: Trainer(SnapshotConfig(str(d), "all")).restore(str(d), 2.5),
     ConfigError, "2.5"),
    ("from_epoch word", lambda d: Trainer(SnapshotConfig(str(d), "all")).restore(str(d), "abc"),
     ValueError, "abc"),
    ("restore missing dir",
     lambda d: Trainer(SnapshotConfig(str(d), "all")).restore(str(d.parent / "missing")),
     FileNotFoundError, "missing"),
    ("restore empty dir",
     lambda d: Trainer(SnapshotConfig(str(d), "all")).restore(str(other_dir(d, "empty"))),
     FileNotFoundError, "No committed snapshot"),
    ("restore truncated file",
     lambda d: Trainer(SnapshotConfig(str(d), "all")).restore(truncated_copy(d), 2),
     SnapshotCorruptError, "itr_2.pkl"),
    ("restore non-snapshot pickle",
     lambda d: Trainer(SnapshotConfig(str(d), "all")).restore(foreign_pickle(d)),
     FileNotFoundError, "itr_0.pkl"),
    ("resume before restore", lambda d: Trainer(SnapshotConfig(str(d), "all")).resume(),
     NotSetupError, "restore()"),
    ("save before setup", lambda d: Trainer(SnapshotConfig(str(d), "all")).save(0),
     NotSetupError, "setup()"),
    ("policy for another env", policy_for_other_env, ConfigError, "observation_space"),
    ("unknown env id", lambda d: GymEnv("NoSuchEnv-v0"), ConfigError, "NoSuchEnv-v0"),
    ("seed string", lambda d: set_seed("7"), TypeError, "seed='7'"),
    ("update list length",
     lambda d: restored(d).obtain_episodes(0, 10, agent_update=[None] * 5), ValueError,
     "Length of list"),
    ("loader itr word", lambda d: Snapshotter(str(d), "all").load(str(d), "newest"),
     ValueError, "newest"),
]


@pytest.mark.parametrize("call,error,text", [row[1:] for row in ROWS],
                         ids=[row[0] for row in ROWS])
def test_bad_input_is_a_clear_error_and_modifies_nothing(run_dir, call, error, text):
    before = fingerprint(run_dir)
    with pytest.raises(error) as info:
        call(run_dir)
    assert text in str(info.value)
    assert fingerprint(run_dir) == before


def test_table_has_at_least_thirty_rows():
    assert len(ROWS) >= 30


@pytest.mark.parametrize("argv,text", [
    (["train", "--n-epochs", "-3"], "n_epochs"),
    (["train", "--n-epochs", "2", "--batch-size", "zero"], "batch"),
    (["train", "--algo", "NoSuchAlgo", "--n-epochs", "1"], "NoSuchAlgo"),
    (["train", "--env", "NoSuchEnv-v0", "--n-epochs", "1"], "NoSuchEnv-v0"),
    (["train", "--snapshot-mode", "sometimes", "--n-epochs", "1"], "sometimes"),
    (["resume", "{tmp}/missing-run"], "missing-run"),
])
def test_bad_command_line_is_a_clear_error(tmp_path, argv, text):
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    if argv[0] == "train":
        argv = [*argv, "--snapshot-dir", str(tmp_path / "exp")]
    result = subprocess.run([sys.executable, "-m", "flows.cli", *argv], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert text in result.stderr + result.stdout
    assert not list((tmp_path / "exp").glob("*.pkl")) if (tmp_path / "exp").exists() else True


FLOW_ROWS = [
    ("epochs negative", {"n_epochs": -2}, "n_epochs=-2"),
    ("batch string", {"batch_size": "big"}, "batch_size"),
    ("unknown algo", {"algo": "NoSuchAlgo", "snapshot_dir": "{fresh}"}, "NoSuchAlgo"),
    ("unknown env", {"env": "NoSuchEnv-v0", "snapshot_dir": "{fresh}"}, "NoSuchEnv-v0"),
    ("unknown snapshot mode", {"snapshot_mode": "sometimes"}, "sometimes"),
    ("another experiment's dir", {"env": "Acrobot-v1"}, "CartPole-v1"),
]


@pytest.mark.prefect
@pytest.mark.parametrize("overrides,text", [row[1:] for row in FLOW_ROWS],
                         ids=[row[0] for row in FLOW_ROWS])
def test_bad_flow_parameters_fail_the_run_clearly(prefect_harness, run_dir, tmp_path, overrides,
                                                  text):
    from flows.train import train_experiment

    if overrides.get("snapshot_dir") == "{fresh}":
        overrides = {**overrides, "snapshot_dir": str(tmp_path / "fresh")}
    params = {"snapshot_dir": str(run_dir), "env": "CartPole-v1",
              "algo": "tests.flows.toy_algo:build", "n_epochs": 4, "batch_size": 100,
              "snapshot_mode": "all"}
    before = fingerprint(run_dir)
    state = train_experiment.with_options(retries=0)(**{**params, **overrides},
                                                      return_state=True)
    assert state.is_failed()
    with pytest.raises(Exception) as info:
        state.result()
    assert text in str(info.value)
    assert fingerprint(run_dir) == before


@pytest.mark.prefect
def test_a_bad_parameter_is_not_retried(prefect_harness, tmp_path):
    import time

    from flows.train import train_experiment

    start = time.perf_counter()
    state = train_experiment.with_options(retries=2, retry_delay_seconds=20)(
        snapshot_dir=str(tmp_path / "exp"), env="NoSuchEnv-v0", n_epochs=2, return_state=True)
    assert state.is_failed()
    assert time.perf_counter() - start < 20, "the bad parameter was retried"
