"""The command line end to end (subprocess, on files the tests write): train then predict gives
the predictions of the same model trained in Python, malformed files fail with their line and
leave no file, arguments errors exit 2; and the main job, `python -m fastgd`, on the data set
shipped in the package."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from fastgd.cli import main
from fastgd.datasets import load_penguins

pytest.importorskip("sklearn")
sp = pytest.importorskip("scipy.sparse")

import fastgd  # noqa: E402

# The Python models that the tests compare with run as the command line does: --epochs 20 with
# the estimators' tol, which may end before the loss settles (the command line says so in a line).
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def run(*args, check=True):
    """``python -m fastgd ARGS`` in a subprocess: (exit status, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "fastgd", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc.returncode, proc.stdout, proc.stderr


def cli_defaults(**kw):
    """The estimator parameters `fastgd train` uses by default."""
    params = dict(
        penalty="l2",
        alpha=1e-4,
        l1_ratio=0.15,
        batch_size=32,
        max_iter=20,
        tol=1e-3,
        random_state=0,
        n_jobs=None,
        optimizer="sgd",
        learning_rate="auto",
    )
    params.update(kw)
    return params


def holdout(n, share, seed):
    """The rows `fastgd train --holdout share --seed seed` holds out (docs/cli.md)."""
    held = np.sort(np.random.default_rng(seed).permutation(n)[: round(share * n)])
    return np.setdiff1d(np.arange(n), held), held


def svmlight_Xy(path):
    """(X, y) as scikit-learn reads an svmlight file (which holds 16 significant digits)."""
    from sklearn.datasets import load_svmlight_file

    return load_svmlight_file(str(path))


def regression_data(n=400, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.uniform(-2, 2, d) + 0.5 + 0.1 * rng.standard_normal(n)
    return X, y


def write_table(path, X, y, kind, names=None):
    if kind == "csv":
        header = ",".join([*names, "target"]) if names else ""
        np.savetxt(
            path, np.column_stack([X, y]), delimiter=",", fmt="%.17g", header=header, comments=""
        )
    elif kind == "npy":
        np.save(path, np.column_stack([X, y]))
    elif kind == "npz":
        np.savez(path, X=X, y=y)
    else:
        from sklearn.datasets import dump_svmlight_file

        dump_svmlight_file(sp.csr_matrix(X), y, str(path))


# ---------------------------------------------------------------- train, then predict


@pytest.mark.parametrize("kind", ["svm", "csv", "npy", "npz"])
def test_train_then_predict_equals_the_python_model(tmp_path, kind):
    X, y = regression_data()
    data = tmp_path / f"train.{kind}"
    write_table(data, X, y, kind, names=[f"f{j}" for j in range(X.shape[1])])
    model, out = tmp_path / "model.fgd", tmp_path / "pred.txt"
    _, stdout, _ = run("train", data, "-o", model, "--holdout", 0, "--seed", 3)
    assert "regression by SGDRegressor" in stdout and model.exists()
    run("predict", model, data, "-o", out)
    X_py, y = svmlight_Xy(data) if kind == "svm" else (X, y)
    reference = fastgd.SGDRegressor(**cli_defaults(random_state=3)).fit(X_py, y)
    np.testing.assert_array_equal(np.loadtxt(out), reference.predict(X_py))


def test_train_with_holdout_and_options_equals_the_python_model(tmp_path):
    X, y = regression_data(n=500, seed=1)
    data = tmp_path / "train.csv"
    write_table(data, X, y, "csv", names=[f"f{j}" for j in range(X.shape[1])])
    model, out = tmp_path / "m.fgd", tmp_path / "p.txt"
    _, stdout, _ = run(
        "train",
        data,
        "-o",
        model,
        "--holdout",
        0.25,
        "--seed",
        7,
        "--learning-rate",
        "cosine:lr=0.05",
        "--batch-size",
        16,
        "--epochs",
        6,
        "--penalty",
        "elasticnet",
        "--alpha",
        1e-3,
        "--l1-ratio",
        0.5,
        "--optimizer",
        "momentum",
        "--tol",
        "none",
        "--threads",
        1,
    )
    train, held = holdout(500, 0.25, 7)
    steps = 6 * -(-train.size // 16)
    reference = fastgd.SGDRegressor(
        **cli_defaults(
            random_state=7,
            learning_rate=fastgd.schedules.CosineDecay(0.05, decay_steps=steps),
            batch_size=16,
            max_iter=6,
            penalty="elasticnet",
            alpha=1e-3,
            l1_ratio=0.5,
            optimizer="momentum",
            tol=None,
            n_jobs=1,
        )
    ).fit(X[train], y[train])
    score = float(re.search(r"held-out R\^2: (\S+)", stdout).group(1))
    assert score == pytest.approx(reference.score(X[held], y[held]), abs=1e-6)
    run("predict", model, data, "-o", out)
    np.testing.assert_array_equal(np.loadtxt(out), reference.predict(X))


def test_classification_predict_proba_and_evaluate(tmp_path):
    from sklearn import metrics

    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 4))
    y = np.where(X @ [1.0, -2.0, 0.5, 0.0] + 0.3 * rng.standard_normal(300) > 0, 1.0, -1.0)
    data, model = tmp_path / "c.svm", tmp_path / "c.fgd"
    write_table(data, X, y, "svm")
    _, stdout, _ = run("train", data, "-o", model, "--holdout", 0)  # two labels: a classifier
    assert "classification by SGDClassifier(loss='log_loss')" in stdout
    X, y = svmlight_Xy(data)
    reference = fastgd.SGDClassifier(**cli_defaults(loss="log_loss")).fit(X, y)
    _, proba, _ = run("predict", model, data, "--proba")
    lines = proba.splitlines()
    assert lines[0] == "-1,1"
    np.testing.assert_array_equal(np.loadtxt(lines[1:], delimiter=","), reference.predict_proba(X))
    _, report, _ = run("evaluate", model, data)
    pred = reference.predict(X)
    accuracy = float(re.search(r"accuracy\s+(\S+)", report).group(1))
    assert accuracy == pytest.approx(metrics.accuracy_score(y, pred), abs=1e-6)
    log_loss = float(re.search(r"log_loss\s+(\S+)", report).group(1))
    assert log_loss == pytest.approx(metrics.log_loss(y, reference.predict_proba(X)), rel=1e-5)
    precision, recall, _, support = metrics.precision_recall_fscore_support(y, pred)
    table = report.partition("support")[2].partition("confusion")[0]
    rows = re.findall(r"^\s+(-?1)\s+(\S+)\s+(\S+)\s+\S+\s+(\d+)$", table, re.M)
    np.testing.assert_allclose([float(r[1]) for r in rows], precision, atol=1e-4)
    np.testing.assert_allclose([float(r[2]) for r in rows], recall, atol=1e-4)
    assert [int(r[3]) for r in rows] == list(support)
    confusion = re.search(r"predicted\)\n.*\n(.*)\n(.*)", report)
    counts = [[int(v) for v in confusion.group(i).split()[1:]] for i in (1, 2)]
    assert counts == metrics.confusion_matrix(y, pred).tolist()


def test_evaluate_regression_metrics(tmp_path, capsys):
    from sklearn import metrics

    X, y = regression_data(n=200, seed=4)
    data, model = tmp_path / "r.npz", tmp_path / "r.fgd"
    write_table(data, X, y, "npz")
    assert main(["train", str(data), "-o", str(model), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), str(data)]) == 0
    report = dict(re.findall(r"^\s*(\w+)\s+(\S+)$", capsys.readouterr().out, re.M))
    pred = fastgd.load(model).predict(X)
    assert float(report["r2"]) == pytest.approx(metrics.r2_score(y, pred), rel=1e-5)
    assert float(report["mse"]) == pytest.approx(metrics.mean_squared_error(y, pred), rel=1e-5)
    assert float(report["mae"]) == pytest.approx(metrics.mean_absolute_error(y, pred), rel=1e-5)


