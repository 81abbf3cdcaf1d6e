"""An incident's timeline as a picture's geometry: pure, no I/O, no words.

`sketch_timeline()` lays out one time axis: the response stages as bands, the severity as a
step line, and alerts, notes, pins and stakeholder updates as marks in a row each, with tick
times chosen for the incident's length (minutes for a short one, days for a long one). Marks
closer than a few pixels share one bucket and are drawn as one mark with a count, so the
picture stays the same small size for 10 entries or 200,000. The words and the SVG markup are
in messages/report/timeline.svg.j2 (`services.report_pictures.timeline_svg` renders both).

`TimelineSketch` does the same one entry at a time, for a timeline read page by page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bridgekeeper.domain.report import IncidentFacts
from bridgekeeper.domain.report_timeline import COMMUNICATION_KINDS, FIRST_STAGE, Entry

WIDTH = 960
LEFT = 104  # the row labels' column
RIGHT = 16
BUCKET_PX = 6  # marks closer than this share one mark
MIN_SPAN = timedelta(minutes=5)
MAX_TICKS = 8
TEXT_CHARS = 120  # of a single entry's text, in its mark's tooltip
SEVERITIES = ("sev1", "sev2", "sev3", "sev4")
ROWS = ("alerts", "notes", "pins", "updates")
ROW_KINDS = {"note": "notes", "task_done": "notes", "pinned": "pins", "pinned_edited": "pins"}
ROW_KINDS.update(dict.fromkeys(COMMUNICATION_KINDS, "updates"))
TICK_STEPS = (
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    7200,
    10800,
    21600,
    43200,
    86400,
    172800,
    604800,
    1209600,
    2592000,
)
# Where things go, top to bottom (px)
STAGE_Y, STAGE_H = 8, 24
SEVERITY_Y, SEVERITY_STEP = 44, 12
ROW_Y, ROW_H = 100, 20
AXIS_Y = ROW_Y + ROW_H * len(ROWS) + 4
HEIGHT = AXIS_Y + 24


@dataclass(frozen=True)
class Band:
    stage: str
    x: float
    width: float
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Mark:
    """One entry, or `count` entries between `start` and `end` that share a bucket."""

    row: str
    x: float
    y: float
    width: float
    count: int
    start: datetime
    end: datetime
    kind: str
    text: str  # the single entry's text (shortened); "" for a bucket of several


@dataclass(frozen=True)
class Tick:
    x: float
    at: datetime
    unit: str  # "minute", "hour" or "day": how the label reads


@dataclass(frozen=True)
class Moment:
    name: str  # "declared", "closed"
    x: float
    at: datetime


@dataclass(frozen=True)
class TimelinePicture:
    number: int
    title: str
    start: datetime
    end: datetime
    bands: list[Band]
    severity_path: str  # an SVG path's d: the severity over time as steps
    severity_changes: int
    marks: list[Mark]
    ticks: list[Tick]
    moments: list[Moment]
    counts: dict[str, int]  # entries per row
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    rows: dict[str, float] = field(default_factory=dict)  # row: its top y
    severity_y: dict[str, float] = field(default_factory=dict)
    stage_y: int = STAGE_Y
    stage_h: int = STAGE_H
    row_h: int = ROW_H
    axis_y: int = AXIS_Y


@dataclass
class _Bucket:
    count: int
    start: datetime
    end: datetime
    kind: str
    text: str


class Axis:
    """Times to x positions between LEFT and WIDTH - RIGHT."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.end = max(end, start + MIN_SPAN)
        self.seconds = (self.end - self.start).total_seconds()
        self.px = WIDTH - RIGHT - LEFT
        self.buckets = self.px // BUCKET_PX
        self.per_second = self.px / BUCKET_PX / self.seconds

    def x(self, at: datetime) -> float:
        share = (at - self.start).total_seconds() / self.seconds
        return round(LEFT + self.px * min(max(share, 0.0), 1.0), 1)

    def bucket(self, at: datetime) -> int:
        """Which BUCKET_PX-wide slice of the axis `at` falls in (called for every entry)."""
        found = int((at - self.start).total_seconds() * self.per_second)
        return min(max(found, 0), self.buckets)

    def ticks(self) -> list[Tick]:
        step = next((s for s in TICK_STEPS if self.seconds / s <= MAX_TICKS), TICK_STEPS[-1])
        unit = "day" if step >= 86400 else "hour" if step >= 3600 else "minute"
        first = math.ceil(self.start.timestamp() / step) * step
        moments = range(int(first), int(self.end.timestamp()) + 1, step)
        return [
            Tick(self.x(at), at, unit) for at in (datetime.fromtimestamp(t, UTC) for t in moments)
        ]


