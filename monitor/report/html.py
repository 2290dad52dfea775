"""One self-contained HTML report of an analysed run: tables, embedded plots, no external resources."""

import base64
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path

from monitor.analytics.result import AnalysisResult, RunSummary
from monitor.records import MissedEvent, StageEvent, ThermocoupleHealth

DASH = "—"
MAX_FLAGGED_LISTED = 20
CORRELATION_KEYS = ("1#", "2#", "mean", "probe_sum")
CAPTIONS = {
    "mean": "Whole-frame mean with the detected events and the stages",
    "mean_diff": "First difference of the whole-frame mean",
    "channels": "Blue, green and red channel means",
    "temperatures": "Thermocouples 1# and 2#",
    "fraction": "Crystallized fraction: image measure, event progress and the Avrami fit",
    "sample": "A frame of the run: the sample box (green) and, if a later cue disagreed, its box (orange)",
}
CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f2f2f2; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; } .muted { color: #777; }
"""


def fmt_value(value: float | None) -> str:
    """Integral values without decimals, others as Python's shortest exact form; '—' when missing."""
    if value is None or math.isnan(value):
        return DASH
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def fmt_fixed(value: float | None, decimals: int) -> str:
    """The value with a fixed number of decimals; '—' when missing."""
    if value is None or math.isnan(value):
        return DASH
    return f"{value:.{decimals}f}"


def fmt_general(value: float | None, digits: int = 3) -> str:
    """The value with `digits` significant digits (for small rate constants); '—' when missing."""
    if value is None or math.isnan(value):
        return DASH
    return f"{value:.{digits}g}"


def _cell(text: str, numeric: bool) -> str:
    return f'<td class="num">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[bool] = ()) -> str:
    """A table of plain-text cells (every cell escaped); `numeric` right-aligns columns."""
    flags = list(numeric) + [False] * (len(headers) - len(numeric))
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = ["<tr>" + "".join(_cell(c, n) for c, n in zip(row, flags, strict=False)) + "</tr>" for row in rows]
    if not body:
        body = [f'<tr><td colspan="{len(headers)}" class="muted">none</td></tr>']
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _summary_rows(summary: RunSummary) -> list[list[str]]:
    fit = summary.avrami
    return [
        ["melting temperature (1# at melting_complete, °C)", fmt_value(summary.melting_temperature_c)],
        [
            "crystallization temperature (1# at crystallization_start, °C)",
            fmt_value(summary.crystallization_temperature_c),
        ],
        ["cooling start (s)", fmt_value(summary.cooling_start_s)],
        ["incubation time (s)", fmt_value(summary.incubation_s)],
        ["Avrami n", DASH if fit is None else fmt_fixed(fit.n, 3)],
        ["Avrami k", DASH if fit is None else fmt_general(fit.k)],
        ["Avrami r²", DASH if fit is None else fmt_fixed(fit.r2, 3)],
    ]


def _event_rows(events: Sequence[StageEvent], missed: Sequence[MissedEvent]) -> list[list[str]]:
    """Found events with their confidence and evidence, then the ones not found with the reason."""
    rows = [
        [str(e.type), fmt_value(e.time_s), e.file, fmt_value(e.t1_c), fmt_fixed(e.confidence, 2),
         "; ".join(f"{v.signal} {fmt_general(v.value)} (threshold {fmt_general(v.threshold)})"
                   for v in e.evidence) or DASH]
        for e in events
    ]  # fmt: skip
    return rows + [[str(m.type), DASH, DASH, DASH, DASH, f"not found: {m.reason}"] for m in missed]


def _health_rows(health: Sequence[ThermocoupleHealth]) -> list[list[str]]:
    return [
        [h.name, "yes" if h.reliable else "no", fmt_fixed(h.score, 2), "; ".join(h.reasons) or DASH]
        for h in health
    ]


def _correlation_table(correlation: Mapping[str, Mapping[str, float | None]]) -> str:
    """Pearson r between the series, rows and columns in the usual order, then any other keys."""
    keys = [k for k in CORRELATION_KEYS if k in correlation] + [
        k for k in correlation if k not in CORRELATION_KEYS
    ]
    if not keys:
        return '<p class="muted">no correlation table</p>'
    head = "<th></th>" + "".join(f"<th>{escape(k)}</th>" for k in keys)
    rows = []
    for row in keys:
        cells = "".join(_cell(fmt_fixed(correlation[row].get(col), 3), True) for col in keys)
        rows.append(f"<tr><th>{escape(row)}</th>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _figure(name: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    caption = escape(CAPTIONS.get(name, name))
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{escape(name, quote=True)}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _flags_section(result: AnalysisResult) -> str:
    flagged = [(i, flags) for i, flags in enumerate(result.flags) if flags]
    rows = [
        [
            str(i),
            fmt_value(result.times[i]) if i < len(result.times) else DASH,
            result.files[i] if i < len(result.files) else DASH,
            "; ".join(map(str, flags)),
        ]
        for i, flags in flagged[:MAX_FLAGGED_LISTED]
    ]
    shown = f" (the first {MAX_FLAGGED_LISTED} listed)" if len(flagged) > MAX_FLAGGED_LISTED else ""
    intro = f"<p>{len(flagged)} of {len(result.times)} frames flagged{shown}.</p>"
    return intro + _table(["frame", "time (s)", "file", "flags"], rows, numeric=[True, True])


def _sample_section(result: AnalysisResult, plots: Mapping[str, Path]) -> str:
    """Where the sample was found, how, how sure; the later check; the marked frame."""
    finding = result.sample
    if finding is None:
        return '<p class="muted">not located (no frames: a table of means)</p>'
    loc, b = finding.location, finding.location.box
    rows = [
        ["box (x, y, width, height; px)", f"{b.x}, {b.y}, {b.width}, {b.height}"],
        ["method", loc.method],
        ["confidence", fmt_fixed(loc.confidence, 2)],
        ["reason", loc.reason],
    ]
    if finding.check is not None:
        c = finding.check
        verdict = "agrees" if c.agrees else "DISAGREES (box kept for this run)"
        rows.append([f"check ({c.method}, t = {fmt_value(c.time_s)} s)", f"{verdict}: {c.reason}"])
    figure = _figure("sample", plots["sample"]) if "sample" in plots else ""
    return _table(["", ""], rows) + figure


def _overview(result: AnalysisResult) -> str:
    span = f"{fmt_value(result.times[0])}–{fmt_value(result.times[-1])} s" if result.times else DASH
    text = f"{len(result.times)} frames, {span}, {len(result.events)} events"
    return f'<p class="muted">{escape(text)}</p>'


def render_report(result: AnalysisResult, plots: Mapping[str, Path]) -> str:
    """The report as one HTML document (images embedded as base64 data URIs)."""
    title = escape(f"Furnace run report: {result.run}")
    parts = [
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>',
        f"<style>{CSS}</style></head><body><h1>{title}</h1>{_overview(result)}",
        "<h2>Summary</h2>"
        + _table(["quantity", "value"], _summary_rows(result.summary), numeric=[False, True]),
        "<h2>Events</h2>"
        + _table(
            ["type", "time (s)", "file", "1# (°C)", "confidence", "evidence"],
            _event_rows(result.events, result.missed),
            [False, True, False, True, True],
        ),
        "<h2>Thermocouple health</h2>"
        + _table(
            ["thermocouple", "reliable", "score", "reasons"],
            _health_rows(result.health),
            [False, False, True],
        ),
        "<h2>Correlation (Pearson r)</h2>" + _correlation_table(result.correlation),
        "<h2>Sample</h2>" + _sample_section(result, plots),
        "<h2>Plots</h2>" + "".join(_figure(name, path) for name, path in plots.items() if name != "sample"),
        "<h2>Flagged frames</h2>" + _flags_section(result),
        "</body></html>\n",
    ]
    return "\n".join(parts)


def write_report(result: AnalysisResult, folder: Path, plots: dict[str, Path]) -> Path:
    """Write folder/report.html, self-contained (inline CSS, embedded plots); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.html"
    path.write_text(render_report(result, plots), encoding="utf-8")
    return path
