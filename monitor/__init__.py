"""furnace-monitor: frames of a hot-thermocouple furnace in, numbers, forecasts and alerts out."""

__version__ = "0.1.0"
