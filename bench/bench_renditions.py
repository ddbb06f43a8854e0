"""Renditions per minute from a 1080p master, image and video, next to a plain baseline.

Image: a 1920x1080 JPEG master made with Pillow; ours is what ``ContentService.render`` does
per preset outside the database and store: ``render_image`` (centred crop and LANCZOS resize,
white canvas for Amazon, JPEG or PNG) and the probe of the result that its spec check reads.
The baseline is a plain Pillow ``resize`` to the same sizes saved as JPEG (no crop, no probe).

Video: a 1920x1080, 30 fps H.264 master of ``--seconds`` encoded with PyAV; ours is
``render_video`` to 9:16 1080x1920 (Pillow crop+resize per frame, libx264 CBR 4 Mbit/s,
sound copied); the baseline is a plain PyAV transcode to the same size and encoder settings
with FFmpeg's own scaler (``VideoFrame.reformat``, no crop).

``python -m bench.bench_renditions [--seconds 5] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw

from tessera.content.media import probe
from tessera.content.renditions import (
    PRESETS,
    VIDEO_BITRATE,
    presets_for,
    render_image,
    render_video,
)


def _picture(index: int = 0) -> Image.Image:
    image = Image.new("RGB", (1920, 1080), (30, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((560 + index * 4, 140, 1360 + index * 4, 940), fill=(200, 60, 30))
    draw.rectangle((100, 100 + index * 2, 400, 300 + index * 2), fill=(240, 240, 240))
    return image


def _video(path: Path, seconds: float) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        stream.bit_rate = 6_000_000
        for index in range(round(seconds * 30)):
            frame = av.VideoFrame.from_image(_picture(index))
            frame.pts, frame.time_base = index, Fraction(1, 30)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def _baseline_video(source: Path, target: Path, width: int, height: int) -> None:
    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        video_in = inp.streams.video[0]
        video_in.thread_type = "AUTO"
        stream = out.add_stream("libx264", rate=video_in.average_rate or 30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = VIDEO_BITRATE
        stream.options = {"preset": "veryfast"}
        for frame in inp.decode(video_in):
            shaped = frame.reformat(width=width, height=height, format="yuv420p")
            shaped.pts, shaped.time_base = frame.pts, frame.time_base
            out.mux(stream.encode(shaped))
        out.mux(stream.encode(None))


def _per_minute(count: int, work: Callable[[], None], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return count * 60 / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        master = root / "master.jpg"
        _picture().save(master, "JPEG", quality=92)
        presets = presets_for("image")

        def ours_image() -> None:
            still = probe(master, master.name).still
            for preset in presets:
                target = root / f"r-{preset.name}{'.png' if preset.fit == 'amazon' else '.jpg'}"
                render_image(still, preset, target)
                probe(target, target.name)

        def plain_image() -> None:
            with Image.open(master) as image:
                for preset in presets:
                    size = (preset.width, preset.height or round(1080 * preset.width / 1920))
                    image.resize(size).save(root / f"p-{preset.name}.jpg", "JPEG", quality=90)

        ours = _per_minute(len(presets), ours_image, args.rounds)
        plain = _per_minute(len(presets), plain_image, args.rounds)
        print(f"image 1920x1080 -> {len(presets)} presets: ours {ours:,.0f} renditions/min, "
              f"plain Pillow resize {plain:,.0f}/min, ratio {ours / plain:.2f}")  # fmt: skip

        clip = root / "master.mp4"
        _video(clip, args.seconds)
        preset = PRESETS["9x16"]
        rounds = max(1, args.rounds - 1)
        ours_v = _per_minute(1, lambda: render_video(clip, preset, root / "r.mp4"), rounds)
        plain_v = _per_minute(
            1, lambda: _baseline_video(clip, root / "p.mp4", preset.width, preset.height), rounds
        )
        print(f"video 1920x1080 {args.seconds:g} s 30 fps -> 9x16 1080x1920: ours "
              f"{ours_v:.1f} renditions/min, plain PyAV transcode {plain_v:.1f}/min, "
              f"ratio {ours_v / plain_v:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
