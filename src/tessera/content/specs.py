"""Channel specs: each asset measured against what each channel takes, rule by rule.

Pure: a file's facts in (what ``media.probe`` read, plus its size), a list of results out, each
a channel, a rule, pass or fail, and the reason in words with the numbers (the reference page
of Create lists the sources). Ratios allow Meta's 3 % tolerance everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

MB = 1024 * 1024
RATIO_TOLERANCE = 0.03
PRINT_DPI = 300
DEFAULT_PRINT_INCHES = (6.0, 4.0)


@dataclass(frozen=True, slots=True)
class RuleResult:
    channel: str
    rule: str
    passed: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


CHANNELS = (
    "tiktok",
    "instagram_reels",
    "meta_feed",
    "email",
    "product_page",
    "amazon_main",
    "print",
)


def _ratio_name(width: int, height: int, allowed: Mapping[str, float]) -> str | None:
    if not width or not height:
        return None
    ratio = width / height
    for name, target in allowed.items():
        if abs(ratio - target) / target <= RATIO_TOLERANCE:
            return name
    return None


class _Rules:
    """Collects one channel's results."""

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.results: list[RuleResult] = []

    def check(self, rule: str, passed: bool, good: str, bad: str) -> None:
        self.results.append(RuleResult(self.channel, rule, passed, good if passed else bad))


def _kind(rules: _Rules, facts: Mapping[str, Any], wanted: set[str]) -> bool:
    kind = str(facts["kind"])
    ok = kind in wanted
    rules.check("media", ok, f"{kind} is taken", f"takes {' or '.join(sorted(wanted))}, not {kind}")
    return ok


def _tiktok(facts: Mapping[str, Any], rules: _Rules) -> None:
    if not _kind(rules, facts, {"video"}):
        return
    width, height = int(facts["width"]), int(facts["height"])
    minimums = {"9:16": (720, 1280), "1:1": (640, 640), "16:9": (1280, 720)}
    ratio = _ratio_name(width, height, {"9:16": 9 / 16, "1:1": 1.0, "16:9": 16 / 9})
    rules.check("aspect_ratio", ratio is not None, f"{ratio}", f"{width}x{height} is not 9:16, "
                "1:1 or 16:9")  # fmt: skip
    if ratio is not None:
        low_w, low_h = minimums[ratio]
        rules.check("resolution", width >= low_w and height >= low_h, f"{width}x{height}",
                    f"{width}x{height} is under {low_w}x{low_h} for {ratio}")  # fmt: skip
    seconds = float(facts.get("duration_seconds") or 0)
    rules.check("duration", 5 <= seconds <= 60, f"{seconds:g} s",
                f"{seconds:g} s is outside 5-60 s")  # fmt: skip
    kbps = int(facts.get("bitrate") or 0) // 1000
    rules.check("bitrate", kbps >= 516, f"{kbps} kbps", f"{kbps} kbps is under 516 kbps")
    _size(rules, facts, 500 * MB)


def _reels(facts: Mapping[str, Any], rules: _Rules) -> None:
    if not _kind(rules, facts, {"video"}):
        return
    width, height = int(facts["width"]), int(facts["height"])
    ratio = _ratio_name(width, height, {"9:16": 9 / 16})
    rules.check("aspect_ratio", ratio is not None, "9:16", f"{width}x{height} is not 9:16")
    rules.check("resolution", width >= 1080 and height >= 1920, f"{width}x{height}",
                f"{width}x{height} is under 1080x1920")  # fmt: skip


def _meta_feed(facts: Mapping[str, Any], rules: _Rules) -> None:
    width, height = int(facts["width"]), int(facts["height"])
    ratio = _ratio_name(width, height, {"1:1": 1.0, "4:5": 4 / 5})
    rules.check("aspect_ratio", ratio is not None, f"{ratio}", f"{width}x{height} is not 1:1 "
                "or 4:5")  # fmt: skip
    shortest = min(width, height)
    rules.check("resolution", shortest >= 600, f"{width}x{height}",
                f"{shortest} px is under the 600 px minimum")  # fmt: skip
    if facts["kind"] == "image":
        _size(rules, facts, 30 * MB)


