"""Score a digitized run against the simulator's truth.csv: accuracy per field and every confusion case."""

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path

from monitor.ingest.loader import list_frames
from monitor.overlay.digitize import DigitizedRow, FrameReader, digitize

# field in the table -> column in truth.csv
TRUTH_COLUMN = {"time": "time_s", "t1": "t1_c", "t2": "t2_c"}


@dataclass(frozen=True, slots=True)
class Confusion:
    """A field that was not read as the truth: what was seen, what was kept, and whether it was flagged."""

    file: str
    field: str
    raw: str
    read: int | None
    truth: int
    flag: str

    @property
    def wrong(self) -> bool:
        """A value was kept and it is not the truth (worse than an empty, flagged cell)."""
        return self.read is not None


@dataclass(slots=True)
class FieldScore:
    total: int = 0
    exact: int = 0
    flagged: int = 0  # frames whose field carries a flag (error or warning)
    empty: int = 0  # no value kept
    wrong: int = 0  # a value kept that is not the truth
    wrong_unflagged: int = 0  # ... and nothing says so

    @property
    def accuracy(self) -> float:
        return self.exact / self.total if self.total else 0.0


@dataclass(slots=True)
class OcrScore:
    fields: dict[str, FieldScore] = field(default_factory=lambda: {k: FieldScore() for k in TRUTH_COLUMN})
    confusions: list[Confusion] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            name: {
                "total": s.total,
                "exact": s.exact,
                "accuracy": round(s.accuracy, 6),
                "flagged": s.flagged,
                "empty": s.empty,
                "wrong": s.wrong,
                "wrong_unflagged": s.wrong_unflagged,
            }
            for name, s in self.fields.items()
        }


def read_truth(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return {row["file"]: row for row in csv.DictReader(f)}


def score(rows: list[DigitizedRow], truth: dict[str, dict[str, str]]) -> OcrScore:
    """Compare each row with the truth row of the same file."""
    result = OcrScore()
    for row in rows:
        expected = truth.get(row.file)
        if expected is None:
            continue
        for name, column in TRUTH_COLUMN.items():
            s = result.fields[name]
            want = int(float(expected[column]))
            got = row.value(name)
            f = row.field(name)
            flag = (f.error or f.warning or "") if f else (row.frame_error or "")
            s.total += 1
            s.flagged += bool(flag)
            s.empty += got is None
            if got == want:
                s.exact += 1
                continue
            s.wrong += got is not None
            s.wrong_unflagged += got is not None and not flag
            result.confusions.append(
                Confusion(file=row.file, field=name, raw=f.raw if f else "", read=got, truth=want, flag=flag)
            )
    return result


def format_score(score: OcrScore, *, frames: int, seconds: float, limit: int = 20) -> str:
    lines = [
        f"{frames} frames in {seconds:.1f} s ({frames / seconds:.1f} frames/s, JPEG decode included)",
        "",
    ]
    lines.append("field   exact/total   accuracy   flagged   empty   wrong   wrong+unflagged")
    for name, s in score.fields.items():
        lines.append(
            f"{name:<6} {s.exact:>6}/{s.total:<6} {100 * s.accuracy:>8.2f} % {s.flagged:>8} {s.empty:>7}"
            f" {s.wrong:>7} {s.wrong_unflagged:>10}"
        )
    if score.confusions:
        lines += [
            "",
            f"confusion cases ({len(score.confusions)}, first {min(limit, len(score.confusions))}):",
        ]
        lines += [
            f"  {c.file} {c.field}: raw {c.raw!r} -> {c.read}, truth {c.truth}"
            + (f"  [{c.flag}]" if c.flag else "")
            for c in score.confusions[:limit]
        ]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A reader's score on one run and how long it took (JPEG decode included)."""

    score: OcrScore
    frames: int
    seconds: float

    @property
    def frames_per_s(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "frames_per_s": round(self.frames_per_s, 2),
            "fields": self.score.to_json(),
        }


def evaluate_run(
    folder: Path,
    truth: Path,
    reader: FrameReader,
    *,
    size: tuple[int, int] | None = None,
    progress: bool = False,
) -> Evaluation:
    """Digitize a simulated run with `reader` and score it against its truth.csv."""
    paths = list_frames(folder)
    started = time.perf_counter()
    rows = digitize(paths, reader, size=size, progress=progress)
    elapsed = time.perf_counter() - started
    return Evaluation(score(rows, read_truth(truth)), len(rows), elapsed)
