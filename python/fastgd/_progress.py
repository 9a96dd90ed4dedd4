"""The progress of a fit: epochs done, the last epoch's loss, rows per second and the time left.

``start(verbose, ...)`` gives the reporter that the training loops call within and after each
epoch (or round): nothing at ``verbose=0`` (scikit-learn's estimators are silent by default); at
``verbose>=1`` a bar on stderr that appears only once the fit has run for ``SHOW_AFTER`` seconds,
so that short fits stay quiet — tqdm's when it is installed, else one line rewritten in place on
a terminal (``\\r``) and one line at a time (at most one a second) in a log; at ``verbose>=2``
also a line per epoch on stdout with its details, as scikit-learn's ``-- Epoch`` lines.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, TextIO

# Seconds before the bar appears: a fit that ends sooner prints nothing.
SHOW_AFTER = 1.0
# Least seconds between two redraws of the plain line: a terminal's (to keep the redraws cheap
# when epochs take microseconds) and a log file's (to keep it readable).
TERMINAL_INTERVAL = 0.1
LOG_INTERVAL = 1.0
# The plain line's clock (the tests replace it to see the delay work without waiting).
clock = time.perf_counter


def start(verbose: int, *, total: int, rows: int, unit: str = "epoch") -> Progress:
    """The reporter of a fit of at most ``total`` epochs of ``rows`` rows each: a silent one at
    ``verbose=0``, tqdm's bar when tqdm is installed, else the plain line."""
    if not verbose:
        return Progress(verbose)
    try:
        from tqdm import tqdm
    except ImportError:
        return PlainProgress(verbose, total=total, rows=rows, unit=unit, file=sys.stderr)
    return TqdmProgress(verbose, tqdm, total=total, rows=rows, unit=unit, file=sys.stderr)


def format_duration(seconds: float) -> str:
    """``M:SS`` or ``H:MM:SS`` (``?`` when unknown)."""
    if not math.isfinite(seconds):
        return "?"
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_rate(rows_per_s: float) -> str:
    """Rows per second with an SI prefix: ``1.23M rows/s``."""
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if rows_per_s >= factor:
            return f"{rows_per_s / factor:.3g}{prefix} rows/s"
    return f"{rows_per_s:.3g} rows/s"