class TimelineSketch:
    """Collects what the picture shows from the timeline, one entry at a time, in order."""

    def __init__(self, incident: IncidentFacts, *, now: datetime) -> None:
        self.incident = incident
        end = incident.closed_at if incident.status == "closed" and incident.closed_at else now
        self.axis = Axis(min(incident.detected_at, incident.declared_at), end)
        self.stages: list[tuple[datetime, str]] = [(incident.declared_at, FIRST_STAGE)]
        self.severities: list[tuple[datetime, str]] = [
            (incident.declared_at, incident.initial_severity)
        ]
        self.buckets: dict[tuple[str, int], _Bucket] = {}
        self.counts = dict.fromkeys(ROWS, 0)

    def add(self, entry: Entry) -> None:
        kind = entry.kind
        if kind == "stage_changed":
            self.stages.append((entry.at, str(entry.data.get("to") or self.stages[-1][1])))
        elif kind == "severity_changed":
            self.severities.append((entry.at, str(entry.data.get("to") or "")))
        row = ROW_KINDS.get(kind) or ("alerts" if kind.startswith("alert_") else None)
        if row is not None:
            self._mark(row, entry)

    def _mark(self, row: str, entry: Entry) -> None:
        self.counts[row] += 1
        key = (row, self.axis.bucket(entry.at))
        found = self.buckets.get(key)
        if found is None:
            text = entry.text or str(entry.data.get("title") or "")
            self.buckets[key] = _Bucket(1, entry.at, entry.at, entry.kind, _shorten(text))
        else:
            found.count += 1
            found.start, found.end = min(found.start, entry.at), max(found.end, entry.at)

    def picture(self) -> TimelinePicture:
        axis = self.axis
        return TimelinePicture(
            number=self.incident.number,
            title=self.incident.title,
            start=axis.start,
            end=axis.end,
            bands=self._bands(),
            severity_path=self._severity_path(),
            severity_changes=len(self.severities) - 1,
            marks=[
                self._drawn(row, bucket)
                for (row, _), bucket in sorted(
                    self.buckets.items(), key=lambda item: (ROWS.index(item[0][0]), item[0][1])
                )
            ],
            ticks=axis.ticks(),
            moments=self._moments(),
            counts=dict(self.counts),
            rows={row: ROW_Y + ROW_H * i for i, row in enumerate(ROWS)},
            severity_y={s: _severity_y(s) for s in SEVERITIES},
        )

    def _drawn(self, row: str, bucket: _Bucket) -> Mark:
        x = self.axis.x(bucket.start)
        width = 2.0 if bucket.count == 1 else float(BUCKET_PX - 1)
        top = ROW_Y + ROW_H * ROWS.index(row) + 3
        return Mark(
            row=row,
            x=x,
            y=top,
            width=width,
            count=bucket.count,
            start=bucket.start,
            end=bucket.end,
            kind=bucket.kind,
            text=bucket.text,
        )

    def _bands(self) -> list[Band]:
        """Each stage from its change to the next; bands under a pixel wide are left out."""
        ends = [at for at, _ in self.stages[1:]] + [self.axis.end]
        bands = []
        for (start, stage), end in zip(self.stages, ends, strict=True):
            x, right = self.axis.x(start), self.axis.x(end)
            if right - x >= 1:
                bands.append(Band(stage, x, round(right - x, 1), start, end))
        return bands

    def _severity_path(self) -> str:
        steps: list[str] = []
        for at, severity in self.severities:
            x, y = self.axis.x(at), _severity_y(severity)
            steps.append(f"M{x} {y}" if not steps else f"H{x}V{y}")
        steps.append(f"H{self.axis.x(self.axis.end)}")
        return "".join(steps)

    def _moments(self) -> list[Moment]:
        incident = self.incident
        found = [Moment("declared", self.axis.x(incident.declared_at), incident.declared_at)]
        if incident.status == "closed" and incident.closed_at:
            found.append(Moment("closed", self.axis.x(incident.closed_at), incident.closed_at))
        return found


def sketch_timeline(
    incident: IncidentFacts, entries: Iterable[Entry], *, now: datetime
) -> TimelinePicture:
    """The picture of an incident's timeline (entries in order); `now` ends an open one."""
    sketch = TimelineSketch(incident, now=now)
    for entry in entries:
        sketch.add(entry)
    return sketch.picture()


def _severity_y(severity: str) -> float:
    rank = SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES) - 1
    return SEVERITY_Y + SEVERITY_STEP * rank


def _shorten(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TEXT_CHARS else line[: TEXT_CHARS - 1] + "…"
