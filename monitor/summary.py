"""A short text account of an analysed run: its stages, events, kinetics and thermocouples."""

from monitor.analytics.result import AnalysisResult
from monitor.records import FlagKind


def _num(value: float | None, unit: str, digits: int = 0) -> str:
    return "—" if value is None else f"{value:.{digits}f} {unit}"


def describe_analysis(result: AnalysisResult) -> str:
    s = result.summary
    lines = [
        f"run {result.run}: {len(result.times)} frames",
        "",
        "event                    time_s   file       1# (degC)   confidence",
    ]
    lines += [
        f"{e.type!s:<24} {e.time_s:>6.0f}   {e.file:<9}  {_num(e.t1_c, ''):<10}  {e.confidence:.2f}"
        for e in result.events
    ]
    lines += [f"{m.type!s:<24} not found: {m.reason}" for m in result.missed]
    steps = sum(any(f.kind is FlagKind.EXPOSURE_STEP for f in flags) for flags in result.flags)
    glints = sum(any(f.kind is FlagKind.GLINT for f in flags) for flags in result.flags)
    lines += [
        "",
        f"camera: {steps} frames of exposure steps, {glints} of glints (flagged in features.csv)",
        f"melting temperature          {_num(s.melting_temperature_c, 'degC')}",
        f"crystallization temperature  {_num(s.crystallization_temperature_c, 'degC')}",
        f"incubation time              {_num(s.incubation_s, 's')}",
        "Avrami fit                   "
        + ("—" if s.avrami is None else f"n = {s.avrami.n:.2f}, k = {s.avrami.k:.3g} (r² {s.avrami.r2:.3f})"),
        "",
    ]
    for h in result.health:
        verdict = "reliable" if h.reliable else "UNRELIABLE"
        lines.append(
            f"thermocouple {h.name}: {verdict} (score {h.score:.2f})"
            + (f": {'; '.join(h.reasons)}" if h.reasons else "")
        )
    return "\n".join(lines)
