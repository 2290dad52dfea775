"""The demo's working folder: made afresh for every demo, and never a folder the demo did not make."""

import shutil
from pathlib import Path

MARKER = ".furnace-monitor-demo"
# What a demo writes into its folder: a folder of these alone, with live/, is a demo's from before the marker.
DEMO_ENTRIES = frozenset({"live", "state", "analysis", "forecasts", "training"})


class OutFolderError(Exception):
    """`--out` names something the demo must not delete."""


def prepare_out(out: Path) -> None:
    """An empty `out` with the demo's marker in it. A folder an earlier demo made (it holds the marker) is
    wiped; a missing or empty folder is used; anything else (`--out .` in a checkout, a file, a link) is
    refused untouched, since the demo deletes its folder the next time."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutFolderError(
            f"--out {out} is not a folder an earlier demo made; nothing deleted, choose another"
        )
    if out.is_dir():
        if (out / MARKER).is_file() or _older_demo(out):
            shutil.rmtree(out)
        elif any(out.iterdir()):
            raise OutFolderError(
                f"--out {out} is not empty and holds no earlier demo output ({MARKER}); nothing deleted, "
                "choose a new or empty folder"
            )
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(
        "Written by `furnace-monitor demo`: the next demo with this --out deletes this whole folder.\n",
        encoding="utf-8",
    )


def _older_demo(out: Path) -> bool:
    names = {p.name for p in out.iterdir()}
    return "live" in names and names <= DEMO_ENTRIES and all((out / n).is_dir() for n in names)
