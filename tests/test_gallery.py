"""The example gallery: the built-in examples, `sheetnet gallery`, and the committed workbooks/.

The workbooks of the gallery are regenerated (without pictures: rendering them takes
LibreOffice a while) and compared cell by cell with the committed ones in workbooks/: same
sheets, same cells, same formulas and text exactly, numbers within the reproducibility promise
of the README (see tests/reproducible.py: the committed files were written on another CPU,
whose BLAS kernels may round matrix products differently).  A failure means the committed
gallery is stale: refresh it with `sheetnet gallery workbooks/` (which redraws the pictures too).
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from reproducible import same_value

import sheetnet
from sheetnet import gallery
from sheetnet.examples import resolve
from sheetnet.book.cells import read_cells
from sheetnet.cli import main

REPO = Path(__file__).resolve().parents[1]
BOOKS = REPO / "workbooks"
README = REPO / "README.md"
EXAMPLES = REPO / "sheetnet" / "examples"


def run(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """The gallery's workbooks written now by `sheetnet gallery DIR --no-pictures`."""
    folder = tmp_path_factory.mktemp("gallery")
    result = run("gallery", str(folder), "--no-pictures")
    assert result.exit_code == 0, (result.stderr, result.exception)
    return folder


# --------------------------------------------------------------------------- the committed gallery
def test_every_example_is_in_the_gallery_or_left_out_for_a_reason():
    shown, left = set(gallery.GALLERY), set(gallery.LEFT_OUT)
    assert not shown & left
    from sheetnet.examples import function_example_names
    assert shown | left == set(sheetnet.example_names()) | set(function_example_names())
    assert all(reason for reason in gallery.LEFT_OUT.values())


def test_the_workbooks_folder_holds_exactly_the_gallery():
    assert sorted(p.name for p in BOOKS.glob("*.xlsx")) == sorted(f"{n}.xlsx" for n in gallery.GALLERY)
    expected = {os.path.basename(p) for n in gallery.GALLERY for p in gallery.picture_paths(n, "")}
    assert {p.name for p in (BOOKS / "img").glob("*.png")} == expected


def test_the_command_writes_one_workbook_per_example(fresh):
    assert sorted(p.name for p in fresh.iterdir()) == sorted(f"{n}.xlsx" for n in gallery.GALLERY)


@pytest.mark.parametrize("name", gallery.GALLERY)
def test_committed_workbook_is_current(fresh, name):
    """Same sheets, same cells, same formulas, same values as a workbook written now
    (timestamps and document properties may differ)."""
    committed = BOOKS / f"{name}.xlsx"
    assert committed.is_file(), f"{committed} is missing: run `sheetnet gallery workbooks/`"
    old, new = read_cells(str(committed)), read_cells(str(fresh / f"{name}.xlsx"))
    stale = f"workbooks/{name}.xlsx is stale: run `sheetnet gallery workbooks/`"
    assert list(old) == list(new), (stale, list(old), list(new))
    for sheet in new:
        a, b = old[sheet], new[sheet]
        assert a.keys() == b.keys(), (stale, sheet, sorted(set(a) ^ set(b))[:5])
        diff = [(sheet, cell, a[cell], b[cell]) for cell in b
                if a[cell][0] != b[cell][0] or not same_value(a[cell][1], b[cell][1])]
        assert not diff, (stale, diff[:5])


def _readme_pictures() -> list[str]:
    return re.findall(r"\]\((workbooks/img/[\w.-]+\.png)\)", README.read_text(encoding="utf-8"))


def test_readme_shows_both_pictures_of_every_example():
    linked = set(_readme_pictures())
    for name in gallery.GALLERY:
        for path in gallery.picture_paths(name, "workbooks/img"):
            assert path in linked, path


