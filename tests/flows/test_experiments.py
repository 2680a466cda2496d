import pytest

from flows.experiments import algo_names, build_algo, make_env, register_algo, resolve_algo
from tests.flows.toy_algo import LinearHillClimb
from trainer import SnapshotConfig, TFTrainer
from trainer.errors import ConfigError

BUILT_IN = ["CEM", "CMAES", "PPO", "TRPO", "VPG"]


def test_built_in_algorithms_are_registered():
    assert set(BUILT_IN) <= set(algo_names())


@pytest.mark.parametrize("name", BUILT_IN)
def test_built_in_names_build_their_algorithm_inside_a_tf_trainer(name, tmp_path):
    with TFTrainer(SnapshotConfig(str(tmp_path))):
        env = make_env("CartPole-v1")
        algo = build_algo(name.lower(), env, {"discount": 0.9}, {"hidden_sizes": [4]})
    assert type(algo).__name__ == name
    assert algo._sampler is not None and algo.policy is not None


def test_continuous_actions_get_a_gaussian_policy(tmp_path):
    with TFTrainer(SnapshotConfig(str(tmp_path))):
        algo = build_algo("VPG", make_env("Pendulum-v1"), None, {"hidden_sizes": [4]})
    assert type(algo.policy).__name__ == "GaussianMLPPolicy"


def test_unknown_algorithm_lists_the_valid_names():
    with pytest.raises(
        ConfigError,
        match=r"algo='DQN' is not a known algorithm: use one of "
        r"\[.*'PPO'.*\]",
    ):
        resolve_algo("DQN")


def test_import_path_and_registration_name_custom_builders(tmp_path):
    env = make_env("CartPole-v1")
    assert isinstance(build_algo("tests.flows.toy_algo:build", env), LinearHillClimb)
    register_algo("toy-hill", resolve_algo("tests.flows.toy_algo:build"))
    assert isinstance(build_algo("TOY-HILL", env, {"noise": 0.1}), LinearHillClimb)


@pytest.mark.parametrize(
    "algo,message",
    [
        ("no_such_module_xyz:build", r"could not be imported"),
        ("tests.flows.toy_algo:nothing", r"could not be imported"),
        ("tests.flows.toy_algo:__doc__", r"is not callable"),
        ("", r"algo='' is not valid"),
    ],
)
def test_bad_import_paths_are_config_errors(algo, message):
    with pytest.raises(ConfigError, match=message):
        resolve_algo(algo)


def test_unknown_keyword_argument_names_the_parameter():
    env = make_env("CartPole-v1")
    with pytest.raises(ConfigError, match=r"algo_kwargs=\{'bogus': 1\}.*Check the argument names"):
        build_algo("tests.flows.toy_algo:build", env, {"bogus": 1})
    with pytest.raises(ConfigError, match=r"policy_kwargs=\[1\] is not valid: pass a dict"):
        build_algo("tests.flows.toy_algo:build", env, None, [1])


def test_unknown_environment_is_a_config_error():
    with pytest.raises(
        ConfigError,
        match=r"env='CartPole-v99' is not a registered gymnasium "
        r"environment: pass an id such as",
    ):
        make_env("CartPole-v99")
