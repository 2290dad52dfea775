"""Running as a service: the daemon, its HTTP health and metrics, systemd notification."""
