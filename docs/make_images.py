"""Make the README pictures: the middle frame of each stage of the default run, and the overlay crop.

Run: .venv/bin/python docs/make_images.py   (writes docs/stage_*.png and docs/overlay.png)
"""

import tempfile
from pathlib import Path

import cv2

from monitor.simulate import SimulationOptions, simulate

DOCS = Path(__file__).resolve().parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = simulate(Path(tmp), SimulationOptions(), progress=False)
        groups: dict[str, list] = {}
        for frame, stage in zip(run.frames, run.timeline.stage, strict=True):
            groups.setdefault(str(stage), []).append(frame)
        for stage, frames in groups.items():
            frame = frames[len(frames) // 2]
            image = cv2.imread(str(run.out / frame.file))
            cv2.imwrite(
                str(DOCS / f"stage_{stage}.png"), cv2.resize(image, (256, 192), interpolation=cv2.INTER_AREA)
            )
            print(f"stage_{stage}.png  <- {frame.file}")
        crop = cv2.imread(str(run.out / "0548.jpg"))[0:55, 0:101]
        cv2.imwrite(
            str(DOCS / "overlay.png"), cv2.resize(crop, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
        )


if __name__ == "__main__":
    main()
