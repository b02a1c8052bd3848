"""The walk-through as the sources derive it: Mazur's chain-rule factors with his published
numbers, settings as numbers, the penalty substituted, the simplified δ of the fused pairs, the
four backpropagation equations tagged, CNN sums in full, and text that fits the terminal."""

from __future__ import annotations

import copy
import re
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

import sheetnet
from sheetnet.cli import main
from sheetnet.text import display_width, wrap
from sheetnet.walkthrough import walkthrough


def run(*args, columns=80):
    return CliRunner().invoke(main, list(args), env={"COLUMNS": str(columns)})


def logical_lines(text: str) -> list[str]:
    """The walk-through's lines with their wrapped continuations joined again."""
    out = []
    for line in text.splitlines():
        if line.startswith("      ") and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line.strip())
    return out


def line_of(text: str, name: str) -> str:
    return next(line for line in logical_lines(text) if line.startswith(name + " = "))


def numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", line)]


@pytest.fixture(scope="module")
def mazur_chain():
    result = run("step", "mazur", "--chain")
    assert result.exit_code == 0, result.stderr
    return result.stdout


# --------------------------------------------------------------------------- Mazur's derivation
def test_the_w5_gradient_shows_mazurs_three_factors(mazur_chain):
    """Mazur: ∂E_total/∂w5 = 0.74136507 · 0.186815602 · 0.593269992 = 0.082167041."""
    line = line_of(mazur_chain, "∂E/∂w5")
    assert "∂E/∂out_o1·∂out_o1/∂net_o1·∂net_o1/∂w5" in line
    assert "0.74136507·0.186815602·0.593269992" in line
    assert numbers(line)[-1] == pytest.approx(0.082167041, abs=5e-10)


def test_the_w1_gradient_shows_mazurs_hidden_factors(mazur_chain):
    """Mazur: ∂E_total/∂w1 = 0.036350306 · 0.241300709 · 0.05 = 0.000438568, with
    ∂E_total/∂out_h1 = 0.055399425 + (−0.019049119) = 0.036350306."""
    line = line_of(mazur_chain, "∂E/∂w1")
    factors = numbers(line.split(" = ")[-2].replace("·", " "))
    assert factors == pytest.approx([0.036350306, 0.241300709, 0.05], abs=5e-10)
    assert numbers(line)[-1] == pytest.approx(0.000438568, abs=5e-10)
    hidden = line_of(mazur_chain, "∂E/∂out_h1")
    assert "w5·δ_o1 + w7·δ_o2" in hidden
    assert numbers(hidden)[-1] == pytest.approx(0.055399425 - 0.019049119, abs=1e-9)


def test_the_four_backpropagation_equations_are_tagged(mazur_chain):
    lines = logical_lines(mazur_chain)
    tagged = {tag: [ln.split(" = ")[0] for ln in lines if ln.endswith(f"[{tag}]")] for tag in
              ("BP1", "BP2", "BP3", "BP4")}
    assert tagged == {"BP1": ["δ_o1", "δ_o2"], "BP2": ["δ_h1", "δ_h2"],
                      "BP3": ["∂E/∂b[h1]", "∂E/∂b[h2]", "∂E/∂b[o1]", "∂E/∂b[o2]"],
                      "BP4": [f"∂E/∂w{i}" for i in range(1, 9)]}


def test_frozen_biases_say_so_once(mazur_chain):
    line = line_of(mazur_chain, "b[h1]⁺")
    assert line == "b[h1]⁺ = b[h1] = 0.35  (biases are frozen in this run)"


def test_demo_names_mazurs_erratum(tmp_path):
    result = run("demo", "-o", str(tmp_path / "mazur.xlsx"))
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "0.291027924" in text and "after this step the total error is 0.291027774" in text


# --------------------------------------------------------------------------- settings and penalty
SMALL = {"layers": [{"kind": "input", "size": 2},
                    {"kind": "dense", "size": 2, "activation": "sigmoid", "weights": [[0.1, -0.2], [0.3, 0.4]],
                     "biases": [0.0, 0.1]},
                    {"kind": "dense", "size": 1, "activation": "sigmoid", "weights": [[0.5, -0.6]],
                     "biases": [0.2]}],
         "loss": {"kind": "binary_cross_entropy"},
         "train": {"optimizer": "adam", "lr": 0.1, "l2": 0.01, "l1": 0.001},
         "data": {"inputs": [[1.0, 0.5]], "targets": [[1.0]]}}


