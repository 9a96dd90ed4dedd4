"""The README's GPU table, re-measured in one run: PyTorch's rows beside fastgd's.

Ridge regression (squared error + L2) on float32 X of n × d on the GPU (default n=4,000,000,
d=128, 2 GB). Rows:

- HBM read bandwidth (a large torch sum), and the floor it gives for one read of X;
- a full-batch GD step: PyTorch ``X @ w`` then ``X.T @ r``; fastgd ``loss_and_grad`` (one fused
  pass) and ``sgd_epoch`` with ``batch_size=n`` (one fused pass plus the update, one kernel);
- a minibatch epoch at batch 256 and 4096 (rows through a random permutation): PyTorch autograd
  (nn.Linear + optim.SGD), a hand-written loop of torch.mv calls, that loop captured in a CUDA
  graph and replayed; fastgd's epoch (one cooperative kernel);
- fastgd's epoch per step (the cost of a step: its rows plus one grid-wide barrier).

The slow PyTorch loops run ``--steps`` steps and are scaled to a whole epoch (said in the table).
Every fastgd row checks itself: its weights must match PyTorch's hand-written loop (the same
updates, same permutation and learning rate) to float32 accuracy, or the script fails.

    python bench/gpu.py                    # the table's sizes (needs a GPU with >= 8 GB)
    python bench/gpu.py --n 400000         # quicker
    python bench/gpu.py --sweep-blocks     # fastgd's epoch time against the grid size

Needs PyTorch with CUDA and fastgd built with its CUDA module (fastgd.HAS_CUDA).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from typing import Any, Callable

import numpy as np

import fastgd
from fastgd import cuda, ops


def _timer(torch: Any) -> Callable[..., float]:
    def median_ms(fn: Callable[[], Any], repeats: int = 5, warmup: int = 1) -> float:
        for _ in range(warmup):
            fn()
        torch.cuda.synchronize()
        times = []
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        return statistics.median(times)

    return median_ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4_000_000)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--alpha", type=float, default=1e-4)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--steps", type=int, default=500, help="steps timed for slow loops")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sweep-blocks", action="store_true")
    args = parser.parse_args(argv)

    import torch

    if not (torch.cuda.is_available() and fastgd.HAS_CUDA):
        print("needs PyTorch with CUDA and fastgd.HAS_CUDA", file=sys.stderr)
        return 2
    median_ms = _timer(torch)
    dev = torch.device("cuda")
    n, d, alpha, lr = args.n, args.d, args.alpha, args.lr
    gen = torch.Generator(device=dev).manual_seed(0)
    X = torch.randn(n, d, device=dev, generator=gen)
    w_true = torch.randn(d, device=dev, generator=gen) / d**0.5
    y = X @ w_true + 0.3 + 0.1 * torch.randn(n, device=dev, generator=gen)
    perm = torch.randperm(n, device=dev, generator=gen)
    rows: list[tuple[str, str, str]] = []  # (what, PyTorch, fastgd)

    def ms(v: float) -> str:
        return f"{v:.3f} ms" if v < 100 else f"{v / 1000:.3f} s"

    # HBM read bandwidth: a sum over a buffer far larger than L2.
    def read_bandwidth() -> float:
        buf = torch.empty(1 << 29, device=dev)  # 2 GiB of float32
        buf.fill_(1.0)
        return buf.numel() * 4 / (median_ms(lambda: buf.sum(), args.repeats) / 1e3)

    bw = read_bandwidth()
    floor = X.numel() * 4 / bw * 1e3
    rows.append(("HBM read bandwidth (torch sum of 2 GiB)", f"{bw / 1e12:.2f} TB/s", ""))
    rows.append(("reading X once at that bandwidth", ms(floor), ""))

    # Full-batch GD step.
    w = torch.zeros(d, device=dev)

    def torch_full_step() -> None:
        r = X @ w - y
        w.sub_(lr * (X.T @ r / n + alpha * w))

    t_torch = median_ms(torch_full_step, args.repeats)
    wz = torch.zeros(d, device=dev)
    t_lg = median_ms(
        lambda: ops.loss_and_grad(X, y, wz, 0.0, alpha=alpha, penalty="l2", check_input=False),
        args.repeats,
    )
    bz = torch.zeros(1, device=dev)
    lrs_full = np.array([lr])
    t_full = median_ms(
        lambda: ops.sgd_epoch(X, y, wz, bz, lrs_full, batch_size=n, alpha=alpha, check_input=False),
        args.repeats,
    )
    rows.append(
        (
            "full-batch GD step (torch: X @ w, X.T @ r)",
            ms(t_torch),
            f"{ms(t_full)} (loss_and_grad alone {ms(t_lg)}); "
            f"{floor / t_full:.0%} of read bandwidth",
        )
    )

    def minibatch(B: int) -> int:
        steps = -(-n // B)
        lrs = np.full(steps, lr)
        k = min(args.steps, steps)

        # Hand-written torch loop (the reference the fastgd epoch must match).
        def loop(w: Any, b: Any, n_steps: int) -> None:
            for s in range(n_steps):
                idx = perm[s * B : (s + 1) * B]
                xb = X[idx]
                r = torch.mv(xb, w) + b - y[idx]
                g = torch.mv(xb.T, r) / idx.numel()
                w.sub_(lr * (g + alpha * w))
                b.sub_(lr * r.mean())

        w_ref, b_ref = torch.zeros(d, device=dev), torch.zeros(1, device=dev)
        t_loop = median_ms(lambda: loop(w_ref.zero_(), b_ref.zero_(), steps), 1, warmup=0)
        # The same k steps captured in a CUDA graph, replayed, scaled to the epoch.
        wg, bg = torch.zeros(d, device=dev), torch.zeros(1, device=dev)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            loop(wg, bg, 3)  # warm-up outside the capture
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            loop(wg, bg, k)
        t_graph = median_ms(graph.replay, args.repeats) * steps / k
        # Autograd: nn.Linear + optim.SGD, k steps scaled to the epoch.
        model = torch.nn.Linear(d, 1, device=dev)
        opt = torch.optim.SGD(model.parameters(), lr=lr)

        def autograd_steps() -> None:
            for s in range(k):
                idx = perm[s * B : (s + 1) * B]
                opt.zero_grad()
                out = model(X[idx]).squeeze(1)
                loss = (
                    0.5 * ((out - y[idx]) ** 2).mean() + 0.5 * alpha * model.weight.square().sum()
                )
                loss.backward()
                opt.step()

        t_auto = median_ms(autograd_steps, 1) * steps / k

        # fastgd: the whole epoch in one kernel, on the same tensors, rows through perm.
        wf, bf = torch.zeros(d, device=dev), torch.zeros(1, device=dev)

        def fastgd_epoch(n_blocks: int | None = None) -> float:
            wf.zero_()
            bf.zero_()
            return cuda.sgd_epoch(
                X,
                y,
                wf,
                bf,
                lrs,
                batch_size=B,
                order=perm,
                alpha=alpha,
                check_input=False,
                n_blocks=n_blocks,
            )

        t_fast = median_ms(fastgd_epoch, args.repeats)
        fastgd_epoch()
        err = float((wf - w_ref).norm() / w_ref.norm())
        if not err < 1e-3:
            print(f"fastgd's batch-{B} epoch does not match the torch loop: rel. error {err:.2e}")
            return 1
        grid = fastgd._cuda.epoch_grid("float32", d, B)
        rows.append(
            (f"batch-{B} epoch, autograd (nn.Linear + optim.SGD; {k} steps scaled)", ms(t_auto), "")
        )
        rows.append((f"batch-{B} epoch, hand-written torch.mv loop", ms(t_loop), ""))
        rows.append(
            (
                f"batch-{B} epoch, that loop in a CUDA graph ({k} steps scaled)",
                ms(t_graph),
                f"{ms(t_fast)}: {t_graph / t_fast:.1f}x the graph, "
                f"{t_auto / t_fast:.0f}x autograd; {t_fast / steps * 1e3:.2f} us/step, "
                f"{grid[0]} blocks (rel. err vs torch {err:.1e})",
            )
        )
        if args.sweep_blocks:
            for G in (1, 2, 4, 8, 16, 32, 64, 132, 264):
                t_g = median_ms(lambda G=G: fastgd_epoch(G), 3)
                rows.append((f"  fastgd batch-{B}, n_blocks={G}", "", ms(t_g)))

        return 0

    for B in (256, 4096):
        if minibatch(B):
            return 1

    props = torch.cuda.get_device_properties(0)
    print(
        f"\n{props.name}, {props.multi_processor_count} SMs; torch {torch.__version__}, "
        f"fastgd {fastgd.__version__} (CUDA archs {fastgd._cuda.architectures()}); "
        f"float32 X of {n:,} x {d} = {X.numel() * 4 / 1e9:.2f} GB, ridge\n"
    )
    print("| what | PyTorch | fastgd |\n| --- | --- | --- |")
    for what, a, b in rows:
        print(f"| {what} | {a} | {b} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
