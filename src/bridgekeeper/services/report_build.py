"""Building a report without holding it: the work runs in a worker thread, the database stays
with the event loop.

A `Build` runs in a thread (`asyncio.to_thread`), so compiling and rendering a long timeline
never holds up the event loop (Slack acks, webhooks). It reads the timeline once, through
`Timeline`, page by page: each page is fetched by the event loop, in the caller's session and
transaction, while the thread waits. That pass summarises the timeline (`domain.report_timeline`)
and spills its rows, and each stage's actions, to temporary files; each format then reads them
back a page at a time as the templates loop (`Rows`), and its text goes out through a `Sink` as
UTF-8, in parts of a few megabytes, hashed on the way. JSON is the outline dumped as usual with
markers where the long lists go, which are then written entry by entry.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import pickle
import re
import secrets
import tempfile
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from markupsafe import Markup

from bridgekeeper.domain import report as r
from bridgekeeper.domain.report_timeline import ACTION_KINDS, Entry, TimelineSummary, entry_row
from bridgekeeper.domain.timeline_picture import TimelineSketch
from bridgekeeper.rendering import Renderer
from bridgekeeper.services import report_html

SEPARATOR = "\x1e"
PAGE_ROWS = 2000
PART_BYTES = 4_000_000
BATCH_CHARS = 64_000
T = TypeVar("T")
FetchPage = Callable[[int], Coroutine[Any, Any, Sequence[Any]]]
StorePart = Callable[[int, bytearray], None]  # (part number, its UTF-8)


class Stopped(Exception):
    """The caller gave up on the report (its task was cancelled)."""


class Loop:
    """The event loop, as the worker thread calls it: each call waits for its result."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.stopped = False

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self.stopped:
            coroutine.close()
            raise Stopped
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()


class Timeline:
    """An incident's timeline, page by page (rows: seq, at, actor, kind, text, data, hash)."""

    def __init__(self, loop: Loop, fetch: FetchPage, page_rows: int = PAGE_ROWS) -> None:
        self.loop = loop
        self.fetch = fetch
        self.page_rows = page_rows

    def pages(self) -> Iterator[list[Entry]]:
        after = 0
        while True:
            rows = self.loop.call(self.fetch(after))
            if not rows:
                return
            yield [_entry(*row) for row in rows]
            if len(rows) < self.page_rows:
                return
            after = rows[-1][0]


def _entry(seq: int, at: Any, actor: str, kind: str, text: str, data: Any, digest: str) -> Entry:
    return Entry(seq=seq, at=at, actor=actor, kind=kind, text=text, data=data or {}, hash=digest)


class Said:
    """Each entry's sentence (report/sentences.txt.j2), rendered a page at a time; the few
    entries shown outside the timeline's order (regulatory) are rendered once, up front."""

    def __init__(self, renderer: Renderer, users: Mapping[str, str], kept: list[Any]) -> None:
        self.renderer = renderer
        self.users = users
        self.kept = self.render(kept)
        self.page: dict[int, str] = {}

    def render(self, rows: list[dict[str, Any]]) -> dict[int, str]:
        sentences = self.renderer.text(
            "report/sentences.txt.j2", entries=rows, users=self.users, sep=SEPARATOR
        ).split(SEPARATOR)
        return {row["seq"]: said.strip() for row, said in zip(rows, sentences, strict=False)}

    def learn(self, rows: list[dict[str, Any]]) -> None:
        self.page = self.render(rows)

    def __getitem__(self, seq: int) -> str:
        found = self.page.get(seq)
        return self.kept[seq] if found is None else found


