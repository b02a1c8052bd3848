"""The trace export (`sheetnet train SPEC --trace run.json`, engine/export.py): valid against
its schema, unrounded, every quantity a data user asked for, and it loads back into the
same DataFrames."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pandas.testing as pdt
import pytest
from click.testing import CliRunner

import sheetnet
from sheetnet.cli import main
from sheetnet.compare import runs
from sheetnet.engine import Start
from sheetnet.engine.export import TRACE_SCHEMA, load_trace, save_trace, trace_document


def _adam():
    return runs(sheetnet.example("optimizers"), epochs=3)["adam"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (trace, path of its export, the export as read by json)."""
    folder = tmp_path_factory.mktemp("traces")
    specs = {"iris": sheetnet.example("iris").with_train(epochs=2),  # shuffled mini-batches, a short last one
             "cnn123": sheetnet.example("cnn123").with_train(epochs=2),
             "mazur-frozen": sheetnet.example("mazur-10k").with_train(epochs=4),  # frozen biases
             "xor-l2": sheetnet.example("xor").with_train(epochs=5, l2=0.01, lr_decay=0.5)}
    traces = {name: sheetnet.train(spec) for name, spec in specs.items()}
    first = sheetnet.train(_adam())
    traces["adam continued"] = sheetnet.train(_adam(), start=Start(theta=first.final_theta, state=first.final_state,
                                                                   step=first.n_steps, epoch=3))
    traces["adam continued"].first = first
    out = {}
    for name, trace in traces.items():
        path = folder / (name.replace(" ", "-") + ".json")
        save_trace(trace, str(path))
        out[name] = (trace, path, json.loads(path.read_text()))
    return out


def test_every_export_is_valid_against_the_schema(exported):
    for name, (_, _, doc) in exported.items():
        jsonschema.validate(doc, TRACE_SCHEMA)
    broken = dict(exported["iris"][2], version=1)  # version 1 numbered steps from 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, TRACE_SCHEMA)


def test_numbers_are_unrounded(exported):
    trace, _, doc = exported["iris"]
    assert np.array_equal(np.array([s["theta_after"] for s in doc["steps"]]), trace.thetas[1:])
    assert np.array_equal(np.array([s["loss"] for s in doc["steps"]]), trace.loss)


def test_the_export_loads_back_into_the_same_dataframes(exported):
    for name, (trace, path, _) in exported.items():
        back = load_trace(str(path))
        pdt.assert_frame_equal(back.losses, trace.losses)
        pdt.assert_frame_equal(back.parameters, trace.parameters)
        for k in (0, 1, trace.n_steps - 1):  # first, second and last step, however numbered
            a, b = trace.step(k - trace.n_steps), back.step(k - trace.n_steps)
            for table in ("forward", "deltas", "gradients", "update", "inputs", "targets"):
                pdt.assert_frame_equal(getattr(b, table), getattr(a, table), check_exact=True, obj=f"{name} {table}")
            pdt.assert_series_equal(b.loss, a.loss)


def test_losses_split_into_data_loss_and_penalty(exported):
    trace, _, doc = exported["xor-l2"]
    for s in doc["steps"]:
        assert s["penalty"] > 0
        assert s["data_loss"] == pytest.approx(np.mean(s["sample_loss"]) if trace.spec.loss.reduction == "mean"
                                               else np.sum(s["sample_loss"]), rel=1e-15)
        assert s["loss"] == pytest.approx(s["data_loss"] + s["penalty"], rel=1e-14)
    assert len({s["lr"] for s in doc["steps"]}) == 5  # lr_decay: one learning rate per epoch
    assert doc["settings"]["l2"] == 0.01 and doc["settings"]["lr_decay"] == 0.5


