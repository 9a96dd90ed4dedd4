"""diffprivlib's LogisticRegression on given arrays: the reference column of
bench/test_bench_privacy.py, and the one place that says how diffprivlib is run there.

The bench calls ``accuracies`` in its own process when diffprivlib imports there. diffprivlib
0.6.6 (the latest) does not import with scikit-learn 1.9 and does not run with 1.8 (it passes
LogisticRegression the ``multi_class`` that 1.8 removed), so the bench can instead run this file
as a script in another interpreter, one with diffprivlib and scikit-learn < 1.8:

    python diffprivlib_reference.py DIR --epsilons 1 4 8 --seeds 0 1 2 3 4 --data-norm 1

reads DIR/X_train.npy, X_test.npy, y_train.npy and y_test.npy and writes DIR/accuracies.json,
``{"epsilon": [test accuracy per seed]}``. It needs only NumPy and diffprivlib (not fastgd,
which the other interpreter need not have).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import numpy as np

ARRAYS = ("X_train", "X_test", "y_train", "y_test")
RESULT = "accuracies.json"


def accuracies(X_train, X_test, y_train, y_test, epsilons, seeds, data_norm):
    """{epsilon: [test accuracy of the fit with random_state=seed, for each seed]}.

    ε-DP by objective perturbation, one-vs-rest with ε split across the classes; ``data_norm``
    must bound the rows' norms (diffprivlib clips rows to it, and warns, spending no privacy on
    it, when it is not given).
    """
    from diffprivlib.models import LogisticRegression

    scores = {}
    for eps in epsilons:
        scores[eps] = []
        for seed in seeds:
            # diffprivlib warns about its scikit-learn compatibility and lbfgs' convergence
            # within its max_iter; neither changes the guarantee or the score
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = LogisticRegression(epsilon=eps, data_norm=data_norm, random_state=seed)
                model.fit(X_train, y_train)
            scores[eps].append(float(model.score(X_test, y_test)))
    return scores


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", help=f"holds {', '.join(a + '.npy' for a in ARRAYS)}")
    parser.add_argument("--epsilons", type=float, nargs="+", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", required=True)
    parser.add_argument("--data-norm", type=float, required=True)
    args = parser.parse_args(argv)
    try:
        import diffprivlib.models  # noqa: F401
    except ImportError as e:
        sys.exit(f"diffprivlib does not import in {sys.executable}: {e}")
    arrays = [np.load(os.path.join(args.dir, a + ".npy")) for a in ARRAYS]
    scores = accuracies(*arrays, args.epsilons, args.seeds, args.data_norm)
    with open(os.path.join(args.dir, RESULT), "w") as f:
        json.dump({str(eps): s for eps, s in scores.items()}, f)


if __name__ == "__main__":
    main()
