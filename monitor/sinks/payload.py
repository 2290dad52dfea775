"""How a FrameResult is written out: the JSON documents for MQTT and the store, the points for InfluxDB.
One place, so every sink says the same thing."""

import json
from dataclasses import asdict
from typing import Any

from monitor.records import FrameResult, Prediction, StageEvent
from monitor.sinks.base import RunContext


def frame_document(context: RunContext, result: FrameResult) -> dict[str, Any]:
    """The per-frame JSON (MQTT topic `frame`)."""
    reading = result.reading
    f = result.features
    return {
        "id": context.frame_id(result.file),
        "rig": context.rig,
        "run": context.run,
        "file": result.file,
        "index": result.index,
        "time_s": result.time_s,
        "timestamp": context.timestamp(result.time_s),
        "t1_c": result.t1_c,
        "t2_c": result.t2_c,
        "t1_confidence": None if reading is None else round(reading.t1.confidence, 4),
        "t2_confidence": None if reading is None else round(reading.t2.confidence, 4),
        "stage": str(result.stage),
        "crystal_fraction": result.crystal_fraction,
        # the pipeline's progress: the run's history where it tells, else the image model's reading
        "progress_pct": None if result.progress is None else round(result.progress.pct, 2),
        "progress_basis": None if result.progress is None else str(result.progress.basis),
        "mean": None if f is None else round(f.mean, 3),
        "mean_b": None if f is None else round(f.mean_b, 3),
        "mean_g": None if f is None else round(f.mean_g, 3),
        "mean_r": None if f is None else round(f.mean_r, 3),
        "textured_share": None if f is None else round(f.textured_share, 4),
        "level": None if f is None or f.level != f.level else round(f.level, 3),
        "gain": None if f is None else round(f.gain, 4),
        "flags": [str(f) for f in result.flags],
        "thermocouples": {
            h.name: {"score": round(h.score, 3), "reliable": h.reliable, "reasons": list(h.reasons)}
            for h in result.thermocouples
        },
        "latency_ms": round(result.latency_ms, 2),
        "step_ms": {step: round(ms, 2) for step, ms in result.step_ms},
        **prediction_document(result.prediction),
    }


# The keys the frame JSON had before there were heads: always there, null when their head is not loaded.
_FIRST_HEADS_KEYS = ("t1_image_c", "progress_image_pct", "forecast")


def prediction_document(prediction: Prediction | None) -> dict[str, Any]:
    """The model outputs of a frame, written from each head's declared fields (heads' SPEC): a flat head's
    fields at the top, any other head's under its name (null when it has nothing for the frame)."""
    doc: dict[str, Any] = dict.fromkeys(_FIRST_HEADS_KEYS)
    for output in () if prediction is None else prediction.outputs:
        if output.spec.flat:
            doc.update(output.rounded())
        else:
            doc[output.spec.name] = None if output.empty else output.rounded()
    return doc


def outputs_json(prediction: Prediction | None) -> str | None:
    """Every head's fields by head name, rounded as in the frame JSON (the store's `outputs` column)."""
    if prediction is None:
        return None
    return json.dumps({o.spec.name: o.rounded() for o in prediction.outputs}, ensure_ascii=False)


def event_document(context: RunContext, event: StageEvent) -> dict[str, Any]:
    """A stage transition (MQTT topics `event` and `alert`)."""
    return {
        "id": context.event_id(str(event.type)),
        "rig": context.rig,
        "run": context.run,
        "type": str(event.type),
        "time_s": event.time_s,
        "timestamp": context.timestamp(event.time_s),
        "file": event.file,
        "snapshot": context.snapshot(event.file),
        "t1_c": event.t1_c,
        "confidence": event.confidence,
        "evidence": [asdict(e) for e in event.evidence],
    }


def frame_fields(result: FrameResult) -> dict[str, float | int]:
    """Numeric fields of the InfluxDB measurement `furnace_frame` (missing values are left out)."""
    doc: dict[str, float | int | None] = {
        "time_s": result.time_s,
        "t1_c": result.t1_c,
        "t2_c": result.t2_c,
        "crystal_fraction": result.crystal_fraction,
        "progress_pct": None if result.progress is None else result.progress.pct,
        "latency_ms": result.latency_ms,
        "flagged": int(result.flagged),
    }
    if result.features is not None:
        f = result.features
        doc.update(
            mean=f.mean, mean_b=f.mean_b, mean_g=f.mean_g, mean_r=f.mean_r, textured_share=f.textured_share,
            level=f.level, gain=f.gain, exposure_step=int(f.exposure_step),
        )  # fmt: skip
    for h in result.thermocouples:  # "1#" -> t1_health
        doc[f"t{h.name.rstrip('#')}_health"] = h.score
    for output in () if result.prediction is None else result.prediction.outputs:
        prefix = "" if output.spec.flat else f"{output.spec.name}_"  # forecast_mean, a flat head's own names
        doc.update((prefix + f.name, v) for f, v in zip(output.spec.fields, output.values, strict=True))
    return {k: v for k, v in doc.items() if v is not None and v == v}  # v == v drops NaN
