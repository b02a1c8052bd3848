"""The built-in examples: specs shipped inside the package, runnable by name."""

from __future__ import annotations

import os
import tomllib

from typing import TYPE_CHECKING

from ..i18n import N_, _

if TYPE_CHECKING:  # the spec package (numpy) loads when a spec is read, not when names are listed
    from ..spec import Spec

HERE = os.path.dirname(os.path.abspath(__file__))

# What a reader comparing with Mazur's post should know ({after}: the total error after the step)
MAZUR_ERRATUM = N_("Note for readers of Mazur's post: after this step the total error is {after:.9f}. The post "
                 "prints 0.291027924 because its hidden deltas use the already-updated weights w5…w8; "
                 "backpropagation uses the weights before the update, as this walk-through and the "
                 "workbook do.")


def example_names() -> list[str]:
    return sorted(f[:-5] for f in os.listdir(HERE) if f.endswith(".toml"))


def example_path(name: str) -> str | None:
    path = os.path.join(HERE, name + ".toml")
    return path if name in example_names() else None


def example(name: str) -> Spec:
    """The built-in example ``name`` (see ``example_names()``)."""
    path = example_path(name)
    if path is None:
        from ..errors import SpecError, suggest
        raise SpecError(_("no built-in example {name}").format(name=repr(name)) + suggest(name, example_names()))
    from ..spec import load_spec
    return load_spec(path)


FUNCTIONS = os.path.join(HERE, "functions")  # gradient descent on a function: sheetnet.function


def function_example_names() -> list[str]:
    return sorted(f[:-5] for f in os.listdir(FUNCTIONS) if f.endswith(".toml"))


def resolve(arg: str):
    """A spec file path, or the name of a built-in example: a network ``Spec``, or a
    ``FunctionSpec`` where the file has a [function] table."""
    if not os.path.exists(arg):
        if example_path(arg) is not None:
            return example(arg)
        if arg in function_example_names():
            arg = os.path.join(FUNCTIONS, arg + ".toml")
        elif not arg.endswith(".toml") and os.sep not in arg and "/" not in arg:
            from ..errors import SpecError, suggest
            raise SpecError(_("no such spec file or built-in example")
                 + suggest(arg, example_names() + function_example_names()), arg)
    from ..function.spec import is_function_spec, parse_function_spec
    from ..spec.parse import parse_spec, read_toml

    raw = read_toml(arg)
    return parse_function_spec(raw, path=arg) if is_function_spec(raw) else parse_spec(raw, path=arg)


def describe(name: str) -> str:
    """The example's one-line description (its ``name`` key)."""
    path = example_path(name) or os.path.join(FUNCTIONS, name + ".toml")
    with open(path, "rb") as fh:
        return tomllib.load(fh).get("name", name)


def guide_notes(trace) -> tuple[str, ...]:
    """What the Guide of the workbook tells its reader besides the usual: for Mazur's example as
    published (its weights, data and η), the erratum of his post."""
    import numpy as np

    from ..engine.training import Model, train

    mazur = example("mazur")
    spec = trace.spec
    if (spec.name != mazur.name or not trace.recorded or (trace.start is not None and trace.start.step)
            or spec.train.lr != mazur.train.lr or not np.array_equal(trace.thetas[0], Model(mazur).params.theta)
            or not np.array_equal(spec.data.inputs, mazur.data.inputs)
            or not np.array_equal(spec.data.targets, mazur.data.targets)):
        return ()
    after = trace.loss[1] if trace.n_steps > 1 else train(spec.with_train(epochs=2), record=False).loss[1]
    return (_(MAZUR_ERRATUM).format(after=after),)
