"""The built-in examples: specs shipped inside the package, runnable by name."""

from __future__ import annotations

import os
import tomllib

from ..i18n import N_
from ..spec import Spec, load_spec

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
        raise SpecError(f"no built-in example {name!r}" + suggest(name, example_names()))
    return load_spec(path)


def describe(name: str) -> str:
    """The example's one-line description (its ``name`` key)."""
    with open(os.path.join(HERE, name + ".toml"), "rb") as fh:
        return tomllib.load(fh).get("name", name)


def resolve(arg: str) -> Spec:
    """A spec file path, or the name of a built-in example."""
    if not os.path.exists(arg):
        if example_path(arg) is not None:
            return example(arg)
        if not arg.endswith(".toml") and os.sep not in arg and "/" not in arg:
            from ..errors import SpecError, suggest
            raise SpecError("no such spec file or built-in example" + suggest(arg, example_names()), arg)
    return load_spec(arg)
