"""Measuring, never running: scoring against a simulated run's truth, the OCR and camera sweeps, the
naive reference. Production code (the service, the pipeline, the sinks) never imports this package."""
