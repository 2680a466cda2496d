"""The ``trainflow`` console command: train, resume and serve experiments, install automations.

Examples::

    trainflow train --env CartPole-v1 --algo PPO --n-epochs 40 --snapshot-dir data/local/ppo
    trainflow resume data/local/ppo                   # continue after a crash or a kill
    trainflow serve --name ppo-cartpole --cron "0 2 * * *" --snapshot-dir data/local/ppo
    trainflow automations install                     # crashed deployment runs heal themselves

With no ``PREFECT_API_URL`` Prefect starts its embedded API for the run (no server needed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

_JSON_OPTIONS = ("algo_kwargs", "policy_kwargs", "storage_options")


def _json_dict(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not valid JSON ({exc}); pass an object "
                                         "such as '{\"discount\": 0.99}'.") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON object; pass e.g. '{{}}'.")
    return value


def _add_run_options(parser: argparse.ArgumentParser, *, new: bool) -> None:
    """Options shared by ``train`` and ``serve`` (``new``) or accepted by ``resume``."""
    if new:
        parser.add_argument("--snapshot-dir", required=True,
                            help="local path or fsspec URL of the experiment (names it)")
        parser.add_argument("--env", default="CartPole-v1", help="gymnasium id (CartPole-v1)")
        parser.add_argument("--algo", default="PPO",
                            help="VPG, PPO, TRPO, CEM, CMAES or module:builder (PPO)")
        parser.add_argument("--seed", type=int, default=1, help="seed of a fresh run (1)")
        parser.add_argument("--snapshot-mode", default="last", help="snapshot mode (last)")
        parser.add_argument("--snapshot-gap", type=int, default=1, help="gap in gap modes (1)")
        parser.add_argument("--algo-kwargs", type=_json_dict, help="JSON algorithm arguments")
        parser.add_argument("--policy-kwargs", type=_json_dict, help="JSON policy arguments")
        parser.add_argument("--max-episode-length", type=int, help="episode length cap")
    default_epochs, default_batch = (100, 4000) if new else (None, None)
    parser.add_argument("--n-epochs", type=int, default=default_epochs,
                        help=f"total epochs ({default_epochs or 'the snapshot'}'s)")
    parser.add_argument("--batch-size", type=int, default=default_batch,
                        help=f"env steps per epoch ({default_batch or 'the snapshot'}'s)")
    parser.add_argument("--storage-options", type=_json_dict, help="JSON fsspec options")
    parser.add_argument("--max-restarts", type=int, default=None,
                        help="restarts of a flow run before it fails (5)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trainflow", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train (or resume) an experiment as a flow run")
    _add_run_options(train, new=True)
    train.add_argument("--retries", type=int, default=None, help="flow retries on failure (2)")

    resume = commands.add_parser("resume", help="continue an experiment from its last snapshot")
    resume.add_argument("snapshot_dir", help="the experiment's snapshot directory or URL")
    _add_run_options(resume, new=False)
    resume.add_argument("--retries", type=int, default=None, help="flow retries on failure (2)")

    serve = commands.add_parser("serve", help="serve a deployment of one experiment")
    serve.add_argument("--name", required=True, help="deployment name")
    serve.add_argument("--cron", help="cron schedule, e.g. '0 2 * * *'")
    _add_run_options(serve, new=True)

    automations = commands.add_parser("automations", help="manage the self-healing automations")
    action = automations.add_subparsers(dest="action", required=True)
    install = action.add_parser("install", help="create or replace both automations")
    install.add_argument("--heartbeat-frequency", type=int, default=30,
                         help="the runs' PREFECT_FLOWS_HEARTBEAT_FREQUENCY in seconds (30)")
    action.add_parser("remove", help="delete both automations")
    return parser


def _parameters(args: argparse.Namespace) -> dict[str, Any]:
    """The flow parameters given on the command line (unset ones keep the flow's defaults)."""
    names = ("snapshot_dir", "env", "algo", "n_epochs", "batch_size", "seed", "snapshot_mode",
             "snapshot_gap", "max_episode_length", "max_restarts", *_JSON_OPTIONS)
    params = {name: getattr(args, name) for name in names if hasattr(args, name)}
    keep_none: tuple[str, ...] = ()
    if args.command == "resume":
        # The snapshot knows these; None tells the flow to keep the snapshot's values.
        params.update(env=None, algo=None)
        keep_none = ("env", "algo", "n_epochs", "batch_size")
    return {k: v for k, v in params.items() if v is not None or k in keep_none}


def _precheck(params: dict[str, Any]) -> None:
    """Catch a mistyped name before the flow starts (a failing flow is retried with a delay)."""
    from flows.experiments import check_env_id, resolve_algo
    from trainer.errors import ConfigError
    from trainer.experiment import check_batch_size, check_n_epochs
    from trainer.snapshots import check_snapshot_options, open_storage

    if params.get("n_epochs") is not None:
        check_n_epochs(params["n_epochs"])
    check_batch_size(params.get("batch_size"))
    if "snapshot_mode" in params:
        check_snapshot_options(params["snapshot_mode"], params.get("snapshot_gap", 1))
    if params.get("env") is None and params.get("algo") is None:  # resume
        storage = open_storage(params["snapshot_dir"], params.get("storage_options"))
        try:
            names = storage.listdir()
        except FileNotFoundError:
            names = []
        if not any(name.endswith(".commit.json") for name in names):
            raise ConfigError(f"{params['snapshot_dir']} holds no committed snapshot (missing or "
                              "empty directory): nothing to resume. Start a run with "
                              "`trainflow train --snapshot-dir ...`.")
    if params.get("algo") is not None:
        resolve_algo(params["algo"])
    if params.get("env") is not None:
        check_env_id(params["env"])


def _run(args: argparse.Namespace) -> int:
    from flows.train import train_experiment

    params = _parameters(args)
    _precheck(params)
    flow = train_experiment if args.retries is None else train_experiment.with_options(
        retries=args.retries)
    result = flow(**params)
    print(f"trainflow: {params['snapshot_dir']} finished; last epoch's average return: {result}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from flows.train import train_experiment

    params = _parameters(args)
    _precheck(params)
    # Deployment runs of one experiment never overlap (global_limit); heartbeats every 30 s let
    # the zombie automation notice a vanished machine.
    os.environ.setdefault("PREFECT_FLOWS_HEARTBEAT_FREQUENCY", "30")
    train_experiment.serve(name=args.name, parameters=params, cron=args.cron, global_limit=1)
    return 0


def _automations(args: argparse.Namespace) -> int:
    from flows.automations import install_automations, remove_automations

    if args.action == "install":
        for automation in install_automations(args.heartbeat_frequency):
            print(f"trainflow: installed automation {automation.name!r} ({automation.id})")
    else:
        print(f"trainflow: removed {remove_automations()} automation(s)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the ``trainflow`` command line.

    Args:
        argv: The arguments without the program name. Default ``None``: ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 1 if the run failed, 2 on bad usage.
    """
    args = _parser().parse_args(argv)
    # Offline by default: the embedded API must not try to send telemetry.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # TensorFlow's C++ INFO/WARNING banners drown the training log; errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from trainer.errors import TrainflowError

    handler = {"train": _run, "resume": _run, "serve": _serve, "automations": _automations}
    try:
        return handler[args.command](args)
    except TrainflowError as exc:
        print(f"trainflow: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
