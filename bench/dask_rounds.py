"""Milliseconds per "gd" round of fastgd.dask on LocalCluster(W workers, 1 thread each,
processes), W = 1 and 2, for a few shapes, beside the local full-batch epoch (2 threads).

    python bench/dask_rounds.py

A round's time is (fit of 20 rounds − fit of 1 round) / 19: the fit's fixed cost (persisting
the partitions, the checks, the summaries) cancels. Figures: docs/dask.md, bench/MEASUREMENTS.md.
"""

import time

import dask.array as da
import distributed
import numpy as np

import fastgd
import fastgd.dask as fdask


def main():
    for W in (1, 2):
        cluster = distributed.LocalCluster(
            n_workers=W,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=50,
        )
        client = distributed.Client(cluster)
        for n, d, P in [(8_000, 10, 8), (8_000, 10, 32), (200_000, 100, 8), (2_000, 20_000, 8)]:
            c = -(-n // P)
            Xd = da.random.default_rng(0).standard_normal((n, d), chunks=(c, d))
            yd = Xd @ (np.random.default_rng(1).standard_normal(d) / np.sqrt(d))
            Xd, yd = client.persist([Xd, yd])  # made on the workers
            distributed.wait([Xd, yd])
            X, y = Xd.compute(), yd.compute()
            p = dict(
                batch_size=None,
                shuffle=False,
                learning_rate="constant",
                eta0=0.1,
                max_iter=20,
                tol=None,
            )
            est = fdask.SGDRegressor(solver="gd", **p)
            est.fit(Xd, yd)
            times = []
            for _ in range(3):
                t = time.perf_counter()
                est.fit(Xd, yd)
                times.append(time.perf_counter() - t)
            # the fit's fixed cost (persist + checks + summaries): a fit of 1 round
            one = fdask.SGDRegressor(solver="gd", **dict(p, max_iter=1))
            t1 = []
            for _ in range(3):
                t = time.perf_counter()
                one.fit(Xd, yd)
                t1.append(time.perf_counter() - t)
            local = fastgd.SGDRegressor(n_jobs=2, **p)
            tl = []
            for _ in range(3):
                t = time.perf_counter()
                local.fit(X, y)
                tl.append(time.perf_counter() - t)
            per_round = (min(times) - min(t1)) / 19
            print(
                f"W={W} n={n} d={d} P={P}: {1e3 * per_round:.2f} ms/round (fit 20: "
                f"{min(times):.3f} s, fit 1: {min(t1):.3f} s), "
                f"local epoch {1e3 * min(tl) / 20:.2f} ms",
                flush=True,
            )
            client.cancel([Xd, yd])
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
