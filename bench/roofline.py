"""Roofline report: fastgd's epoch time against this machine's memory read bandwidth.

An SGD epoch over dense X must read X once, so bytes(X) / read bandwidth is its floor. This script
measures the read bandwidth in the same run (a STREAM-style parallel read of a >= 1 GiB buffer,
``fastgd._core.read_bandwidth``), then times ``fastgd.ops.sgd_epoch`` (ridge regression) for
several batch sizes and thread counts and prints the achieved GB/s = bytes(X) / epoch time and its
fraction of the bandwidth measured with the same number of threads.

    python bench/roofline.py                       # n=1,000,000 d=100 float32, rows in order
    python bench/roofline.py --shuffle             # rows read through a random permutation
    python bench/roofline.py --block               # and a block-shuffled order beside each
    python bench/roofline.py --n 20000 --markdown  # in-cache data, a Markdown table

Importable: :func:`read_bandwidth`, :func:`epoch_seconds`, :func:`roofline`.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import time
from typing import Any

import numpy as np

import fastgd
from fastgd import _core, ops

DEFAULT_BATCHES = ("1", "8", "32", "256", "4096", "full")


def cpu_model() -> str:
    """The CPU's model name as lscpu prints it (platform.processor() where lscpu is missing)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def read_bandwidth(threads: tuple[int, ...] = (1, 2), gib: float = 1.0, repeats: int = 5):
    """Best read bandwidth in GB/s per thread count, over a buffer of `gib` GiB (touched first)."""
    buffer = np.ones(int(gib * 2**30) // 8)
    return {nt: _core.read_bandwidth(buffer, nt, repeats) for nt in threads}


def make_ridge(n: int, d: int, dtype=np.float32, seed: int = 0):
    """A dense regression problem with standard-normal features."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d), dtype=np.float32).astype(dtype, copy=False)
    y = (X @ rng.standard_normal(d).astype(dtype) + 0.5).astype(dtype)
    return X, y


def epoch_seconds(
    X,
    y,
    batch_size: int,
    n_threads: int,
    *,
    order=None,
    repeats: int = 5,
    lr: float = 1e-3,
    alpha: float = 1e-4,
) -> float:
    """Best wall time of one ridge-regression SGD epoch (validation of X done once, before)."""
    n, d = X.shape
    lrs = np.full(ops.n_steps(n, batch_size), lr)
    best = np.inf
    for _ in range(repeats):
        coef = np.zeros(d, dtype=X.dtype)
        intercept = np.zeros(1, dtype=X.dtype)
        start = time.perf_counter()
        ops.sgd_epoch(
            X,
            y,
            coef,
            intercept,
            lrs,
            batch_size=batch_size,
            order=order,
            penalty="l2",
            alpha=alpha,
            n_threads=n_threads,
            check_input=False,
        )
        best = min(best, time.perf_counter() - start)
    return best


def roofline(
    n: int = 1_000_000,
    d: int = 100,
    dtype=np.float32,
    batches=DEFAULT_BATCHES,
    threads: tuple[int, ...] = (1, 2),
    shuffle: bool = False,
    repeats: int = 5,
    gib: float = 1.0,
    block: bool = False,
) -> dict[str, Any]:
    """Measure the bandwidth, then every (batch, threads) epoch; returns the figures as a dict.
    With ``block``, each epoch is paired with one in a block-shuffled order (ops.block_order),
    the two run alternately, and the rows carry its time and its ratio to the other."""
    X, y = make_ridge(n, d, dtype)
    order = np.random.default_rng(1).permutation(n) if shuffle else None
    blocked = ops.block_order(np.random.default_rng(1), X) if block else None
    bandwidth = read_bandwidth(threads, gib)
    rows = []
    for batch in batches:
        b = n if batch == "full" else int(batch)
        for nt in threads:
            if block:
                pairs = [
                    (epoch_seconds(X, y, b, nt, order=order, repeats=1),
                     epoch_seconds(X, y, b, nt, order=blocked, repeats=1))
                    for _ in range(repeats)
                ]  # fmt: skip
                seconds = min(p[0] for p in pairs)
                block_seconds = min(p[1] for p in pairs)
            else:
                seconds = epoch_seconds(X, y, b, nt, order=order, repeats=repeats)
            gbs = X.nbytes / seconds / 1e9
            row = dict(
                batch=batch, threads=nt, ms=seconds * 1e3, gbs=gbs, fraction=gbs / bandwidth[nt]
            )
            if block:
                ratios = sorted(p[1] / p[0] for p in pairs)
                row.update(block_ms=block_seconds * 1e3, block_ratio=block_seconds / seconds,
                           block_spread=(ratios[0], ratios[-1]))  # fmt: skip
            rows.append(row)
    # Measured again after the epochs; the better figure is the machine's (others may share it).
    again = read_bandwidth(threads, gib)
    bandwidth = {nt: max(bandwidth[nt], again[nt]) for nt in threads}
    for row in rows:
        row["fraction"] = row["gbs"] / bandwidth[row["threads"]]
    return dict(
        cpu=cpu_model(),
        n=n,
        d=d,
        dtype=np.dtype(dtype).name,
        shuffle=shuffle,
        block=block,
        bytes=X.nbytes,
        bandwidth=bandwidth,
        rows=rows,
        build=fastgd.build_info(),
    )


def format_report(r: dict[str, Any], markdown: bool = False) -> str:
    bw = ", ".join(f"{nt} thread{'s' * (nt > 1)}: {g:.1f} GB/s" for nt, g in r["bandwidth"].items())
    head = [
        f"CPU: {r['cpu']}; fastgd {r['build']['version']}, simd {r['build']['simd']} build, "
        f"{r['build']['simd_runtime']} at run time",
        f"read bandwidth ({bw})",
        f"ridge SGD epoch, X {r['n']:,} x {r['d']} {r['dtype']} ({r['bytes'] / 1e6:.0f} MB), "
        f"rows {'shuffled' if r['shuffle'] else 'in order'}",
        "",
    ]
    cols = ("batch", "threads", "ms / epoch", "GB/s", "% of bandwidth")
    lines = [
        (
            row["batch"],
            str(row["threads"]),
            f"{row['ms']:.1f}",
            f"{row['gbs']:.1f}",
            f"{100 * row['fraction']:.0f}%",
        )
        for row in r["rows"]
    ]
    if r.get("block"):
        cols += ("--block ms", "block / other (pairs' range)")
        lines = [
            (*line, f"{row['block_ms']:.1f}",
             f"{row['block_ratio']:.2f}x ({row['block_spread'][0]:.2f}-{row['block_spread'][1]:.2f})")
            for line, row in zip(lines, r["rows"])
        ]  # fmt: skip
    if markdown:
        table = ["| " + " | ".join(cols) + " |", "|" + " --- |" * len(cols)]
        table += ["| " + " | ".join(line) + " |" for line in lines]
    else:
        widths = [max(len(c), *(len(line[k]) for line in lines)) for k, c in enumerate(cols)]
        table = ["  ".join(c.rjust(w) for c, w in zip(cols, widths))]
        table += ["  ".join(v.rjust(w) for v, w in zip(line, widths)) for line in lines]
    return "\n".join(head + table)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=1_000_000, help="rows of X")
    p.add_argument("--d", type=int, default=100, help="columns of X")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    p.add_argument(
        "--batches",
        nargs="+",
        default=list(DEFAULT_BATCHES),
        help="batch sizes; 'full' is the whole data set",
    )
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--shuffle", action="store_true", help="read rows through a permutation")
    p.add_argument(
        "--block", action="store_true", help="pair each epoch with one in a block-shuffled order"
    )
    p.add_argument("--repeats", type=int, default=5, help="epochs per figure (the best is kept)")
    p.add_argument("--gib", type=float, default=1.0, help="size of the bandwidth buffer, GiB")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    a = p.parse_args(argv)
    r = roofline(
        a.n, a.d, np.dtype(a.dtype), a.batches, tuple(a.threads), a.shuffle, a.repeats, a.gib,
        a.block,
    )
    print(format_report(r, a.markdown))


if __name__ == "__main__":
    main()
