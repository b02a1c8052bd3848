"""Shared fixtures: the workbook corpus, written once and recalculated by LibreOffice and by
Gnumeric in one batch each (one LibreOffice start for every workbook).

The suite runs on two workers (pytest-xdist, ``--dist loadgroup`` in pyproject.toml): every test
that uses the corpus runs on one worker, so the corpus is written and recalculated once per run,
and every other test file runs whole on one worker, so its module fixtures are built once."""

from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["LANGUAGE"] = "en"  # the tests read English unless they ask for another language
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


class Corpus:
    def __init__(self, folder):
        import sheetnet
        from sheetnet.sheet import write_workbook
        from corpus import corpus

        self.folder = folder
        self.specs, self.traces, self.paths, self.layouts = {}, {}, {}, {}
        items = {name: (sheetnet.parse_spec(d, path=f"{name}.toml"), lay) for name, (d, lay) in corpus().items()}
        items["mazur"] = (sheetnet.example("mazur"), "auto")
        items["mazur-10k"] = (sheetnet.example("mazur-10k"), "auto")
        for name, (spec, layout) in items.items():
            trace = sheetnet.train(spec)
            path = os.path.join(folder, "books", name + ".xlsx")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.layouts[name] = write_workbook(trace, path, layout=layout)
            self.specs[name], self.traces[name], self.paths[name] = spec, trace, path
        from registry_book import write_registry_book
        self.paths["registry"] = write_registry_book(os.path.join(folder, "books", "registry.xlsx"))
        self._recalced = {}

    def recalced(self, engine):
        """{name: recalculated path} for every workbook (computed once per engine)."""
        if engine not in self._recalced:
            from sheetnet.book.recalc import recalc_files
            names = list(self.paths)
            if engine == "gnumeric":  # Gnumeric starts once per file; the 10k-step run is LibreOffice's
                names = [n for n in names if n != "mazur-10k"]
            outs = recalc_files([self.paths[n] for n in names], os.path.join(self.folder, engine), engine=engine)
            self._recalced[engine] = dict(zip(names, outs))
        return self._recalced[engine]


@pytest.fixture(scope="session")
def corpus_books(tmp_path_factory):
    return Corpus(str(tmp_path_factory.mktemp("corpus")))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    """Group the tests for ``--dist loadgroup``: the corpus users together, the rest by file."""
    for item in items:
        group = "corpus" if "corpus_books" in getattr(item, "fixturenames", ()) else item.path.name
        item.add_marker(pytest.mark.xdist_group(group))
