"""verbose=1's progress bar: silent by default, shown only after SHOW_AFTER seconds, tqdm's
when installed and the plain line otherwise; verbose=2's per-epoch lines."""

from __future__ import annotations

import io
import re
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn")

import fastgd  # noqa: E402
from fastgd import _progress  # noqa: E402


def _data(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, X @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)


FIVE_EPOCHS = dict(max_iter=5, tol=None, random_state=0)


@pytest.fixture
def no_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # `from tqdm import tqdm` raises ImportError


@pytest.fixture
def shown_at_once(monkeypatch):
    monkeypatch.setattr(_progress, "SHOW_AFTER", 0.0)


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tqdm", [True, False], ids=["tqdm", "plain"])
def test_silent_by_default(monkeypatch, capsys, shown_at_once, tqdm):
    if not tqdm:
        monkeypatch.setitem(sys.modules, "tqdm", None)
    fastgd.SGDRegressor(**FIVE_EPOCHS).fit(*_data())
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("tqdm", [True, False], ids=["tqdm", "plain"])
def test_short_fit_stays_quiet(monkeypatch, capsys, tqdm):
    if not tqdm:
        monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setattr(_progress, "SHOW_AFTER", 1e9)
    fastgd.SGDRegressor(verbose=1, **FIVE_EPOCHS).fit(*_data())
    assert capsys.readouterr() == ("", "")


def test_plain_line_in_a_log(capsys, no_tqdm, shown_at_once):
    est = fastgd.SGDRegressor(verbose=1, **FIVE_EPOCHS).fit(*_data())
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert "\r" not in err and 1 <= len(lines) <= 5  # one a second at most, the last one always
    last = re.fullmatch(r"epoch 5/5 \| loss (\S+) \| \S+ rows/s \| ETA 0:00", lines[-1])
    assert last, lines[-1]
    assert float(last.group(1)) == pytest.approx(est.loss_curve_[-1], rel=1e-5)


def test_plain_line_appears_after_the_delay(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(_progress, "clock", clock)
    out = Terminal()
    bar = _progress.PlainProgress(1, total=100, rows=1000, unit="epoch", file=out)
    clock.now = 0.5
    bar.update(1, 2.0)
    assert out.getvalue() == ""  # before SHOW_AFTER: nothing
    clock.now = 2.0
    bar.update(4, 1.5)
    assert out.getvalue() == "\repoch   4/100 | loss 1.5 | 2k rows/s | ETA 0:48"
    clock.now = 2.05
    bar.update(5, 1.25)  # within the redraw interval: kept for later
    assert out.getvalue().count("\r") == 1
    clock.now = 2.5
    bar.update(6, 1.125)
    assert out.getvalue().endswith("\repoch   6/100 | loss 1.125 | 2.4k rows/s | ETA 0:39")
    bar.close()
    assert out.getvalue().endswith("\n")


def test_plain_line_within_an_epoch(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(_progress, "clock", clock)
    out = Terminal()
    bar = _progress.PlainProgress(1, total=10, rows=1000, unit="epoch", file=out)
    clock.now = 2.0
    bar.advance(410)
    assert out.getvalue() == "\repoch  1/10 41% | loss - | 205 rows/s | ETA 0:47"
    bar.update(1, 0.5)
    clock.now = 4.0
    bar.advance(500)
    assert out.getvalue().endswith("\repoch  2/10 50% | loss 0.5 | 375 rows/s | ETA 0:23")


def test_long_epochs_show_their_progress(monkeypatch, capsys, no_tqdm, shown_at_once):
    """The solver tells the bar after each kernel call of an epoch."""
    from fastgd import _solver

    monkeypatch.setattr(_solver, "STEPS_PER_CALL", 64)  # 5 calls per epoch of 300 rows
    monkeypatch.setattr(_progress, "LOG_INTERVAL", 0.0)
    fastgd.SGDRegressor(verbose=1, **FIVE_EPOCHS).fit(*_data())
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("|")[0].strip() for line in lines[:5]] == [
        "epoch 1/5 21%",
        "epoch 1/5 42%",
        "epoch 1/5 64%",
        "epoch 1/5 85%",
        "epoch 1/5",  # the epoch's end: its loss
    ]
    assert lines[4].startswith("epoch 1/5 | loss ")


def test_short_plain_fit_prints_nothing_even_at_close(monkeypatch):
    monkeypatch.setattr(_progress, "clock", FakeClock())
    out = Terminal()
    with _progress.PlainProgress(1, total=3, rows=10, unit="epoch", file=out) as bar:
        for k in range(3):
            bar.update(k + 1, 1.0)
    assert out.getvalue() == ""


def test_verbose_2_prints_each_epoch(capsys, no_tqdm, shown_at_once):
    est = fastgd.SGDRegressor(verbose=2, **FIVE_EPOCHS).fit(*_data())
    out, err = capsys.readouterr()
    epochs = re.findall(r"^-- Epoch (\d+): avg\. loss (\S+),", out, re.M)
    assert [int(k) for k, _ in epochs] == [1, 2, 3, 4, 5]
    np.testing.assert_allclose([float(v) for _, v in epochs], est.loss_curve_, rtol=1e-5)
    assert "epoch 5/5" in err


def test_tqdm_bar(capsys, shown_at_once):
    pytest.importorskip("tqdm")
    est = fastgd.SGDClassifier(verbose=1, loss="log_loss", **FIVE_EPOCHS)
    X, y = _data()
    est.fit(X, y > 0)
    out, err = capsys.readouterr()
    assert out == ""
    assert "epoch 5/5" in err and "row/s" in err  # tqdm counts rows: its rate is rows/s
    assert f"loss={est.loss_curve_[-1]:.6g}" in err
    assert "1.50k/1.50k" in err  # 5 epochs of 300 rows


def test_tqdm_detail_lines_on_stdout(capsys, shown_at_once):
    pytest.importorskip("tqdm")
    fastgd.SGDRegressor(verbose=2, **FIVE_EPOCHS).fit(*_data())
    out, _ = capsys.readouterr()
    assert len(re.findall(r"^-- Epoch \d+:", out, re.M)) == 5


def test_progress_stops_with_early_stopping(capsys, no_tqdm, shown_at_once):
    est = fastgd.SGDRegressor(verbose=1, max_iter=1000, tol=1e-1, random_state=0).fit(*_data())
    assert est.n_iter_ < 1000
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(f"epoch {est.n_iter_:>4}/1000 |")


@pytest.mark.parametrize(
    "seconds, text", [(0, "0:00"), (59.6, "1:00"), (3725, "1:02:05"), (float("inf"), "?")]
)
def test_format_duration(seconds, text):
    assert _progress.format_duration(seconds) == text


@pytest.mark.parametrize(
    "rate, text", [(12.0, "12 rows/s"), (1.5e4, "15k rows/s"), (2e9, "2G rows/s")]
)
def test_format_rate(rate, text):
    assert _progress.format_rate(rate) == text
