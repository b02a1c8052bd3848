"""wakui-cnn: the book's CNN at its real size (96 images of 6x6, 30 steps of the whole batch)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np

import sheetnet

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_images_are_96_distinct_digits_32_of_each_and_what_the_generator_makes(tmp_path):
    spec = sheetnet.example("wakui-cnn")
    X, T = spec.data.inputs, spec.data.targets
    assert X.shape == (96, 36) and set(np.unique(X)) == {0.0, 1.0}
    assert (T.sum(axis=0) == 32).all() and (T.sum(axis=1) == 1).all()
    assert len({x.tobytes() for x in X}) == 96
    gen = importlib.util.spec_from_file_location("make_wakui_cnn", os.path.join(ROOT, "benchmarks", "make_wakui_cnn.py"))
    module = importlib.util.module_from_spec(gen)
    gen.loader.exec_module(module)
    module.TARGET = str(tmp_path / "wakui-cnn.csv")
    module.main()
    with open(module.TARGET) as a, open(os.path.join(ROOT, "sheetnet", "examples", "wakui-cnn.csv")) as b:
        assert a.read() == b.read()


def test_wakui_cnn_learns_the_three_digits_in_30_steps():
    spec = sheetnet.example("wakui-cnn")
    trace = sheetnet.train(spec)
    assert trace.n_steps == 30 and spec.layers[1].kind == "conv" and spec.layers[2].kind == "maxpool"
    y = sheetnet.engine.Model(spec).forward(trace.final_theta, spec.data.inputs)[-1][1]
    accuracy = (y.argmax(axis=1) == spec.data.targets.argmax(axis=1)).mean()
    assert accuracy >= 0.9
    assert trace.final_loss < trace.loss[0] / 5
