"""One frame in, one FrameResult out: overlay OCR, image features, stage detection, crystal fraction, and
the learned models when they are loaded."""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from monitor.analytics.detector import Observation, StageDetector
from monitor.analytics.features import FeatureExtractor
from monitor.analytics.fraction import OnlineFraction
from monitor.analytics.health import ThermocoupleHealthMonitor
from monitor.analytics.locate import LocationCheck, SampleLocation, SampleLocator, configured
from monitor.analytics.progress import OnlineProgress, with_image
from monitor.config import MonitorConfig
from monitor.config.overlay import Box
from monitor.ingest.loader import time_from_name
from monitor.overlay.digitize import FrameReader
from monitor.overlay.factory import build_reader
from monitor.records import EventType, FlagKind, Frame, FrameResult, Prediction, Stage

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # torch is imported only when the models are enabled
    from monitor.nets.runtime import ModelStep


class FrameProcessor:
    """Holds one run's state (reader anchors, detector, fraction); `new_run()` before the next run."""

    def __init__(
        self,
        *,
        reader: FrameReader,
        features: FeatureExtractor,
        confirm_frames: int = 3,
        model_step: "ModelStep | None" = None,
        overlay_box: Box | None = None,
    ) -> None:
        self.reader = reader
        self.features = features
        self.model_step = model_step
        self.confirm_frames = confirm_frames
        self.overlay_box = overlay_box  # left out when locating the sample
        self.new_run()

    def new_run(self) -> None:
        self.reader.new_run()
        self.features.new_run()
        self.detector = StageDetector(
            confirm_frames=self.confirm_frames, liquidus_c=self.features.config.liquidus_c
        )
        self._fraction = OnlineFraction()
        self._thermocouples = ThermocoupleHealthMonitor()
        self._progress = OnlineProgress()
        # the sample box of this run: located from its first frames unless analytics.sample_roi sets it
        self.locator: SampleLocator | None = None
        if self.features.config.sample_roi is None:
            self.locator = SampleLocator(ignore=() if self.overlay_box is None else (self.overlay_box,))

    @property
    def sample_location(self) -> SampleLocation | None:
        """Where this run's sample is: configured, or found (None before the first frame)."""
        roi = self.features.config.sample_roi
        if roi is not None:
            return configured(roi)
        return None if self.locator is None else self.locator.location

    @property
    def sample_check(self) -> LocationCheck | None:
        """The later change cue's verdict on the located box (None until it has one)."""
        return None if self.locator is None else self.locator.check

    def process(self, frame: Frame, *, run: str = "") -> FrameResult:
        return self.process_batch([frame], run=run)[0]

    def process_batch(self, frames: Sequence[Frame], *, run: str = "") -> list[FrameResult]:
        """Consecutive frames in order: OCR and analytics frame by frame (they carry the run's state), then
        the models on the whole batch at once, their time shared out evenly."""
        results = [self._read_and_analyse(frame) for frame in frames]
        if self.model_step is None or not frames:
            return results
        started = time.perf_counter()
        predictions = self._predict(frames, run=run)
        share_ms = (time.perf_counter() - started) * 1000.0 / len(frames)
        return [
            replace(
                r,
                prediction=p,
                progress=with_image(r.progress, None if p is None else p.progress_image_pct),
                latency_ms=r.latency_ms + share_ms,
                step_ms=(*r.step_ms, ("models", share_ms)),
            )
            for r, p in zip(results, predictions, strict=True)
        ]

    def replay(self, frame: Frame) -> FrameResult:
        """Take a frame already published through the stateful steps again (OCR, analytics), to rebuild a
        run's state; the models keep no state from frame to frame, so they are left out."""
        return self._read_and_analyse(frame)

    def _predict(self, frames: Sequence[Frame], *, run: str) -> list[Prediction | None]:
        """The model step on a batch. A head that fails costs only its own outputs (ModelStep catches it);
        anything else failing here costs the batch its predictions, never the frames' readings."""
        assert self.model_step is not None
        try:
            if self.locator is not None and self.locator.location is not None:
                # the forecast's numbers are taken in this run's sample box
                self.model_step.set_sample_box(self.locator.location.box)
            names = [(run, f.name) for f in frames]
            return list(self.model_step.predict([f.image for f in frames], names=names))
        except Exception:
            log.exception("%s: model step failed", ", ".join(f.name for f in frames))
            return [None] * len(frames)

    def _read_and_analyse(self, frame: Frame) -> FrameResult:
        started = time.perf_counter()
        reading = self.reader.read(frame.image, index=frame.index, name=frame.name)
        read_at = time.perf_counter()
        time_s = frame_time(reading.time.value, frame.name, frame.index)
        if self.locator is not None:
            self.features.set_sample_box(self.locator.update(frame.image, time_s=time_s).box)
        features = self.features.extract(frame.image)
        t1 = None if reading.t1.value is None else float(reading.t1.value)
        self.detector.revise(self.features.camera.take_revisions())
        observation = Observation.of(time_s, frame.name, features, t1, self.features.sample_pixels)
        events = self.detector.update(observation)
        stage = self.detector.stage
        self._fraction.observe(time_s, features.textured_share)
        if stage is Stage.HEATING:
            self._fraction.heating(features.textured_share)
        for event in events:
            if event.type is EventType.CRYSTALLIZATION_START:
                self._fraction.started(event.time_s)
            elif event.type is EventType.CRYSTALLIZATION_END:
                self._fraction.ended()
        fraction = self._fraction.value(features.textured_share)
        progress = self._progress.update(time_s, stage, events, fraction)
        t2 = None if reading.t2.value is None else float(reading.t2.value)
        self._thermocouples.update(t1, t2, features.mean)
        analysed_at = time.perf_counter()
        return FrameResult(
            index=frame.index,
            file=frame.name,
            time_s=time_s,
            reading=reading,
            frame_error=None,
            features=features,
            stage=stage,
            events=tuple(events),
            crystal_fraction=fraction,
            latency_ms=(analysed_at - started) * 1000.0,
            progress=progress,
            thermocouples=tuple(self._thermocouples.current()),
            step_ms=(("ocr", (read_at - started) * 1000.0), ("analytics", (analysed_at - read_at) * 1000.0)),
        )

    def failed(
        self, index: int, name: str, error: str, *, kind: FlagKind = FlagKind.UNREADABLE
    ) -> FrameResult:
        """The result for a frame that could not be used: flagged (`kind`), and the run goes on."""
        return FrameResult(
            index=index,
            file=name,
            time_s=frame_time(None, name, index),
            reading=None,
            frame_error=error,
            features=None,
            stage=self.detector.stage,
            events=(),
            crystal_fraction=None,
            latency_ms=0.0,
            frame_error_kind=kind,
        )


def frame_time(read: int | None, name: str, index: int) -> float:
    """The time read from the overlay, else the file name's second, else the position in the run."""
    for value in (read, time_from_name(name)):
        if value is not None:
            return float(value)
    return float(index)


def build_processor(config: MonitorConfig) -> FrameProcessor:
    """The pipeline a config asks for; the model step only when `models.enabled`."""
    return processor_factory(config)()


def processor_factory(config: MonitorConfig) -> Callable[[], FrameProcessor]:
    """Fresh pipelines for one run each, sharing what is costly and keeps no run state: the OCR engines and
    the models are loaded once, here."""
    model_step = None
    if config.models.enabled:
        from monitor.nets.runtime import build_model_step

        model_step = build_model_step(config.models, config.analytics)
    engines = build_reader(config.overlay, config.ocr)

    def fresh() -> FrameProcessor:
        return FrameProcessor(
            reader=engines.fresh(),
            features=FeatureExtractor(config.analytics, config.overlay),
            confirm_frames=config.analytics.confirm_frames,
            model_step=model_step,
            overlay_box=config.overlay.box,
        )

    return fresh
