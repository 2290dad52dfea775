"""Image analytics: per-frame features, the online stage detector, thermocouple health, the run summary."""
