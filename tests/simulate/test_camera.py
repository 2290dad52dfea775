"""The camera model: each option changes only what it should, deterministically."""

import csv
import hashlib
import itertools
import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from monitor.records import EventType, read_events
from monitor.simulate import SimulationOptions, simulate
from monitor.simulate.camera import CameraFrame, MeanPredictor, plan_gains, plan_glints
from monitor.simulate.options import CameraOptions
from monitor.simulate.run import plan_run
from monitor.simulate.scene import FrameState, SceneRenderer

SMALL = {"width": 320, "height": 240, "workers": 1, "seed": 3}
QUIET = {"exposure": "fixed", "glint_rate": 0.0, "flicker": 0.0}  # a camera that changes nothing by itself


def run(out: Path, start: int, seconds: int, **changes) -> Path:
    camera = changes.pop("camera", {})
    options = SimulationOptions(**{**SMALL, "start": start, "seconds": seconds, **changes, "camera": camera})
    return simulate(out, options, progress=False).out


def truth(folder: Path) -> list[dict[str, str]]:
    with (folder / "truth.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def image(folder: Path, name: str) -> np.ndarray:
    return cv2.imread(str(folder / name)).astype(float)


def scene_part(frame: np.ndarray) -> np.ndarray:
    """The frame without the overlay's corner."""
    return frame[64:, :]


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_fixed_and_auto_exposure_differ_only_in_gain(tmp_path: Path) -> None:
    fixed = run(tmp_path / "fixed", 400, 25, camera={"exposure": "fixed"})
    auto = run(tmp_path / "auto", 400, 25, camera={"exposure": "auto"})
    rows_fixed, rows_auto = truth(fixed), truth(auto)
    camera_columns = {"gain", "exposure_step"}
    for a, b in zip(rows_fixed, rows_auto, strict=True):
        assert {k: v for k, v in a.items() if k not in camera_columns} == {
            k: v for k, v in b.items() if k not in camera_columns
        }
    assert {r["gain"] for r in rows_fixed} == {"1.0000"}
    assert not any(r["exposure_step"] == "1" for r in rows_fixed)
    steps = [i for i, r in enumerate(rows_auto) if r["exposure_step"] == "1"]
    assert steps, "the mean falls below ae_low in this window: auto exposure must step"
    for row in rows_auto[: steps[0]]:
        assert (fixed / row["file"]).read_bytes() == (auto / row["file"]).read_bytes()
    last = rows_auto[-1]
    gain = float(last["gain"])
    assert gain > 1.1
    a, f = scene_part(image(auto, last["file"])), scene_part(image(fixed, last["file"]))
    green = (a[..., 1] < 240) & (f[..., 1] > 20)  # unsaturated, well above the noise
    assert np.median(a[..., 1][green] / f[..., 1][green]) == pytest.approx(gain, rel=0.05)


def test_exposure_steps_are_flagged_where_the_gain_changes(tmp_path: Path) -> None:
    rows = truth(run(tmp_path, 400, 60))
    gains = [float(r["gain"]) for r in rows]
    flagged = [r["exposure_step"] == "1" for r in rows]
    assert flagged == [False] + [b != a for a, b in itertools.pairwise(gains)]
    assert gains == sorted(gains), "while cooling, auto exposure only steps up"


def test_a_window_of_a_run_has_the_whole_runs_camera() -> None:
    """The camera runs from the ramp start: a recording from 540 s has the gains, glints and flicker that
    the whole run has at those seconds (auto exposure has already stepped by then)."""
    _, whole = plan_run(SimulationOptions(**SMALL))
    _, window = plan_run(SimulationOptions(**SMALL, start=540, seconds=40))
    by_time = {f.time_s: f.camera for f in whole}
    assert [replace(f.camera, exposure_step=False) for f in window] == [
        replace(by_time[f.time_s], exposure_step=False) for f in window
    ]
    assert window[0].camera.gain > 2


def test_offset_moves_the_scene_but_not_the_overlay(tmp_path: Path) -> None:
    quiet = {**QUIET, "blur_sigma": 0.0}
    base = run(tmp_path / "base", 300, 1, noise_sigma=0.0, camera=quiet)
    moved = run(tmp_path / "moved", 300, 1, noise_sigma=0.0, camera={**quiet, "offset": (40, 24)})
    a, b = image(base, "0300.jpg"), image(moved, "0300.jpg")
    # The overlay box (101 x 55 px) is identical away from its edge (JPEG blocks there mix in the scene).
    np.testing.assert_array_equal(a[:40, :80], b[:40, :80])
    # The scene is the same picture, 40 px right and 24 px down.
    assert np.abs(b[100:200, 80:280] - a[76:176, 40:240]).mean() < 3
    assert np.abs(b[100:200, 80:280] - a[100:200, 80:280]).mean() > 3
    box_a = json.loads((base / "events.json").read_text(encoding="utf-8"))["sample_box"]
    box_b = json.loads((moved / "events.json").read_text(encoding="utf-8"))["sample_box"]
    assert (box_b["x"], box_b["y"]) == (box_a["x"] + 40, box_a["y"] + 24)
    assert (box_b["width"], box_b["height"]) == (box_a["width"], box_a["height"])


def test_scale_grows_the_sample_box_about_the_centre(tmp_path: Path) -> None:
    base = run(tmp_path / "base", 300, 1, camera=QUIET)
    zoomed = run(tmp_path / "zoomed", 300, 1, camera={**QUIET, "scale": 1.5})
    box_a = json.loads((base / "events.json").read_text(encoding="utf-8"))["sample_box"]
    box_b = json.loads((zoomed / "events.json").read_text(encoding="utf-8"))["sample_box"]
    assert box_b["width"] == pytest.approx(1.5 * box_a["width"], abs=1)
    centre = (box_a["x"] + box_a["width"] / 2, box_b["x"] + box_b["width"] / 2)
    assert centre[1] == pytest.approx(159.5 + 1.5 * (centre[0] - 159.5), abs=1)


def test_sample_box_holds_the_sample(tmp_path: Path) -> None:
    """The box in events.json is where the sample's texture is: it moves with the offset."""
    folder = run(tmp_path, 140, 1, noise_sigma=0.0, camera={**QUIET, "offset": (-30, 10)})
    box = json.loads((folder / "events.json").read_text(encoding="utf-8"))["sample_box"]
    frame = image(folder, "0140.jpg").mean(axis=2)
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    inner = frame[y + h // 4 : y + 3 * h // 4, x + w // 4 : x + 3 * w // 4]
    outside = frame[y + h // 4 : y + 3 * h // 4, x + w + 10 : x + w + 10 + w // 2]
    assert inner.std() > 2 * outside.std()  # the powder's grains vs the smooth chamber


def test_white_balance_changes_channel_ratios(tmp_path: Path) -> None:
    base = run(tmp_path / "base", 110, 1, camera=QUIET)
    warm = run(tmp_path / "warm", 110, 1, camera={**QUIET, "white_balance": (1.0, 1.0, 0.5)})
    a = scene_part(image(base, "0110.jpg")).reshape(-1, 3).mean(axis=0)
    b = scene_part(image(warm, "0110.jpg")).reshape(-1, 3).mean(axis=0)
    assert b[0] == pytest.approx(a[0], abs=1) and b[1] == pytest.approx(a[1], abs=1)
    assert b[2] / a[2] == pytest.approx(0.5, rel=0.05)


def test_gain_brightens_until_saturation(tmp_path: Path) -> None:
    base = run(tmp_path / "base", 110, 1, camera=QUIET)
    bright = run(tmp_path / "bright", 110, 1, camera={**QUIET, "gain": 4.0})
    a, b = scene_part(image(base, "0110.jpg")), scene_part(image(bright, "0110.jpg"))
    assert b.mean() > 2 * a.mean()
    assert (b >= 250).mean() > 0.2 > (a >= 250).mean()  # clipped like a sensor, not wrapped


def test_blur_lowers_local_contrast_but_keeps_the_mean(tmp_path: Path) -> None:
    sharp = run(tmp_path / "sharp", 140, 1, noise_sigma=0.0, camera=QUIET)
    soft = run(tmp_path / "soft", 140, 1, noise_sigma=0.0, camera={**QUIET, "blur_sigma": 3.0})
    a, b = scene_part(image(sharp, "0140.jpg")), scene_part(image(soft, "0140.jpg"))
    assert b.mean() == pytest.approx(a.mean(), abs=1.0)

    def contrast(x: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(x.mean(axis=2), cv2.CV_64F)).mean())

    assert contrast(b) < 0.5 * contrast(a)


def test_flicker_moves_frame_means_by_about_its_amplitude(tmp_path: Path) -> None:
    steady = run(tmp_path / "steady", 240, 30, camera=QUIET)
    flicker = run(tmp_path / "flicker", 240, 30, camera={**QUIET, "flicker": 0.04})
    ratios = np.array(
        [
            scene_part(image(flicker, r["file"])).mean() / scene_part(image(steady, r["file"])).mean()
            for r in truth(steady)
        ]
    )
    assert np.all(np.abs(ratios - 1) < 0.045)
    assert np.abs(ratios - 1).max() > 0.02


def test_glints_are_short_excursions_that_return(tmp_path: Path) -> None:
    folder = run(tmp_path, 230, 60, camera={"exposure": "fixed", "glint_rate": 0.1, "flicker": 0.0})
    rows = truth(folder)
    means = np.array([scene_part(image(folder, r["file"])).mean() for r in rows])
    glint = np.array([r["glint"] == "1" for r in rows])
    assert glint.any() and not glint.all()
    calm = np.median(means[~glint])
    assert np.all(np.abs(means[~glint] - calm) < 2), "no lasting change outside the glints"
    assert np.all(np.abs(means[glint] - calm) > 5)
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], glint.astype(int), [0]]))))[::2]
    assert runs.max() <= 4 * 2  # at most two glints back to back, each 1-4 frames