def test_inspect_lists_the_largest_coefficients_by_name(tmp_path, capsys):
    rng = np.random.default_rng(6)
    X = rng.standard_normal((300, 3))
    y = X @ [0.1, -5.0, 2.0] + 0.01 * rng.standard_normal(300)
    data, model = tmp_path / "t.csv", tmp_path / "t.fgd"
    write_table(data, X, y, "csv", names=["small", "large", "middle"])
    assert main(["train", str(data), "-o", str(model), "--quiet", "--epochs", "30"]) == 0
    capsys.readouterr()
    assert main(["inspect", str(model), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "SGDRegressor, 3 features" in out and "learning_rate='auto'" in out
    rows = re.findall(r"^(small|large|middle)\s+(\S+)$", out, re.M)
    assert [name for name, _ in rows] == ["large", "middle"]
    assert float(rows[0][1]) == pytest.approx(-5.0, abs=0.05)


def test_the_installed_command_is_the_module_command():
    from importlib.metadata import entry_points

    import fastgd.__main__
    import fastgd.cli

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "fastgd"]
    assert script.value == "fastgd.__main__:main"
    assert script.load() is fastgd.__main__.main is fastgd.cli.main


def test_info(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    info = fastgd.build_info()
    assert re.search(rf"simd\s+{re.escape(info['simd'])}$", out, re.M)
    assert re.search(rf"max_threads\s+{info['max_threads']}$", out, re.M)
    assert re.search(r"cuda_available\s+(True|False)$", out, re.M)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "name, text, where",
    [
        ("bad.csv", "a,b,y\n1,2,3\n4,5,6\n7,x,9\n", ":4:3: column 'b'"),  # a bad number, line 4
        ("ragged.csv", "a,b,y\n1,2,3\n4,5\n", ":3:4: ragged row"),
        ("bad.svm", "1 1:2\n-1 2:1\n1 1:0.5 2:oops\n", ":3:11: the value 'oops'"),
        ("range.svm", "1 1:2\n-1 -3:1\n", ":2:4: the index -3 is out of range"),
        ("order.svm", "1 1:2\n-1 3:1 2:1\n", ":2:8: the index 2 does not follow 3"),
    ],
)
def test_malformed_files_fail_with_the_line_and_leave_no_model(tmp_path, name, text, where):
    data = tmp_path / name
    data.write_text(text)
    model = tmp_path / "model.fgd"
    code, stdout, stderr = run("train", data, "-o", model, check=False)
    assert code == 1
    assert stderr.strip() == stderr.strip().splitlines()[0]  # one line
    assert f"{data}{where}" in stderr
    assert list(tmp_path.iterdir()) == [data]  # no model, no temporary file


def test_predict_index_out_of_range_fails_with_the_line(tmp_path):
    X, y = regression_data(n=50, d=3)
    data, model, out = tmp_path / "t.svm", tmp_path / "m.fgd", tmp_path / "p.txt"
    write_table(data, X, y, "svm")
    run("train", data, "-o", model, "--quiet")
    (tmp_path / "new.svm").write_text("0 1:1 2:1\n0 1:1 5:2\n")  # 1-based: feature 5 of 3
    code, _, stderr = run("predict", model, tmp_path / "new.svm", "-o", out, check=False)
    assert code == 1 and "new.svm:2:7: the index 5 is out of range: the data has 3" in stderr
    assert not out.exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--alpha", "-1"], "alpha"),
        (["--loss", "squared_loss"], "--loss must be one of"),
        (["--learning-rate", "cosine"], "cosine needs its first rate"),
        (["--learning-rate", "constant:lr=0.1"], "constant takes eta0, warmup; got 'lr'"),
        (["--learning-rate", "nope"], "unknown learning rate 'nope'"),
        (["--holdout", "1.5"], "--holdout: must be in [0, 1)"),
        (["--optimizer", "sgdd"], "optimizer"),
    ],
)
def test_argument_errors_exit_2_in_one_line(tmp_path, capsys, args, words):
    X, y = regression_data(n=20, d=2)
    data, model = tmp_path / "t.npz", tmp_path / "m.fgd"
    write_table(data, X, y, "npz")
    assert main(["train", str(data), "-o", str(model), *args]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1
    assert not model.exists()


def test_predict_proba_of_a_regressor_and_a_missing_model(tmp_path, capsys):
    X, y = regression_data(n=20, d=2)
    data, model = tmp_path / "t.npz", tmp_path / "m.fgd"
    write_table(data, X, y, "npz")
    assert main(["train", str(data), "-o", str(model), "--quiet"]) == 0
    assert main(["predict", str(model), str(data), "--proba"]) == 2
    assert "--proba needs a classifier" in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "none.fgd"), str(data)]) == 1
    err = capsys.readouterr().err
    assert "No such file" in err and "none.fgd" in err


