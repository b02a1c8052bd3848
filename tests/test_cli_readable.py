"""The first hour at the command line: a spec to start from, plain wording."""

from __future__ import annotations

import tomllib

import pytest
from click.testing import CliRunner

import sheetnet
from sheetnet import gallery
from sheetnet.cli import main


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("name", ["mazur", "cnn123"])
def test_examples_toml_prints_a_spec_that_trains_like_the_example(tmp_path, name):
    result = run("examples", name, "--toml")
    assert result.exit_code == 0, result.output
    path = tmp_path / "start.toml"
    path.write_text(result.stdout)
    assert "csv" not in tomllib.loads(result.stdout)["data"]  # runs anywhere, no file beside it
    assert result.stdout.startswith("#")  # the example's comments come along
    mine, theirs = sheetnet.train(sheetnet.load_spec(str(path))), sheetnet.train(sheetnet.example(name))
    assert mine.loss.tolist() == theirs.loss.tolist()


def test_examples_toml_of_mazur_is_its_file_with_comments():
    out = run("examples", "mazur", "--toml").stdout
    assert "Matt Mazur" in out and 'weight_names = [["w1", "w2"], ["w3", "w4"]]' in out


@pytest.mark.parametrize("args, words", [(("examples", "mazr", "--toml"), "did you mean 'mazur'"),
                                         (("examples", "--toml"), "needs the name of an example")])
def test_examples_toml_refuses_in_one_line(args, words):
    result = run(*args)
    assert result.exit_code == 2
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_one_step_is_one_step_not_one_steps():
    out = run("train", "mazur").stdout
    assert ": 1 step in 1 epoch" in out
    assert "1 steps" not in out


def test_examples_lists_one_sample_in_the_singular():
    lines = run("examples").stdout.splitlines()
    mazur = next(line for line in lines if line.startswith("mazur "))
    assert " 1 sample " in mazur


def test_gallery_help_names_every_example_of_the_gallery():
    text = " ".join(run("gallery", "--help").stdout.split())
    for name in gallery.GALLERY:
        assert name in text


def test_demo_says_how_libreoffice_recalculates(tmp_path):
    result = run("demo", "-o", str(tmp_path / "m.xlsx"))
    assert result.exit_code == 0
    assert "Ctrl+Shift+F9" in result.stderr


@pytest.fixture(scope="module")
def mazur_book(tmp_path_factory):
    path = tmp_path_factory.mktemp("read") / "mazur.xlsx"
    assert run("train", "mazur", "-o", str(path)).exit_code == 0
    return path


def test_read_prints_the_parameters_as_tables(mazur_book):
    out = run("read", str(mazur_book)).stdout.splitlines()
    header = next(line for line in out if line.split() == ["i1", "i2", "bias"])
    h1 = out[out.index(header) + 1].split()
    # Mazur's published updated weights: w1+ = 0.149780716, w2+ = 0.19956143; his biases stay
    assert h1[0] == "h1" and h1[1] == "0.149780716" and h1[2].startswith("0.19956143") and h1[3] == "0.35"
    o1 = next(line for line in out if line.split()[:1] == ["o1"]).split()
    assert o1[1] == "0.35891648" and o1[3] == "0.6"  # w5+ = 0.35891648


def test_a_workbook_of_another_format_is_refused_in_one_line(mazur_book, tmp_path):
    import openpyxl
    book = openpyxl.load_workbook(mazur_book)
    book["_sheetnet"]["B1"] = 1
    old = tmp_path / "old.xlsx"
    book.save(old)
    result = run("read", str(old))
    assert result.exit_code == 2
    assert "workbook format 1" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_too_many_step_sheets_are_refused_with_the_alternative(tmp_path):
    out = tmp_path / "xor.xlsx"
    result = run("train", "xor", "--layout", "steps", "-o", str(out))
    assert result.exit_code == 2
    assert "--layout compact" in result.stderr and "600 step sheets" in result.stderr
    assert not out.exists()


def test_writing_and_auditing_report_every_step_to_a_progress_callback(tmp_path):
    from sheetnet.book.audit import audit
    from sheetnet.book.reader import open_book
    from sheetnet.sheet.workbook import write_workbook

    trace = sheetnet.train(sheetnet.example("mazur").with_train(epochs=3))
    calls = []
    write_workbook(trace, str(tmp_path / "m.xlsx"), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    calls.clear()
    assert audit(open_book(str(tmp_path / "m.xlsx")), progress=lambda d, t: calls.append((d, t))) == []
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_the_progress_bar_shows_only_for_long_work():
    from sheetnet.cli import _Progress
    with _Progress("short", 99) as p:
        assert p.bar is None
        p(5, 99)  # a no-op
    with _Progress("long", 100) as p:
        assert p.bar is not None
        p(40, 100)
        assert p.bar.pos == 40


def test_the_readme_spec_reference_lists_every_key():
    from pathlib import Path

    from sheetnet.spec.model import DATA_KEYS, LAYER_KEYS, TOP_KEYS
    from sheetnet.spec.settings import LOSS_KEYS, TRAIN_DEFAULTS
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text[text.index("## The spec, key by key"):text.index("## The Python API")]
    keys = {*TOP_KEYS, *(k for keys in LAYER_KEYS.values() for k in keys), *LOSS_KEYS, *TRAIN_DEFAULTS, *DATA_KEYS}
    missing = [k for k in sorted(keys) if f"`{k}`" not in section and f"`[{k}]`" not in section
               and f"`[[{k}]]`" not in section]
    assert not missing
