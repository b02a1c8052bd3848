"""The Epochs and Gradients sheets: the whole training and test set after each epoch and the
gradient size per layer, as live formulas, checked against numbers computed here and against
LibreOffice recalculating an edited workbook; the comparison sheet's per-epoch chart and table."""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

import sheetnet
from sheetnet.book.audit import audit
from sheetnet.book.reader import open_book
from sheetnet.book.recalc import recalc_workbook
from sheetnet.cli import main
from sheetnet.sheet import write_workbook
from sheetnet.sheet.epochs import EpochSheet
from sheetnet.sheet.layout import CompactLayout, choose_layout
from sheetnet.engine.training import Model

pytestmark = pytest.mark.xdist_group("epochs_sheet")

XOR = """
[[layers]]
kind = "input"
size = 2

[[layers]]
kind = "dense"
size = 2
activation = "sigmoid"
weights = [[0.2, -0.8], [0.4, 0.6]]
biases = [-0.9, 0.8]

[[layers]]
kind = "dense"
size = 1
activation = "sigmoid"
weights = [[0.6, -0.9]]
biases = [0.1]

[loss]
kind = "half_sse"

[train]
optimizer = "adam"
lr = 0.1
epochs = 12
batch_size = 2

[data]
inputs = [[0, 0], [0, 1], [1, 0], [1, 1]]
targets = [[0], [1], [1], [0]]
test_inputs = [[0.1, 0.0], [0.9, 0.1], [0.0, 0.8]]
test_targets = [[0], [1], [1]]
"""


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def by_hand(theta_row, x, t):
    """Loss (mean of ½(y − t)²) and right answers of the 2-2-1 net, from labelled parameters."""
    W1 = np.array([[theta_row["W[L1.u1<-i1]"], theta_row["W[L1.u1<-i2]"]],
                   [theta_row["W[L1.u2<-i1]"], theta_row["W[L1.u2<-i2]"]]])
    b1 = np.array([theta_row["b[L1.u1]"], theta_row["b[L1.u2]"]])
    W2 = np.array([[theta_row["W[L2.u1<-L1.u1]"], theta_row["W[L2.u1<-L1.u2]"]]])
    b2 = np.array([theta_row["b[L2.u1]"]])
    y = sigmoid(sigmoid(x @ W1.T + b1) @ W2.T + b2)
    return float(np.mean(0.5 * (y - t)[:, 0] ** 2)), int(np.sum((y[:, 0] >= 0.5) == (t[:, 0] == 1)))


@pytest.fixture(scope="module")
def xor_book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("epochs")
    spec_path = folder / "xor.toml"
    spec_path.write_text(XOR, encoding="utf-8")
    spec = sheetnet.load_spec(str(spec_path))
    trace = sheetnet.train(spec)
    path = str(folder / "xor.xlsx")
    write_workbook(trace, path)
    return spec, trace, path


def table(path):
    """The Epochs sheet's table: {after epoch: row of cached values}."""
    ws = openpyxl.load_workbook(path, data_only=True)["Epochs"]
    heads = [c.value for c in ws[4]]
    sets = [c.value for c in ws[3]]
    names, current = [], None
    for head, group in zip(heads, sets):
        current = group or current
        names.append(head if head == "after epoch" else f"{current}: {head}")
    out = {}
    for row in ws.iter_rows(min_row=5, values_only=True):
        if not isinstance(row[0], (int, float)) or row[1] is None:
            break
        out[int(row[0])] = dict(zip(names, row))
    return out


def test_the_table_is_the_whole_set_after_every_epoch_by_hand(xor_book):
    spec, trace, path = xor_book
    rows = table(path)
    assert sorted(rows) == list(range(13))  # the start, then after each of the 12 epochs
    ends = [k for k in range(trace.n_steps) if k == trace.n_steps - 1 or trace.steps[k + 1][0] != trace.steps[k][0]]
    for e, row in rows.items():
        theta = trace.parameters.iloc[0 if e == 0 else ends[e - 1] + 1]
        loss, hits = by_hand(theta, spec.data.inputs, spec.data.targets)
        assert row["training set: loss"] == pytest.approx(loss, rel=1e-12)
        assert row["training set: right"] == hits and row["training set: accuracy"] == pytest.approx(hits / 4)
        loss, hits = by_hand(theta, spec.data.test_inputs, spec.data.test_targets)
        assert row["test set: loss"] == pytest.approx(loss, rel=1e-12)
        assert row["test set: right"] == hits