def test_dropped_seconds_have_no_file_and_no_truth_row(tmp_path: Path) -> None:
    folder = run(tmp_path, 125, 8, camera={"dropped_seconds": (126, 128)})
    names = sorted(p.name for p in folder.glob("*.jpg"))
    assert names == [f"{t:04d}.jpg" for t in (125, 127, 129, 130, 131, 132)]
    assert [int(r["time_s"]) for r in truth(folder)] == [125, 127, 129, 130, 131, 132]
    # melting_start is at 128 s: it keeps its physical time; its file is the next written frame.
    event = {e.type: e for e in read_events(folder / "events.json")}[EventType.MELTING_START]
    assert (event.time_s, event.file) == (128.0, "0129.jpg")


def test_dropped_rate_is_deterministic_per_seed(tmp_path: Path) -> None:
    camera = {"dropped_rate": 0.2, **QUIET}
    a = [r["time_s"] for r in truth(run(tmp_path / "a", 300, 40, camera=camera))]
    b = [r["time_s"] for r in truth(run(tmp_path / "b", 300, 40, camera=camera))]
    c = [r["time_s"] for r in truth(run(tmp_path / "c", 300, 40, seed=4, camera=camera))]
    assert a == b != c
    assert 20 <= len(a) < 40


def test_same_seed_same_bytes_with_every_option(tmp_path: Path) -> None:
    camera = {
        "white_balance": (0.9, 1.0, 1.1),
        "flicker": 0.04,
        "blur_sigma": 1.0,
        "dropped_rate": 0.1,
        "offset": (12, -8),
        "scale": 1.2,
        "glint_rate": 0.1,
    }
    options = SimulationOptions(start=400, seconds=16, **SMALL, camera=camera)
    simulate(tmp_path / "a", options, progress=False)
    simulate(tmp_path / "b", options.model_copy(update={"workers": 2}), progress=False)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_auto_exposure_steps_with_hysteresis_and_settles() -> None:
    """A scene that dims steadily: the gain stays put while the mean is in range, steps up when it falls
    below ae_low, ramps over ae_settle_frames to the gain that brings the metered frame to ae_target."""
    options = CameraOptions(ae_settle_frames=(3, 3))
    predictor = MeanPredictor(width=320, height=240, white_balance=(1, 1, 1))
    colours = np.array([[40.0, 100.0, 110.0]]) * np.exp(-np.arange(120) / 60.0)[:, None]
    gains = plan_gains(options, colours, predictor, np.random.default_rng(0))
    means = np.array([predictor.mean(c, g) for c, g in zip(colours, gains, strict=True)])
    changes = np.flatnonzero(np.diff(gains)) + 1
    assert changes.size >= 6
    first = changes[0]
    assert means[first - 2] >= options.ae_low > means[first - 1]  # fired by the first dark frame
    assert list(changes[:3]) == [first, first + 1, first + 2]  # a 3-frame ramp
    assert predictor.mean(colours[first - 1], gains[first + 2]) == pytest.approx(options.ae_target, abs=0.5)
    assert np.all(gains[first + 2 : changes[3]] == gains[first + 2])  # settled until the next step
    assert np.all(gains[:first] == options.gain)
    fixed = plan_gains(CameraOptions(exposure="fixed"), colours, predictor, np.random.default_rng(0))
    assert np.all(fixed == 1.0)


