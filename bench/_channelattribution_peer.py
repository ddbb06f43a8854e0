"""The peer side of ``bench_attribution``: ChannelAttribution on the same journeys.

Run as a script by ``bench_attribution`` in a process of its own (so its peak memory is its
own), possibly with another interpreter (``--peer-python``): it imports NumPy, pandas and
ChannelAttribution only, never Tessera. ChannelAttribution is GPL-3; it is called here as a
program is called, never copied, and only the ``bench`` extra installs it.

Prints one JSON object: seconds per step, peak RSS, and the per-channel credits.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

import numpy as np


def main(data: str) -> int:
    import pandas as pd
    from ChannelAttribution import heuristic_models, markov_model

    arrays = np.load(data)
    names = [f"ch{n:02d}" for n in range(int(arrays["channels"]))]
    offsets, codes = arrays["offsets"], arrays["codes"]
    converted, value = arrays["converted"], arrays["value"]
    started = time.perf_counter()
    labels = np.array(names, dtype=object)[codes]
    paths = [" > ".join(labels[offsets[n] : offsets[n + 1]]) for n in range(len(converted))]
    frame = pd.DataFrame(
        {
            "path": paths,
            "conversions": converted.astype(np.int64),
            "nulls": (~converted).astype(np.int64),
            "value": np.where(converted, value, 0).astype(np.float64),
        }
    )
    prepared = time.perf_counter() - started

    started = time.perf_counter()
    heuristics = heuristic_models(frame, "path", "conversions", var_value="value", flg_pro=False)
    heuristic_seconds = time.perf_counter() - started

    markov: list[Any] = []
    markov_seconds: list[float] = []
    for seed in (0, 1):
        started = time.perf_counter()
        markov.append(
            markov_model(
                frame,
                "path",
                "conversions",
                var_value="value",
                var_null="nulls",
                order=1,
                ncore=1,
                seed=seed,
                verbose=False,
                flg_pro=False,
            )
        )
        markov_seconds.append(time.perf_counter() - started)

    def column(table: Any, name: str) -> dict[str, float]:
        return dict(zip(table["channel_name"], map(float, table[name]), strict=True))

    print(
        json.dumps(
            {
                "prepare": prepared,
                "heuristics": heuristic_seconds,
                "markov": markov_seconds,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "first_touch": column(heuristics, "first_touch_conversions"),
                "last_touch": column(heuristics, "last_touch_conversions"),
                "linear": column(heuristics, "linear_touch_conversions"),
                "markov_seed_0": column(markov[0], "total_conversions"),
                "markov_seed_1": column(markov[1], "total_conversions"),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
