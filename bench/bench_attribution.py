"""Attribution: heuristics and Markov order 1 on 1M journeys, next to ChannelAttribution.

Synthetic, seeded journeys (issue 19's size: 1M journeys, about 5M touches, 30 channels):
each journey has 1 + Poisson(4) touches drawn from Zipf-like channel popularity, hours to
days apart; it converts with a probability that rises with the channels it touched (each
channel has its own effect), for a log-normal value in minor units.

Both sides run in processes of their own on the same arrays (saved once to a temporary
``.npz``), so each peak RSS is that side's: ours is ``Paths.from_arrays`` then
``attribute(...)`` (first, last and linear, the heuristics ChannelAttribution has; then all
six; then Markov order 1, solved), and we also print tracemalloc's peak for our models (in a
second pass, untimed). The peer is ChannelAttribution (GPL-3, the ``bench`` extra; run by
``bench/_channelattribution_peer.py``, never copied), its ``heuristic_models`` and its
``markov_model`` (order 1, one thread, simulated: run with seeds 0 and 1 to show how far its
figures move). Its input is one ``"a > b > c"`` string per journey, built before its clock
starts. Agreement is printed too: heuristics must match to rounding; the Markov credits
differ by the peer's simulation error.

Without ChannelAttribution (``--peer-python`` names an interpreter that has it), the peer's
timings published in shared/reference/measure.md for this machine are printed instead:
heuristics 5.7 s, Markov order 1 3.9 s, 522 MB.

``python -m bench.bench_attribution [--journeys 1000000] [--channels 30] [--seed 11]
[--peer-python PATH] [--quick]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
console = Console(width=None if sys.stdout.isatty() else 160)
PUBLISHED = {"heuristics": 5.7, "markov": 3.9, "peak_rss_mb": 522.0}
HEURISTICS_SHARED = ("first_touch", "last_touch", "linear")
HEURISTICS_ALL = (*HEURISTICS_SHARED, "last_non_direct", "time_decay", "position_based")


def synthetic(journeys: int, channels: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded journeys as columns (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    lengths = 1 + rng.poisson(4.0, journeys)
    offsets = np.zeros(journeys + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    popularity = 1.0 / np.arange(1, channels + 1) ** 0.8
    codes = rng.choice(channels, size=int(offsets[-1]), p=popularity / popularity.sum())
    effect = rng.normal(0.0, 0.6, channels)
    journey = np.repeat(np.arange(journeys), lengths)
    present = np.zeros((journeys, channels), np.bool_)
    present[journey, codes] = True
    logit = -2.5 + present.astype(np.float64) @ effect
    converted = rng.random(journeys) < 1.0 / (1.0 + np.exp(-logit))
    value = np.round(rng.lognormal(8.0, 0.7, journeys)).astype(np.int64)
    gaps = rng.exponential(36 * 3600.0, int(offsets[-1]))
    gaps[offsets[:-1]] = 0.0
    times = 1.7e9 + np.cumsum(gaps)  # increasing within each journey
    return {
        "channels": np.array(channels),
        "offsets": offsets,
        "codes": codes.astype(np.int64),
        "times": times,
        "converted": converted,
        "value": value,
    }


def ours(data: str) -> dict[str, Any]:
    """Our side, in its own process: seconds per step, memory, credits."""
    from tessera.analytics.attribution import Paths, attribute

    arrays = np.load(data)
    names = [f"ch{n:02d}" for n in range(int(arrays["channels"]))]
    started = time.perf_counter()
    paths = Paths.from_arrays(
        names, arrays["offsets"], arrays["codes"], arrays["converted"], arrays["value"],
        arrays["times"],
    )  # fmt: skip
    build = time.perf_counter() - started
    started = time.perf_counter()
    shared = {model: attribute(paths, model) for model in HEURISTICS_SHARED}
    heuristics = time.perf_counter() - started
    started = time.perf_counter()
    for model in HEURISTICS_ALL:
        attribute(paths, model)
    heuristics_all = time.perf_counter() - started
    started = time.perf_counter()
    markov = attribute(paths, "markov", order=1)
    markov_seconds = time.perf_counter() - started
    # Memory in a second pass: tracing every allocation would slow the timed one.
    tracemalloc.start()
    for model in (*HEURISTICS_ALL, "markov"):
        attribute(paths, model)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    def credits(one: Any) -> dict[str, float]:
        return {c.channel: float(c.conversions) for c in one}

    return {
        "build": build,
        "heuristics": heuristics,
        "heuristics_all": heuristics_all,
        "markov": markov_seconds,
        "traced_peak_mb": traced_peak / 2**20,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "touches": len(paths.codes),
        "conversions": paths.total_conversions,
        **{model: credits(result) for model, result in shared.items()},
        "markov_credits": credits(markov),
    }


def _run(command: list[str]) -> dict[str, Any] | str:
    """The JSON a side printed last, or why it failed."""
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["exit code " + str(done.returncode)])[-1]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _peer_available(python: str) -> str | None:
    done = subprocess.run(
        [python, "-c", "import ChannelAttribution, pandas"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode == 0:
        return None
    return (done.stderr.strip().splitlines() or ["not importable"])[-1]


def _gaps(mine: dict[str, float], theirs: dict[str, float]) -> tuple[float, float]:
    """The largest difference relative to a channel's credit (over channels with credit),
    and the share of all conversions credited differently (half the sum of differences)."""
    largest = max(
        abs(mine[name] - theirs.get(name, 0.0)) / abs(mine[name]) for name in mine if mine[name]
    )
    moved = sum(abs(mine[name] - theirs.get(name, 0.0)) for name in mine) / 2
    return largest, moved / max(sum(mine.values()), 1.0)


def _report(options: argparse.Namespace, mine: dict[str, Any], peer: dict[str, Any] | str) -> None:
    published = isinstance(peer, str)
    theirs: dict[str, Any] = PUBLISHED if isinstance(peer, str) else peer
    # The published figures are for 1M journeys on 30 channels: no ratio at another size.
    comparable = not published or (options.journeys, options.channels) == (1_000_000, 30)

    def ratio(peer_figure: float, our_figure: float) -> str:
        return f"{peer_figure / our_figure:.1f}x" if comparable else "-"

    peer_markov = theirs["markov"] if published else theirs["markov"][0]
    table = Table(
        title=(
            f"Attribution: {options.journeys:,} journeys, {mine['touches']:,} touches, "
            f"{options.channels} channels, {mine['conversions']:,} conversions "
            f"(seed {options.seed})"
        )
    )
    for column in ("step", "Tessera s", "ChannelAttribution s", "peer / ours"):
        table.add_column(column, justify="left" if column == "step" else "right")
    label = " (published)" if published else ""
    table.add_row("build paths (validated)", f"{mine['build']:.2f}", "-", "-")
    table.add_row(
        "heuristics: first, last, linear" + label,
        f"{mine['heuristics']:.2f}",
        f"{theirs['heuristics']:.2f}",
        ratio(theirs["heuristics"], mine["heuristics"]),
    )
    table.add_row("heuristics: all six", f"{mine['heuristics_all']:.2f}", "-", "-")
    table.add_row(
        "Markov order 1" + label,
        f"{mine['markov']:.2f}",
        f"{peer_markov:.2f}",
        ratio(peer_markov, mine["markov"]),
    )
    table.add_row(
        "peak RSS, MB" + label,
        f"{mine['peak_rss_mb']:.0f}",
        f"{theirs['peak_rss_mb']:.0f}",
        ratio(theirs["peak_rss_mb"], mine["peak_rss_mb"]),
    )
    table.add_row("tracemalloc peak, MB (models)", f"{mine['traced_peak_mb']:.0f}", "-", "-")
    console.print(table)
    if isinstance(peer, str):
        console.print(
            f"ChannelAttribution not run here ({peer}); its figures published for 1M journeys"
            " on this machine are shown (pip install -e '.\\[bench]' installs it)."
        )
        return
    for model in HEURISTICS_SHARED:
        largest, _ = _gaps(mine[model], peer[model])
        console.print(f"{model}: largest relative difference per channel {largest:.1e}")
    seeds, seeds_moved = _gaps(peer["markov_seed_0"], peer["markov_seed_1"])
    against, moved = _gaps(mine["markov_credits"], peer["markov_seed_0"])
    console.print(
        f"Markov order 1: the peer's credits move up to {seeds:.2%} per channel between seeds"
        f" 0 and 1 ({seeds_moved:.2%} of conversions); ours (solved, the same every run)"
        f" differ from its seed 0 by up to {against:.2%} per channel, {moved:.2%} of"
        " conversions credited to another channel."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_attribution", description=__doc__)
    parser.add_argument("--journeys", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--peer-python", default=sys.executable, help="Python with the peer")
    parser.add_argument("--quick", action="store_true", help="100,000 journeys")
    parser.add_argument("--side", choices=["ours"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.side == "ours":
        print(json.dumps(ours(options.data)))
        return 0
    if options.quick:
        options.journeys = 100_000
    with tempfile.TemporaryDirectory(prefix="bench-attribution-") as folder:
        data = str(Path(folder) / "journeys.npz")
        np.savez(data, **synthetic(options.journeys, options.channels, options.seed))
        mine = _run(
            [sys.executable, "-m", "bench.bench_attribution", "--side", "ours", "--data", data]
        )
        if isinstance(mine, str):
            console.print(f"[red]ours failed:[/red] {mine}")
            return 1
        missing = _peer_available(options.peer_python)
        if missing is None:
            peer = _run(
                [options.peer_python, str(ROOT / "bench" / "_channelattribution_peer.py"), data]
            )
        else:
            peer = missing
    _report(options, mine, peer)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
