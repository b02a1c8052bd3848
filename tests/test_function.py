"""Gradient descent on a typed function: the sources' first chapter.  The published steps (a blog's
(w+1)² and the Wakui book's chapter 2-11 table), the exact gradient against central finite
differences, every optimizer against PyTorch on Rosenbrock's valley, the workbook recalculated by
LibreOffice and Gnumeric and recomputing an edited η, and one clear line for every bad spec."""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib

import numpy as np
import openpyxl
import pytest
from click.testing import CliRunner

from sheetnet.book.check import compare
from sheetnet.book.recalc import recalc_files
from sheetnet.cli import main
from sheetnet.examples import resolve
from sheetnet.function.engine import train_function
from sheetnet.function.layout import FunctionLayout
from sheetnet.function.printing import numpy_function
from sheetnet.function.spec import parse_function_spec
from sheetnet.function.workbook import write_function_workbook


def run(*args):
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "100"})


def spec_of(text: str, name="f.toml"):
    return parse_function_spec(tomllib.loads(text), name)


def lines_named(text: str, name: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith(name + " = ")]


# --------------------------------------------------------------------------- the published steps
def test_wakui_2_11_steps_as_the_book_tabulates_them():
    result = run("step", "wakui-2-11", "--steps", "2")
    assert result.exit_code == 0, result.stderr
    xs = [line.split(" = ")[-1] for line in lines_named(result.stdout, "x⁺")]
    ys = [line.split(" = ")[-1] for line in lines_named(result.stdout, "y⁺")]
    assert (xs, ys) == (["2.4", "1.92"], ["1.6", "1.28"])
    assert lines_named(result.stdout, "x⁺")[0] == "x⁺ = x − η·∂f/∂x = 3 − 0.1·6 = 2.4"
    assert lines_named(result.stdout, "∂f/∂x")[0] == "∂f/∂x = 2·x = 2·3 = 6"


def test_descent_1d_steps_as_the_blog_prints_them():
    result = run("step", "descent-1d", "--steps", "2")
    assert [line.split(" = ")[-1] for line in lines_named(result.stdout, "w⁺")] == ["2.6", "1.16"]
    assert lines_named(result.stdout, "w⁺")[0] == "w⁺ = w − η·∂f/∂w = 5 − 0.2·12 = 2.6"


def test_the_path_as_a_table():
    trace = train_function(resolve("wakui-2-11"))
    path = trace.path
    assert list(path.columns[:5]) == ["x", "y", "f", "∂f/∂x", "∂f/∂y"]
    assert path.loc[1, "x"] == pytest.approx(2.4) and path.loc[2, "y"] == pytest.approx(1.28)
    assert path.loc[0, "f"] == 13 and len(path) == trace.n_steps + 1


# --------------------------------------------------------------------------- the gradient
FUNCTIONS = [
    ("x^2 + y^2", (0.7, -1.3)),
    ("(1 - x)^2 + 100*(y - x^2)^2", (-0.4, 0.9)),
    ("exp(x)*sin(y) - ln(x^2 + 1)", (0.3, 1.1)),
    ("sqrt(x^2 + y^2 + 1) / (1 + abs(y))", (0.5, -0.8)),
    ("sigmoid(3*x - y) * tanh(y) + cos(x*y)", (0.2, 0.6)),
    ("max(x, y)^2 + min(x, 2*y)", (1.5, 0.4)),
    ("x^3 - 2*x*y + y^-1 + 2^x", (1.2, 0.7)),
    ("-x^2 + log(y)", (0.3, 2.0)),
]


@pytest.mark.parametrize("text, point", FUNCTIONS)
def test_the_exact_gradient_agrees_with_central_differences(text, point):
    spec = spec_of(f'[function]\nf = "{text}"\nstart = {{ x = {point[0]}, y = {point[1]} }}\n')
    f = numpy_function(spec.expr, spec.symbols)
    for j, g in enumerate(spec.gradient()):
        h = 1e-6
        up, down = list(point), list(point)
        up[j] += h
        down[j] -= h
        numeric = (f(*up) - f(*down)) / (2 * h)
        assert float(numpy_function(g, spec.symbols)(*point)) == pytest.approx(numeric, rel=1e-6, abs=1e-8), (text, j)


