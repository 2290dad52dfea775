"""The learned models: architectures (networks), training recipes (regressor, forecast), the shared
lifecycle (device, manifest, save/load) and the runtime that runs them on live frames."""
