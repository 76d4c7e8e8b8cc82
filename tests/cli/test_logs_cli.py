"""The CLI's log: the command, user errors with their traceback; no log, no problem."""

import os
from pathlib import Path

from bvae_viewer import logs, paths
from tests.cli.test_cli import assert_one_clear_line, run_cli
from tests.volumes import brain_phantom, write_nifti


def state() -> Path:
    return Path(os.environ[paths.STATE_ENV])


def test_the_cli_logs_the_command_and_user_errors_with_their_traceback(tmp_path,
                                                                       untrained_model):
    proc = run_cli("analyze", tmp_path / "nope.nii.gz", "--out", tmp_path / "o",
                   "--model", untrained_model)
    assert "nope.nii.gz" in assert_one_clear_line(proc)
    text = (state() / "log" / logs.LOG_FILE).read_text()
    assert "bvae-viewer analyze" in text and "nope.nii.gz" in text
    assert "analyze refused" in text and "Traceback" in text
    assert "analyze finished with exit code 2" in text


def test_the_cli_runs_when_the_log_cannot_be_written(tmp_path, untrained_model):
    (state() / "log").write_text("a file where the folder should be")
    image, _ = brain_phantom(shape=(48, 56, 12))
    case = write_nifti(tmp_path / "case.nii.gz", image)
    proc = run_cli("analyze", case, "--out", tmp_path / "out", "--model", untrained_model,
                   "--device", "cpu", "--samples", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert (tmp_path / "out" / "case.json").is_file()
    # and a user error is still exactly one line
    assert_one_clear_line(run_cli("analyze", tmp_path / "nope.nii.gz", "--out",
                                  tmp_path / "o", "--model", untrained_model))