def write_spec(tmp_path, d) -> str:
    import json

    def toml(value):
        return json.dumps(value).replace(": ", " = ") if not isinstance(value, dict) else \
            "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"

    text = []
    for layer in d["layers"]:
        text.append("[[layers]]\n" + "\n".join(f"{k} = {toml(v)}" for k, v in layer.items()))
    for table in ("loss", "train", "data"):
        text.append(f"[{table}]\n" + "\n".join(f"{k} = {toml(v)}" for k, v in d[table].items()))
    path = tmp_path / "small.toml"
    path.write_text("\n\n".join(text) + "\n")
    assert tomllib.loads(path.read_text()) == d
    return str(path)


def test_settings_print_as_numbers_and_the_penalty_is_substituted(tmp_path):
    result = run("step", write_spec(tmp_path, SMALL), columns=200)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    for name in ("beta1", "beta2", "eps", "lambda_l1", "lambda_l2", "l1", "l2"):
        assert not re.search(rf"\b{name}\b", text), name
    m = line_of(text, "m[W[L1.u1<-i1]]")
    assert "(1 − β₁)·∂L/∂W[L1.u1<-i1]" in m and "(1 − 0.9)·" in m
    update = line_of(text, "W[L1.u1<-i1]⁺")
    assert "+ ε)" in update and "+ 1e-08)" in update
    weights = np.array([0.1, -0.2, 0.3, 0.4, 0.5, -0.6])
    penalty = line_of(text, "penalty")
    assert penalty.startswith("penalty = (λ₂/2)·Σw² + λ₁·Σ|w| = (0.01/2)·0.91 + 0.001·2.1 = ")
    assert numbers(penalty)[-1] == pytest.approx(0.01 / 2 * weights @ weights + 0.001 * np.abs(weights).sum())
    # the gradient a penalty joins is ∂L/∂w; a bias gradient, which it does not join, stays ∂E/∂b
    assert line_of(text, "∂L/∂W[L1.u1<-i1]") and line_of(text, "∂E/∂b[L1.u1]")
    assert "∂E/∂W[" not in text


def test_sigmoid_with_binary_cross_entropy_shows_out_minus_t(tmp_path):
    spec = sheetnet.load_spec(write_spec(tmp_path, SMALL))
    trace = sheetnet.train(spec)
    line = next(ln for ln in walkthrough(trace) if ln.name == "δ_L2.u1")
    assert line.equation == "out_L2.u1 − t_L2.u1" and line.tag == "BP1"
    assert "clamped" in line.comment
    y = trace.a[-1][0, 0, 0]
    assert line.value == trace.delta[-1][0, 0, 0] == pytest.approx(y - 1.0, rel=1e-12)


def test_softmax_with_cross_entropy_shows_out_minus_t():
    trace = sheetnet.train(sheetnet.example("iris").with_train(epochs=1))
    deltas = [ln for ln in walkthrough(trace) if ln.section == "backward" and ln.tag == "BP1"]
    assert len(deltas) == 3
    assert all(re.fullmatch(r"out_(\w+) − t_\1", ln.equation) for ln in deltas), [ln.equation for ln in deltas]


# --------------------------------------------------------------------------- CNN
@pytest.fixture(scope="module")
def cnn_text():
    result = run("step", "cnn123")
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_conv_sums_are_written_out_in_full(cnn_text):
    line = line_of(cnn_text, "net_f1[1,1]")
    names, substituted = line.split(" = ")[1], line.split(" = ")[2]
    assert "…" not in line
    assert names.count("·") == 9 and names.endswith("+ b[f1]")
    assert substituted.count("·") == 9


def test_a_pooling_zero_is_said_once(cnn_text):
    zeros = [ln for ln in logical_lines(cnn_text) if "first maximum" in ln]
    assert zeros
    assert all(re.fullmatch(r"δ_f\d\[\d,\d\] = 0  \(not the first maximum of its pooling window\)", ln) for ln in zeros)


# --------------------------------------------------------------------------- width
@pytest.mark.parametrize("columns", [60, 80, 200])
def test_the_walk_through_follows_the_terminal_width(mazur_chain, columns):
    result = run("step", "mazur", "--chain", columns=columns)
    widths = [display_width(line) for line in result.stdout.splitlines()]
    assert max(widths) <= columns
    if columns == 200:
        assert max(widths) > 100  # long lines stay whole where the terminal is wide
    assert result.stdout.split() == mazur_chain.split()  # the same words, wrapped differently


