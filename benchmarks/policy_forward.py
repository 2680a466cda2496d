"""get_actions on 8 CartPole observations: us per call (min over repeats), plus references."""
import os
os.environ["TF_NUM_INTRAOP_THREADS"] = "1"; os.environ["TF_NUM_INTEROP_THREADS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import timeit
import gymnasium as gym
import numpy as np
import tensorflow as tf
from trainer.envs import EnvSpec
from trainer.policies import CategoricalMLPPolicy, GaussianMLPPolicy

env = gym.make("CartPole-v1")
spec = EnvSpec(env.observation_space, env.action_space)
obs8 = np.stack([env.observation_space.sample() for _ in range(8)])
rng = np.random.default_rng(0)
with tf.compat.v1.Session(graph=tf.Graph()) as sess:
    p = CategoricalMLPPolicy(spec)  # (32, 32) tanh, garage default
    W = [a.copy() for a in p._np_values]
    def ref():  # plain numpy forward + softmax + Gumbel-max (what perf-notes 2c measured)
        h = np.tanh(obs8 @ W[0] + W[1]); h = np.tanh(h @ W[2] + W[3]); lo = h @ W[4] + W[5]
        e = np.exp(lo - lo.max(1, keepdims=True)); pr = e / e.sum(1, keepdims=True)
        return (lo - np.log(-np.log(rng.random(lo.shape)))).argmax(1), pr
    penv = gym.make("Pendulum-v1")
    g = GaussianMLPPolicy(EnvSpec(penv.observation_space, penv.action_space))
    pobs8 = np.stack([penv.observation_space.sample() for _ in range(8)])
    def fwd():  # perf-notes 2c "numpy matmul forward"
        h = np.tanh(obs8 @ W[0] + W[1]); h = np.tanh(h @ W[2] + W[3]); return h @ W[4] + W[5]
    def fwd_gumbel():  # perf-notes 2c "numpy forward + Gumbel-max categorical sample"
        lo = fwd(); return (lo - np.log(-np.log(rng.random(lo.shape)))).argmax(1)
    cases = {"notes: numpy forward(8)": fwd, "notes: forward+Gumbel(8)": fwd_gumbel,"categorical get_actions(8)": lambda: p.get_actions(obs8),
             "categorical get_action(1)": lambda: p.get_action(obs8[0]),
             "gaussian get_actions(8)": lambda: g.get_actions(pobs8),
             "plain-numpy reference(8)": ref}
    best = {k: float("inf") for k in cases}
    for _ in range(7):
        for k, f in cases.items():
            best[k] = min(best[k], min(timeit.repeat(f, number=20000, repeat=3)) / 20000 * 1e6)
    for k, v in best.items():
        print(f"{k}: {v:.2f} us")
