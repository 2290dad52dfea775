"""Where the sample is in this run's frames, found from the frames themselves rather than assumed.

Cues (each a map over a copy of the frame shrunk to WORK_WIDTH, so they work alike on any frame size):
- texture: before melting the sample is powder, the one compact grainy region of the picture. Texture is
  taken as relative local contrast (high-pass energy / local mean), so a gain or white-balance change does
  not alter it, and it is averaged over the first frames, so camera noise (new every frame) averages out
  while the powder's grain (the same every frame) stays.
- change: while melting the sample changes (its grain vanishes, it flashes and turns to a smooth liquid)
  while the background only changes in brightness. The change of relative texture and of brightness
  relative to the whole frame's change, against the first frames, marks the sample again later on.
The overlay box (configured, plus any near-black block) and the frame border are left out of both maps.

Online rule (SampleLocator): a box from the first frame on, improved on each new frame until `lock_frames`
frames have been seen, then LOCKED for the rest of the run: the texture series must not jump mid-run. The
change cue is then only a check: when it is confident and its box disagrees with the locked one (IoU below
DISAGREE_IOU), the locator reports it (`check`, logged once) and keeps the locked box; the next run locates
afresh.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.analytics.saliency import BANDS, Blob, WorkImage, change_map, find_blob, rank, to_frame_box
from monitor.config.overlay import Box

log = logging.getLogger(__name__)

LOCK_FRAMES = 5  # frames the box is learned on before it is locked for the run
DISAGREE_IOU = 0.3  # a check box overlapping the locked one less than this disagrees with it
CHECK_CONFIDENCE = 0.5  # a change region less sure than this is no evidence against the locked box
# The check looks at a frame every CHECK_EVERY_S seconds (every that many frames without times): the melt it
# watches for lasts tens of seconds, and a map per frame cost the daemon about 16 ms on each of the 120
# frames after the lock.
CHECK_EVERY_S = 4.0


@dataclass(frozen=True, slots=True)
class SampleLocation:
    """The sample box of a run and how it was found."""

    box: Box  # frame pixels, with a small margin around the sample
    method: str  # "texture", "change", "configured" or "fallback"
    confidence: float  # 0..1
    reason: str  # one line for the log and the report
    frame_size: tuple[int, int] | None  # width, height of the frames it was found on (None: configured)


@dataclass(frozen=True, slots=True)
class LocationCheck:
    """A later cue compared with the locked box (reported, never applied mid-run)."""

    box: Box
    method: str
    confidence: float
    iou: float  # with the locked box
    agrees: bool
    time_s: float | None
    reason: str


def box_iou(a: Box, b: Box) -> float:
    ix = max(0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    iy = max(0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    inter = ix * iy
    return inter / float(a.width * a.height + b.width * b.height - inter)


def default_box(width: int, height: int) -> Box:
    """Where the simulator's default camera puts the sample, for a frame of this size: the fallback when no
    cue is confident (the centre-and-size of analytics' old fixed box, scaled to the frame)."""
    sx, sy = width / 1024.0, height / 768.0
    return Box(
        x=round(370 * sx), y=round(345 * sy), width=max(8, round(285 * sx)), height=max(8, round(155 * sy))
    )


def probe_points_in(box: Box) -> tuple[tuple[int, int], tuple[int, int]]:
    """Probe pixels at the same places relative to the sample box as the defaults (512, 422) and (470, 430)
    are in the default box: its centre, and a little left of and below it."""
    return (
        (box.x + round(0.498 * box.width), box.y + round(0.497 * box.height)),
        (box.x + round(0.351 * box.width), box.y + round(0.548 * box.height)),
    )


class SampleLocator:
    """Locates the sample of one run from its frames, fed in order (one locator per run).

    `update(image)` returns the box to use for that frame: from the first frame on, refined on each frame
    until `lock_frames` frames were seen, then fixed. Later frames only feed the change check.
    """

    def __init__(
        self, *, ignore: Sequence[Box] = (), lock_frames: int = LOCK_FRAMES, check_frames: int = 120
    ) -> None:
        self.ignore = tuple(ignore)
        self.lock_frames = lock_frames
        self.check_frames = check_frames  # how long after the lock the change check keeps looking
        self._frames = 0
        self._texture_sums: list[np.ndarray] = []
        self._level_ref: list[np.ndarray] = []
        self._texture_ref: list[np.ndarray] = []
        self._best_change: Blob | None = None
        self._location: SampleLocation | None = None
        self._check: LocationCheck | None = None
        self._last_check: float | None = None  # time (or frame count) of the last frame the check looked at

    @property
    def locked(self) -> bool:
        return self._frames >= self.lock_frames

    @property
    def location(self) -> SampleLocation | None:
        return self._location

    @property
    def check(self) -> LocationCheck | None:
        """The change cue's verdict on the locked box, once it has seen a confident change."""
        return self._check

    def update(self, image: np.ndarray, *, time_s: float | None = None) -> SampleLocation:
        if self._location is not None and self._frames >= self.lock_frames + self.check_frames:
            return self._location  # locked and checked: nothing more to learn, nothing to compute
        size = (image.shape[1], image.shape[0])
        if self._location is not None and size != self._location.frame_size:
            log.warning("frame size changed mid-run to %s; the sample box stays as located", size)
            return self._location
        self._frames += 1
        if self._frames <= self.lock_frames:
            self._learn(WorkImage(image, self.ignore))
            if self._frames == self.lock_frames:
                assert self._location is not None
                log.info("sample located: %s", describe(self._location))
        elif self._frames <= self.lock_frames + self.check_frames:
            now = float(self._frames) if time_s is None else time_s
            if self._last_check is None or now - self._last_check >= CHECK_EVERY_S:
                self._last_check = now
                self._watch_change(WorkImage(image, self.ignore), time_s)
            if self._frames == self.lock_frames + self.check_frames and self._check is not None:
                level = logging.INFO if self._check.agrees else logging.WARNING
                log.log(level, "sample box check: %s; the box stays locked for this run", self._check.reason)
        assert self._location is not None
        return self._location

    def _learn(self, work: WorkImage) -> None:
        textures = [work.texture(band) for band in BANDS]
        self._texture_sums = (
            textures
            if not self._texture_sums
            else [a + b for a, b in zip(self._texture_sums, textures, strict=True)]
        )
        self._level_ref.append(work.log_level())
        self._texture_ref = [t / self._frames for t in self._texture_sums]
        blobs = [blob for t in self._texture_ref if (blob := find_blob(t, work.valid)) is not None]
        blob = max(blobs, key=rank, default=None)
        if blob is None or blob.confidence <= 0:
            w, h = work.frame_size
            self._location = SampleLocation(
                box=default_box(w, h),
                method="fallback",
                confidence=0.0,
                reason=f"no compact textured region in the first {self._frames} frames; "
                "the default camera's box scaled to the frame",
                frame_size=work.frame_size,
            )
            return
        self._location = SampleLocation(
            box=to_frame_box(blob, work),
            method="texture",
            confidence=blob.confidence,
            reason=f"compact grainy region, {blob.ratio:.1f}x the background's texture, "
            f"over the first {self._frames} frames",
            frame_size=work.frame_size,
        )

    def _watch_change(self, work: WorkImage, time_s: float | None) -> None:
        assert self._location is not None
        score = change_map(work, self._texture_ref, np.mean(self._level_ref, axis=0))
        blob = find_blob(score, work.valid)
        if blob is None or blob.confidence < CHECK_CONFIDENCE:
            return
        if self._best_change is not None and rank(blob) <= rank(self._best_change):
            return
        self._best_change = blob
        box = to_frame_box(blob, work)
        overlap = box_iou(box, self._location.box)
        agrees = overlap >= DISAGREE_IOU
        self._check = LocationCheck(
            box=box,
            method="change",
            confidence=blob.confidence,
            iou=round(overlap, 3),
            agrees=agrees,
            time_s=time_s,
            reason=f"the region that changed most against the first frames ({blob.ratio:.1f}x the "
            f"background's change) {'agrees with' if agrees else 'disagrees with'} the locked box "
            f"(IoU {overlap:.2f})",
        )


def locate_sample(
    images: Sequence[np.ndarray], *, ignore: Sequence[Box] = (), lock_frames: int = LOCK_FRAMES
) -> SampleLocation:
    """The batch form: the box the online locator locks on after the first `lock_frames` images."""
    if not images:
        raise ValueError("locate_sample needs at least one frame")
    locator = SampleLocator(ignore=ignore, lock_frames=lock_frames)
    for image in images[:lock_frames]:
        location = locator.update(image)
    return location


def configured(box: Box) -> SampleLocation:
    """The location when analytics.sample_roi sets the box: used as given."""
    return SampleLocation(
        box=box, method="configured", confidence=1.0, reason="analytics.sample_roi", frame_size=None
    )


@dataclass(frozen=True, slots=True)
class SampleFinding:
    """What a run's report says about the sample: where, how sure, the later check, a frame to mark."""

    location: SampleLocation
    check: LocationCheck | None
    frame: Path | None  # a frame of the run (one the box was learned on) to draw the box on


def describe(location: SampleLocation) -> str:
    b = location.box
    return (
        f"{b.width}x{b.height}+{b.x}+{b.y} by {location.method} "
        f"(confidence {location.confidence:.2f}): {location.reason}"
    )