@pytest.mark.parametrize("text, width", [
    ("前向传播 误差 反向传播 神经单元误差 学习率 梯度", 10),
    ("δ_h1 = ∂E/∂out_h1·∂out_h1/∂net_h1 = 0.0363503064·0.241300709", 20),
    ("一个很长的没有空格的中文句子会在显示宽度处断开", 12),
])
def test_wrap_counts_display_columns(text, width):
    lines = wrap(text, width, "  ", "    ")
    assert all(display_width(line) <= width for line in lines), lines
    assert "".join(line.strip().replace(" ", "") for line in lines) == text.replace(" ", "")


def test_display_width_of_wide_and_combining_characters():
    assert display_width("abc") == 3
    assert display_width("梯度") == 4
    assert display_width("e\u0301") == 1


def test_json_lines_carry_the_tag_and_the_comment():
    result = run("step", "mazur", "--chain", "--json")
    import json
    lines = json.loads(result.stdout)["steps"][0]["lines"]
    tags = {ln["name"]: ln["tag"] for ln in lines}
    assert tags["δ_o1"] == "BP1" and tags["∂E/∂w5"] == "BP4"
    assert copy.deepcopy(lines[0])["comment"] == ""


# --------------------------------------------------------------------------- notation
def test_wakui_notation_labels_as_the_book_does():
    text = run("step", "mazur", "--notation", "wakui", columns=200).stdout
    assert line_of(text, "z²₁") == "z²₁ = w²₁₁·x₁ + w²₁₂·x₂ + b²₁ = 0.15·0.05 + 0.2·0.1 + 0.35 = 0.3775"
    assert line_of(text, "a²₁").startswith("a²₁ = σ(z²₁) = σ(0.3775) = 0.593269992")
    assert line_of(text, "C").startswith("C = C₁ + C₂ = 0.298371109")
    assert line_of(text, "δ³₁").startswith("δ³₁ = (a³₁ − t₁)·a³₁·(1 − a³₁)") and line_of(text, "δ³₁").endswith("[BP1]")
    assert line_of(text, "∂C/∂w³₁₁").startswith("∂C/∂w³₁₁ = δ³₁·a²₁ = 0.138498562·0.593269992 = 0.0821670406")
    assert "Backward pass (δ = ∂C/∂z)" in text
    assert not re.search(r"\b(net|out)_", text)


def test_matrix_notation_labels_as_code_first_posts_do():
    text = run("step", "mazur", "--notation", "matrix", columns=200).stdout
    assert line_of(text, "Z1[1]").startswith("Z1[1] = W1[1,1]·X[1] + W1[1,2]·X[2] + b1[1] = ")
    assert line_of(text, "dZ2[1]").startswith("dZ2[1] = (A2[1] − Y[1])·A2[1]·(1 − A2[1])")
    assert line_of(text, "dW2[1,1]").startswith("dW2[1,1] = dZ2[1]·A1[1] = ")
    assert line_of(text, "W2[1,1]⁺").startswith("W2[1,1]⁺ = W2[1,1] − η·dW2[1,1] = 0.4 − 0.5·0.0821670406")


@pytest.mark.parametrize("name", ["mazur", "iris", "cnn123"])
def test_notations_change_labels_never_numbers(name):
    trace = sheetnet.train(sheetnet.example(name).with_train(epochs=1))
    runs = {n: walkthrough(trace, 0, 0, chain=True, names=n) for n in ("mazur", "wakui", "matrix")}
    values = {n: [(ln.section, ln.value, ln.tag) for ln in lines if ln.matrix is None] for n, lines in runs.items()}
    assert values["mazur"] == values["wakui"] == values["matrix"]
    # the matrix notation adds each dense layer's dW = W.grad, the element lines laid out as a matrix
    matrices = [ln for ln in runs["matrix"] if ln.matrix is not None]
    dense = [l for l, layer in enumerate(trace.spec.layers[1:]) if layer.kind == "dense"]
    assert [ln.name.split(" = ")[0] for ln in matrices] == [f"dW{l + 1}" for l in dense]
    if name != "cnn123":
        assert {ln.name for ln in runs["mazur"]}.isdisjoint({ln.name for ln in runs["wakui"]} - {"L"})
