"""Digitize a recorded run: every frame's overlay read into one row; a bad frame is a flagged row."""

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm import tqdm

from monitor.ingest.loader import FrameError, load_frames
from monitor.records import FieldRead, OverlayReading


class FrameReader(Protocol):
    """Anything that reads overlays frame by frame: the reader, or the naive reference."""

    def new_run(self) -> None: ...

    def read(self, image: np.ndarray, *, index: int, name: str) -> OverlayReading: ...


@dataclass(frozen=True, slots=True)
class DigitizedRow:
    """One frame of the table: its number, file, and the reading or why there is none."""

    no: int
    file: str
    reading: OverlayReading | None
    frame_error: str | None = None

    def field(self, name: str) -> FieldRead | None:
        return None if self.reading is None else self.reading.fields()[name]

    def value(self, name: str) -> int | None:
        f = self.field(name)
        return None if f is None else f.value

    def confidence(self, name: str) -> float | None:
        f = self.field(name)
        return None if f is None else round(f.confidence, 4)

    @property
    def flags(self) -> list[str]:
        if self.frame_error:
            return [f"frame: {self.frame_error}"]
        return [str(f) for f in self.reading.flags] if self.reading else []


def digitize(
    paths: list[Path],
    reader: FrameReader,
    *,
    size: tuple[int, int] | None = None,
    progress: bool = True,
) -> list[DigitizedRow]:
    """Read the overlay of each frame file, in the given (time) order."""

    reader.new_run()
    rows = []
    frames = load_frames(paths, size=size)
    bar = tqdm(frames, total=len(paths), unit="frame", desc="digitize", disable=not progress)
    for index, (path, frame) in enumerate(zip(paths, bar, strict=True)):
        if isinstance(frame, FrameError):
            rows.append(DigitizedRow(no=index + 1, file=path.name, reading=None, frame_error=str(frame)))
            continue
        reading = reader.read(frame.image, index=index, name=path.name)
        rows.append(DigitizedRow(no=index + 1, file=path.name, reading=reading))
    return rows
