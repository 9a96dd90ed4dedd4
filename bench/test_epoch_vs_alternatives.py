"""One epoch of fastgd against the tools users would pick instead (NumPy, scikit-learn, PyTorch),
on the four dense problems of problems.py.

Each problem is one pytest-benchmark group; in it, each tool's epoch time (from zero weights, the
same batch size and learning rate for the minibatch tools). After timing, each tool must also
reach the same objective tolerance by training on (untimed): a fast but wrong kernel fails.
"""

from __future__ import annotations

import pytest

import problems as P

# The suboptimality F − F* every tool must reach, relative to F(0) − F*, within MAX_SAMPLES
# samples of training (as many epochs as that makes: per-sample SGD with its decaying default
# schedule needs many more samples than minibatch SGD, and fewer rows mean more epochs).
TOLERANCE = 0.05
MAX_SAMPLES = 15_000_000

PROBLEMS = ("ridge-float32", "ridge-float64", "logistic-float64", "lasso-float64")
TOOLS = ("fastgd", "numpy", "sklearn", "torch")


def make_trainer(tool: str, p: P.Problem):
    if tool == "fastgd":
        return P.FastgdTrainer(p)
    if tool == "numpy":
        return P.NumpyTrainer(p)
    if tool == "sklearn":
        return P.SklearnTrainer(p)
    if P.torch is None:
        pytest.skip("PyTorch is not installed (pip install torch to compare with it)")
    return P.TorchTrainer(p, n_threads=2)


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("problem", PROBLEMS)
def test_epoch(benchmark, data, problem, tool):
    d = data(problem)
    trainer = make_trainer(tool, d.p)
    benchmark.group = problem
    benchmark.extra_info.update(n=d.p.n, d=d.p.d, batch_size=d.p.batch_size, bytes=d.X.nbytes)
    rounds = 5 if tool == "fastgd" else 3
    benchmark.pedantic(
        trainer.epoch,
        args=(d.X, d.y),
        setup=trainer.reset,
        rounds=rounds,
        iterations=1,
        warmup_rounds=1 if tool == "fastgd" else 0,
    )
    max_epochs = -(-MAX_SAMPLES // d.p.n)
    epochs = P.epochs_to_reach(trainer, d.p, d.X, d.y, d.f_star, d.f_zero, TOLERANCE, max_epochs)
    benchmark.extra_info["epochs_to_tolerance"] = epochs
    assert epochs is not None, (
        f"{tool} did not bring F − F* to {TOLERANCE} × (F(0) − F*) in {max_epochs} epochs"
    )
