"""The built-in examples: specs shipped inside the package, runnable by name."""

from __future__ import annotations

import os
import tomllib

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the spec package (numpy) loads when a spec is read, not when names are listed
    from ..spec import Spec

HERE = os.path.dirname(os.path.abspath(__file__))


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
    from ..spec import load_spec
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
    from ..spec import load_spec
    return load_spec(arg)
