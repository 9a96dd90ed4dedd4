"""fastgd.inspection.coefficients: names from DataFrames and Pipelines, standardized units from
X (dense or sparse) or from a Pipeline's StandardScaler, the table's forms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("sklearn")
pd = pytest.importorskip("pandas")
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import fastgd  # noqa: E402
from fastgd.inspection import Coefficients, coefficients  # noqa: E402

NAMES = ["rooms", "age", "income", "distance"]


def _frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)) * [1.0, 20.0, 3.0, 0.1] + [5, 40, 10, 1]
    y = X @ [2.0, -0.05, 0.5, 10.0] + 0.1 * rng.standard_normal(n)
    return pd.DataFrame(X, columns=NAMES), y


def _regressor(**kw):
    params = dict(batch_size=None, learning_rate="auto", max_iter=200, tol=None, random_state=0)
    return fastgd.SGDRegressor(**{**params, **kw})


def test_names_and_values_from_a_dataframe():
    X, y = _frame()
    est = _regressor().fit(StandardScaler().set_output(transform="pandas").fit_transform(X), y)
    assert list(est.feature_names_in_) == NAMES  # scikit-learn's validate_data sets it
    table = coefficients(est)
    assert list(table.names) == NAMES
    np.testing.assert_array_equal(table.values, est.coef_)
    np.testing.assert_array_equal(table.intercept, est.intercept_)
    assert not table.standardized and table.scale is None
    assert table.to_dict() == {n: float(c) for n, c in zip(NAMES, est.coef_)}
    frame = table.to_frame()
    assert list(frame.index) == NAMES and list(frame.columns) == ["coefficient"]
    np.testing.assert_array_equal(frame["coefficient"].to_numpy(), est.coef_)


def test_table_text_is_largest_first():
    X, y = _frame()
    est = _regressor().fit(StandardScaler().set_output(transform="pandas").fit_transform(X), y)
    text = repr(coefficients(est))
    order = [NAMES[j] for j in np.argsort(-np.abs(est.coef_))]
    positions = [text.index(name) for name in order]
    assert positions == sorted(positions)
    assert text.rstrip().splitlines()[-1].split()[0] == "(intercept)"
    assert f"{est.coef_[0]:.6g}" in text
    short = coefficients(est).to_string(max_rows=2)
    assert "2 more feature(s)" in short and order[2] not in short


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_standardized_by_the_std_of_x(sparse):
    X, y = _frame()
    Xn = X.to_numpy()
    est = LinearRegression().fit(Xn, y)  # any linear model with coef_
    data = sp.csr_matrix(Xn) if sparse else Xn
    table = coefficients(est, data, standardized=True)
    np.testing.assert_allclose(table.scale, Xn.std(axis=0), rtol=1e-10)
    np.testing.assert_allclose(table.values, est.coef_ * Xn.std(axis=0), rtol=1e-10)
    assert list(table.names) == ["x0", "x1", "x2", "x3"]
    # In standardized units the features compare: 'distance' (10 per unit, std 0.1) weighs 1,
    # 'age' (−0.05 per unit, std 20) weighs −1, give or take the sample's std.
    np.testing.assert_allclose(table.values, [2.0, -1.0, 1.5, 1.0], rtol=0.1)


def test_pipeline_with_a_scaler():
    """Names through the Pipeline; the model after a StandardScaler is in standardized units,
    and X gives the same (the scaled features' std is 1)."""
    X, y = _frame()
    pipe = make_pipeline(StandardScaler(), _regressor()).fit(X, y)
    plain = coefficients(pipe)
    assert list(plain.names) == NAMES
    np.testing.assert_array_equal(plain.values, pipe[-1].coef_)
    without_x = coefficients(pipe, standardized=True)
    np.testing.assert_array_equal(without_x.values, pipe[-1].coef_)
    with_x = coefficients(pipe, X, standardized=True)
    np.testing.assert_allclose(with_x.values, pipe[-1].coef_, rtol=1e-10)
    # the same model in the data's units: coefficient × std = the pipeline's coefficient
    raw = LinearRegression().fit(X, y)
    np.testing.assert_allclose(
        coefficients(raw, X, standardized=True).values, with_x.values, rtol=1e-3
    )


def test_classifiers():
    X, y = _frame()
    Xs = StandardScaler().set_output(transform="pandas").fit_transform(X)
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    multi = fastgd.SGDClassifier(loss="log_loss", random_state=0).fit(
        Xs, np.array(["a", "b", "c"])[labels]
    )
    table = coefficients(multi)
    assert table.values.shape == (3, 4)
    assert list(table.outputs) == ["a", "b", "c"]
    assert table.to_frame().shape == (4, 3)
    assert table.to_dict()["income"]["b"] == multi.coef_[1, 2]
    assert coefficients(multi).largest(1).names[0] == NAMES[np.abs(multi.coef_).max(0).argmax()]
    binary = fastgd.SGDClassifier(random_state=0).fit(Xs, labels > 0)
    table = coefficients(binary)
    assert table.values.shape == (4,) and list(table.outputs) == [True]
    np.testing.assert_array_equal(table.values, binary.coef_[0])


def test_errors():
    X, y = _frame()
    with pytest.raises(NotFittedError):
        coefficients(fastgd.SGDRegressor())
    est = _regressor().fit(X, y)
    with pytest.raises(ValueError, match="needs X"):
        coefficients(est, standardized=True)
    with pytest.raises(ValueError, match="features"):
        coefficients(est, X.to_numpy()[:, :3], standardized=True)
    with pytest.raises(TypeError, match="estimator"):
        coefficients(object())
    assert isinstance(coefficients(est), Coefficients)
