"""What a file holds, read from its bytes: Pillow for images, PyAV (FFmpeg) for video.

The name a file came with is a claim, never the evidence: the type is sniffed, then the name
is checked against it (a PNG called ``.jpg`` is refused, so a channel that trusts extensions
is never handed the wrong thing). An image is verified and then decoded whole, so a corrupt or
truncated file is refused here; a video is opened, demuxed to its end, and its middle frame
decoded (which is also the frame its perceptual hash is taken from).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import imagehash
from PIL import Image, ImageChops, UnidentifiedImageError

from tessera.content.errors import UnreadableMedia

IMAGE_FORMATS = {  # Pillow's format name -> (media type, the extensions it may carry)
    "JPEG": ("image/jpeg", {".jpg", ".jpeg", ".jpe"}),
    "MPO": ("image/jpeg", {".jpg", ".jpeg", ".jpe"}),  # a camera's JPEG with a preview frame
    "PNG": ("image/png", {".png"}),
    "WEBP": ("image/webp", {".webp"}),
    "TIFF": ("image/tiff", {".tif", ".tiff"}),
    "GIF": ("image/gif", {".gif"}),
}
VIDEO_FORMATS = {  # FFmpeg's demuxer name -> (media type, extensions)
    "mov,mp4,m4a,3gp,3g2,mj2": ("video/mp4", {".mp4", ".m4v", ".mov"}),
    "matroska,webm": ("video/webm", {".webm", ".mkv"}),
}
WHITE = (255, 255, 255)
THUMBNAIL_PIXELS = 320


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What the probe read. Image-only and video-only facts are None for the other kind."""

    kind: str  # "image" or "video"
    format: str  # JPEG, PNG... or mp4, webm
    media_type: str
    width: int
    height: int
    mode: str | None = None  # RGB, RGBA, CMYK, L...
    dpi: float | None = None  # the file's own resolution, when it says
    is_animated: bool = False
    duration_seconds: float | None = None
    codec: str | None = None
    bitrate: int | None = None  # bits per second
    fps: float | None = None
    audio_codec: str | None = None
    # Measured on the still: every edge pixel pure white, and how much of the frame the
    # non-white bounding box spans along its fuller axis (Amazon's main image rules).
    has_white_background: bool = False
    product_fill: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Probed:
    facts: MediaFacts
    still: Image.Image  # the image, or the video's middle frame, in RGB

    @property
    def perceptual_hash(self) -> str:
        return str(imagehash.phash(self.still))


def hash_distance(first: str, second: str) -> int:
    """Bits that differ between two perceptual hashes (0: the same picture)."""
    return int(imagehash.hex_to_hash(first) - imagehash.hex_to_hash(second))


def probe(path: Path, filename: str) -> Probed:
    """Read ``path`` whole and say what it is; refuses (``UnreadableMedia``, field ``file``)
    anything that is not an image or video we can decode, or whose name claims another type."""
    suffix = Path(filename).suffix.lower()
    image = _probe_image(path)
    probed = image if image is not None else _probe_video(path)
    allowed = _extensions(probed.facts)
    if suffix and suffix not in allowed:
        raise UnreadableMedia(
            f"the file is named {suffix} but holds {probed.facts.format} "
            f"({probed.facts.media_type}); name it {sorted(allowed)[0]} or upload the right file",
            field="file",
            sniffed=probed.facts.media_type,
        )
    return probed


def _extensions(facts: MediaFacts) -> set[str]:
    table = IMAGE_FORMATS if facts.kind == "image" else VIDEO_FORMATS
    return table[facts.format if facts.kind == "image" else _container(facts)][1]


def _container(facts: MediaFacts) -> str:
    return next(name for name, (kind, _) in VIDEO_FORMATS.items() if kind == facts.media_type)


