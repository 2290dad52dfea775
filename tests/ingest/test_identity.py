"""Run keys: the same recording keeps its key; a recycled name or another folder is another run."""

import os
import shutil
from pathlib import Path

from monitor.ingest.identity import RunKeys
from monitor.simulate.run import write_frame
from tests.ingest.test_watcher import _jpeg


def _record(folder: Path, seconds: range, seed: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in seconds:
        write_frame(folder / f"{i:04d}.jpg", _jpeg(i + 1000 * seed), slow=False)


def test_a_run_keeps_its_key_as_it_grows_and_across_processes(tmp_path: Path) -> None:
    run = tmp_path / "run1"
    _record(run, range(1, 3))
    key = RunKeys().key("run1", run)
    assert key is not None and key.name == "run1" and key.id.startswith("run1@")
    _record(run, range(3, 6))
    os.utime(run / "0001.jpg", (1, 1))  # touched: the contents are the same recording
    assert RunKeys().key("run1", run) == key


def test_a_recycled_name_is_a_new_run(tmp_path: Path) -> None:
    keys = RunKeys()
    run = tmp_path / "run1"
    _record(run, range(1, 4))
    old = keys.key("run1", run)
    shutil.rmtree(run)
    _record(run, range(1, 4), seed=1)  # the same file names, another recording
    new = keys.key("run1", run)
    assert old is not None and new is not None and new.id != old.id and new.name == old.name


def test_the_same_name_in_another_watch_folder_is_another_run(tmp_path: Path) -> None:
    _record(tmp_path / "a" / "run1", range(1, 3))
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # even with the very same frames
    keys = RunKeys()
    a, b = keys.key("run1", tmp_path / "a" / "run1"), keys.key("run1", tmp_path / "b" / "run1")
    assert a is not None and b is not None and a.id != b.id


def test_no_key_until_a_frame_is_whole(tmp_path: Path) -> None:
    run = tmp_path / "run1"
    run.mkdir()
    data = _jpeg(1)
    (run / "0001.jpg").write_bytes(b"")
    keys = RunKeys()
    assert keys.key("run1", run) is None
    (run / "0001.jpg").write_bytes(data[:100])  # half written
    assert keys.key("run1", run) is None
    (run / "0001.jpg").write_bytes(data)
    key = keys.key("run1", run)
    assert key is not None and key == RunKeys().key("run1", run)
    assert keys.unidentified("run1", run).id != key.id
