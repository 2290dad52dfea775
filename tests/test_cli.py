"""Every CLI command on a tiny run: exit codes and what they print."""

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import build_parser, main
from tests.services import free_port

REPO = Path(__file__).resolve().parents[1]


def test_simulate_writes_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    args = [
        "simulate",
        str(out),
        "--seconds",
        "5",
        "--start",
        "546",
        "--width",
        "320",
        "--height",
        "240",
        "-q",
    ]
    assert main(args) == 0
    assert sorted(p.name for p in out.glob("*.jpg")) == [f"{t:04d}.jpg" for t in range(546, 551)]
    printed = capsys.readouterr().out
    assert "crystallization_start       548   0548.jpg" in printed
    assert "cooling" in printed and "crystallizing" in printed


def test_simulate_profile_flags_change_the_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "simulate",
        str(tmp_path),
        "--seconds",
        "3",
        "--start",
        "300",
        "--width",
        "320",
        "--height",
        "240",
    ]
    assert main([*args, "--peak-c", "1400", "-q"]) == 0
    rows = (tmp_path / "truth.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert all(1395 <= int(r.split(",")[2]) <= 1405 for r in rows)


def test_simulate_options_file(tmp_path: Path) -> None:
    options = tmp_path / "sim.yaml"
    options.write_text("seconds: 2\nstart: 200\nwidth: 320\nheight: 240\nprofile: {peak_c: 1450}\n", "utf-8")
    assert main(["simulate", str(tmp_path / "run"), "--options", str(options), "-q"]) == 0
    assert len(list((tmp_path / "run").glob("*.jpg"))) == 2


def test_simulate_exposure_flag_overrides_the_options_file(tmp_path: Path) -> None:
    """--exposure picks the camera's exposure; the rest of the camera comes from --options."""
    options = tmp_path / "sim.yaml"
    options.write_text("camera: {gain: 2.5, exposure: auto}\n", "utf-8")
    args = ["simulate", str(tmp_path / "run"), "--options", str(options), "--seconds", "30", "--start", "400"]
    assert main([*args, "--width", "320", "--height", "240", "--exposure", "fixed", "-q"]) == 0
    rows = (tmp_path / "run" / "truth.csv").read_text(encoding="utf-8").splitlines()
    gain = rows[0].split(",").index("gain")
    assert {r.split(",")[gain] for r in rows[1:]} == {"2.5000"}


def test_simulate_refuses_bad_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", str(tmp_path), "--quality", "0", "-q"]) == 2
    assert "jpeg_quality" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_check_config_ok(capsys: pytest.CaptureFixture[str]) -> None:
    """--syntax-only: the shipped file's folders (/var/lib/furnace-monitor) need not exist on this machine."""
    assert main(["check-config", "-c", str(REPO / "config" / "monitor.yaml"), "--syntax-only"]) == 0
    assert capsys.readouterr().out.strip() == f"OK   config: {REPO / 'config' / 'monitor.yaml'} is valid"


def test_check_config_checks_the_machine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Folders that can be used and a free port: one OK line per check, exit 0."""
    (tmp_path / "frames").mkdir()
    config = tmp_path / "monitor.yaml"
    config.write_text(
        f"ingest: {{watch_dir: {tmp_path / 'frames'}, checkpoint_dir: {tmp_path / 'state' / 'ckpt'}}}\n"
        f"outbox: {{path: {tmp_path / 'state' / 'outbox.sqlite'}}}\n"
        f"store: {{path: {tmp_path / 'store.sqlite'}}}\n"
        f"http: {{port: {free_port()}}}\n",
        encoding="utf-8",
    )
    assert main(["check-config", "-c", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = [line.split(":")[0] for line in lines]
    assert names == ["OK   config", "OK   ingest.watch_dir", "OK   ingest.checkpoint_dir", "OK   outbox.path",
                     "OK   store.path", "OK   http port"]  # fmt: skip
    assert f"{tmp_path / 'state' / 'ckpt'} will be created (under {tmp_path})" in lines[2]
    assert not (tmp_path / "state").exists(), "check-config must not create anything"


def test_top_level_help_speaks_to_the_user(capsys: pytest.CaptureFixture[str]) -> None:
    """issue 17: the help opened with a developer docstring; it now says what the tool does, then how to
    start, with the exit codes."""
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    description = text.split("\n\n")[1]
    assert description.startswith("furnace-monitor reads the camera of a hot-thermocouple furnace")
    assert "library function" not in text
    assert "start here:" in text and "furnace-monitor doctor -c monitor.yaml" in text
    assert "exit codes: 0 done; 1" in text


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_every_command_and_option_explains_itself_with_an_example(name: str) -> None:
    """Every command has a one-line summary, a description, and examples that are valid command lines;
    every option has a help text."""
    command = _subcommands()[name]
    assert command.description and len(command.description) > 60
    assert command.epilog and command.epilog.startswith("examples:\n")
    examples = [
        line.split("  ", 2)[1] for line in command.epilog.splitlines()[1:] if "furnace-monitor" in line
    ]
    assert examples, command.epilog
    for example in examples:
        argv = shlex.split(example)
        if argv[0] == "furnace-monitor":
            parsed = build_parser().parse_args(argv[1:])  # an example that does not parse exits 2 here
            assert parsed.command == name
    for action in command._actions:
        if not isinstance(action, argparse._HelpAction):
            assert action.help and len(action.help) > 8, f"{name} {action.dest} has no help"


def test_check_config_lists_every_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("mqtt:\n  port: 0\n  usernme: op\nhttp: {port: -1}\n", encoding="utf-8")
    assert main(["check-config", "-c", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "3 error(s)" in err
    assert "mqtt.port: Input should be greater than or equal to 1 (got 0)" in err
    assert "mqtt.usernme: unknown key (did you mean 'username'?)" in err
    assert "http.port:" in err


def test_python_dash_m_is_the_same_command() -> None:
    done = subprocess.run([sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.startswith("furnace-monitor ")


def test_digitize_writes_table_and_plot(
    heating_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table, plot = tmp_path / "table.xlsx", tmp_path / "curves.png"
    assert main(["digitize", str(heating_run.out), "-o", str(table), "--plot", str(plot), "-q"]) == 0
    printed = capsys.readouterr().out
    assert f"40 frames -> {table}" in printed
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from monitor.overlay.table import read_table

    rows = read_table(table)
    assert [int(r["Time"]) for r in rows] == [f.time_s for f in heating_run.frames]


def test_digitize_names_a_missing_model_folder(heating_run, tmp_path: Path, capsys) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"ocr:\n  rec_model_dir: {tmp_path / 'gone'}\n", encoding="utf-8")
    assert (
        main(["digitize", str(heating_run.out), "-o", str(tmp_path / "t.csv"), "-c", str(config), "-q"]) == 2
    )
    err = capsys.readouterr().err
    assert f"OCR model folder {tmp_path / 'gone'} does not exist" in err


def test_evaluate_ocr_prints_accuracy(
    heating_run, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "score.json"
    args = [
        "evaluate-ocr",
        str(heating_run.out),
        "--truth",
        str(heating_run.out / "truth.csv"),
        "--json",
        str(out),
    ]
    assert main([*args, "-q"]) == 0
    printed = capsys.readouterr().out
    assert "t1         40/40       100.00 %" in printed
    import json

    doc = json.loads(out.read_text(encoding="utf-8"))
    fields = doc["readers"]["furnace-monitor"]["fields"]
    assert fields["time"]["exact"] == 40 and fields["t2"]["wrong_unflagged"] == 0


def test_evaluate_ocr_compares_with_the_naive_reader(heating_run, tmp_path: Path, capsys) -> None:
    out = tmp_path / "score.json"
    args = ["evaluate-ocr", str(heating_run.out), "--truth", str(heating_run.out / "truth.csv"), "--compare"]
    assert main([*args, "--json", str(out), "-q"]) == 0
    assert "speed-up over the naive reader:" in capsys.readouterr().out
    import json

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert len(doc["readers"]) == 2 and doc["speedup_vs_naive"] > 0


def test_evaluate_ocr_variant_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    classes = ["reference", "font:cjk-serif", "colour:on-picture", "per-frame"]
    out = tmp_path / "sweep.json"
    args = ["evaluate-ocr", "--variants", str(tmp_path), "--seconds", "4", "--classes", *classes]
    assert main([*args, "--json", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("class ") and all(f"\n{c} " in printed for c in classes)
    import json

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert list(doc) == classes
    for name in classes:
        assert doc[name]["frames"] == 4
        assert all(f["wrong_unflagged"] == 0 for f in doc[name]["fields"].values()), name
    assert doc["font:cjk-serif"]["layout_detections"] == 2  # two runs, one style each: found once per run


def test_evaluate_ocr_refuses_an_unknown_variant_class(tmp_path: Path, capsys) -> None:
    assert main(["evaluate-ocr", "--variants", str(tmp_path), "--classes", "comic-sans", "-q"]) == 2
    assert "unknown variant class comic-sans" in capsys.readouterr().err


# --- frame formats and folders without frames ------------------------------------------------------------


def test_analyze_reads_a_folder_of_bmp_frames(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The real recorder (SHTT-II) saves 0110.bmp, 0111.bmp, ...: each frame is analysed and read."""
    import csv

    import cv2

    from monitor.simulate import SimulationOptions, simulate

    options = SimulationOptions(seconds=3, start=110, width=320, height=240, seed=2, workers=1)
    run = simulate(tmp_path / "sim", options, progress=False)
    bmps = tmp_path / "bmp"
    bmps.mkdir()
    for frame in run.frames:
        assert cv2.imwrite(
            str(bmps / frame.file.replace(".jpg", ".bmp")), cv2.imread(str(run.out / frame.file))
        )
    out = tmp_path / "out"
    assert main(["analyze", str(bmps), "-o", str(out), "--no-report", "-q"]) == 0
    assert "run bmp: 3 frames" in capsys.readouterr().out
    with (out / "features.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [int(float(r["time_s"])) for r in rows] == [110, 111, 112]


def _fake_models(folder: Path) -> Path:
    """A models folder that passes the CLI's check for a manifest; never loaded in these tests."""
    from monitor.nets.manifest import MANIFEST_NAME
    from monitor.nets.runtime import REGRESSOR_DIR

    (folder / REGRESSOR_DIR).mkdir(parents=True)
    (folder / REGRESSOR_DIR / MANIFEST_NAME).write_text("{}", encoding="utf-8")
    return folder


@pytest.mark.parametrize("command", ["analyze", "digitize", "train", "evaluate-models"])
def test_a_folder_without_frames_is_an_error_naming_the_formats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    empty = tmp_path / "run"
    empty.mkdir()
    (empty / "notes.txt").write_text("the camera saved nothing")
    out = ["-o", str(tmp_path / ("t.csv" if command == "digitize" else "out"))]
    args = ["--models", str(_fake_models(tmp_path / "models"))] if command == "evaluate-models" else out
    assert main([command, str(empty), *args, "-q"]) == 2
    err = capsys.readouterr().err
    assert f"error: {empty}: no frame files (looked for jpg/jpeg/png/bmp/tif/tiff)" in err


def test_a_folder_of_undecodable_frames_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "0110.bmp").write_bytes(b"BM" + bytes(10))  # the recorder died at once
    assert main(["analyze", str(tmp_path), "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert f"error: {tmp_path}: none of the 1 frame files decodes (first: 0110.bmp: truncated BMP" in err
    assert not (tmp_path / "out").exists()  # no empty report
