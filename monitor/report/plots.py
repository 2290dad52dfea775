"""Plots written as PNG files (matplotlib, no display needed)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_temperatures(
    times: list[float | None], t1: list[float | None], t2: list[float | None], path: Path
) -> None:
    """Temperature-time curves of 1# and 2# (the reference paper's Figure 4); unread values are gaps."""
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    for values, label, colour in ((t1, "1#", "tab:red"), (t2, "2#", "tab:blue")):
        pairs = [(t, v) for t, v in zip(times, values, strict=True) if t is not None and v is not None]
        if pairs:
            xs, ys = zip(*pairs, strict=True)
            ax.plot(xs, ys, label=f"thermocouple {label}", color=colour, linewidth=1.2)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("temperature (°C)")
    ax.set_title("Thermocouple temperatures read from the overlay")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