def _probe_image(path: Path) -> Probed | None:
    """The image's facts, None when Pillow does not recognise the bytes as an image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as opened:
                fmt = opened.format or ""
                opened.verify()
            with Image.open(path) as image:
                image.load()
                facts_image = image.copy()
                is_animated = bool(getattr(image, "is_animated", False))
                dpi = image.info.get("dpi")
    except UnidentifiedImageError:
        return None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnreadableMedia(
            "the image has more pixels than we decode (a decompression bomb?)", field="file"
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableMedia(f"the image is corrupt or truncated: {exc}", field="file") from None
    if fmt not in IMAGE_FORMATS:
        raise UnreadableMedia(
            f"{fmt or 'this'} images are not taken; upload JPEG, PNG, WebP, TIFF or GIF",
            field="file",
            sniffed=fmt,
        )
    still = _rgb(facts_image)
    background, fill = measure_frame(still)
    facts = MediaFacts(
        kind="image",
        format="JPEG" if fmt == "MPO" else fmt,
        media_type=IMAGE_FORMATS[fmt][0],
        width=facts_image.width,
        height=facts_image.height,
        mode=facts_image.mode,
        dpi=_dpi(dpi),
        is_animated=is_animated,
        has_white_background=background,
        product_fill=fill,
    )
    return Probed(facts, still)


def _dpi(value: Any) -> float | None:
    try:
        return round(float(value[0]), 2) if value else None
    except (TypeError, ValueError, IndexError):
        return None


def _rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        # Transparent is not white: a cut-out on nothing fails Amazon's background rule.
        canvas = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(canvas, rgba).convert("RGB")
    return image.convert("RGB")


def measure_frame(rgb: Image.Image) -> tuple[bool, float]:
    """(every edge pixel is pure white, the share of the frame the non-white box spans)."""
    difference = ImageChops.difference(rgb, Image.new("RGB", rgb.size, WHITE))
    width, height = rgb.size
    edges = [(0, 0, width, 1), (0, height - 1, width, height), (0, 0, 1, height)]
    edges.append((width - 1, 0, width, height))
    white_edges = all(difference.crop(box).getbbox() is None for box in edges)
    box = difference.getbbox()
    if box is None:
        return white_edges, 0.0
    left, top, right, bottom = box
    fill = max((right - left) / width, (bottom - top) / height)
    return white_edges, round(fill, 4)


def _probe_video(path: Path) -> Probed:
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UnreadableMedia(
            "the file is not an image or a video we can read whole (JPEG, PNG, WebP, TIFF, "
            f"GIF, MP4, MOV or WebM; a cut-off video reads as this too): {reason}",
            field="file",
        ) from None
    with container:
        name = container.format.name
        if name not in VIDEO_FORMATS or not container.streams.video:
            raise UnreadableMedia(
                f"{name} files are not taken; upload MP4, MOV or WebM video",
                field="file",
                sniffed=name,
            )
        stream = container.streams.video[0]
        try:
            packets = sum(1 for packet in container.demux(stream) if packet.size)
            duration = _duration(container, stream)
            still = _frame_at(container, stream, duration / 2)
        except (av.FFmpegError, StopIteration, ValueError) as exc:
            raise UnreadableMedia(
                f"the video is corrupt or truncated: {exc}", field="file"
            ) from None
        if packets == 0:
            raise UnreadableMedia("the video holds no frames", field="file")
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
        rate = stream.average_rate
        facts = MediaFacts(
            kind="video",
            format=name.split(",")[1] if "mp4" in name else name.split(",")[-1],
            media_type=VIDEO_FORMATS[name][0],
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            duration_seconds=round(duration, 3),
            codec=stream.codec_context.name,
            bitrate=int(container.bit_rate or stream.bit_rate or 0) or None,
            fps=round(float(rate), 3) if rate else None,
            audio_codec=audio,
        )
    return Probed(facts, still)


def _duration(container: av.container.InputContainer, stream: av.video.VideoStream) -> float:
    if container.duration:
        return float(Fraction(container.duration, av.time_base))
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


def _frame_at(
    container: av.container.InputContainer, stream: av.video.VideoStream, seconds: float
) -> Image.Image:
    """The first frame at or after ``seconds`` (the keyframe before it when none follows)."""
    container.seek(int(seconds * av.time_base), any_frame=False, backward=True)
    last: Image.Image | None = None
    for frame in container.decode(stream):
        last = frame.to_image()  # type: ignore[no-untyped-call]
        if frame.time is not None and frame.time >= seconds:
            break
    if last is None:
        raise ValueError("no frame could be decoded")
    return last.convert("RGB")


def thumbnail(still: Image.Image, path: Path) -> None:
    """A JPEG at most ``THUMBNAIL_PIXELS`` on its longest side, for the library's grid."""
    small = still.copy()
    small.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
    small.save(path, "JPEG", quality=80)
