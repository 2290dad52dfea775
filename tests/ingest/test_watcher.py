"""The frame watcher on real files with real watchdog observers (inotify and polling): complete files only,
each once, in time order per run, catch-up and restart from the checkpoint, stall detection; every frame
format, streamed in chunks."""

import io
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from monitor.config.ingest import IngestConfig
from monitor.ingest.checkpoint import Checkpoint
from monitor.ingest.identity import FrameArrival, RunKeys
from monitor.ingest.loader import FrameError, load_frame
from monitor.ingest.watcher import FrameWatcher
from monitor.simulate.run import write_frame
from tests.services import wait_until

SETTLE_S = 0.3
QUIET_S = 0.8  # how long to watch for unexpected extra deliveries (> settle + a few polls)


def _jpeg(i: int) -> bytes:
    image = np.full((16, 16, 3), i % 256, np.uint8)
    image[::2, ::2] = 255 - i % 256  # some detail, so the file is more than a few bytes
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return buf.tobytes()


class Recorder:
    """on_frame: records (run, name, decoded-ok) at the moment of delivery; optionally marks and blocks."""

    def __init__(self, checkpoint: Checkpoint | None = None, gate: threading.Event | None = None) -> None:
        self.items: list[tuple[str, str, bool]] = []
        self.images: dict[str, np.ndarray] = {}  # name -> the pixels as decoded at delivery
        self.checkpoint = checkpoint
        self.gate = gate
        self._busy = threading.Lock()

    def __call__(self, arrival: FrameArrival) -> None:
        # never concurrent: a second thread in here would fail this non-blocking acquire
        assert self._busy.acquire(blocking=False), "on_frame called concurrently"
        try:
            try:
                self.images[arrival.path.name] = load_frame(arrival.path, 0).image
                ok = True
            except FrameError:
                ok = False
            self.items.append((arrival.run, arrival.path.name, ok))
            if self.gate is not None:
                self.gate.wait(10)  # back-pressure: block until the test lets go
            if self.checkpoint is not None:
                self.checkpoint.mark(arrival.key.id, arrival.path)
        finally:
            self._busy.release()

    def names(self) -> list[str]:
        return [name for _, name, _ in self.items]

    def wait_for(self, n: int) -> None:
        wait_until(lambda: len(self.items) >= n)


@pytest.fixture
def watch(tmp_path: Path) -> Path:
    folder = tmp_path / "frames"
    folder.mkdir()
    return folder


def _config(watch: Path, **kw: object) -> IngestConfig:
    values: dict[str, object] = {
        "watch_dir": watch,
        "checkpoint_dir": watch.parent / "checkpoints",
        "settle_s": SETTLE_S,
        "poll_interval_s": 0.1,
        "stall_timeout_s": 10.0,
    }
    return IngestConfig(**(values | kw))


@contextmanager
def watching(config: IngestConfig, checkpoint: Checkpoint, on_frame: Recorder) -> Iterator[FrameWatcher]:
    watcher = FrameWatcher(config=config, checkpoint=checkpoint, on_frame=on_frame)
    watcher.start()
    try:
        yield watcher
    finally:
        watcher.stop()


def _name(i: int) -> str:
    return f"{i:04d}.jpg"


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_atomic_and_slow_writes_are_delivered_once_and_complete(watch: Path, polling: bool) -> None:
    rec = Recorder()
    with watching(_config(watch, polling=polling), Checkpoint(watch.parent / "cp"), rec):
        for i in range(1, 7):
            write_frame(watch / _name(i), _jpeg(i), slow=i % 2 == 0)
        rec.wait_for(6)
        time.sleep(QUIET_S)
    assert rec.names() == [_name(i) for i in range(1, 7)]
    assert all(ok for _, _, ok in rec.items), rec.items
    assert {run for run, _, _ in rec.items} == {"frames"}  # a flat folder is one run named after it


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_a_later_frame_completing_first_waits_for_the_earlier_one(watch: Path, polling: bool) -> None:
    rec = Recorder()
    with watching(_config(watch, polling=polling), Checkpoint(watch.parent / "cp"), rec):
        slow = threading.Thread(target=write_frame, args=(watch / _name(1), _jpeg(1)), kwargs={"slow": True})
        slow.start()
        time.sleep(0.06)  # 0001 exists, half-written
        write_frame(watch / _name(2), _jpeg(2), slow=False)  # complete before 0001 is
        slow.join()
        rec.wait_for(2)
    assert rec.names() == [_name(1), _name(2)]
    assert all(ok for _, _, ok in rec.items)


