"""Save/restore time and size of a snapshot, local disk vs S3 on loopback (moto), signed or not.

The snapshot is a stand-in for a PPO CartPole snapshot: a cloudpickled dict of numpy arrays
(policy and value MLP weights, Adam slots, a batch of observations) of about 100 KB or 1 MB.

    .venv/bin/python benchmarks/snapshot_io.py [--reps 20] [--sizes 100000,1000000]

Each row is the median (and 90th percentile) of ``--reps`` saves with mode 'last' (the
two-phase commit: pending record, payload, record) and of as many loads of 'last' (record,
signature check, payload, sha256, unpickle). S3 runs through moto in this process, so its times
are protocol overhead on loopback, not network time.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
SAFE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_CONFIG_FILE": "/dev/null",
    "BOTO_CONFIG": "/dev/null",
}
os.environ.update(SAFE_AWS_ENV)
os.environ.pop("AWS_PROFILE", None)
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from trainer.snapshots import KEY_ENV, Snapshotter  # noqa: E402


def fake_ppo_snapshot(target_bytes: int, seed: int = 0) -> dict:
    """A dict shaped like a PPO snapshot whose arrays add up to about ``target_bytes``."""
    rng = np.random.default_rng(seed)
    hidden = 32
    weights = {
        "policy/W0": rng.standard_normal((4, hidden)),
        "policy/W1": rng.standard_normal((hidden, hidden)),
        "policy/W2": rng.standard_normal((hidden, 2)),
        "value/W0": rng.standard_normal((4, hidden)),
        "value/W1": rng.standard_normal((hidden, hidden)),
        "value/W2": rng.standard_normal((hidden, 1)),
    }
    slots = {f"adam/{k}/{m}": np.zeros_like(v) for k, v in weights.items() for m in ("m", "v")}
    used = sum(a.nbytes for a in (*weights.values(), *slots.values()))
    n_obs = max(1, (target_bytes - used) // (4 * 8))
    return {
        "seed": 1,
        "train_args": {"n_epochs": 100, "batch_size": 4000},
        "stats": {"total_epoch": 7, "total_env_steps": 32000},
        "algo": {"weights": weights, "slots": slots},
        "last_observations": rng.standard_normal((n_obs, 4)),
        "rng_state": rng.bit_generator.state,
    }


def measure(snap: Snapshotter, params: dict, reps: int) -> tuple[list[float], list[float], int]:
    saves, loads = [], []
    for epoch in range(reps):
        start = time.perf_counter()
        snap.save_itr_params(epoch, params)
        saves.append(time.perf_counter() - start)
        start = time.perf_counter()
        snap.load(snap.snapshot_dir, "last")
        loads.append(time.perf_counter() - start)
    stored = sum(len(snap.storage.get(n)) for n in snap.storage.listdir())
    return saves, loads, stored


def row(label: str, size: int, saves: list[float], loads: list[float], stored: int) -> str:
    def ms(values: list[float]) -> str:
        p90 = statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else values[0]
        return f"{statistics.median(values) * 1e3:8.1f} / {p90 * 1e3:7.1f}"

    return f"{label:<16} {size / 1e3:9.0f} {stored / 1e3:10.1f}  {ms(saves)}  {ms(loads)}"


def start_moto() -> tuple[object, str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--sizes", default="100000,1000000", help="payload sizes in bytes")
    args = parser.parse_args()

    import boto3
    import cloudpickle

    server, endpoint = start_moto()
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
    logging.getLogger("trainer.snapshots").setLevel(logging.ERROR)
    print(
        f"{'backend':<16} {'payload kB':>9} {'stored kB':>10}  "
        f"{'save ms med / p90':>18}  {'load ms med / p90':>18}"
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for size in (int(s) for s in args.sizes.split(",")):
                params = fake_ppo_snapshot(size)
                actual = len(cloudpickle.dumps(params))
                for signed in (False, True):
                    if signed:
                        os.environ[KEY_ENV] = "hex:" + "ab" * 32
                    else:
                        os.environ.pop(KEY_ENV, None)
                    tag = "+hmac" if signed else ""
                    local = Snapshotter(os.path.join(tmp, uuid.uuid4().hex), "last")
                    print(row(f"local{tag}", actual, *measure(local, params, args.reps)))
                    url = f"s3://bench/{uuid.uuid4().hex}"
                    s3 = Snapshotter(url, "last", storage_options={"endpoint_url": endpoint})
                    print(row(f"s3-loopback{tag}", actual, *measure(s3, params, args.reps)))
    finally:
        os.environ.pop(KEY_ENV, None)
        server.stop()


if __name__ == "__main__":
    main()
