"""Per-run checkpoints: what is marked is done, survives a restart and a torn write, costs O(1) a mark."""

import json
import shutil
import threading
from pathlib import Path

import pytest

from monitor.ingest.checkpoint import Checkpoint


def test_mark_done_last(tmp_path: Path) -> None:
    cp = Checkpoint(tmp_path / "cp")
    assert not cp.done("run-1", "0001.jpg")
    assert cp.last("run-1") is None
    cp.mark("run-1", "0001.jpg")
    cp.mark("run-1", tmp_path / "frames" / "run-1" / "0002.jpg")  # a path counts by its file name
    assert cp.done("run-1", "0001.jpg")
    assert cp.done("run-1", Path("0002.jpg"))
    assert not cp.done("run-1", "0003.jpg")
    assert not cp.done("run-2", "0001.jpg")  # runs are separate
    assert cp.last("run-1") == "0002.jpg"
    assert cp.processed("run-1") == ["0001.jpg", "0002.jpg"]


def test_marking_twice_is_a_no_op(tmp_path: Path) -> None:
    cp = Checkpoint(tmp_path)
    cp.mark("r", "0001.jpg")
    cp.mark("r", "0002.jpg")
    cp.mark("r", "0001.jpg")  # re-delivered after a restart
    assert cp.processed("r") == ["0001.jpg", "0002.jpg"]
    assert cp.last("r") == "0002.jpg"


def test_survives_a_restart(tmp_path: Path) -> None:
    cp = Checkpoint(tmp_path)
    for i in range(1, 4):
        cp.mark("run-1", f"{i:04d}.jpg")
    cp.mark("run-2", "0009.jpg")
    again = Checkpoint(tmp_path)
    assert again.processed("run-1") == ["0001.jpg", "0002.jpg", "0003.jpg"]
    assert again.last("run-1") == "0003.jpg"
    assert again.done("run-2", "0009.jpg")


def test_each_mark_appends_one_line(tmp_path: Path) -> None:
    cp = Checkpoint(tmp_path)
    cp.mark("run-1@ab12", "0001.jpg")
    size = (tmp_path / "run-1@ab12.log").stat().st_size
    cp.mark("run-1@ab12", "0002.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-1@ab12.log"]  # no temp file left behind
    log = tmp_path / "run-1@ab12.log"
    assert log.read_text() == "0001.jpg\n0002.jpg\n"
    # O(1) per frame: the second mark added its own line and did not rewrite the first
    assert log.stat().st_size == size + len("0002.jpg\n")


def test_a_line_torn_by_a_crash_is_not_a_mark(tmp_path: Path) -> None:
    (tmp_path / "r.log").write_bytes(b"0001.jpg\n0002.jpg\n0003.j")
    cp = Checkpoint(tmp_path)
    assert cp.processed("r") == ["0001.jpg", "0002.jpg"]
    assert not cp.done("r", "0003.jpg")  # it comes again
    cp.mark("r", "0003.jpg")
    assert Checkpoint(tmp_path).processed("r") == ["0001.jpg", "0002.jpg", "0003.jpg"]


def test_an_old_json_checkpoint_is_taken_over_by_the_run_key(tmp_path: Path) -> None:
    (tmp_path / "run-1.json").write_text(json.dumps({"version": 1, "files": ["0001.jpg", "0002.jpg"]}))
    cp = Checkpoint(tmp_path)
    assert cp.processed("run-1@ab12") == ["0001.jpg", "0002.jpg"]
    cp.mark("run-1@ab12", "0003.jpg")
    assert (tmp_path / "run-1.json.migrated").exists() and not (tmp_path / "run-1.json").exists()
    assert Checkpoint(tmp_path).processed("run-1@ab12") == ["0001.jpg", "0002.jpg", "0003.jpg"]


def test_a_frame_name_with_a_line_break_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="line break"):
        Checkpoint(tmp_path).mark("r", "a\nb.jpg")


def test_nested_run_names_get_one_flat_file(tmp_path: Path) -> None:
    cp = Checkpoint(tmp_path / "cp")
    cp.mark("2024/run-7", "0001.jpg")
    files = list((tmp_path / "cp").iterdir())
    assert len(files) == 1 and files[0].parent == tmp_path / "cp"
    assert Checkpoint(tmp_path / "cp").done("2024/run-7", "0001.jpg")
    for bad in ("", ".", ".."):
        with pytest.raises(ValueError):
            cp.mark(bad, "0001.jpg")


def test_an_unreadable_old_checkpoint_starts_the_run_afresh(tmp_path: Path) -> None:
    (tmp_path / "run-1.json").write_text('{"files": ["0001.jpg", ')  # torn by hand
    cp = Checkpoint(tmp_path)
    assert not cp.done("run-1", "0001.jpg")  # re-delivering beats skipping
    cp.mark("run-1", "0001.jpg")
    assert Checkpoint(tmp_path).processed("run-1") == ["0001.jpg"]


def test_marks_from_several_threads_are_all_kept(tmp_path: Path) -> None:
    cp = Checkpoint(tmp_path)

    def mark(start: int) -> None:
        for i in range(start, start + 20):
            cp.mark("run-1", f"{i:04d}.jpg")

    threads = [threading.Thread(target=mark, args=(k * 100,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(Checkpoint(tmp_path).processed("run-1")) == 80


def test_a_deleted_checkpoint_folder_is_made_again_with_every_known_run(tmp_path: Path) -> None:
    """The folder deleted under a running daemon: the next mark (or `verify`) writes back every run it knows,
    the retired ones included, so a restart does not deliver finished runs again."""
    folder = tmp_path / "cp"
    cp = Checkpoint(folder)
    cp.mark("done@1", "0001.jpg")
    cp.mark("done@1", "0002.jpg")
    cp.forget("done@1")  # a finished run, retired from memory
    cp.mark("live@2", "0001.jpg")
    shutil.rmtree(folder)
    assert cp.verify() is True and cp.verify() is False
    shutil.rmtree(folder)
    cp.mark("live@2", "0002.jpg")  # noticed by the mark itself
    cp.close()
    again = Checkpoint(folder)
    assert again.processed("done@1") == ["0001.jpg", "0002.jpg"]
    assert again.processed("live@2") == ["0001.jpg", "0002.jpg"]
