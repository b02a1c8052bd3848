"""The spec: a TOML file read into frozen dataclasses, every rule of SPEC.md checked on the way.

``parse`` reads and validates (``load_spec``, ``parse_spec``), using ``settings`` ([loss], [train]),
``layers`` ([[layers]]) and ``data`` ([data]), which share the value checks of ``checks``;
``model`` holds the dataclasses; ``toml_out`` writes a spec back as TOML.
"""

from .model import DATA_KEYS, INIT_SCHEMES, LAYER_KEYS, LAYER_KINDS, Data, Layer, Spec
from .parse import load_spec, parse_spec
from .settings import TRAIN_DEFAULTS, Loss, Train

__all__ = ["Spec", "Layer", "Loss", "Train", "Data", "load_spec", "parse_spec", "INIT_SCHEMES",
           "LAYER_KINDS", "LAYER_KEYS", "DATA_KEYS", "TRAIN_DEFAULTS"]
