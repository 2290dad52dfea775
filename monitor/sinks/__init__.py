"""Outputs: each sink encodes FrameResults for one destination (MQTT, InfluxDB, SQLite); the outbox keeps
them until its writer has delivered them."""