def test_the_sample_rows_are_formulas_on_data_and_the_epoch_parameters(xor_book):
    _, _, path = xor_book
    ws = openpyxl.load_workbook(path)["Epochs"]
    formulas = [c.value for row in ws.iter_rows(min_row=26) for c in row if isinstance(c.value, str)
                and c.value.startswith("=")]
    assert any("Data!" in f for f in formulas) and any("Losses!" in f for f in formulas)
    assert any("Parameters!" in f for f in formulas)  # the start
    assert ws["B5"].value.startswith("=AVERAGE(")  # reduction mean


def test_an_edited_test_sample_recomputes_in_libreoffice_and_audits_clean(xor_book, tmp_path):
    spec, trace, path = xor_book
    book = openpyxl.load_workbook(path)
    data = book["Data"]
    # the test rows sit below the training rows: a blank row, a title, a header
    assert data.cell(row=10, column=1).value == "test sample"
    assert data.cell(row=11, column=2).value == pytest.approx(0.1)
    data.cell(row=11, column=2).value = 0.7
    edited = str(tmp_path / "edited.xlsx")
    book.save(edited)
    recalc_workbook(edited, edited)
    assert audit(open_book(edited)) == []
    back = open_book(edited).spec
    assert back.data.test_inputs[0].tolist() == [0.7, 0.0]
    rows = table(edited)
    loss, _ = by_hand(trace.parameters.iloc[-1], back.data.test_inputs, back.data.test_targets)
    assert rows[12]["test set: loss"] == pytest.approx(loss, rel=1e-10)


def test_gradients_sheet_is_the_mean_absolute_weight_gradient(xor_book):
    _, trace, path = xor_book
    ws = openpyxl.load_workbook(path, data_only=True)["Gradients"]
    head = 25  # 1-based row of the header
    assert [ws.cell(row=head, column=c).value for c in (1, 2, 3)] == ["step", "layer 1", "layer 2"]
    for k in range(trace.n_steps):
        g = trace.grads[k]
        assert ws.cell(row=head + 1 + k, column=1).value == k + 1
        assert ws.cell(row=head + 1 + k, column=2).value == pytest.approx(np.abs(g[:4]).mean(), rel=1e-12)
        assert ws.cell(row=head + 1 + k, column=3).value == pytest.approx(np.abs(g[6:8]).mean(), rel=1e-12)
    formula = openpyxl.load_workbook(path)["Gradients"].cell(row=head + 1, column=2).value
    assert formula.startswith("=(SUMIF(") and formula.endswith("/4")


def test_too_many_cells_thin_the_epochs_and_say_so(xor_book):
    spec, trace, _ = xor_book
    model = Model(spec)
    lay = choose_layout(model, trace.steps, trace.orders, "auto")
    per_epoch = 7 * 9  # 4 + 3 samples × (2 net, 2 out, net, out, term, loss, right)
    thin = EpochSheet(trace, model, lay, budget=5 * per_epoch)
    assert thin.grid.live and thin.grid.stride == 3
    assert thin.grid.epochs == [0, 3, 6, 9, 12] and thin.note().startswith("One epoch in 3 and the last")
    table_only = EpochSheet(trace, model, lay, budget=per_epoch)
    assert not table_only.grid.live and list(table_only.cells()) == []
    assert "do not recompute" in table_only.note()