class Progress:
    """The silent reporter (``verbose=0``), and what every reporter does: ``advance`` within an
    epoch, ``update`` after it, ``write`` a detail line, ``close`` at the end (also as a
    context manager)."""

    def __init__(self, verbose: int) -> None:
        self.verbose = int(verbose)

    def advance(self, rows: int) -> None:
        """``rows`` rows of the epoch in progress are done (a long epoch shows its progress)."""

    def update(self, done: int, loss: float) -> None:
        """``done`` epochs are finished; the last one's loss was ``loss``."""

    def write(self, line: str) -> None:
        """A detail line (verbose >= 2) on stdout, below the bar."""
        if self.verbose >= 2:
            print(line, flush=True)

    def close(self) -> None:
        """End the bar's line, if it was shown."""

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class PlainProgress(Progress):
    """``epoch 12/1000 | loss 0.1234 | 3.2M rows/s | ETA 0:41`` on one line of ``file``; within
    a long epoch, ``epoch 13/1000 41%``.

    The ETA assumes every one of the ``total`` epochs runs: stopping on tol or a plateau ends
    sooner, so it is an upper bound."""

    def __init__(self, verbose: int, *, total: int, rows: int, unit: str, file: TextIO) -> None:
        super().__init__(verbose)
        self.total, self.rows, self.unit, self.file = int(total), max(1, int(rows)), unit, file
        self.terminal = bool(getattr(file, "isatty", lambda: False)())
        self.interval = TERMINAL_INTERVAL if self.terminal else LOG_INTERVAL
        self.started = clock()
        self.drawn_at = -math.inf
        self.width = 0  # of the line on the terminal, to blank what a shorter line leaves
        self.shown = False
        self.changed = False  # since the last drawing
        self.epochs, self.in_epoch, self.loss = 0, 0, math.nan

    def line(self, elapsed: float) -> str:
        """The text of the bar after ``elapsed`` seconds."""
        done = self.epochs * self.rows + self.in_epoch
        rate = done / elapsed if elapsed > 0 else math.inf
        left = (self.total * self.rows - done) / rate if done and elapsed > 0 else math.inf
        width = len(str(self.total))
        if self.in_epoch:
            percent = 100 * self.in_epoch // self.rows
            count = f"{self.epochs + 1:>{width}}/{self.total} {percent:>2}%"
        else:
            count = f"{self.epochs:>{width}}/{self.total}"
        loss = f"{self.loss:.6g}" if math.isfinite(self.loss) else "-"
        return (
            f"{self.unit} {count} | loss {loss} | {format_rate(rate)} | ETA {format_duration(left)}"
        )

    def advance(self, rows: int) -> None:
        if rows >= self.rows:  # the epoch's end: update() follows with its loss
            return
        self.in_epoch = int(rows)
        self.changed = True
        self.maybe_draw()

    def update(self, done: int, loss: float) -> None:
        self.epochs, self.in_epoch, self.loss = int(done), 0, float(loss)
        self.changed = True
        self.maybe_draw()

    def maybe_draw(self) -> None:
        """Draw, unless the fit is younger than SHOW_AFTER or the last drawing too recent."""
        now = clock()
        if now - self.started < SHOW_AFTER or now - self.drawn_at < self.interval:
            return
        self.draw(now)

    def draw(self, now: float) -> None:
        """Show the latest state."""
        text = self.line(now - self.started)
        if self.terminal:
            self.file.write("\r" + text.ljust(self.width))
            self.width = len(text)
        else:
            self.file.write(text + "\n")
        self.file.flush()
        self.drawn_at, self.shown, self.changed = now, True, False

    def write(self, line: str) -> None:
        if self.verbose < 2:
            return
        if self.shown and self.terminal:  # blank the bar, print, and redraw it on the next epoch
            self.file.write("\r" + " " * self.width + "\r")
            self.file.flush()
            self.width, self.drawn_at = 0, -math.inf
        super().write(line)

    def close(self) -> None:
        now = clock()
        # The last state is shown when the bar is, or when the fit ran long enough for it.
        if self.changed and (self.shown or now - self.started >= SHOW_AFTER):
            self.draw(now)
        if self.shown and self.terminal:
            self.file.write("\n")
            self.file.flush()


class TqdmProgress(Progress):
    """tqdm's bar (its ``delay`` keeps it hidden for ``SHOW_AFTER`` seconds), counting rows
    (so that it moves within a long epoch, and its rate is rows per second), the epoch and the
    loss as its postfix; its ETA, too, counts every epoch."""

    def __init__(
        self, verbose: int, tqdm: Any, *, total: int, rows: int, unit: str, file: TextIO
    ) -> None:
        super().__init__(verbose)
        self.total, self.rows, self.unit = int(total), max(1, int(rows)), unit
        self.epochs = 0
        self.bar = tqdm(
            total=self.total * self.rows,
            unit="row",
            unit_scale=True,
            delay=SHOW_AFTER,
            file=file,
            leave=True,
        )

    def advance(self, rows: int) -> None:
        self.bar.update(self.epochs * self.rows + min(int(rows), self.rows) - self.bar.n)

    def update(self, done: int, loss: float) -> None:
        self.epochs = int(done)
        postfix = f"{self.unit} {done}/{self.total}, loss={loss:.6g}"
        self.bar.set_postfix_str(postfix, refresh=False)
        self.bar.update(self.epochs * self.rows - self.bar.n)

    def write(self, line: str) -> None:
        if self.verbose >= 2:
            self.bar.write(line, file=sys.stdout)

    def close(self) -> None:
        self.bar.close()
