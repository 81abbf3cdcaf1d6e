"""What the HTML report adds to the compiled report: the timeline picture, times as <time>
elements, and the one inline script that shows them in the viewer's time zone.

The picture's geometry is `domain.timeline_picture` (pure); its markup and words are
messages/report/timeline.svg.j2. The script is messages/report/local_times.js.j2; the report
allows it by its sha256 (`script_policy`), in its own <meta> and in the HTTP header it is
served with, and nothing else may run.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from datetime import datetime

from markupsafe import Markup, escape

from bridgekeeper.domain.report import IncidentFacts, iso_text
from bridgekeeper.domain.report_timeline import Entry
from bridgekeeper.domain.timeline_picture import TimelinePicture, sketch_timeline
from bridgekeeper.rendering import Renderer

SCRIPT = "report/local_times.js.j2"


def timeline_svg(
    renderer: Renderer, incident: IncidentFacts, entries: Iterable[Entry], *, now: datetime
) -> Markup:
    """The incident's timeline as SVG markup, safe to put in a page as it is (every text in it
    is escaped). `entries` in timeline order, read once; `now` ends an open incident's axis."""
    return picture_svg(renderer, sketch_timeline(incident, entries, now=now))


def picture_svg(renderer: Renderer, picture: TimelinePicture) -> Markup:
    return Markup(renderer.html("report/timeline.svg.j2", p=picture).strip())


def local_times_script(renderer: Renderer) -> str:
    return renderer.text(SCRIPT).strip()


def script_policy(renderer: Renderer) -> str:
    """The CSP source that lets the report's script, and only it, run."""
    digest = hashlib.sha256(local_times_script(renderer).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def time_element(value: object) -> Markup:
    """A time from the compiled report as a <time> element whose text is the UTC time (as
    `services.report_filters.when` writes it) and whose datetime the script reads."""
    moment = iso_text(value)
    if not moment or not moment.endswith("Z"):
        return escape(moment or "—")
    text = moment.replace("T", " ").replace("Z", " UTC")
    return Markup('<time datetime="{}">{}</time>').format(moment, text)
