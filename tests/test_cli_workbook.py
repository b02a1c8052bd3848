"""CLI commands that write a workbook (`demo`, `train -o`); they go through sheetnet/workbook.py."""

from __future__ import annotations

import json
import zipfile

from click.testing import CliRunner

from sheetnet.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


def is_xlsx(path) -> bool:
    return path.is_file() and path.stat().st_size > 0 and zipfile.is_zipfile(path) and \
        "xl/workbook.xml" in zipfile.ZipFile(path).namelist()


def one_json_object(text: str) -> dict:
    obj, end = json.JSONDecoder().raw_decode(text.lstrip())
    assert text.lstrip()[end:].strip() == "", text
    return obj


def test_demo_writes_the_workbook(tmp_path):
    out = tmp_path / "demo.xlsx"
    result = run("demo", "-o", str(out))
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert is_xlsx(out)
    for number in ("0.3775", "0.593269992", "0.298371109", "0.35891648"):
        assert number in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 100
    assert "demo.xlsx" in result.stderr and "Traceback" not in result.stderr


def test_demo_needs_no_arguments(tmp_path):
    runner = CliRunner()
    with runner.isolated_filesystem(temp_dir=tmp_path) as cwd:
        result = runner.invoke(main, ["demo"])
        assert result.exit_code == 0, (result.stderr, result.exception)
        from pathlib import Path
        assert is_xlsx(Path(cwd) / "mazur.xlsx")


def test_train_output(tmp_path):
    out = tmp_path / "run.xlsx"
    result = run("train", "mazur", "-o", str(out))
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert is_xlsx(out)
    assert "run.xlsx" in result.stderr


def test_train_output_with_json(tmp_path):
    out = tmp_path / "run.xlsx"
    result = run("train", "mazur", "--output", str(out), "--json")
    assert result.exit_code == 0, (result.stderr, result.exception)
    data = one_json_object(result.stdout)  # the workbook message goes to stderr, not into the JSON
    assert len(data["losses"]) == 1 and len(data["layers"]) == 2
    assert is_xlsx(out)


def test_train_output_layouts(tmp_path):
    for layout in ("auto", "steps", "compact"):
        out = tmp_path / f"{layout}.xlsx"
        result = run("train", "mazur", "-o", str(out), "--layout", layout, "--epochs", "3")
        assert result.exit_code == 0, (layout, result.stderr, result.exception)
        assert is_xlsx(out)


def test_train_output_into_a_missing_folder(tmp_path):
    out = tmp_path / "no such folder" / "run.xlsx"
    result = run("train", "mazur", "-o", str(out))
    assert result.exit_code == 2, (result.stderr, result.exception)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sheetnet: error:")
    assert "run.xlsx" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_bad_spec_is_reported_before_any_workbook(tmp_path):
    out = tmp_path / "run.xlsx"
    result = run("train", str(tmp_path / "missing.toml"), "-o", str(out))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "missing.toml" in result.stderr
    assert not out.exists()