def test_auto_exposure_steps_down_when_too_bright() -> None:
    options = CameraOptions(gain=3.0)
    predictor = MeanPredictor(width=320, height=240, white_balance=(1, 1, 1))
    gains = plan_gains(options, np.full((10, 3), 80.0), predictor, np.random.default_rng(0))
    assert gains[0] == 3.0 and gains[-1] < 1.5
    assert predictor.mean(np.full(3, 80.0), gains[-1]) == pytest.approx(options.ae_target, abs=2)


def test_glint_plan_lengths_and_sizes() -> None:
    options = CameraOptions(glint_rate=0.05, glint_frames=(1, 4), glint_size=(0.1, 0.3))
    factors = plan_glints(options, 2000, seed=1)
    np.testing.assert_array_equal(plan_glints(options, 1500, seed=1), factors[:1500])
    on = factors != 1.0
    assert 0.05 < on.mean() < 0.3
    sizes = np.maximum(factors[on], 1 / factors[on]) - 1
    assert np.all((sizes >= 0.1 - 1e-9) & (sizes <= 0.3 + 1e-9))
    assert (factors > 1).any() and (factors < 1).any()
    assert CameraFrame(gain=1.0, glint=1.2).glinting and not CameraFrame(gain=1.0).glinting


def test_clouding_is_local_to_the_sample() -> None:
    """Nucleation changes the sample (its highlight goes, it greys) and nothing else."""
    scene = SceneRenderer(width=320, height=240, seed=0)
    colour = np.array([0.5, 90.0, 172.0])
    state = FrameState(colour=colour, t1_c=1100.0, melt=1.0, clarity=1.0, fraction=0.0)
    clear = scene.render(state, np.random.default_rng(0))
    cloudy = scene.render(
        FrameState(colour=colour, t1_c=1100.0, melt=1.0, clarity=1.0, fraction=0.0, nucleated=True),
        np.random.default_rng(0),
    )
    changed = np.abs(cloudy - clear).max(axis=2) > 0.5
    x, y, w, h = scene.sample_box()
    assert changed.any()
    outside = changed.copy()
    outside[y - 3 : y + h + 3, x - 3 : x + w + 3] = False
    assert not outside.any()
    assert cloudy[changed].mean() < clear[changed].mean()  # the highlight is gone


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ae_low": 95.0}, "ae_low < ae_target < ae_high"),
        ({"glint_frames": (3, 1)}, "glint_frames must be a range"),
        ({"white_balance": (1.0, 0.0, 1.0)}, "must be positive"),
        ({"exposure": "manual"}, "Input should be 'fixed' or 'auto'"),
        ({"iso": 100}, "Extra inputs"),
    ],
)
def test_bad_camera_options_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CameraOptions.model_validate(changes)