def _email(facts: Mapping[str, Any], rules: _Rules) -> None:
    if not _kind(rules, facts, {"image"}):
        return
    width = int(facts["width"])
    rules.check("width", width >= 600, f"{width} px fills the 600 px slot",
                f"{width} px is narrower than the 600 px slot")  # fmt: skip
    rules.check("retina", width >= 1200, f"{width} px is 2x the slot",
                f"{width} px is under 1200 px (2x for retina)")  # fmt: skip
    mode = str(facts.get("mode") or "")
    rules.check("colour", mode in {"RGB", "RGBA", "P", "L"}, f"{mode}",
                f"{mode} is not RGB (mail clients show CMYK wrongly)")  # fmt: skip
    _size(rules, facts, 1 * MB)


def _product_page(facts: Mapping[str, Any], rules: _Rules) -> None:
    if not _kind(rules, facts, {"image"}):
        return
    longest = max(int(facts["width"]), int(facts["height"]))
    rules.check("resolution", longest >= 1024, f"{longest} px on the longest side",
                f"{longest} px is under 1024 px on the longest side (zoom)")  # fmt: skip
    _size(rules, facts, 20 * MB)


def _amazon_main(facts: Mapping[str, Any], rules: _Rules) -> None:
    if not _kind(rules, facts, {"image"}):
        return
    fmt = str(facts.get("format"))
    still = fmt in {"JPEG", "PNG", "TIFF"} or (fmt == "GIF" and not facts.get("is_animated"))
    rules.check("format", still, fmt, f"{fmt} is not JPEG, PNG, TIFF or a still GIF")
    longest = max(int(facts["width"]), int(facts["height"]))
    rules.check("resolution", 1000 <= longest <= 10000, f"{longest} px on the longest side",
                f"{longest} px is outside 1000-10000 px on the longest side")  # fmt: skip
    rules.check("background", bool(facts.get("has_white_background")), "pure white (255,255,255)",
                "the background is not pure white RGB 255,255,255 at every edge")  # fmt: skip
    fill = float(facts.get("product_fill") or 0)
    rules.check("product_fill", fill >= 0.85, f"the product fills {fill:.0%}",
                f"the product fills {fill:.0%} of the frame, under 85 %")  # fmt: skip


def _print(facts: Mapping[str, Any], rules: _Rules, inches: tuple[float, float]) -> None:
    if not _kind(rules, facts, {"image"}):
        return
    width, height = int(facts["width"]), int(facts["height"])
    long_in, short_in = max(inches), min(inches)
    long_px, short_px = max(width, height), min(width, height)
    dpi = min(long_px / long_in, short_px / short_in)
    need = f"{round(long_in * PRINT_DPI)}x{round(short_in * PRINT_DPI)} px"
    at = f"{dpi:.0f} dpi at {long_in:g}x{short_in:g} in"
    rules.check("resolution", dpi >= PRINT_DPI, at, f"{at}, under 300 (needs {need})")


def _size(rules: _Rules, facts: Mapping[str, Any], limit: int) -> None:
    size = int(facts.get("size_bytes") or 0)
    rules.check("file_size", size <= limit, f"{size / MB:.2f} MB",
                f"{size / MB:.2f} MB is over {limit / MB:g} MB")  # fmt: skip


_CHECKS: dict[str, Callable[[Mapping[str, Any], _Rules], None]] = {
    "tiktok": _tiktok,
    "instagram_reels": _reels,
    "meta_feed": _meta_feed,
    "email": _email,
    "product_page": _product_page,
    "amazon_main": _amazon_main,
}


def check(
    facts: Mapping[str, Any],
    channels: tuple[str, ...] = CHANNELS,
    print_inches: tuple[float, float] = DEFAULT_PRINT_INCHES,
) -> list[RuleResult]:
    """Every rule of every channel asked for, in order. ``facts`` holds ``kind``, ``width``,
    ``height``, ``size_bytes`` and what the probe read."""
    results: list[RuleResult] = []
    for channel in channels:
        rules = _Rules(channel)
        if channel == "print":
            _print(facts, rules, print_inches)
        else:
            _CHECKS[channel](facts, rules)
        results.extend(rules.results)
    return results


def summary(results: list[dict[str, Any]]) -> dict[str, bool]:
    """Per channel: True when every rule passed (the dashboard's badges)."""
    passed: dict[str, bool] = {}
    for result in results:
        channel = str(result["channel"])
        passed[channel] = passed.get(channel, True) and bool(result["passed"])
    return passed