def test_every_optimizer_on_rosenbrock_matches_torch():
    torch = pytest.importorskip("torch")
    base = resolve("rosenbrock")
    for optimizer, lr in base.compare:
        spec = base.with_train(optimizer=optimizer, lr=lr, eps=None, epochs=100)
        trace = train_function(spec)
        p = torch.tensor(spec.start, dtype=torch.float64, requires_grad=True)
        tr = spec.train
        opt = {"sgd": lambda: torch.optim.SGD([p], lr=lr),
               "momentum": lambda: torch.optim.SGD([p], lr=lr, momentum=tr.momentum),
               "adagrad": lambda: torch.optim.Adagrad([p], lr=lr, eps=tr.eps),
               "rmsprop": lambda: torch.optim.RMSprop([p], lr=lr, alpha=tr.alpha, eps=tr.eps),
               "adam": lambda: torch.optim.Adam([p], lr=lr, betas=(tr.beta1, tr.beta2), eps=tr.eps)}[optimizer]()
        points = [p.detach().numpy().copy()]
        for _ in range(100):
            opt.zero_grad()
            x, y = p[0], p[1]
            loss = (1 - x) ** 2 + 100 * (y - x ** 2) ** 2
            loss.backward()
            opt.step()
            points.append(p.detach().numpy().copy())
        np.testing.assert_allclose(trace.points, np.array(points), rtol=1e-10, atol=1e-12, err_msg=optimizer)


# --------------------------------------------------------------------------- the workbook
@pytest.fixture(scope="module")
def books(tmp_path_factory):
    folder = tmp_path_factory.mktemp("function")
    paths, traces = {}, {}
    for name in ("descent-1d", "wakui-2-11", "rosenbrock"):
        traces[name] = train_function(resolve(name).with_train(epochs=40))
        paths[name] = write_function_workbook(traces[name], str(folder / f"{name}.xlsx"))
    # η and the start point edited by a script, as a student does by hand
    spec = resolve("wakui-2-11").with_train(epochs=40)
    lay = FunctionLayout(spec.variables, spec.train.optimizer, spec.steps)
    wb = openpyxl.load_workbook(paths["wakui-2-11"])
    c, s = lay.setting("lr"), lay.start(0)
    wb[c.sheet].cell(c.row + 1, c.col + 1).value = 0.25
    wb[s.sheet].cell(s.row + 1, s.col + 1).value = -1.5
    paths["edited"] = str(folder / "edited.xlsx")
    wb.save(paths["edited"])
    edited = dataclasses.replace(spec.with_train(lr=0.25), start=np.array([-1.5, 2.0]))
    out = {"paths": paths, "traces": traces, "edited": train_function(edited)}
    for engine in ("lo", "gnumeric"):
        names = list(paths)
        out[engine] = dict(zip(names, recalc_files([paths[n] for n in names], str(folder / engine), engine=engine)))
    return out


@pytest.mark.parametrize("engine", ["lo", "gnumeric"])
@pytest.mark.parametrize("name", ["descent-1d", "wakui-2-11", "rosenbrock"])
def test_every_cell_recalculates_to_the_stored_value(books, engine, name):
    n, bad = compare(books["paths"][name], books[engine][name], rtol=1e-9, atol=1e-12)
    assert n > 100
    assert not bad, [str(b) for b in bad[:5]]


@pytest.mark.parametrize("engine", ["lo", "gnumeric"])
def test_an_edited_eta_and_start_recompute_the_whole_path(books, engine):
    from sheetnet.book.cells import read_cells

    cells = read_cells(books[engine]["edited"])["Steps"]
    trace = books["edited"]
    lay = FunctionLayout(trace.spec.variables, "sgd", trace.n_steps)
    for k in range(trace.n_steps + 1):
        for j in range(2):
            c = lay.cell("x", k, j)
            assert cells[(c.row, c.col)][1] == pytest.approx(trace.points[k, j], rel=1e-9, abs=1e-12)
    assert trace.points[1, 0] == pytest.approx(-1.5 - 0.25 * 2 * -1.5)