def test_a_compact_run_and_a_diverging_run_keep_every_cell_finite(tmp_path):
    text = XOR.replace('optimizer = "adam"\nlr = 0.1', 'optimizer = "sgd"\nlr = 0.1').replace(
        'kind = "half_sse"', 'kind = "mse"')
    line = text.replace('activation = "sigmoid"\nweights = [[0.6, -0.9]]', 'activation = "linear"\nweights = [[0.6, -0.9]]')
    spec_path = tmp_path / "lin.toml"
    spec_path.write_text(line.replace("lr = 0.1", "lr = 60.0").replace("epochs = 12", "epochs = 400"), encoding="utf-8")
    result = CliRunner().invoke(main, ["train", str(spec_path), "-o", str(tmp_path / "d.xlsx")])
    assert result.exit_code == 0, result.stderr
    assert "diverged at step" in result.stderr
    book = open_book(str(tmp_path / "d.xlsx"))
    assert isinstance(book.layout, CompactLayout)
    assert audit(book) == []
    values = [c.value for name in ("Epochs", "Gradients")
              for row in openpyxl.load_workbook(str(tmp_path / "d.xlsx"), data_only=True)[name].iter_rows()
              for c in row if isinstance(c.value, float)]
    assert values and all(np.isfinite(values))


def test_the_lr_sweep_writes_four_live_runs_and_says_which_grew(tmp_path):
    out = str(tmp_path / "lr.xlsx")
    result = CliRunner().invoke(main, ["compare", "lr-sweep", "-o", out])
    assert result.exit_code == 0, result.stderr
    # every loss printed says which it is
    assert result.stdout.count("batch loss 13.5 → ") == 4 and result.stdout.count("; training-set loss 13.5 → ") == 4
    wb = openpyxl.load_workbook(out, data_only=True)
    for label in ("η 0.01", "η 0.1", "η 0.3", "η 0.5"):
        assert f"{label} Epochs" in wb.sheetnames and f"{label} Run" in wb.sheetnames
    compare = wb["Compare"]
    rows = {compare.cell(row=r, column=1).value: [c.value for c in compare[r]] for r in range(5, 9)}
    assert rows["η 0.5"][-1] == "no, but the loss grew" and rows["η 0.1"][-1] == "no"
    # the table's training-set loss is the run's own Epochs sheet after its last epoch, by hand:
    # y = w·x + b, mean (y − t)² over the four points
    for label, lr in (("η 0.1", 0.1), ("η 0.5", 0.5)):
        spec = sheetnet.example("lr-sweep").with_train(lr=lr)
        final = sheetnet.train(spec).final_theta
        x, t = spec.data.inputs[:, 0], spec.data.targets[:, 0]
        expected = np.mean((final[0] * x + final[1] - t) ** 2)
        assert rows[label][5] == pytest.approx(expected, rel=1e-9)
    formulas = openpyxl.load_workbook(out)["Compare"]
    assert formulas.cell(row=6, column=6).value == "='η 0.1 Epochs'!B35"


def test_the_templated_formulas_are_the_formulas_built_cell_by_cell(xor_book):
    """The sample rows after the start are written from one template per sample; each equals the
    formula StepFormulas builds for that cell directly."""
    from sheetnet.sheet.formulas import StepFormulas
    from sheetnet.sheet.refs import EpochRefs

    spec, trace, _ = xor_book
    model = Model(spec)
    lay = choose_layout(model, trace.steps, trace.orders, "auto")
    sheet = EpochSheet(trace, model, lay)
    g = sheet.grid
    refs = EpochRefs(lay, g)
    build = StepFormulas(model, refs)
    checked = 0
    for cell, _, text, _ in sheet.sample_cells():
        i, which, n = _row_of(g, cell.row)
        kind, layer, item = next(q for q, col in g.col_of.items() if col == cell.col)
        if kind == "right":
            continue
        refs.at_sample(i, which, n)
        assert text == build.formula(kind, layer, item, 0), (cell, text)
        checked += 1
    assert checked > 500


def _row_of(g, row):
    """(table row i, set, sample n) of a sample row of the Epochs sheet."""
    i, offset = divmod(row - g.head_row - 1, g.n_train + g.n_test)
    return (i, "training", offset) if offset < g.n_train else (i, "test", offset - g.n_train)
