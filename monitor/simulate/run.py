"""Write a synthetic run: frames named by second, truth.csv and events.json."""

import csv
import logging
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from monitor.records import EventType, StageEvent, write_events
from monitor.simulate.camera import Camera, CameraFrame, MeanPredictor, aimed_box, plan_camera, plan_dropped
from monitor.simulate.colour import scene_colours
from monitor.simulate.options import SimulationOptions
from monitor.simulate.overlay import OverlayPainter, OverlayStyle, overlay_lines
from monitor.simulate.profile import Timeline, build_timeline, draw_kinetics
from monitor.simulate.scene import FrameState, SceneRenderer
from monitor.simulate.thermocouples import read_t1, read_t2

log = logging.getLogger(__name__)

TRUTH_COLUMNS = (
    "time_s", "file", "t1_c", "t2_c", "stage", "crystal_fraction", "progress_pct",
    "t1_programme_c", "melt_fraction", "clarity", "gain", "glint", "exposure_step",
)  # fmt: skip


def frame_name(time_s: int) -> str:
    return f"{time_s:04d}.jpg"


@dataclass(frozen=True, slots=True)
class PlannedFrame:
    """One frame to render: its time, file name, displayed readings, physical state and camera state."""

    index: int  # into the run's Timeline arrays
    time_s: int
    file: str
    t1_c: int
    t2_c: int
    state: FrameState
    camera: CameraFrame
    dropped: bool = False  # the recorder skipped this second: no file, no truth row


@dataclass(frozen=True, slots=True)
class SimulatedRun:
    """What a simulation wrote."""

    out: Path
    frames: list[PlannedFrame]  # the written ones
    timeline: Timeline
    events: list[StageEvent]
    sample_box: tuple[int, int, int, int]  # x, y, width, height of the sample in the written frames


def plan_run(options: SimulationOptions) -> tuple[Timeline, list[PlannedFrame]]:
    """Decide every second's readings, state and camera state, dropped ones included (cheap, sequential,
    deterministic)."""
    times = np.arange(options.start, options.start + options.seconds)
    kinetics = draw_kinetics(options.profile, np.random.default_rng([options.seed, 1]))
    timeline = build_timeline(options.profile, kinetics, times)
    t1 = read_t1(timeline.t1, np.random.default_rng([options.seed, 2]))
    t2 = read_t2(len(times), np.random.default_rng([options.seed, 3]))
    colours = scene_colours(timeline)
    camera = options.camera
    predictor = MeanPredictor(width=options.width, height=options.height, white_balance=camera.white_balance)
    cameras = plan_camera(camera, colours, predictor, options.seed)
    dropped = plan_dropped(camera, times, np.random.default_rng([options.seed, 8]))
    frames = [
        PlannedFrame(
            index=i,
            time_s=int(t),
            file=frame_name(int(t)),
            t1_c=int(t1[i]),
            t2_c=int(t2[i]),
            state=FrameState(
                colour=colours[i],
                t1_c=float(timeline.t1[i]),
                melt=float(timeline.melt[i]),
                clarity=float(timeline.clarity[i]),
                fraction=float(timeline.fraction[i]),
                nucleated=bool(timeline.nucleated[i]),
            ),
            camera=cameras[i],
            dropped=bool(dropped[i]),
        )
        for i, t in enumerate(times)
    ]
    return timeline, _mark_exposure_steps(frames)


def _mark_exposure_steps(frames: list[PlannedFrame]) -> list[PlannedFrame]:
    """Flag the written frames whose gain differs from the previous written frame's."""
    marked, previous = [], None
    for frame in frames:
        if not frame.dropped:
            step = previous is not None and frame.camera.gain != previous
            previous = frame.camera.gain
            frame = replace(frame, camera=replace(frame.camera, exposure_step=step))
        marked.append(frame)
    return marked


class FrameRenderer:
    """Turns a planned frame into JPEG bytes; one per process (its static fields are built once)."""

    def __init__(self, options: SimulationOptions) -> None:
        self.options = options
        self.scene = SceneRenderer(width=options.width, height=options.height, seed=options.seed)
        self.camera = Camera(
            options.camera,
            width=options.width,
            height=options.height,
            noise_sigma=options.noise_sigma,
            seed=options.seed,
        )
        o = options.overlay
        self.overlay = OverlayPainter(
            OverlayStyle(
                font=o.font, offset=o.offset, scale=o.scale, foreground=o.foreground, background=o.background
            )
        )

    def jpeg(self, frame: PlannedFrame) -> bytes:
        rng = np.random.default_rng([self.options.seed, 4, frame.time_s])
        image = self.camera.expose(self.scene.render(frame.state, rng), frame.camera, rng)
        self.overlay.paint(image, overlay_lines(frame.time_s, frame.t1_c, frame.t2_c))
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.options.jpeg_quality])
        if not ok:
            raise RuntimeError(f"JPEG encoding failed for {frame.file}")
        return buf.tobytes()