def test_frozen_biases_show_the_raw_gradient_and_receive_none(exported):
    _, _, doc = exported["mazur-frozen"]
    biases = [p["index"] for p in doc["parameters"] if p["kind"] == "bias"]
    assert biases and all(not doc["parameters"][i]["trainable"] for i in biases)
    s = doc["steps"][0]
    assert all(s["gradient"][i] != 0 and s["applied_gradient"][i] == 0 and s["applied_step"][i] == 0 for i in biases)
    weights = [p["index"] for p in doc["parameters"] if p["kind"] == "weight"]
    assert all(s["applied_step"][i] != 0 for i in weights)


def test_optimizer_state_before_and_after_and_t(exported):
    trace, _, doc = exported["adam continued"]
    first = trace.first
    steps = doc["steps"]
    assert doc["start"]["step"] == first.n_steps and steps[0]["t"] == first.n_steps + 1
    assert [s["t"] for s in steps] == list(range(first.n_steps + 1, first.n_steps + 1 + len(steps)))
    # steps and epochs numbered as the continued workbook numbers them
    assert [s["step"] for s in steps] == list(trace.losses.index)
    assert [s["epoch"] for s in steps] == list(trace.losses["epoch"])
    assert steps[0]["epoch"] == doc["start"]["epoch"] + 1
    for name in ("m", "v"):
        assert steps[0]["state_before"][name] == first.final_state[name].tolist()
        for a, b in zip(steps, steps[1:]):
            assert b["state_before"][name] == a["state_after"][name]
    assert set(steps[0]["shown"]) == {"m_hat", "v_hat"}


def test_parameter_places_match_the_weight_tables(exported):
    trace, _, doc = exported["cnn123"]
    theta = trace.thetas[-1]
    dense = len(trace.spec.layers) - 1
    W = trace.weights(dense).to_numpy()
    for p in doc["parameters"]:
        if p["layer"] == dense and p["kind"] == "weight":
            assert theta[p["index"]] == W[p["row"], p["column"]]
    kernels = [p for p in doc["parameters"] if p["layer"] == 1 and p["kind"] == "weight"]
    assert len(kernels) == 27 and max(p["column"] for p in kernels) == 8 and max(p["row"] for p in kernels) == 2


def test_the_command_writes_the_export_and_refuses_a_bad_path(tmp_path):
    out = tmp_path / "run.json"
    result = CliRunner().invoke(main, ["train", "mazur", "--trace", str(out)])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(out.read_text())
    assert doc["format"] == "sheetnet-trace" and len(doc["steps"]) == 1
    assert doc == json.loads(json.dumps(trace_document(sheetnet.train(sheetnet.example("mazur")))))
    result = CliRunner().invoke(main, ["train", "mazur", "--trace", str(tmp_path / "no" / "run.json")])
    assert result.exit_code == 2 and "the folder does not exist" in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- step --json
def test_step_json_gives_every_sample_and_its_numbers_as_numbers():
    result = CliRunner().invoke(main, ["step", "iris", "--steps", "19", "--sample", "7", "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    spec = sheetnet.example("iris")
    trace = sheetnet.train(spec)
    assert out["settings"]["beta1"] == spec.train.beta1 and out["settings"]["eps"] == spec.train.eps
    last = out["steps"][-1]  # 150 = 18 × 8 + 6: the short last batch is kept, its sample 7 left out
    assert last["sample"] is None and last["lines"] == [] and len(last["every_sample"]) == 6
    assert "step 19 has only 6 samples" in result.stderr
    s = out["steps"][2]
    view = trace.step(3)
    assert s["sample"] == int(view.samples[6]) and len(s["every_sample"]) == 8
    assert s["inputs"] == spec.data.inputs[view.samples].tolist()
    assert s["targets"] == spec.data.targets[view.samples].tolist()
    assert list(s["parameters"].values()) == trace.thetas[2].tolist()
    assert s["every_sample"][6]["lines"] == s["lines"]
    firsts = [next(l["value"] for l in e["lines"] if l["name"].startswith("net_")) for e in s["every_sample"]]
    assert len(set(firsts)) == 8  # eight different samples, eight different net inputs
