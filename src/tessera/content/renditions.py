"""Renditions: files made from a master for a channel's shape, by Pillow and PyAV.

Each preset says its output size, how the master is fitted (``cover``: centred crop to the
ratio, then scaled; ``width``: scaled to a width; ``amazon``: the product, cropped to its
non-white box when the master's background is white, scaled to 90 % of a white square), and
the channels the result is checked against. Video renditions re-encode the picture (H.264)
and copy the sound as it is. Nothing here touches the database or the store: a master's file
in, a rendition's file out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image, ImageChops

from tessera.content.errors import RenditionFailed
from tessera.content.media import WHITE

VIDEO_BITRATE = 4_000_000  # TikTok takes 516 kbps and up; 1080x1920 H.264 looks right at 4


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    fit: str  # cover, width or amazon
    width: int
    height: int  # 0 for ``width``: from the master's ratio
    kinds: frozenset[str]
    image_channels: tuple[str, ...]
    video_channels: tuple[str, ...]

    def channels(self, kind: str) -> tuple[str, ...]:
        return self.image_channels if kind == "image" else self.video_channels


PRESETS = {
    p.name: p
    for p in (
        Preset("9x16", "cover", 1080, 1920, frozenset({"image", "video"}), (),
               ("tiktok", "instagram_reels")),
        Preset("4x5", "cover", 1080, 1350, frozenset({"image", "video"}), ("meta_feed",),
               ("meta_feed",)),
        Preset("1x1", "cover", 1080, 1080, frozenset({"image", "video"}), ("meta_feed",),
               ("meta_feed", "tiktok")),
        Preset("email_600", "width", 600, 0, frozenset({"image"}), ("email",), ()),
        Preset("email_1200", "width", 1200, 0, frozenset({"image"}), ("email",), ()),
        Preset("amazon_2000", "amazon", 2000, 2000, frozenset({"image"}), ("amazon_main",), ()),
    )
}  # fmt: skip


def presets_for(kind: str) -> list[Preset]:
    return [p for p in PRESETS.values() if kind in p.kinds]


def output_suffix(preset: Preset, kind: str) -> tuple[str, str]:
    """(file suffix, media type) of what ``render`` writes."""
    if kind == "video":
        return ".mp4", "video/mp4"
    if preset.fit == "amazon":
        return ".png", "image/png"  # lossless, so the white stays 255 at every edge
    return ".jpg", "image/jpeg"


def fit_image(still: Image.Image, preset: Preset) -> Image.Image:
    """The master's picture (RGB) shaped for ``preset``."""
    if preset.fit == "width":
        height = max(1, round(still.height * preset.width / still.width))
        return still.resize((preset.width, height), Image.Resampling.LANCZOS)
    if preset.fit == "amazon":
        return _on_white(still, preset.width)
    return _cover(still, preset.width, preset.height)


def _cover(still: Image.Image, width: int, height: int) -> Image.Image:
    box = cover_box(still.width, still.height, width, height)
    return still.resize((width, height), Image.Resampling.LANCZOS, box=box)


def cover_box(
    source_width: int, source_height: int, width: int, height: int
) -> tuple[int, int, int, int]:
    """The centred region of the source with the target's ratio."""
    target = width / height
    if source_width / source_height > target:
        crop = round(source_height * target)
        left = (source_width - crop) // 2
        return left, 0, left + crop, source_height
    crop = round(source_width / target)
    top = (source_height - crop) // 2
    return 0, top, source_width, top + crop


def _on_white(still: Image.Image, side: int) -> Image.Image:
    difference = ImageChops.difference(still, Image.new("RGB", still.size, WHITE))
    box = difference.getbbox() or (0, 0, still.width, still.height)
    product = still.crop(box)
    scale = round(side * 0.9) / max(product.size)
    size = (max(1, round(product.width * scale)), max(1, round(product.height * scale)))
    product = product.resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (side, side), WHITE)
    canvas.paste(product, ((side - size[0]) // 2, (side - size[1]) // 2))
    return canvas


def render_image(still: Image.Image, preset: Preset, target: Path) -> None:
    shaped = fit_image(still, preset)
    if preset.fit == "amazon":
        shaped.save(target, "PNG", compress_level=1)  # 2000x2000: level 6 takes 4x longer
    else:
        shaped.save(target, "JPEG", quality=85 if preset.fit == "width" else 90)


def render_video(source: Path, preset: Preset, target: Path) -> None:
    """Re-encode ``source``'s picture to ``preset`` (cover), copying its sound."""
    if preset.fit != "cover":
        raise RenditionFailed(f"{preset.name} is made from images only", field="presets")
    try:
        _transcode(source, preset, target)
    except av.FFmpegError as exc:
        raise RenditionFailed(f"{preset.name}: the video could not be re-encoded: {exc}") from None


def _transcode(source: Path, preset: Preset, target: Path) -> None:
    with av.open(str(source)) as inp, av.open(str(target), "w", format="mp4") as out:
        video_in = inp.streams.video[0]
        video_in.thread_type = "AUTO"
        rate = video_in.average_rate or 30
        video_out = out.add_stream("libx264", rate=rate)
        video_out.width, video_out.height = preset.width, preset.height
        video_out.pix_fmt = "yuv420p"
        video_out.bit_rate = VIDEO_BITRATE
        # Constant bit rate: a still or simple picture would otherwise fall under TikTok's
        # 516 kbps floor, which checks the file's rate, not its quality.
        rate_text = str(VIDEO_BITRATE)
        video_out.options = {
            "preset": "veryfast",
            "x264-params": "nal-hrd=cbr",
            "minrate": rate_text,
            "maxrate": rate_text,
            "bufsize": rate_text,
        }
        audio_in = inp.streams.audio[0] if inp.streams.audio else None
        audio_out = out.add_stream_from_template(audio_in) if audio_in is not None else None
        streams = [video_in] + ([audio_in] if audio_in is not None else [])
        graph: av.filter.Graph | None = None
        for packet in inp.demux(*streams):
            if packet.stream is audio_in and audio_out is not None:
                if packet.dts is not None:
                    packet.stream = audio_out
                    out.mux(packet)
                continue
            for frame in packet.decode():
                if not isinstance(frame, av.VideoFrame):
                    continue
                if graph is None:
                    graph = _cover_graph(video_in, frame, preset)
                graph.push(frame)
                shaped = graph.vpull()
                out.mux(video_out.encode(shaped))
        out.mux(video_out.encode(None))


def _cover_graph(
    stream: av.video.VideoStream, first: av.VideoFrame, preset: Preset
) -> av.filter.Graph:
    """FFmpeg's own crop and scale (no round trip through Pillow per frame)."""
    left, top, right, bottom = cover_box(first.width, first.height, preset.width, preset.height)
    graph = av.filter.Graph()
    source = graph.add_buffer(template=stream)
    crop = graph.add("crop", f"{right - left}:{bottom - top}:{left}:{top}")
    scale = graph.add("scale", f"{preset.width}:{preset.height}:flags=bicubic")
    shape = graph.add("format", "yuv420p")
    sink = graph.add("buffersink")
    source.link_to(crop)
    crop.link_to(scale)
    scale.link_to(shape)
    shape.link_to(sink)
    graph.configure()
    return graph