def test_the_commands_need_scikit_learn_and_say_so(tmp_path):
    X, y = regression_data(n=20, d=2)
    data = tmp_path / "t.npz"
    write_table(data, X, y, "npz")
    code = (
        "import sys; sys.modules['sklearn'] = None\n"
        "from fastgd.cli import main\n"
        f"sys.exit(main(['train', {str(data)!r}, '-o', {str(tmp_path / 'm')!r}]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert 'pip install "fastgd[sklearn]"' in proc.stderr


# ---------------------------------------------------------------- learning-rate specs


def test_learning_rate_specs_map_to_the_estimator_parameters():
    from fastgd.cli._learning_rate import estimator_params, parse

    assert estimator_params(parse("auto"), 100) == {"learning_rate": "auto"}
    assert estimator_params(parse("constant:eta0=0.1"), 100) == {
        "learning_rate": "constant",
        "eta0": 0.1,
    }
    assert estimator_params(parse("invscaling:eta0=0.02,power_t=0.5"), 100) == {
        "learning_rate": "invscaling",
        "eta0": 0.02,
        "power_t": 0.5,
    }
    cosine = estimator_params(parse("cosine:eta0=0.1,final_lr=0.01"), 300)["learning_rate"]
    assert repr(cosine) == repr(fastgd.schedules.CosineDecay(0.1, 300, final_lr=0.01))
    warm = estimator_params(parse("onecycle:lr=0.5,warmup=50"), 300)["learning_rate"]
    assert repr(warm) == repr(fastgd.schedules.Warmup(fastgd.schedules.OneCycle(0.5, 250), 50))
    step = estimator_params(parse("step:lr=0.1,step_size=10,gamma=0.5"), 300)["learning_rate"]
    np.testing.assert_array_equal(step(np.arange(30)), 0.1 * 0.5 ** (np.arange(30) // 10))
    with pytest.raises(ValueError, match="not KEY=VALUE"):
        parse("cosine:lr")
    with pytest.raises(ValueError, match="'x' is not a number"):
        parse("cosine:lr=x")
    with pytest.raises(ValueError, match="decay_rate must be"):  # the schedule's own check
        estimator_params(parse("exponential:lr=0.1,decay_rate=2"), 10)


# ---------------------------------------------------------------- the main job


def _main_job_figures(out):
    r2 = re.search(r"held-out R\^2: fastgd (\S+), least squares (\S+)", out)
    rows = re.findall(r"^(\w+)\s+(-?[\d.e+-]+)\s+(-?[\d.e+-]+)$", out, re.M)
    return float(r2.group(1)), float(r2.group(2)), rows


def test_main_job_on_the_shipped_data_matches_the_closed_form():
    _, out, _ = run()
    r2_sgd, r2_exact, rows = _main_job_figures(out)
    # the closed form, computed here on the same split
    t = load_penguins()
    train, held = holdout(t.y.size, 0.2, 0)
    A = np.column_stack([t.X, np.ones(t.y.size)])
    w = np.linalg.lstsq(A[train], t.y[train], rcond=None)[0]
    pred = A[held] @ w
    r2 = 1 - np.sum((t.y[held] - pred) ** 2) / np.sum((t.y[held] - t.y[held].mean()) ** 2)
    assert r2_exact == pytest.approx(r2, abs=1e-6)
    assert abs(r2_sgd - r2_exact) <= 0.01 * abs(r2_exact)  # within 1% of the closed form's
    assert [name for name, _, _ in rows] == [*t.feature_names, "intercept"]
    np.testing.assert_allclose([float(r[2]) for r in rows], w, rtol=1e-5)
    learned = np.array([float(r[1]) for r in rows])
    assert np.linalg.norm(learned - w) <= 0.1 * np.linalg.norm(w)
    epochs = re.findall(r"^\s+(\d+)\s+\S+\s+\S+\s+\S+$", out, re.M)
    assert epochs[:5] == ["1", "2", "3", "4", "5"] and epochs[-1] == "40"
    assert re.search(r"time: [\d.]+ ms for 40 epochs", out)


def test_main_job_runs_without_scikit_learn():
    code = (
        "import sys; sys.modules['sklearn'] = None\nfrom fastgd.cli import main\nsys.exit(main([]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "held-out R^2: fastgd" in proc.stdout


@pytest.mark.parametrize("kind", ["csv", "svm"])
def test_main_job_on_a_users_file(tmp_path, kind):
    X, y = regression_data(n=2000, d=5, seed=8)
    data = tmp_path / f"mine.{kind}"
    write_table(data, X, y, kind, names=["a", "b", "c", "d", "e"])
    _, out, _ = run("--data", data, "--epochs", 20)
    r2_sgd, r2_exact, rows = _main_job_figures(out)
    assert abs(r2_sgd - r2_exact) <= 0.01 * abs(r2_exact)
    names = ["a", "b", "c", "d", "e"] if kind == "csv" else [f"x{j}" for j in range(5)]
    assert [name for name, _, _ in rows] == [*names, "intercept"]


def test_main_job_argument_and_data_errors(tmp_path):
    code, _, err = run("--epochs", 0, check=False)
    assert code == 2 or (code == 1 and "--epochs must be >= 1" in err)
    (tmp_path / "bad.csv").write_text("a,y\n1,2\n3\n")
    code, _, err = run("--data", tmp_path / "bad.csv", check=False)
    assert code == 1 and "bad.csv:3:2: ragged row" in err
