"""fastgd's scaling claims: time to a 1%-optimal objective against scikit-learn, epoch
time linear in n, shuffled epochs within 4x of in-order ones, and peak memory within 5% of the
input data."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import problems as P


def _time_to_reach(trainer, d, target: float, max_epochs: int) -> tuple[float, bool]:
    """Training seconds (objective checks excluded) until F ≤ target, and whether it got there
    within max_epochs (if not, the seconds spent: a lower bound)."""
    trainer.reset()
    seconds = 0.0
    for _ in range(max_epochs):
        start = time.perf_counter()
        trainer.epoch(d.X, d.y)
        seconds += time.perf_counter() - start
        w, b = trainer.params()
        if P.objective(d.p, d.X, d.y, w, b) <= target:
            return seconds, True
    return seconds, False


def test_time_to_one_percent_of_optimum(benchmark, data):
    """F within 1% of the direct solver's optimum: fastgd (batch 256, constant rate) at least 10×
    sooner than scikit-learn's SGDRegressor at its documented defaults (invscaling schedule,
    eta0=0.01, per-sample updates). If scikit-learn does not get there within 50 epochs, the
    time it spent is a lower bound of its time, and the ratio a lower bound too."""
    d = data("ridge-float32")
    target = d.f_star * 1.01
    fast, fast_ok = _time_to_reach(P.FastgdTrainer(d.p), d, target, 20)
    slow, slow_ok = _time_to_reach(P.SklearnTrainer(d.p), d, target, 50)
    benchmark.group = "time to 1% of the optimum"
    benchmark.extra_info.update(fastgd_s=fast, sklearn_s=slow, sklearn_reached=slow_ok)
    benchmark.pedantic(lambda: None, rounds=1)
    print(
        f"\ntime to F <= 1.01 F*: fastgd {fast * 1e3:.1f} ms, scikit-learn "
        f"{'' if slow_ok else 'not reached in 50 epochs, > '}{slow * 1e3:.0f} ms, "
        f"ratio {'' if slow_ok else '> '}{slow / fast:.0f}"
    )
    assert fast_ok
    assert slow >= 10 * fast


def test_epoch_time_is_linear_in_n(data, scale):
    """Epoch time per row stays within 25% over n/8, n/4, n/2, n (ridge float32, batch 256)."""
    d = data("ridge-float32")
    if d.X[: len(d.X) // 8].nbytes < 40 * 2**20:  # above this machine's 32 MiB L3
        pytest.skip("the smallest size fits in cache at this --bench-scale: use 1")
    sizes = (8, 4, 2, 1)
    trainer = P.FastgdTrainer(d.p)
    best = dict.fromkeys(sizes, np.inf)
    # The sizes take turns, round after round: a burst of load from another process on a shared
    # machine then slows one round of every size instead of all the epochs of one size.
    for _ in range(7):
        for k in sizes:
            X, y = d.X[: len(d.X) // k], d.y[: len(d.y) // k]
            trainer.reset()
            start = time.perf_counter()
            trainer.epoch(X, y)
            best[k] = min(best[k], time.perf_counter() - start)
    per_row = [best[k] / (len(d.X) // k) for k in sizes]
    print("\nns per row at n/8, n/4, n/2, n:", [round(t * 1e9, 2) for t in per_row])
    assert max(per_row) <= 1.25 * min(per_row)


def test_shuffled_epoch_within_4x_of_in_order(data):
    """An epoch through a permutation (what training loops and the estimators run) at most 4x the
    in-order one (ridge float32, batch 256): the rows, targets and weights come at random, and
    only prefetching keeps them from costing a memory latency each. The bound caught the epochs
    of a build in which the compiler had dropped every prefetch (5-6x)."""
    d = data("ridge-float32")
    if d.X.nbytes < 40 * 2**20:
        pytest.skip("the data fits in cache at this --bench-scale: use 1")
    trainers = {shuffle: P.FastgdTrainer(d.p, shuffle=shuffle) for shuffle in (False, True)}
    best = dict.fromkeys(trainers, np.inf)
    for _ in range(5):  # alternating, as above
        for shuffle, trainer in trainers.items():
            trainer.reset()
            start = time.perf_counter()
            trainer.epoch(d.X, d.y)
            best[shuffle] = min(best[shuffle], time.perf_counter() - start)
    ratio = best[True] / best[False]
    print(
        f"\nepoch in order {best[False] * 1e3:.1f} ms, shuffled {best[True] * 1e3:.1f} ms "
        f"({ratio:.2f}x)"
    )
    assert ratio <= 4.0


PEAK_SCRIPT = """
import json, sys
sys.path.insert(0, {bench!r})
import numpy as np
import problems as P

def status(key):  # bytes; VmHWM is this process image's peak (ru_maxrss survives exec: no)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024

p = P.problems({scale!r})["ridge-float32"]
trainer = P.FastgdTrainer(p, shuffle=True)  # with a permutation, as a training loop has
before = status("VmRSS")
X, y = P.make_data(p)
data = X.nbytes + y.nbytes
for _ in range(2):
    trainer.epoch(X, y)
print(json.dumps(dict(before=before, data=data, peak=status("VmHWM"))))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/self/status")
def test_peak_memory_within_5_percent_of_the_data(scale):
    """In a fresh process: peak resident memory during data creation and two epochs, above what
    the process held before, is at most 5% more than X and y (no copy of X, no large scratch)."""
    script = PEAK_SCRIPT.format(bench=str(Path(__file__).parent), scale=scale)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    r = json.loads(out.strip().splitlines()[-1])
    extra = (r["peak"] - r["before"]) / r["data"] - 1
    print(f"\npeak above the data: {100 * extra:.1f}% of {r['data'] / 1e6:.0f} MB")
    if r["data"] < 64 * 2**20:
        pytest.skip("data too small at this --bench-scale for a 5% bound on RSS")
    assert extra <= 0.05
