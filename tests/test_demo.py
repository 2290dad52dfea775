"""`furnace-monitor demo`: live first, the report, the models on the live run; a safe working folder; the
private broker stopped whatever fails."""

import re
import socket
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.demo.outdir import MARKER, OutFolderError, prepare_out


def test_demo_tells_the_story_live_first(
    tmp_path: Path, tiny_models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The live daemon with a private broker and the models, the alert on MQTT, the report, the models checked
    on the run they did not see, a forecast frame, then where to look next; each milestone with its time."""
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--models", str(tiny_models)]) == 0
    printed = capsys.readouterr().out
    assert f"0. Trained models found in {tiny_models}" in printed
    frame_line = r"progress=\d+% \((stage|kinetics|image)\) \| image: 1#=\d+ forecast \+10 s change="
    assert re.search(frame_line, printed)
    assert len(list((out / "live" / "run1").glob("*.jpg"))) == 562
    assert "*** ALERT: crystallization_start at 548 s" in printed
    assert "[mqtt] status: offline" in printed
    for word in ("heating", "melting", "molten", "cooling", "crystallizing", "solid", "crystallization_end"):
        assert word in printed
    # the milestones, in the order they happen, each with the seconds since the start
    marks = re.findall(r"^\[\s*(\d+) s\] (.+)$", printed, flags=re.M)
    names = [name.split(":")[0] for _, name in marks]
    assert names[:3] == ["first MQTT message (a frame)", "crystallization alert on MQTT", "report written"]
    assert names[-2:] == ["models checked on the live run", "demo done"]
    seconds = [int(s) for s, _ in marks]
    assert seconds == sorted(seconds)
    # live first: every MQTT line comes before the report and the model check
    assert printed.rindex("[mqtt]") < printed.index("3. The run report") < printed.index("5. The models")
    assert re.search(r"5\. The models on the live run .*\n   \d+ frames: 1# from the image MAE \d", printed)
    # progress scored as the pipeline publishes it (the run's history, the image where it cannot tell)
    assert re.search(r"progress MAE \d+\.\d+ pp \(image alone \d+\.\d+, baseline", printed)
    shot = re.search(r"forecast \+10 s from (\d+\.jpg): (\S+); the real frame then: (\S+)", printed)
    assert shot and Path(shot[2]).is_file() and Path(shot[3]).is_file()
    # the report is the one the daemon wrote when the run ended, the one its live page links
    (report,) = (out / "state" / "reports").glob("run1@*/report.html")
    assert "crystallization_start" in report.read_text(encoding="utf-8")
    assert "overlay read exactly as the truth: 1# 562/562, 2# 562/562" in printed
    tail = printed[printed.index("Where to look next") :]
    assert f"the report:    {report}" in tail
    assert re.search(r"the live page: http://127\.0\.0\.1:\d+/", tail)
    assert re.search(r"mosquitto_sub -h 127\.0\.0\.1 -p \d+ -t 'furnace/#' -v", tail)


@pytest.mark.faults
def test_demo_refuses_a_folder_it_did_not_make(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--out .` in a checkout must not wipe it: exit 2, one line, every file still there."""
    (tmp_path / "README.md").write_text("mine\n", encoding="utf-8")
    (tmp_path / "src").mkdir()
    assert main(["demo", "--out", str(tmp_path), "--no-models"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1
    assert "holds no earlier demo output" in captured.err and "nothing deleted" in captured.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "src"]
    assert (tmp_path / "README.md").read_text(encoding="utf-8") == "mine\n"


def test_out_folder_of_an_earlier_demo_is_emptied(tmp_path: Path) -> None:
    prepare_out(tmp_path / "demo")
    (tmp_path / "demo" / "live").mkdir()
    (tmp_path / "demo" / "live" / "0110.jpg").write_bytes(b"old")
    prepare_out(tmp_path / "demo")
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [MARKER]


def test_out_folder_of_a_demo_from_before_the_marker_is_emptied(tmp_path: Path) -> None:
    """`make demo` after an update: its ./demo of folders the demo writes, without the marker yet."""
    for name in ("live/run1", "state", "analysis"):
        (tmp_path / "demo" / name).mkdir(parents=True)
    prepare_out(tmp_path / "demo")
    assert sorted(p.name for p in (tmp_path / "demo").iterdir()) == [MARKER]
    (tmp_path / "other" / "live").mkdir(parents=True)
    (tmp_path / "other" / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(OutFolderError):
        prepare_out(tmp_path / "other")


@pytest.mark.faults
def test_out_folder_refuses_a_file_and_a_link(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(OutFolderError, match="nothing deleted"):
        prepare_out(tmp_path / "notes.txt")
    earlier = tmp_path / "earlier"
    prepare_out(earlier)
    (tmp_path / "link").symlink_to(earlier)
    with pytest.raises(OutFolderError):
        prepare_out(tmp_path / "link")
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep" and (earlier / MARKER).is_file()


@pytest.mark.faults
def test_private_broker_stopped_when_the_demo_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A models folder whose manifests are broken fails the daemon's start after the broker is up: the
    error is one clear line, and the broker process is gone."""
    models = tmp_path / "models"
    for name in ("temperature_progress", "forecast"):
        (models / name).mkdir(parents=True)
        (models / name / "manifest.json").write_text("{ not json", encoding="utf-8")
    assert main(["demo", "--out", str(tmp_path / "demo"), "--models", str(models)]) == 2
    captured = capsys.readouterr()
    found = re.search(r"A private MQTT broker \(pid (\d+)\) on 127\.0\.0\.1:(\d+)", captured.out)
    assert found, captured.out
    pid, port = int(found[1]), int(found[2])
    assert "manifest.json" in captured.err
    proc = Path(f"/proc/{pid}/cmdline")
    assert not proc.exists() or b"mosquitto" not in proc.read_bytes()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