def test_readme_pictures_exist():
    paths = _readme_pictures()
    assert paths
    for path in paths:
        data = (REPO / path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", path
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert 300 <= width <= 1600 and 100 <= height <= 1200, (path, width, height)


def test_readme_names_the_gallery_command_of_every_example():
    text = README.read_text(encoding="utf-8")
    assert "sheetnet gallery workbooks/" in text
    for name in gallery.GALLERY:
        command = "compare" if resolve(name).compare else "train"
        assert f"sheetnet {command} {name} -o {name}.xlsx" in text, name


# --------------------------------------------------------------------------- the gallery command
def test_gallery_without_libreoffice_is_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no soffice, pdftoppm, pdftotext
    monkeypatch.delenv("SOFFICE", raising=False)
    result = run("gallery", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr.startswith("sheetnet: error:") and result.stderr.count("\n") == 1, result.stderr
    assert "LibreOffice" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()  # nothing written before the check


def test_gallery_unknown_example_is_one_line_exit_2(tmp_path):
    result = run("gallery", str(tmp_path), "--example", "xro", "--no-pictures")
    assert result.exit_code == 2
    assert "did you mean 'xor'?" in result.stderr and result.stderr.count("\n") == 1


def test_gallery_help_names_the_pictures():
    result = run("gallery", "--help")
    assert result.exit_code == 0
    assert "<name>-step.png" in result.stdout and "<name>-history.png" in result.stdout


BBOX = """<doc>
  <page width="800.000000" height="600.000000">
    <word xMin="1.0" yMin="-2.6" xMax="63.7" yMax="15.6">Losses:</word>
    <word xMin="68.6" yMin="-2.6" xMax="112.9" yMax="15.6">batch</word>
    <word xMin="1.0" yMin="30.7" xMax="28.1" yMax="45.0">step</word>
    <word xMin="120.0" yMin="30.7" xMax="145.0" yMax="45.0">loss</word>
    <word xMin="130.0" yMin="45.7" xMax="200.0" yMax="60.0">0.131924404</word>
    <word xMin="130.0" yMin="60.7" xMax="200.0" yMax="75.0">0.127763235</word>
    <word xMin="400.0" yMin="44.0" xMax="440.0" yMax="67.0">Loss</word>
    <word xMin="450.0" yMin="44.0" xMax="490.0" yMax="67.0">per</word>
    <word xMin="500.0" yMin="44.0" xMax="540.0" yMax="67.0">step</word>
    <word xMin="450.0" yMin="250.0" xMax="480.0" yMax="262.0">step</word>
    <word xMin="700.0" yMin="30.7" xMax="730.0" yMax="45.0">after</word>
    <word xMin="735.0" yMin="30.7" xMax="770.0" yMax="45.0">epoch &amp; more</word>
  </page>
  <page width="100.000000" height="50.000000">
    <word xMin="0.1" yMin="-0.26" xMax="3.7" yMax="1.56">Run:</word>
  </page>
</doc>"""


def test_pages_are_found_by_their_titles_and_scaled_by_the_title_height():
    pages = gallery.parse_bbox(BBOX)
    assert [p.number for p in pages] == [1, 2]
    assert pages[0].words[-1].text == "epoch & more"
    assert gallery.find_page(pages, gallery.MAIN_TITLES, "x.pdf").number == 2
    assert gallery.find_page(pages, (gallery.HISTORY_TITLE,), "x.pdf").number == 1
    assert pages[0].scale() == pytest.approx(1.0)
    assert pages[1].scale() == pytest.approx(0.1)  # a sheet LibreOffice shrank to fit its page
    with pytest.raises(gallery.GalleryError, match="no page titled 'Step 1 of'"):
        gallery.find_page(pages[:1], ("Step 1 of",), "x.pdf")


def test_history_crop_ends_left_of_the_parameters_below_the_chart_between_rows():
    page = gallery.parse_bbox(BBOX)[0]
    x0, y0, x1, y1 = gallery.history_box(page)
    assert (x0, y0) == (0, 0)
    assert 690 < x1 < 700  # just left of "after epoch"
    assert y1 == pytest.approx(262.0 + 30)  # below the chart's axis title "step"


def test_a_cut_never_halves_a_word():
    spans = [(0, 10), (12, 20), (21, 30)]
    assert gallery.clear_cut(spans, 25, 0.5) == 20.5
    assert gallery.clear_cut(spans, 11, 0.5) == 11
    assert gallery.clear_cut([(45.7, 60.0), (60.7, 75.0)], 70, 0.25) == pytest.approx(60.45)


# --------------------------------------------------------------------------- the examples
def test_examples_lists_every_example_with_its_network_and_data_size():
    result = run("examples")
    assert result.exit_code == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines()}
    from sheetnet.examples import function_example_names
    assert set(lines) == set(sheetnet.example_names()) | set(function_example_names())
    assert "4-8-3" in lines["iris"] and " 150 samples" in lines["iris"] and "Iris" in lines["iris"]
    assert "2-2-1" in lines["xor"] and "   4 samples" in lines["xor"] and "XOR" in lines["xor"]


TRAINED = [n for n in sheetnet.example_names() if n != "mazur-10k"]  # mazur-10k: test_cli.py


@pytest.fixture(scope="module")
def trained():
    out = {}
    for name in TRAINED:
        result = run("train", name, "--json")
        assert result.exit_code == 0, (name, result.stderr)
        out[name] = json.loads(result.stdout)
    return out


@pytest.mark.parametrize("name", TRAINED)
def test_train_json_works_for_every_example(trained, name):
    out = trained[name]
    spec = sheetnet.example(name)
    assert len(out["losses"]) == sheetnet.train(spec, record=False).n_steps
    assert all(math.isfinite(v) for v in out["losses"])
    if all(layer.kind in ("input", "dense") for layer in spec.layers):  # conv nets: test_cnn.py
        assert [len(layer["biases"]) for layer in out["layers"]] == [layer.size for layer in spec.layers[1:]]


@pytest.mark.parametrize("name", TRAINED)
def test_step_walks_through_every_example(name):
    """The hand calculation works for every example (iris: softmax with cross-entropy)."""
    result = run("step", name, "--steps", "2")
    assert result.exit_code == 0, (result.stderr, result.exception)
    assert result.stdout.startswith("Step 1 (epoch 1") and "\nStep 2 (" in result.stdout
    assert "Backward pass" in result.stdout


def _forward(layers, x, hidden):
    h = np.asarray(x, dtype=float)
    for i, layer in enumerate(layers):
        z = h @ np.asarray(layer["weights"]).T + np.asarray(layer["biases"])
        h = hidden(z) if i < len(layers) - 1 else z
    return h


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_iris_final_training_accuracy(trained):
    """The trained 4-8-3 network classifies at least 90 % of the 150 flowers right."""
    spec = sheetnet.example("iris")
    assert spec.layers[1].activation == "sigmoid" and spec.layers[2].activation == "softmax"
    logits = _forward(trained["iris"]["layers"], spec.data.inputs, _sigmoid)
    accuracy = np.mean(logits.argmax(axis=1) == np.asarray(spec.data.targets).argmax(axis=1))
    assert accuracy >= 0.9, accuracy


def test_iris_csv_is_fishers_data_one_hot():
    with open(EXAMPLES / "iris.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["sepal_length", "sepal_width", "petal_length", "petal_width", "species",
                             "setosa", "versicolor", "virginica"]
    assert len(rows) == 150
    for species in ("setosa", "versicolor", "virginica"):
        mine = [r for r in rows if r["species"] == species]
        assert len(mine) == 50
        assert all(r[species] == "1" and sum(int(r[s]) for s in ("setosa", "versicolor", "virginica")) == 1
                   for r in mine)
    assert [rows[0][c] for c in ("sepal_length", "sepal_width", "petal_length", "petal_width")] == \
        ["5.1", "3.5", "1.4", "0.2"]  # Fisher's first flower


def test_xor_sits_on_the_plateau_then_learns_xor(trained):
    losses = trained["xor"]["losses"]
    assert all(v > 0.115 for v in losses[:150])  # the plateau: output ≈ 0.5 for every sample
    assert losses[-1] < 0.01  # and the drop
    out = _sigmoid(_forward(trained["xor"]["layers"], [[0, 0], [0, 1], [1, 0], [1, 1]], _sigmoid)).ravel()
    assert list(out.round()) == [0, 1, 1, 0], out


def test_the_gallery_examples_stay_small():
    """Small enough to open at once: the compact layout above 30 steps, a few MB at most."""
    for name in gallery.GALLERY:
        assert (BOOKS / f"{name}.xlsx").stat().st_size < 3_500_000, name  # iris, with its Epochs sheet: 3.2 MB
