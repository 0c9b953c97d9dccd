"""``corridor phantom``: writes the output; a bad value gives one clear line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest

from corridor.cli import build_parser
from corridor.cli import main as corridor_main
from corridor_phantoms.cli import main


def test_phantom_is_a_corridor_subcommand(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser().parse_args(["phantom", "sphere", "--out", str(tmp_path / "x")])
    assert callable(args.handler)
    status = corridor_main(["phantom", "cylinder", "--out", str(tmp_path / "out"),
                            "--shape", "40", "36", "20", "--spacing", "1.5", "1.5", "2.5"])
    assert status == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "out" / "truth" / "labels.npy").is_file()


def test_every_option_reaches_the_output(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    status = main(["femur", "--out", str(out), "--seed", "9", "--shape", "40", "36", "12",
                   "--spacing", "5", "5", "8", "--orientation", "oblique", "--oblique-angle", "15",
                   "--patient-position", "FFP", "--noise", "0", "--fault", "missing-slice",
                   "--fault", "non-ct-files", "--transfer-syntax", "rle", "--enhanced"])
    assert status == 0, capsys.readouterr().err
    manifest = json.loads((out / "truth" / "manifest.json").read_text())
    assert manifest["request"] == {
        "kind": "femur", "seed": 9, "shape": [40, 36, 12], "spacing": [5.0, 5.0, 8.0],
        "orientation": "oblique", "oblique_angle_deg": 15.0, "patient_position": "FFP",
        "noise_hu": 0.0, "gantry_tilt_deg": 0.0,
    }
    assert sorted(manifest["faults"]) == ["missing-slice", "non-ct-files"]
    assert manifest["series"]["enhanced"] is True
    main_file = out / manifest["series"]["files"][0]["path"]
    ds = pydicom.dcmread(main_file)
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.5"
    assert ds.PatientPosition == "FFP"
    assert int(ds.NumberOfFrames) == 11
    labels = np.load(out / "truth" / "labels.npy")
    assert labels.shape == (40, 36, 12)


@pytest.mark.parametrize(("argv", "words"), [
    (["skull"], "phantom kind: found 'skull', expected one of pelvis, femur"),
    (["sphere", "--shape", "0", "8", "8"], "phantom shape"),
    (["sphere", "--spacing", "1", "0", "1"], "phantom spacing"),
    (["sphere", "--orientation", "tilted"], "axial, coronal, sagittal, oblique"),
    (["sphere", "--patient-position", "hfs"], "HFS, FFS, HFP, FFP"),
    (["sphere", "--fault", "broken"], "shuffled-order, missing-slice"),
    (["sphere", "--transfer-syntax", "jpeg"], "explicit-little-endian, rle"),
    (["sphere", "--seed", "-3"], "phantom seed"),
    (["sphere", "--shape", "16", "16", "8", "--transfer-syntax", "jpeg2000-lossless"],
     "at least 32 x 32"),
])
def test_bad_values_give_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             argv: list[str], words: str) -> None:
    status = main([*argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("corridor phantom: error: ")
    assert words in err
    assert not (tmp_path / "out").exists()


def test_existing_output_is_refused_in_one_line(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "data").write_text("keep")
    assert main(["sphere", "--out", str(out), "--shape", "8", "8", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "overwrite" in err
    assert main(["sphere", "--out", str(out), "--shape", "8", "8", "4", "--overwrite"]) == 0
    assert not (out / "data").exists()


def test_unwritable_output_is_one_line(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["sphere", "--out", str(blocker / "out"), "--shape", "8", "8", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot write" in err


def test_non_numeric_shape_is_an_argparse_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["sphere", "--out", "x", "--shape", "a", "b", "c"])
    assert caught.value.code == 2
    assert "invalid int value: 'a'" in capsys.readouterr().err
