"""The reproducibility promise of the README, checked on this machine with two BLAS kernels:
the gallery's runs are bit-for-bit the same in another process with the same kernel, and within
the promised tolerance under OpenBLAS's Prescott kernel (SSE3, no fused multiply-add), which
every x86-64 CPU can run and which rounds matrix products differently from the AVX2/AVX-512
kernels that OpenBLAS picks by itself on today's CPUs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from reproducible import ATOL, RTOL, gallery_runs

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def here():
    return gallery_runs()


def runs_in_a_new_process(tmp_path, **env_changes) -> dict:
    env = {**os.environ, **env_changes, "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")])}
    out = tmp_path / "runs.npz"
    subprocess.run([sys.executable, str(HERE / "reproducible.py"), str(out)], env=env, check=True, cwd=tmp_path)
    with np.load(out) as data:
        return {key: data[key] for key in data.files}


def test_the_same_kernel_gives_the_same_bits(here, tmp_path):
    there = runs_in_a_new_process(tmp_path)
    assert there.keys() == here.keys()
    differ = [key for key in here if not np.array_equal(here[key], there[key])]
    assert not differ, differ[:5]


def test_another_kernel_stays_within_the_promise(here, tmp_path):
    there = runs_in_a_new_process(tmp_path, OPENBLAS_CORETYPE="Prescott")
    assert there.keys() == here.keys()
    for key, a in here.items():
        b = there[key]
        bound = RTOL * np.maximum(np.abs(a), np.abs(b)) + ATOL
        assert np.all(np.abs(a - b) <= bound), (key, np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-300)))
