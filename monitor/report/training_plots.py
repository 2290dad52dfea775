"""The loss curves of a training run (one PNG per model)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from monitor.nets.recipe import EpochLog


def plot_losses(history: list[EpochLog], path: Path, *, title: str) -> None:
    """Training and held-out loss per epoch, and any extra losses the recipe logs, on a log scale."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    epochs = [h.epoch for h in history]
    ax.plot(epochs, [h.train_loss for h in history], marker="o", label="training")
    held = [(h.epoch, h.heldout_loss) for h in history if h.heldout_loss is not None]
    if held:
        ax.plot(*zip(*held, strict=True), marker="o", label="held out")
    names = sorted({name for h in history for name, _ in h.extra})
    for name in names:
        points = [(h.epoch, v) for h in history for n, v in h.extra if n == name]
        ax.plot(*zip(*points, strict=True), linestyle="--", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if all(h.train_loss > 0 for h in history):
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
