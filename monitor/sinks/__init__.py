"""Outputs: each sink serialises FrameResults for one destination (MQTT, InfluxDB, SQLite, stdout)."""