def test_the_cli_writes_the_workbook_and_reads_it_back(tmp_path):
    out = tmp_path / "w.xlsx"
    result = run("train", "wakui-2-11", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    assert "30 steps; f 13 → " in " ".join(result.stdout.split())
    back = run("read", str(out))
    assert back.exit_code == 0 and "η 0.1, start (x = 3, y = 2); 30 steps, f 13 -> " in back.stdout


# --------------------------------------------------------------------------- bad specs
GOOD = {"f": '"x^2 + y^2"', "start": "{ x = 3, y = 2 }"}


def bad_spec(function=None, train="", compare="", top=""):
    fn = {**GOOD, **(function or {})}
    body = "".join(f"{k} = {v}\n" for k, v in fn.items() if v is not None)
    return f"{top}[function]\n{body}\n[train]\n{train}\n" + (f"\n[compare]\n{compare}\n" if compare else "")


BAD = [
    (bad_spec({"f": '"x^2 + * y"'}), "key 'f'", "found '*' (column 7"),
    (bad_spec({"f": '"x^2 + z"'}), "key 'f'", "unknown variable 'z'"),
    (bad_spec({"f": '"x y"'}), "key 'f'", "operator is missing"),
    (bad_spec({"f": '"(x + y"'}), "key 'f'", "expected ')'"),
    (bad_spec({"f": '"__import__(x) + y"'}), "key 'f'", "unknown function '__import__'"),
    (bad_spec({"f": '"gamma(x) + y"'}), "key 'f'", "unknown function 'gamma'"),
    (bad_spec({"f": '"max(x) + y"'}), "key 'f'", "max takes 2 arguments"),
    (bad_spec({"f": '"x @ y"'}), "key 'f'", "unexpected character '@'"),
    (bad_spec({"f": '""'}), "key 'f'", "empty"),
    (bad_spec({"f": "3"}), "key 'f'", "as a string"),
    (bad_spec({"f": None}), "[function]", "missing required key 'f'"),
    (bad_spec({"start": "{ x = 3 }"}), "key 'f'", "unknown variable 'y'"),
    (bad_spec({"start": "{ x = 3, y = 2, z = 1 }"}), "key 'start'", "does not use the variable 'z'"),
    (bad_spec({"start": "{ x = 3, y = \"a\" }"}), "variable 'y'", "expected a number"),
    (bad_spec({"f": '"ln(x) + y"', "start": "{ x = 0, y = 1 }"}), "key 'start'", "not finite at the start"),
    (bad_spec({"f": '"sqrt(x) + y"', "start": "{ x = 0, y = 1 }"}), "key 'start'", "∂f/∂x is not finite"),
    (bad_spec(train="lr = -0.1"), "[train] key 'lr'", "must be > 0"),
    (bad_spec(train="epochs = 3"), "[train]", "use 'steps'"),
    (bad_spec(train="steps = 0"), "[train] key 'steps'", "between 1 and"),
    (bad_spec(train='optimizer = "adamw"'), "[train] key 'optimizer'", "unknown optimizer"),
    (bad_spec(train="batch_size = 2"), "[train]", "unknown key 'batch_size'"),
    (bad_spec(compare="lr = [0.1, 0]"), "[compare] key 'lr', item 2", "must be > 0"),
    (bad_spec(top="layers = 3\n"), "", "layers"),
]


@pytest.mark.parametrize("text, where, message", BAD)
def test_a_bad_function_spec_is_one_line_and_writes_nothing(tmp_path, text, where, message):
    path = tmp_path / "f.toml"
    path.write_text(text)
    out = tmp_path / "out.xlsx"
    result = run("train", str(path), "-o", str(out))
    assert result.exit_code == 2, (result.output, text)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert where in result.stderr and message in result.stderr, result.stderr
    assert os.listdir(tmp_path) == ["f.toml"]


def test_a_diverging_function_stops_at_the_last_finite_step(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('[function]\nf = "(w+1)^2"\nstart = { w = 5 }\n[train]\nlr = 1.1\nsteps = 5000\n')
    result = run("train", str(path), "-o", str(tmp_path / "d.xlsx"))
    assert result.exit_code == 0, result.stderr
    assert "diverged at step" in result.stderr
    trace = train_function(spec_of(path.read_text()))
    assert trace.diverged_at is not None and np.all(np.isfinite(trace.points)) and math.isfinite(trace.values[-1])
    wb = openpyxl.load_workbook(tmp_path / "d.xlsx", data_only=True)  # opens: no inf or NaN in it
    assert wb["Steps"].max_row >= trace.n_steps
