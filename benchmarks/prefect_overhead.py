"""Prefect's overhead on training: the same experiment with the plain Trainer and as a flow.

Each repeat runs the experiment twice in this process, in alternating order: with the plain
``TFTrainer`` and as the ``train_experiment`` flow on Prefect's embedded API (its server is a child
process on the same CPUs, and is left to finish ingesting a flow run before the next run starts).
An epoch's time is the time from its start to the next epoch's start, so it includes everything
that happens between epochs: for the flow, the four task runs, the summary log line, the
artifacts and the API server's work competing for the CPUs. Epoch 0 warms up and the last epoch
(which publishes the final artifacts) has no successor, so ``--epochs 12`` times 10 epochs per
run. The reported values are medians over all timed epochs of all repeats, which keeps a burst of
load from another process from deciding the result.

Two more figures separate Prefect's own cost from contention: the time per epoch spent outside
the engine's phase functions (sample, optimize, snapshot), flow minus plain, is what Prefect
costs the training thread (task runs, logs, artifact hand-off); the API server's CPU time per
epoch is what it takes from the CPUs that training shares. Flow start-up (embedded API start,
flow-run creation, restore check) and wind-down are reported separately.

Goal (pipeline issue): at most 3 % extra wall time per epoch at ``batch_size=4000`` on CartPole.

    .venv/bin/python benchmarks/prefect_overhead.py         # PPO, CartPole-v1, 12 epochs x 4
    .venv/bin/python benchmarks/prefect_overhead.py --log-level WARNING --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Any

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def children_cpu_s() -> float:
    """CPU seconds used so far by this process's children (the embedded API server)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == os.getpid():  # fields: state, ppid, ..., utime (11), stime (12)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def wait_until_server_idle(limit_s: float = 30.0) -> None:
    """Wait until the API server has ingested the last flow run (under 5 % CPU for 0.5 s)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = children_cpu_s()
        time.sleep(0.5)
        if children_cpu_s() - before < 0.025:
            return


class EpochClock:
    """Epoch start times and the time spent inside the engine's phase functions, per epoch."""

    def __init__(self, server_cpu: bool = False) -> None:
        self.starts: list[float] = []
        self.cpu_starts: list[float] = []  # CPU time of the training thread
        self.in_phases: list[float] = []
        self.end = 0.0
        self.server_cpu = server_cpu
        self.server_cpu_at_epoch_1 = 0.0

    def timed_body(self, body: Any) -> Any:
        """Wrap an epoch body so that its start is recorded."""
        if self.server_cpu and len(self.starts) == 1:  # once, after the server's start-up
            self.server_cpu_at_epoch_1 = children_cpu_s()
        self.starts.append(time.perf_counter())
        self.cpu_starts.append(time.thread_time())
        self.in_phases.append(0.0)

        def run() -> Any:
            result = body()
            self.end = time.perf_counter()
            return result
        return run

    def timed_phase(self, fn: Any) -> Any:
        """Wrap a phase function so that its duration is added to the current epoch's."""
        def run() -> Any:
            start = time.perf_counter()
            try:
                return fn()
            finally:
                self.in_phases[-1] += time.perf_counter() - start
        return run

    def epochs(self) -> list[float]:
        """Durations of the timed epochs: start to next start, without epoch 0 and the last."""
        return [b - a for a, b in zip(self.starts[1:], self.starts[2:])]

    def epochs_cpu(self) -> list[float]:
        """CPU seconds of the training thread in each timed epoch (not waiting for a CPU)."""
        return [b - a for a, b in zip(self.cpu_starts[1:], self.cpu_starts[2:])]

    def outside_phases(self) -> list[float]:
        """Per timed epoch, the time not spent in the engine's phase functions."""
        return [d - p for d, p in zip(self.epochs(), self.in_phases[1:])]


def plain_run(args: argparse.Namespace, snapshot_dir: str) -> EpochClock:
    """One run with the plain TFTrainer (no Prefect)."""
    from flows.experiments import build_algo, make_env
    from trainer import SnapshotConfig, TFTrainer, set_seed
    from trainer.orchestration import InlineOrchestrator

    clock = EpochClock()

    class Timed(InlineOrchestrator):
        def run_epoch(self, epoch: int, body: Any) -> dict[str, Any]:
            return super().run_epoch(epoch, clock.timed_body(body))

        def run_phase(self, phase: Any, epoch: int, fn: Any) -> Any:
            return super().run_phase(phase, epoch, clock.timed_phase(fn))

    set_seed(args.seed)
    with TFTrainer(SnapshotConfig(snapshot_dir)) as trainer:
        env = make_env(args.env)
        trainer.setup(build_algo(args.algo, env), env)
        trainer.orchestrator = Timed()
        trainer.train(n_epochs=args.epochs, batch_size=args.batch_size)
    return clock


