"""How a FrameResult is written out: the JSON documents for MQTT and the store, the points for InfluxDB.
One place, so every sink says the same thing."""

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


def prediction_document(prediction: Prediction | None) -> dict[str, Any]:
    """The model outputs of a frame (all None when the models do not run)."""
    if prediction is None:
        return {"t1_image_c": None, "progress_pct": None, "forecast": None}
    forecast = prediction.forecast
    return {
        "t1_image_c": None if prediction.t1_image_c is None else round(prediction.t1_image_c, 1),
        "progress_pct": None if prediction.progress_pct is None else round(prediction.progress_pct, 2),
        "forecast": None
        if forecast is None
        else {
            "horizon_s": forecast.horizon_s,
            "mean": round(forecast.mean, 3),
            "change": round(forecast.change, 3),
            "image": forecast.image,
        },
    }


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
    if result.prediction is not None:
        p = result.prediction
        doc.update(t1_image_c=p.t1_image_c, progress_pct=p.progress_pct)
        if p.forecast is not None:
            doc.update(
                forecast_horizon_s=p.forecast.horizon_s,
                forecast_mean=p.forecast.mean,
                forecast_change=p.forecast.change,
            )
    return {k: v for k, v in doc.items() if v is not None and v == v}  # v == v drops NaN
