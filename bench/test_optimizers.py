"""Optimizers fused into the update cost little: the epoch time of momentum and Adam against
plain SGD on the dense ridge problem (float32, n=1,000,000 × 100 at scale 1, batch 256), each
checked to train (its objective falls well below F(0))."""

from __future__ import annotations

import time

import numpy as np
import pytest

import problems as P

OPTIMIZERS = (None, "momentum", "adam")


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=["sgd", "momentum", "adam"])
def test_optimizer_epoch(benchmark, data, optimizer):
    d = data("ridge-float32")
    # Adaptive rates need a smaller base rate than plain SGD's on this problem.
    lr_scale = 0.1 if optimizer == "adam" else 1.0
    p = P.Problem(**{**d.p.__dict__, "lr": d.p.lr * lr_scale})
    trainer = P.FastgdTrainer(p, optimizer=optimizer)
    benchmark.group = "optimizers-ridge-float32"
    benchmark.pedantic(
        trainer.epoch, args=(d.X, d.y), setup=trainer.reset, rounds=5, iterations=1, warmup_rounds=1
    )
    trainer.reset()
    for _ in range(2):
        trainer.epoch(d.X, d.y)
    f = P.objective(p, d.X, d.y, *trainer.params())
    assert f < d.f_star + 0.1 * (d.f_zero - d.f_star)


def test_adam_epoch_within_1_3x_of_sgd(data):
    d = data("ridge-float32")

    def best_epoch_time(optimizer):
        trainer = P.FastgdTrainer(d.p, optimizer=optimizer)
        times = []
        for _ in range(7):
            trainer.reset()
            start = time.perf_counter()
            trainer.epoch(d.X, d.y)
            times.append(time.perf_counter() - start)
        return np.min(times)

    sgd, adam = best_epoch_time(None), best_epoch_time("adam")
    print(f"\nepoch: sgd {sgd * 1e3:.1f} ms, adam {adam * 1e3:.1f} ms, ratio {adam / sgd:.2f}")
    assert adam <= 1.3 * sgd