def test_moved_in_and_renamed_files_are_delivered(watch: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    rec = Recorder()
    with watching(_config(watch), Checkpoint(tmp_path / "cp"), rec):
        (outside / _name(1)).write_bytes(_jpeg(1))
        os.rename(outside / _name(1), watch / _name(1))  # from outside the tree: looks like a creation
        rec.wait_for(1)
        (watch / "0002.part").write_bytes(_jpeg(2))
        os.rename(watch / "0002.part", watch / _name(2))  # inside the tree: a move event
        rec.wait_for(2)
        time.sleep(QUIET_S)
    assert rec.names() == [_name(1), _name(2)]
    assert all(ok for _, _, ok in rec.items)


def test_non_frame_files_are_ignored(watch: Path, tmp_path: Path) -> None:
    rec = Recorder()
    with watching(_config(watch, pattern="*.jpg"), Checkpoint(tmp_path / "cp"), rec):
        (watch / "notes.txt").write_text("not a frame")
        (watch / ".0003.jpg.tmp").write_bytes(_jpeg(3))  # a temp file that is never renamed
        (watch / "0004.jpg.tmp").write_bytes(_jpeg(4))
        (watch / ".hidden.jpg").write_bytes(_jpeg(5))
        (watch / "0006.png").write_bytes(_jpeg(6))  # a frame type, but not the configured pattern
        (watch / ".cache").mkdir()
        (watch / ".cache" / _name(7)).write_bytes(_jpeg(7))  # inside a dot folder
        write_frame(watch / _name(1), _jpeg(1), slow=False)
        rec.wait_for(1)
        time.sleep(QUIET_S)
    assert rec.names() == [_name(1)]


# watchdog itself warns when a folder made with mkdir -p is registered twice; harmless
@pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")
def test_sub_folders_are_runs(watch: Path, tmp_path: Path) -> None:
    rec = Recorder()
    with watching(_config(watch), Checkpoint(tmp_path / "cp"), rec):
        for run in ("run-a", "run-b"):
            (watch / run).mkdir()  # created while watching; frames follow at once
            write_frame(watch / run / _name(1), _jpeg(1), slow=False)
        (watch / "2024" / "run-c").mkdir(parents=True)
        write_frame(watch / "2024" / "run-c" / _name(1), _jpeg(1), slow=True)
        write_frame(watch / _name(5), _jpeg(5), slow=False)
        rec.wait_for(4)
        time.sleep(QUIET_S)
    assert sorted((run, name) for run, name, _ in rec.items) == [
        ("2024/run-c", _name(1)),
        ("frames", _name(5)),
        ("run-a", _name(1)),
        ("run-b", _name(1)),
    ]


def test_catch_up_delivers_unprocessed_frames_in_order_before_live_ones(watch: Path, tmp_path: Path) -> None:
    run = watch / "run-1"
    run.mkdir()
    for i in (12, 8, 10, 9, 11):  # written out of order; numeric names order by number (9 before 10)
        write_frame(run / f"{i}.jpg", _jpeg(i), slow=False)
    checkpoint = Checkpoint(tmp_path / "cp")
    key = RunKeys().key("run-1", run)
    assert key is not None and key.name == "run-1"
    checkpoint.mark(key.id, "8.jpg")
    checkpoint.mark(key.id, "9.jpg")
    rec = Recorder()
    with watching(_config(watch), checkpoint, rec):
        write_frame(run / "13.jpg", _jpeg(13), slow=False)  # races with the scan
        rec.wait_for(4)
        time.sleep(QUIET_S)
    assert rec.names() == ["10.jpg", "11.jpg", "12.jpg", "13.jpg"]
    assert all(r == "run-1" and ok for r, _, ok in rec.items)


def test_restart_resumes_exactly_where_it_stopped(watch: Path, tmp_path: Path) -> None:
    run = watch / "run-1"
    run.mkdir()
    config = _config(watch)
    checkpoint = Checkpoint(tmp_path / "cp")
    first = Recorder(checkpoint)
    with watching(config, checkpoint, first):
        for i in range(1, 4):
            write_frame(run / _name(i), _jpeg(i), slow=False)
        first.wait_for(3)
    for i in range(4, 7):  # written while the daemon is down, one in place
        write_frame(run / _name(i), _jpeg(i), slow=i == 5)
    restarted = Checkpoint(tmp_path / "cp")  # as a new process would: read back from disk
    second = Recorder(restarted)
    with watching(config, restarted, second):
        second.wait_for(3)
        write_frame(run / _name(7), _jpeg(7), slow=False)
        second.wait_for(4)
        time.sleep(QUIET_S)
    assert first.names() == [_name(i) for i in range(1, 4)]
    assert second.names() == [_name(i) for i in range(4, 8)]
    key = RunKeys().key("run-1", run)  # as a third process would find it
    assert key is not None and restarted.processed(key.id) == [_name(i) for i in range(1, 8)]


def test_stalled_after_the_timeout_and_not_after_a_new_frame(watch: Path, tmp_path: Path) -> None:
    rec = Recorder()
    with watching(_config(watch, stall_timeout_s=0.5), Checkpoint(tmp_path / "cp"), rec) as watcher:
        time.sleep(0.7)
        assert not watcher.stalled()  # no run active yet
        assert watcher.last_arrival is None
        write_frame(watch / _name(1), _jpeg(1), slow=False)
        rec.wait_for(1)
        assert watcher.last_arrival is not None
        wait_until(watcher.stalled, timeout=5)
        write_frame(watch / _name(2), _jpeg(2), slow=False)
        rec.wait_for(2)
        assert not watcher.stalled()


def test_a_blocking_handler_loses_no_frames(watch: Path, tmp_path: Path) -> None:
    gate = threading.Event()
    rec = Recorder(gate=gate)
    with watching(_config(watch), Checkpoint(tmp_path / "cp"), rec):
        write_frame(watch / _name(0), _jpeg(0), slow=False)
        rec.wait_for(1)  # the handler is now blocked inside on_frame
        for i in range(1, 21):
            write_frame(watch / _name(i), _jpeg(i), slow=i % 5 == 0)
        (watch / "run-x").mkdir()
        write_frame(watch / "run-x" / _name(1), _jpeg(1), slow=False)
        gate.set()
        rec.wait_for(22)
        time.sleep(QUIET_S)
    frames_run = [name for run, name, _ in rec.items if run == "frames"]
    assert frames_run == [_name(i) for i in range(21)]
    assert [name for run, name, _ in rec.items if run == "run-x"] == [_name(1)]
    assert all(ok for _, _, ok in rec.items)


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_a_writer_pausing_mid_file_is_not_handed_over_early(
    watch: Path, tmp_path: Path, polling: bool
) -> None:
    data = _jpeg(1)
    rec = Recorder()
    with watching(_config(watch, polling=polling), Checkpoint(tmp_path / "cp"), rec):
        with (watch / _name(1)).open("wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(SETTLE_S + 0.4)  # size stable for longer than settle_s, but no end marker yet
            assert rec.items == []
            f.write(data[len(data) // 2 :])
        rec.wait_for(1)
        time.sleep(QUIET_S)
    assert rec.items == [("frames", _name(1), True)]


def test_an_empty_file_goes_after_the_settle_time_and_again_once_filled(watch: Path, tmp_path: Path) -> None:
    rec = Recorder()
    with watching(_config(watch), Checkpoint(tmp_path / "cp"), rec):
        (
            watch / _name(1)
        ).touch()  # created and closed, but empty: handed over to be flagged, not kept silent
        rec.wait_for(1)
        assert rec.items == [("frames", _name(1), False)]
        write_frame(watch / _name(1), _jpeg(1), slow=True)  # filled later, in place: now a frame
        rec.wait_for(2)
        time.sleep(QUIET_S)
    assert rec.items == [("frames", _name(1), False), ("frames", _name(1), True)]


def test_a_truncated_file_is_handed_over_in_the_end(
    watch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("monitor.ingest.pending.GIVE_UP_S", 0.3)
    rec = Recorder()
    with watching(_config(watch, polling=True), Checkpoint(tmp_path / "cp"), rec):
        (watch / _name(1)).write_bytes(_jpeg(1)[:100])  # the camera died mid-file
        write_frame(watch / _name(2), _jpeg(2), slow=False)
        rec.wait_for(2)
    # the pipeline gets to report the broken frame (FrameError), and the run carries on in order
    assert rec.items == [("frames", _name(1), False), ("frames", _name(2), True)]


def test_rescans_do_not_repeat_frames_not_yet_checkpointed(
    watch: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("monitor.ingest.watcher._RESCAN_S", 0.1)
    rec = Recorder()  # never marks: the frames are still in the daemon's queue, as it were
    with watching(_config(watch), Checkpoint(tmp_path / "cp"), rec):
        for i in range(1, 4):
            write_frame(watch / _name(i), _jpeg(i), slow=False)
        rec.wait_for(3)
        time.sleep(1.5)  # several rescans, each followed by a settle period
    assert rec.names() == [_name(i) for i in range(1, 4)]


def test_a_failing_handler_does_not_stop_the_feed(watch: Path, tmp_path: Path) -> None:
    seen: list[str] = []

    def on_frame(arrival: FrameArrival) -> None:
        seen.append(arrival.path.name)
        if len(seen) == 1:
            raise RuntimeError("sink down")

    watcher = FrameWatcher(config=_config(watch), checkpoint=Checkpoint(tmp_path / "cp"), on_frame=on_frame)
    watcher.start()
    try:
        write_frame(watch / _name(1), _jpeg(1), slow=False)
        wait_until(lambda: len(seen) == 1)
        write_frame(watch / _name(2), _jpeg(2), slow=False)
        wait_until(lambda: len(seen) == 2)
        assert watcher.running
    finally:
        watcher.stop()
    assert seen == [_name(1), _name(2)]


# --- the other formats: BMP, TIFF, 16-bit PNG --------------------------------------------------------------

_NOISE = np.random.default_rng(5).integers(0, 256, (24, 32, 3), np.uint8)
_NOISE16 = np.random.default_rng(6).integers(0, 65536, (24, 32, 3), np.uint16)


def _encoded(image: np.ndarray, ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


def _pillow_tiff(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image[:, :, ::-1])).save(out, "TIFF")  # IFD first, strips after
    return out.getvalue()


# name -> (file bytes, the BGR image the loader must make of it)
_FORMATS: dict[str, tuple[bytes, np.ndarray]] = {
    "0001.bmp": (_encoded(_NOISE, ".bmp"), _NOISE),
    "0002.tif": (_encoded(_NOISE, ".tiff"), _NOISE),  # OpenCV (libtiff): IFD after the strips
    "0003.tiff": (_pillow_tiff(_NOISE), _NOISE),
    "0004.TIFF": (_encoded(_NOISE16, ".tiff"), (_NOISE16 >> 8).astype(np.uint8)),
    "0005.png": (_encoded(_NOISE16, ".png"), (_NOISE16 >> 8).astype(np.uint8)),
}


def _assert_delivered_whole(rec: Recorder, names: list[str]) -> None:
    assert rec.names() == names
    assert all(ok for _, _, ok in rec.items), rec.items
    for name in names:
        assert np.array_equal(rec.images[name], _FORMATS[name][1]), name


def test_the_default_pattern_takes_every_supported_format(watch: Path, tmp_path: Path) -> None:
    rec = Recorder()
    with watching(_config(watch), Checkpoint(tmp_path / "cp"), rec):
        (watch / "0000.gif").write_bytes(b"GIF89a" + bytes(40))  # an image, but not a frame format
        (watch / "notes.txt").write_text("not a frame")
        for name, (data, _) in _FORMATS.items():
            write_frame(watch / name, data, slow=False)
        rec.wait_for(len(_FORMATS))
        time.sleep(QUIET_S)
    _assert_delivered_whole(rec, list(_FORMATS))


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_files_streamed_in_chunks_are_handed_over_only_when_whole(watch: Path, polling: bool) -> None:
    """As a camera streams: write part, flush, pause longer than settle_s, write the rest."""
    rec = Recorder()
    with watching(_config(watch, polling=polling), Checkpoint(watch.parent / "cp"), rec):
        files = {name: (watch / name).open("wb") for name in _FORMATS}
        try:
            for name, f in files.items():
                data = _FORMATS[name][0]
                f.write(data[: len(data) // 2])
                f.flush()
            time.sleep(SETTLE_S + 0.4)  # every size stable for longer than settle_s, none whole
            assert rec.items == []
            for name, f in files.items():
                data = _FORMATS[name][0]
                f.write(data[len(data) // 2 :])
        finally:
            for f in files.values():
                f.close()
        rec.wait_for(len(_FORMATS))
        time.sleep(QUIET_S)
    _assert_delivered_whole(rec, list(_FORMATS))


@pytest.mark.parametrize("name", ["0001.bmp", "0002.tif", "0003.tiff", "0005.png"])
def test_a_writer_closing_between_chunks_is_not_taken_at_its_first_close(
    watch: Path, tmp_path: Path, name: str
) -> None:
    """Under inotify a close usually means done; not when the file fails its format's check."""
    data = _FORMATS[name][0]
    rec = Recorder()
    with watching(_config(watch), Checkpoint(tmp_path / "cp"), rec):
        (watch / name).write_bytes(data[: len(data) // 2])  # opened, written, closed
        time.sleep(SETTLE_S + 0.4)
        assert rec.items == []
        with (watch / name).open("ab") as f:
            f.write(data[len(data) // 2 :])
        rec.wait_for(1)
        time.sleep(QUIET_S)
    _assert_delivered_whole(rec, [name])


def test_start_needs_an_existing_folder(tmp_path: Path) -> None:
    config = _config(tmp_path / "missing")
    watcher = FrameWatcher(config=config, checkpoint=Checkpoint(tmp_path / "cp"), on_frame=Recorder())
    with pytest.raises(FileNotFoundError):
        watcher.start()
