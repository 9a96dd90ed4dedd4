"""fastgd on a Dask cluster: data-parallel training where the data stays on the workers.

- :class:`SGDRegressor`, :class:`SGDClassifier`: fastgd's estimators' parameters plus
  ``solver`` ('gd', 'lbfgs', 'local_sgd'), ``local_epochs``, ``fan_in`` and ``client``; fitted
  on dask arrays (dense or scipy.sparse blocks, chunked along rows) or dask DataFrames.
  Each round the workers run fastgd's kernels on their partitions, the results are summed in a
  tree, and the driver takes the step (docs/dask.md).

Needs ``pip install "fastgd[dask]"`` (dask[array,dataframe,distributed] and scikit-learn).

Modules: _data (checks of the collections, the persisted partitions), _partitions (a partition on
its worker), _rounds (what a round runs per partition, the tree of sums), _solvers (gd, lbfgs,
local_sgd on the driver), _estimators, _predict (lazy predictions and scores).
"""

try:
    import dask.array  # noqa: F401
    import dask.dataframe  # noqa: F401
    import distributed  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without dask
    raise ImportError(
        f'fastgd.dask needs dask and distributed ({exc}): pip install "fastgd[dask]"'
    ) from exc

from ._estimators import SGDClassifier, SGDRegressor
from ._solvers import LostWorkerError

__all__ = ["LostWorkerError", "SGDClassifier", "SGDRegressor"]
