"""Bar and line charts as geometry: pure, no I/O, no words.

`bar_chart()` stacks each category's values into one bar; `line_chart()` joins each series'
values into a line, leaving a gap where a value is unknown (None). Both share the value axis:
`nice_ticks()` picks round steps (1, 2 or 5 times a power of ten) up to the largest value.
The words and the SVG markup are in messages/console/chart.svg.j2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH = 720
HEIGHT = 260
LEFT = 56  # the value axis' labels
RIGHT = 12
TOP = 24  # the unit above the value axis
BOTTOM = 40  # the category labels
MAX_LABELS = 13  # category labels shown at most; the others are in the table
BAR_MAX = 56  # px: a bar is no wider, however few the categories
TICKS = 5


@dataclass(frozen=True)
class Tick:
    y: float
    value: float


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Bar:
    series: int  # its index, for the colour and the legend
    name: str
    category: str
    value: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Point:
    series: int
    name: str
    category: str
    value: float
    x: float
    y: float


@dataclass(frozen=True)
class Line:
    series: int
    name: str
    path: str  # an SVG path's d; one "M" per unbroken run of known values


@dataclass(frozen=True)
class Chart:
    kind: str  # "bar" or "line"
    series: list[str]
    ticks: list[Tick]
    labels: list[Label]
    bars: list[Bar]
    lines: list[Line]
    points: list[Point]
    empty: bool = False  # no value known at all
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    base: int = HEIGHT - BOTTOM


def nice_step(largest: float, count: int = TICKS) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving at most `count` steps; whole
    numbers once the largest value is 1 or more."""
    if largest <= 0:
        return 1.0
    rough = largest / count
    power = 10 ** math.floor(math.log10(rough))
    step = next(f * power for f in (1, 2, 5, 10) if f * power >= rough)
    return max(step, 1.0) if largest >= 1 else step


def nice_ticks(largest: float, count: int = TICKS) -> list[float]:
    step = nice_step(largest, count)
    top = step * max(1, math.ceil(largest / step))
    return [round(step * i, 6) for i in range(round(top / step) + 1)]


class _Frame:
    """Category slots along x, values up y, within the chart's plot area."""

    def __init__(self, categories: Sequence[str], largest: float) -> None:
        self.categories = list(categories)
        self.values = nice_ticks(largest)
        self.slot = (WIDTH - RIGHT - LEFT) / max(1, len(self.categories))
        self.scale = (HEIGHT - BOTTOM - TOP) / (self.values[-1] or 1)

    def centre(self, index: int) -> float:
        return round(LEFT + self.slot * (index + 0.5), 1)

    def y(self, value: float) -> float:
        return round(HEIGHT - BOTTOM - value * self.scale, 1)

    def ticks(self) -> list[Tick]:
        return [Tick(self.y(v), v) for v in self.values]

    def labels(self) -> list[Label]:
        every = max(1, math.ceil(len(self.categories) / MAX_LABELS))
        return [Label(self.centre(i), c) for i, c in enumerate(self.categories) if i % every == 0]


def bar_chart(categories: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> Chart:
    """One bar per category, the series stacked in it (in the order given); None counts as 0
    but a chart of None alone is empty."""
    names = list(series)
    known = [v for n in names for v in series[n] if v is not None]
    totals = [sum(series[n][i] or 0 for n in names) for i in range(len(categories))]
    frame = _Frame(categories, max(totals, default=0))
    width = round(min(frame.slot * 0.7, BAR_MAX), 1)
    bars = []
    for i, category in enumerate(categories):
        below = 0.0
        for s, name in enumerate(names):
            value = series[name][i] or 0
            if value > 0:
                top = frame.y(below + value)
                bars.append(
                    Bar(
                        s,
                        name,
                        category,
                        value,
                        round(frame.centre(i) - width / 2, 1),
                        top,
                        width,
                        round(frame.y(below) - top, 1),
                    )
                )
            below += value
    return Chart("bar", names, frame.ticks(), frame.labels(), bars, [], [], empty=not known)


def line_chart(categories: Sequence[str], series: Mapping[str, Sequence[float | None]]) -> Chart:
    """One line per series across the categories; None leaves a gap."""
    names = list(series)
    known = [v for n in names for v in series[n] if v is not None]
    frame = _Frame(categories, max(known, default=0))
    lines, points = [], []
    for s, name in enumerate(names):
        path, joined = [], False
        for i, value in enumerate(series[name]):
            if value is None:
                joined = False
                continue
            point = Point(s, name, categories[i], value, frame.centre(i), frame.y(value))
            points.append(point)
            path.append(f"{'L' if joined else 'M'}{point.x} {point.y}")
            joined = True
        if path:
            lines.append(Line(s, name, " ".join(path)))
    return Chart("line", names, frame.ticks(), frame.labels(), [], lines, points, not points)