def flow_run(args: argparse.Namespace, snapshot_dir: str) -> tuple[EpochClock, float, float]:
    """One ``train_experiment`` run: its clock, start-up and wind-down seconds.

    The flow's orchestrator is the real :class:`~tasks.PrefectOrchestrator`, with the same
    clock wrapped around the engine's functions as in :func:`plain_run`.
    """
    import flows.train
    from tasks.orchestrator import PrefectOrchestrator

    clock = EpochClock(server_cpu=True)

    class Timed(PrefectOrchestrator):
        def run_epoch(self, epoch: int, body: Any) -> dict[str, Any]:
            return super().run_epoch(epoch, clock.timed_body(body))

        def run_phase(self, phase: Any, epoch: int, fn: Any) -> Any:
            return super().run_phase(phase, epoch, clock.timed_phase(fn))

    flows.train.PrefectOrchestrator = Timed
    try:
        called = time.perf_counter()
        state = flows.train.train_experiment(
            snapshot_dir=snapshot_dir, env=args.env, algo=args.algo, n_epochs=args.epochs,
            batch_size=args.batch_size, seed=args.seed, return_state=True)
        returned = time.perf_counter()
    finally:
        flows.train.PrefectOrchestrator = PrefectOrchestrator
    if not state.is_completed():
        raise RuntimeError(f"the flow run ended {state.type.value}: {state.message}")
    return clock, clock.starts[0] - called, returned - clock.end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--algo", default="PPO")
    parser.add_argument("--epochs", type=int, default=12, help="epochs per run (default 12)")
    parser.add_argument("--batch-size", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=4, help="plain/flow pairs (default 4)")
    parser.add_argument("--log-level", default=os.environ.get("PREFECT_LOGGING_LEVEL", "INFO"),
                        help="PREFECT_LOGGING_LEVEL of the flow (default: Prefect's, INFO)")
    args = parser.parse_args()
    if args.epochs < 3:
        parser.error(f"--epochs {args.epochs} is too few: pass at least 3 (epoch 0 warms up "
                     "and the last epoch is not timed), e.g. --epochs 12")
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats} is not valid: pass at least 1, e.g. 3")
    os.environ["PREFECT_LOGGING_LEVEL"] = args.log_level.upper()

    import tensorflow  # noqa: F401 - imported before timing, for both variants alike

    plain: list[EpochClock] = []
    flow: list[EpochClock] = []
    startup: list[float] = []
    winddown: list[float] = []
    server_cpu: list[float] = []
    for repeat in range(args.repeats):
        # Interleaved, in alternating order, so that load changes hit both alike; the API
        # server finishes ingesting a flow run before the next run starts.
        for variant in ("plain", "flow") if repeat % 2 == 0 else ("flow", "plain"):
            with tempfile.TemporaryDirectory() as tmp:
                snapshot_dir = os.path.join(tmp, "exp")
                if variant == "plain":
                    plain.append(plain_run(args, snapshot_dir))
                    continue
                clock, start, end = flow_run(args, snapshot_dir)
                wait_until_server_idle()
                # From epoch 1 to the end of ingestion, over the timed epochs: an upper bound.
                server_cpu.append((children_cpu_s() - clock.server_cpu_at_epoch_1)
                                  / len(clock.epochs()))
                flow.append(clock)
                startup.append(start)
                winddown.append(end)
        pm, fm = (statistics.median(c.epochs()) for c in (plain[-1], flow[-1]))
        print(f"repeat {repeat}: plain {pm:.3f} s/epoch, flow {fm:.3f} s/epoch (ratio "
              f"{fm / pm:.3f}), flow start-up {startup[-1]:.1f} s", file=sys.stderr, flush=True)

    def median(clocks: list[EpochClock], what: str) -> float:
        return statistics.median(x for clock in clocks for x in getattr(clock, what)())

    p, f = median(plain, "epochs"), median(flow, "epochs")
    p_out, f_out = median(plain, "outside_phases"), median(flow, "outside_phases")
    p_cpu, f_cpu = median(plain, "epochs_cpu"), median(flow, "epochs_cpu")
    ratios = [statistics.median(b.epochs()) / statistics.median(a.epochs())
              for a, b in zip(plain, flow)]
    later = statistics.median(startup[1:]) if len(startup) > 1 else float("nan")
    print(f"\n{args.algo} on {args.env}, batch_size={args.batch_size}, {args.epochs} epochs x "
          f"{args.repeats} repeats, PREFECT_LOGGING_LEVEL={args.log_level.upper()}; medians of "
          f"{len(plain) * len(plain[0].epochs())} timed epochs each:")
    print(f"  plain Trainer      {p:.3f} s/epoch")
    print(f"  train_experiment   {f:.3f} s/epoch")
    print(f"  overhead ratio     {f / p:.3f}  ({100 * (f / p - 1):+.1f} % per epoch; goal <= +3 %);"
          f" per repeat {min(ratios):.3f} to {max(ratios):.3f}")
    print(f"  of which Prefect on the training thread {1000 * (f_out - p_out):.1f} ms per epoch "
          f"(time outside the engine's phase functions: plain {1000 * p_out:.1f} ms, flow "
          f"{1000 * f_out:.1f} ms)")
    print(f"  training thread's CPU time {1000 * p_cpu:.0f} ms per epoch plain, "
          f"{1000 * f_cpu:.0f} ms flow ({100 * (f_cpu / p_cpu - 1):+.1f} %; unlike wall time, "
          "it does not grow when other processes take the CPUs)")
    print(f"  flow start-up      {startup[0]:.1f} s first run (embedded API start), "
          f"{later:.1f} s later runs; wind-down {statistics.median(winddown):.2f} s")
    print(f"  API server CPU     {1000 * statistics.median(server_cpu):.0f} ms per epoch "
          "(child process, same CPUs)")


if __name__ == "__main__":
    main()
