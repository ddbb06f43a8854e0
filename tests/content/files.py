"""Real media made in the test: Pillow images and short PyAV-encoded videos."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw


def picture(width: int, height: int, *, seed: int = 1, background: tuple[int, int, int] = (
        30, 90, 160), product: float = 0.6) -> Image.Image:  # fmt: skip
    """A background with a product-like shape filling ``product`` of the frame."""
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    box_w, box_h = round(width * product), round(height * product)
    left, top = (width - box_w) // 2, (height - box_h) // 2
    draw.ellipse((left, top, left + box_w - 1, top + box_h - 1), fill=(200, 40 + seed * 20, 30))
    draw.rectangle((left + box_w // 4, top + box_h // 3, left + box_w // 2, top + box_h // 2),
                   fill=(20, 20 + seed * 30 % 200, 20))  # fmt: skip
    return image


def image_bytes(image: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def video_file(path: Path, width: int = 320, height: int = 568, seconds: float = 2.0,
               fps: int = 12, audio: bool = False, bitrate: int = 1_000_000) -> Path:  # fmt: skip
    """An H.264 MP4 of a moving shape (and a tone when ``audio``), encoded by PyAV."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.bit_rate = bitrate
        sound = out.add_stream("aac", rate=44100) if audio else None
        frames = round(seconds * fps)
        for index in range(frames):
            image = picture(width, height, seed=1)
            ImageDraw.Draw(image).rectangle((index * 3, 10, index * 3 + 20, 30), fill="white")
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if sound is not None:
            samples = 1024
            for index in range(round(seconds * 44100 / samples)):
                t = (np.arange(samples) + index * samples) / 44100
                wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
                frame.sample_rate = 44100
                frame.pts = index * samples
                out.mux(sound.encode(frame))
            out.mux(sound.encode(None))
    return path
