"""A Prediction of the first two heads from their numbers, as tests wrote `Prediction(...)` before heads."""

from monitor.nets.heads import forecast as forecast_head
from monitor.nets.heads import temperature_progress
from monitor.records import Forecast, Prediction


def first_heads(t1_c: float | None, progress: float | None, forecast: Forecast | None) -> Prediction:
    """Both heads' outputs for a frame; a None forecast: the forecast head has nothing for it."""
    ahead = forecast_head.SPEC.missing() if forecast is None else forecast_head.forecast_output(forecast)
    return Prediction((temperature_progress.SPEC.output(t1_c, progress), ahead))
