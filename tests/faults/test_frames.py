"""Hostile frames fed to a running daemon (issue 16, "Frames"): each is flagged with its kind and a clear
text, the daemon stays ready and alive, every good frame around it comes out, and nothing logs a traceback."""

import os
from pathlib import Path

import pytest

from monitor.records import FlagKind
from tests.faults.harness import Rig, bomb_jpeg, resized_jpeg
from tests.services import wait_until

pytestmark = pytest.mark.faults


def _good_frames_all_came_out(rig: Rig, *seconds: int) -> None:
    names = [f"{s:04d}.jpg" for s in seconds]
    stored = rig.wait_stored(*names)
    assert all(stored[n]["frame_error"] is None for n in names)
    assert all(rig.result(n).frame_error is None for n in names)


@pytest.mark.parametrize(("width", "height"), [(16000, 16000), (5000, 5000)])
def test_a_decompression_bomb_is_flagged_too_large_without_decoding(
    rig_factory, width: int, height: int
) -> None:
    """Fed: a ~1 KB JPEG whose header declares 16000x16000 (or 5000x5000: above ingest.max_pixels, below
    Pillow's own guard). Seen: flag `frame: 0112.jpg: too large: ...`, kind too_large; ready; no traceback."""
    rig = rig_factory()
    rig.drop_good(110, 111)
    rig.drop("0112.jpg", bomb_jpeg(width, height))
    rig.drop_good(113)
    flag = rig.result("0112.jpg").flags[0]
    assert flag.kind is FlagKind.TOO_LARGE
    assert str(flag).startswith("frame: 0112.jpg: too large:") and "16777216 pixels" in str(flag)
    assert rig.wait_stored("0112.jpg")["0112.jpg"]["flags"] == str(flag)
    _good_frames_all_came_out(rig, 110, 111, 113)
    assert rig.daemon.health().ready and rig.daemon.health().alive
    assert rig.tracebacks() == []


def test_a_link_out_of_the_watched_folder_is_flagged_and_never_read(rig_factory, tmp_path: Path) -> None:
    """Fed: `0112.jpg` -> a file outside holding a secret. Seen: flag kind outside_folder, `frame: 0112.jpg:
    a link out of the watched folder; not read`; the secret appears in no log line and no stored row."""
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:TOPSECRET\n", encoding="utf-8")
    rig = rig_factory()
    rig.drop_good(110, 111)
    os.symlink(secret, rig.watch / "0112.jpg")
    rig.drop_good(113)
    flag = rig.result("0112.jpg").flags[0]
    assert flag.kind is FlagKind.OUTSIDE_FOLDER
    assert str(flag) == "frame: 0112.jpg: a link out of the watched folder; not read"
    _good_frames_all_came_out(rig, 110, 111, 113)
    stored = rig.stored()
    assert "TOPSECRET" not in repr(stored) and not rig.logged("TOPSECRET")
    assert rig.daemon.health().ready and rig.tracebacks() == []


def test_an_empty_file_is_flagged_after_the_settle_time_and_processed_once_filled(rig_factory) -> None:
    """Fed: an empty `0112.jpg` (today it waited silently forever), later filled in place. Seen: flag kind
    empty `frame: 0112.jpg: empty file`; once filled, the frame itself comes out (nothing lost)."""
    rig = rig_factory()
    rig.drop_good(110, 111)
    (rig.watch / "0112.jpg").touch()
    flag = rig.result("0112.jpg").flags[0]
    assert (flag.kind, str(flag)) == (FlagKind.EMPTY, "frame: 0112.jpg: empty file")
    assert rig.wait_stored("0112.jpg")["0112.jpg"]["flags"] == "frame: 0112.jpg: empty file"
    (rig.watch / "0112.jpg").write_bytes(rig.good(112).read_bytes())
    wait_until(lambda: rig.result("0112.jpg").frame_error is None, "the filled frame processed")
    wait_until(lambda: rig.stored()["0112.jpg"]["frame_error"] is None, "the filled frame stored")
    _good_frames_all_came_out(rig, 110, 111)
    assert rig.daemon.health().ready and rig.tracebacks() == []


def test_a_frame_of_another_size_is_flagged_at_once(rig_factory) -> None:
    """Fed: `0112.jpg` at 160x120 in a run of 320x240 frames (no size configured). Seen at once (not via
    OCR's "time stuck"): flag kind size_changed, `frame: 0112.jpg: wrong size 160x120, expected 320x240`."""
    rig = rig_factory()
    rig.drop_good(110, 111)
    rig.drop("0112.jpg", resized_jpeg(rig.good(112), (160, 120)))
    rig.drop_good(113)
    flag = rig.result("0112.jpg").flags[0]
    assert flag.kind is FlagKind.SIZE_CHANGED
    assert str(flag) == "frame: 0112.jpg: wrong size 160x120, expected 320x240"
    _good_frames_all_came_out(rig, 110, 111, 113)
    assert rig.daemon.health().ready and rig.tracebacks() == []


def test_a_stray_frame_from_another_run_is_flagged_once_not_per_later_frame(rig_factory) -> None:
    """Fed: `0800.jpg` (another run's) dropped while the run is at 0111, its own frames going on. Seen: one
    flag kind stray on 0800.jpg, and no "arrived late" line for the run's later frames, all processed."""
    rig = rig_factory()
    rig.drop_good(110, 111)
    rig.result("0111.jpg")
    rig.drop("0800.jpg", rig.good(120).read_bytes())
    rig.drop_good(112, 113)
    flag = rig.result("0800.jpg").flags[0]
    assert flag.kind is FlagKind.STRAY and str(flag).startswith("frame: 0800.jpg: a stray from another run")
    rig.drop_good(114, 115)
    _good_frames_all_came_out(rig, 110, 111, 112, 113, 114, 115)
    assert rig.logged("arrived late") == []
    assert [r.file for r in rig.results].count("0800.jpg") == 1
    assert rig.daemon.health().ready and rig.tracebacks() == []
