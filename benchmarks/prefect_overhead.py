"""Prefect's overhead on training: the same experiment with the plain Trainer and as a flow.

Per-epoch time is measured between the starts of epoch 1 and epoch N-1 (the first epoch warms
up), so it includes everything that happens between epochs: for the flow, the four task runs per
epoch, the artifacts and the log shipping. Flow start-up (embedded API server, flow-run creation,
restore check) is reported separately. Goal: at most 3 % extra wall time per epoch at
batch_size=4000 on CartPole.

    .venv/bin/python benchmarks/prefect_overhead.py --epochs 8 --batch-size 4000 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


def plain_run(args: argparse.Namespace, snapshot_dir: str) -> float:
    """Seconds per epoch with the plain TFTrainer (no Prefect)."""
    from flows.experiments import build_algo, make_env
    from trainer import SnapshotConfig, TFTrainer, set_seed
    from trainer.orchestration import InlineOrchestrator

    starts: list[float] = []

    class Timed(InlineOrchestrator):
        def run_epoch(self, epoch, body):
            starts.append(time.perf_counter())
            return body()

    set_seed(args.seed)
    with TFTrainer(SnapshotConfig(snapshot_dir)) as trainer:
        env = make_env(args.env)
        trainer.setup(build_algo(args.algo, env), env)
        trainer.orchestrator = Timed()
        trainer.train(n_epochs=args.epochs, batch_size=args.batch_size)
    return (starts[-1] - starts[1]) / (len(starts) - 2)


def flow_run(args: argparse.Namespace, snapshot_dir: str) -> tuple[float, float]:
    """(seconds per epoch, start-up seconds) of ``train_experiment`` on the embedded API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.train import train_experiment

    called = time.time()
    state = train_experiment(snapshot_dir=snapshot_dir, env=args.env, algo=args.algo,
                             n_epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                             return_state=True)
    run_id = state.state_details.flow_run_id
    deadline = time.monotonic() + 120
    with get_client(sync_client=True) as client:
        while True:  # task runs reach the API asynchronously
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[run_id])))
            epochs = sorted((r for r in runs if r.name.startswith("epoch-") and r.start_time),
                            key=lambda r: int(r.name.split("-")[1]))
            if len(epochs) == args.epochs or time.monotonic() > deadline:
                break
            time.sleep(1)
    starts = [r.start_time.timestamp() for r in epochs]
    return (starts[-1] - starts[1]) / (len(starts) - 2), starts[0] - called


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--algo", default="PPO")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.epochs < 3:
        parser.error("--epochs must be at least 3 (epoch 0 is warm-up)")

    import tensorflow  # noqa: F401 - imported before timing, for both variants alike

    plain, flow, startup = [], [], []
    for repeat in range(args.repeats):  # interleaved, so load changes hit both alike
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            plain.append(plain_run(args, os.path.join(a, "exp")))
            per_epoch, start = flow_run(args, os.path.join(b, "exp"))
            flow.append(per_epoch)
            startup.append(start)
        print(f"repeat {repeat}: plain {plain[-1]:.3f} s/epoch, flow {flow[-1]:.3f} s/epoch, "
              f"flow start-up {startup[-1]:.1f} s", flush=True)
    p, f = statistics.median(plain), statistics.median(flow)
    print(f"\n{args.algo} on {args.env}, batch_size={args.batch_size}, {args.epochs} epochs, "
          f"median of {args.repeats}:")
    print(f"  plain Trainer      {p:.3f} s/epoch")
    print(f"  train_experiment   {f:.3f} s/epoch")
    print(f"  overhead ratio     {f / p:.3f}  ({100 * (f / p - 1):+.1f} % per epoch; goal <= +3 %)")
    print(f"  flow start-up      {statistics.median(startup):.1f} s (embedded API, run creation)")


if __name__ == "__main__":
    main()