def write_frame(path: Path, data: bytes, *, slow: bool) -> None:
    """Atomic by default (temp file + rename); slow = in place, in chunks, as a camera that streams."""
    if slow:
        chunk = max(1, len(data) // 4)
        with path.open("wb") as f:
            for i in range(0, len(data), chunk):
                f.write(data[i : i + chunk])
                f.flush()
                time.sleep(0.05)
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


# One renderer per worker process, built by the pool initialiser.
_worker: FrameRenderer | None = None


def _init_worker(options: SimulationOptions) -> None:
    global _worker
    cv2.setNumThreads(1)
    _worker = FrameRenderer(options)


def _render_to(job: tuple[PlannedFrame, Path]) -> str:
    frame, out = job
    assert _worker is not None
    write_frame(out / frame.file, _worker.jpeg(frame), slow=False)
    return frame.file


def simulate(out: Path, options: SimulationOptions, *, progress: bool = True) -> SimulatedRun:
    """Write the frames, truth.csv and events.json of one synthetic run into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    timeline, planned = plan_run(options)
    frames = [f for f in planned if not f.dropped]
    bar = tqdm(total=len(frames), unit="frame", desc=f"simulate {out.name}", disable=not progress)
    with bar:
        for _ in _write_frames(out, frames, options):
            bar.update()
    events = true_events(timeline, planned)
    write_truth(out / "truth.csv", timeline, frames)
    box = aimed_box(
        SceneRenderer.nominal_sample_box(options.width, options.height, options.seed),
        options.camera,
        options.width,
        options.height,
    )
    write_events(
        out / "events.json",
        events,
        source="simulate",
        seed=options.seed,
        cooling_start_s=timeline.cooling_start_s,
        crystallization_c=round(timeline.kinetics.crystallization_c, 2),
        avrami={"n": round(timeline.kinetics.n, 4), "k": float(f"{timeline.kinetics.k:.6g}")},
        camera=options.camera.model_dump(mode="json"),
        sample_box=dict(zip(("x", "y", "width", "height"), box, strict=True)),
    )
    log.info("simulated %d frames into %s", len(frames), out)
    return SimulatedRun(out=out, frames=frames, timeline=timeline, events=events, sample_box=box)


def _write_frames(out: Path, frames: list[PlannedFrame], options: SimulationOptions) -> Iterator[str]:
    workers = options.workers or os.cpu_count() or 1
    if options.realtime or options.slow_writes or workers == 1:
        renderer = FrameRenderer(options)
        period = 1.0 / options.fps
        next_due = time.monotonic()
        for frame in frames:
            data = renderer.jpeg(frame)
            if options.realtime:
                next_due += period
                time.sleep(max(0.0, next_due - time.monotonic()))
            write_frame(out / frame.file, data, slow=options.slow_writes)
            yield frame.file
        return
    # spawn, not fork: a fork of a process whose other threads hold locks (OCR, torch, font rendering)
    # can leave a worker blocked forever on a lock nobody will release.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(options,)
    ) as pool:
        yield from pool.map(_render_to, [(f, out) for f in frames], chunksize=8)


def true_events(timeline: Timeline, planned: list[PlannedFrame]) -> list[StageEvent]:
    """The events that happen inside the recorded window, at their physical second with the 1# reading then;
    the file is that second's frame, or the next written one if the recorder skipped it."""
    events = []
    for kind in EventType:
        t = timeline.events.get(kind)
        at = next((i for i, f in enumerate(planned) if t is not None and f.time_s == int(t)), None)
        if at is None:
            continue
        written = next((f for f in planned[at:] if not f.dropped), None)
        if written is not None:
            frame = planned[at]
            events.append(
                StageEvent(type=kind, time_s=float(frame.time_s), file=written.file, t1_c=frame.t1_c)
            )
    return events


def write_truth(path: Path, timeline: Timeline, frames: list[PlannedFrame]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(TRUTH_COLUMNS)
        for frame in frames:
            i = frame.index
            writer.writerow(
                [
                    frame.time_s,
                    frame.file,
                    frame.t1_c,
                    frame.t2_c,
                    str(timeline.stage[i]),
                    f"{timeline.fraction[i]:.4f}",
                    f"{timeline.progress_pct[i]:.2f}",
                    f"{timeline.t1[i]:.2f}",
                    f"{timeline.melt[i]:.4f}",
                    f"{timeline.clarity[i]:.4f}",
                    f"{frame.camera.gain:.4f}",
                    int(frame.camera.glinting),
                    int(frame.camera.exposure_step),
                ]
            )