class Spill:
    """Rows written once to a temporary file, a page at a time, and read back as often as
    needed (each reader keeps its own place): the formats read the timeline from here, not
    from the database again."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115  (closed by Build.close)
        self.end = 0

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.file.seek(self.end)
        pickle.dump(rows, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        self.end = self.file.tell()

    def pages(self) -> Iterator[list[dict[str, Any]]]:
        place = 0
        while place < self.end:
            self.file.seek(place)
            rows: list[dict[str, Any]] = pickle.load(self.file)  # our own file
            place = self.file.tell()
            yield rows

    def close(self) -> None:
        self.file.close()


class Rows:
    """A list for the templates, read from the database each time they loop over it."""

    def __init__(self, make: Callable[[], Iterator[dict[str, Any]]], length: int) -> None:
        self.make = make
        self.length = length

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.make()

    def __len__(self) -> int:
        return self.length

    def __bool__(self) -> bool:
        return self.length > 0


class Sink:
    """A format's text as UTF-8, in parts of about `part_bytes`, hashed as it goes. Each part
    is stored as soon as it is full, the first (number 0) too: no part is kept once stored.
    The templates' many small pieces are encoded a batch of about BATCH_CHARS (at most a
    part) at a time: a batch is whole pieces, so a part never splits a character."""

    def __init__(self, store: StorePart, part_bytes: int) -> None:
        self.store = store
        self.part_bytes = part_bytes
        self.batch_limit = min(BATCH_CHARS, part_bytes)
        self.batch: list[str] = []
        self.batch_chars = 0
        self.part = bytearray()
        self.number = 0
        self.hash = hashlib.sha256()

    def write(self, text: str) -> None:
        self.batch.append(text)
        self.batch_chars += len(text)
        if self.batch_chars >= self.batch_limit:
            self._encode()

    def close(self) -> str:
        """The sha256 of the whole text (its last part stored)."""
        self._encode()
        if self.part or self.number == 0:
            self._flush()
        return self.hash.hexdigest()

    def _encode(self) -> None:
        data = "".join(self.batch).encode()
        self.batch, self.batch_chars = [], 0
        self.hash.update(data)
        self.part += data
        if len(self.part) >= self.part_bytes:
            self._flush()

    def _flush(self) -> None:
        part, self.part = self.part, bytearray()
        self.store(self.number, part)
        self.number += 1


class Build:
    """One report: its outline from one pass over the timeline, then each format rendered."""

    def __init__(self, *, renderer: Renderer, source: r.ReportInput, timeline: Timeline) -> None:
        self.renderer = renderer
        self.source = source
        self.timeline = timeline
        self.summary = TimelineSummary()
        self.entries = Spill()
        self.actions: dict[str, Spill] = {}
        self.sketch = self._sketch()

    def _sketch(self) -> TimelineSketch:
        """The HTML report's timeline picture, drawn from the same one read of the timeline."""
        incident = self.source.incident
        now = self.source.generated_at or incident.closed_at or incident.declared_at
        return TimelineSketch(incident, now=now)

    def outline(self) -> dict[str, Any]:
        """The report without its long lists (`domain.report.outline`), from the one read of
        the timeline, which also spills its rows and each stage's actions for the formats."""
        self.close()
        self.summary, self.sketch = TimelineSummary(), self._sketch()
        for page in self.timeline.pages():
            self.spill(page)
        return r.outline(self.source, self.summary)

    def spill(self, page: list[Entry]) -> None:
        rows: list[dict[str, Any]] = []
        actions: dict[str, list[dict[str, Any]]] = {}
        for entry in page:
            self.summary.add(entry)
            self.sketch.add(entry)
            rows.append(row := entry_row(entry))
            if entry.kind in ACTION_KINDS:  # in the stage in force at its time
                actions.setdefault(self.summary.stage_at(entry.at), []).append(row)
        self.entries.add(rows)
        for stage, picked in actions.items():
            self.actions.setdefault(stage, Spill()).add(picked)

    def close(self) -> None:
        for spill in (self.entries, *self.actions.values()):
            spill.close()
        self.entries, self.actions = Spill(), {}

    def write(self, fmt: str, report: dict[str, Any], sink: Sink) -> str:
        """Render a format into `sink`; the sha256 of its text."""
        for piece in self.pieces(fmt, report):
            sink.write(piece)
        return sink.close()

    def text(self, fmt: str, report: dict[str, Any]) -> str:
        return "".join(self.pieces(fmt, report))

    def pieces(self, fmt: str, report: dict[str, Any]) -> Iterator[str]:
        if fmt == "json":
            yield from self.json_pieces(report)
            yield "\n"
            return
        said = Said(self.renderer, report["users"], report["regulatory"]["entries"])
        context = self.streamed(report, said)
        if fmt == "md":
            yield from stripped(self.renderer.text_pieces("report/report.md.j2", **context))
        else:
            yield from self.renderer.html_pieces(
                "report/report.html.j2", **context, **self.html_extras()
            )
            yield "\n"

    def html_extras(self) -> dict[str, Any]:
        """The picture and the local-times script (with the CSP source that allows it)."""
        return {
            "timeline_svg": report_html.picture_svg(self.renderer, self.sketch.picture()),
            "local_times": report_html.local_times_script(self.renderer),
            "script_policy": Markup(report_html.script_policy(self.renderer)),
        }

    def streamed(self, report: dict[str, Any], said: Said) -> dict[str, Any]:
        """The report for the templates: its long lists read as they are looped over."""
        timeline = {
            **report["timeline"],
            "entries": Rows(partial(self.timeline_rows, said), self.summary.length),
        }
        groups = [
            {"stage": stage, "items": Rows(partial(self.action_rows, stage, said), count)}
            for stage, count in self.summary.action_stages.items()
        ]
        actions = {**report["actions"], "by_stage": groups}
        return {**report, "timeline": timeline, "actions": actions, "said": said}

    def timeline_rows(self, said: Said | None) -> Iterator[dict[str, Any]]:
        return _rows(self.entries.pages(), said)

    def action_rows(self, stage: str, said: Said | None) -> Iterator[dict[str, Any]]:
        return _rows(self.actions[stage].pages(), said)

    def json_pieces(self, report: dict[str, Any]) -> Iterator[str]:
        """json.dumps(report, ensure_ascii=False, sort_keys=True), its long lists streamed."""
        token = secrets.token_hex(16)  # no text anyone typed can contain the markers
        lists: dict[str, Callable[[], Iterator[dict[str, Any]]]] = {}

        def marker(make: Callable[[], Iterator[dict[str, Any]]]) -> str:
            name = f"\x00{token}:{len(lists)}"
            lists[json.dumps(name)] = make
            return name

        groups = [
            {"stage": stage, "items": marker(partial(self.action_rows, stage, None))}
            for stage in self.summary.action_stages
        ]
        entries = marker(partial(self.timeline_rows, None))
        outline = {
            **report,
            "timeline": {**report["timeline"], "entries": entries},
            "actions": {**report["actions"], "by_stage": groups},
        }
        text = json.dumps(outline, ensure_ascii=False, sort_keys=True)
        done = 0
        for found in re.finditer("|".join(map(re.escape, lists)), text):
            yield text[done : found.start()]
            yield from json_list(lists[found.group()]())
            done = found.end()
        yield text[done:]


def _rows(pages: Iterable[list[dict[str, Any]]], said: Said | None) -> Iterator[dict[str, Any]]:
    for rows in pages:
        if said is not None and rows:
            said.learn(rows)
        yield from rows


def json_list(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A list as json.dumps writes it (", " between items), an item at a time."""
    yield "["
    comma = ""
    for row in rows:
        yield comma + json.dumps(row, ensure_ascii=False, sort_keys=True)
        comma = ", "
    yield "]"


def stripped(pieces: Iterable[str]) -> Iterator[str]:
    """The pieces as `"".join(pieces).strip() + "\\n"` reads, without joining them."""
    started = False
    blank = ""  # whitespace seen at the end so far: dropped if nothing follows it
    for piece in pieces:
        if not started:
            piece = piece.lstrip()
            started = bool(piece)
        body = piece.rstrip()
        if body:
            yield blank + body
            blank = piece[len(body) :]
        else:
            blank += piece
    yield "\n"
