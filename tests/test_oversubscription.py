"""Multi-threaded epochs on an oversubscribed machine (csrc/include/fastgd/step_sync.hpp).

With n_threads=2 and another busy process on the same 2 cores, one of the epoch's threads is often
descheduled. The results must stay bitwise those of a quiet run: they depend on the thread count,
never on timing or on which thread computed which slice. (That such epochs do not wait for the
descheduled thread: bench/test_loaded_machine.py.) The runs are in a child process pinned to 2
CPUs, with the busy process pinned there too, so that the test sees the 2-core case on any Linux
machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from fastgd import ops

# The problem: 782 steps of 128 rows, split over 2 threads (128·128 multiply-adds per thread).
PROBLEM = textwrap.dedent(
    """
    rng = np.random.default_rng(7)
    X = rng.standard_normal((100_000, 128), dtype=np.float32)
    y = (X @ rng.standard_normal(128).astype(np.float32) + 0.5).astype(np.float32)
    order = rng.permutation(len(X))
    batch = 128
    lrs = np.full(ops.n_steps(len(X), batch), 1e-3)
    """
)

# The child: a quiet run, then the same epochs with a busy process on its 2 CPUs. Prints the
# results' bytes (hex) as JSON.
CHILD = (
    textwrap.dedent(
        """
    import json, os, subprocess, sys, time
    import numpy as np
    from fastgd import ops, optimizers

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])  # the busy process inherits it
    """
    )
    + PROBLEM
    + textwrap.dedent(
        """
    def epoch(n_threads, adam=False):
        w, b = np.zeros(X.shape[1], np.float32), np.zeros(1, np.float32)
        opt, avg = (optimizers.Adam(), optimizers.Average(start=10)) if adam else (None, None)
        total = ops.sgd_epoch(X, y, w, b, lrs, batch_size=batch, order=order, penalty="elasticnet",
                              alpha=1e-4, n_threads=n_threads, optimizer=opt, average=avg,
                              check_input=False)
        parts = [w, b, np.float64(total)]
        if adam:
            parts += [opt.state_.coef, opt.state_.intercept, avg.coef_, avg.intercept_]
        return b"".join(np.asarray(p).tobytes() for p in parts).hex()

    quiet = [epoch(2), epoch(2, adam=True)]
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.1)
        loaded = [[epoch(2), epoch(2, adam=True)] for _ in range(4)]
    finally:
        busy.terminate()
        busy.wait()
    print(json.dumps(dict(quiet=quiet, loaded=loaded)))
    """
    )
)


@pytest.fixture(scope="module")
def loaded_run():
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=300, check=True
    )
    return json.loads(out.stdout)


def test_results_are_bitwise_the_same_under_load(loaded_run):
    for results in loaded_run["loaded"]:
        assert results == loaded_run["quiet"]


def test_quiet_child_matches_this_process(loaded_run):
    # Same inputs, same thread count: the same bits in another process, pinned or not.
    env = dict(np=np, ops=ops)
    exec(PROBLEM, env)
    X, y, order, batch, lrs = (env[k] for k in ("X", "y", "order", "batch", "lrs"))
    w, b = np.zeros(X.shape[1], np.float32), np.zeros(1, np.float32)
    total = ops.sgd_epoch(
        X,
        y,
        w,
        b,
        lrs,
        batch_size=batch,
        order=order,
        penalty="elasticnet",
        alpha=1e-4,
        n_threads=2,
    )
    assert (w.tobytes() + b.tobytes() + np.float64(total).tobytes()).hex() == loaded_run["quiet"][0]


LIMITED = textwrap.dedent(
    """
    import numpy as np
    from fastgd import ops
    rng = np.random.default_rng(3)
    X = rng.standard_normal((5000, 64))
    y = X @ rng.standard_normal(64)
    w, b = np.zeros(64), np.zeros(1)
    total = ops.sgd_epoch(X, y, w, b, np.full(ops.n_steps(5000, 512), 1e-2), batch_size=512,
                          n_threads=2)
    print((w.tobytes() + b.tobytes() + np.float64(total).tobytes()).hex())
    """
)


def test_fewer_threads_than_requested_give_the_same_bits():
    # OMP_THREAD_LIMIT=1 (or a call from inside another parallel region) gives the epoch a team of
    # one thread for n_threads=2: it computes both slices of every step, with the same result.
    def run(env):
        return subprocess.run(
            [sys.executable, "-c", LIMITED],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, **env},
        ).stdout

    assert run({"OMP_THREAD_LIMIT": "1"}) == run({})
