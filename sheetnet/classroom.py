"""An exercise for a whole class: one workbook per student with the student's own numbers,
a teacher's key, and a gradebook of a folder of filled-in workbooks.

Per-student numbers, drawn by numpy's PCG64 generator seeded with the first 8 bytes of
SHA-256("<course seed>:<student id>"), so the same roster and course seed always give the
same numbers:

- ``weights``: every starting weight and bias θ becomes θ + d, d uniform on
  {−0.10, −0.09, …, +0.10} (2 decimals, so hand calculation stays easy);
- ``data``: every input value x of a column that holds more than the values 0 and 1 becomes
  x + d, d uniform on {−0.05, −0.04, …, +0.05}; pixel and one-hot columns (only 0 and 1) and
  the targets stay as they are, so every sample keeps its meaning.

The weights are drawn first, then the data, from the one generator.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import re

import numpy as np

from .engine.network import with_parameters
from .engine.training import Model, train
from .errors import SheetnetError
from .files import atomic_path
from .i18n import _

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # also the student's file name
SHIFT = 0.10  # the largest change of a starting parameter
DATA_SHIFT = 0.05  # the largest change of an input value
VARY = ("weights", "data")
KEY = "key"  # the teacher's folder inside the class folder: worked workbooks
GRADED = "graded"  # the folder of graded copies `sheetnet grade` writes, one per submission
CLASS_FILE = "class.json"


@dataclasses.dataclass(frozen=True)
class Student:
    id: str
    name: str


def read_roster(path: str) -> list[Student]:
    """The roster CSV: a header with ``id`` (and optionally ``name``), one student a row.
    A bad row is one error naming the file and the row."""
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise SheetnetError(_("no such file"), path) from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise SheetnetError(_("not a readable CSV file ({name})").format(
            name=e.__class__.__name__), name) from None
    if not rows:
        raise SheetnetError(_("the roster is empty: a header `id,name`, then one student a row"), name)
    head = [h.strip().lower() for h in rows[0]]
    if "id" not in head:
        raise SheetnetError(_("row 1: the header needs a column `id` (and may have `name`)"), name)
    i_id, i_name = head.index("id"), head.index("name") if "name" in head else None
    students, seen = [], {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(head):
            raise SheetnetError(_("row {n}: {n2} field(s), the header has {n3}").format(
                n=n, n2=len(row), n3=len(head)), name)
        sid = row[i_id].strip()
        if not ID_PATTERN.match(sid):
            raise SheetnetError(_("row {n}: the id {sid} must be letters, digits, '-', '_' or '.' (it names the "
                                  "student's file)").format(n=n, sid=repr(sid)), name)
        if sid.lower() in seen:
            raise SheetnetError(_("row {n}: the id {sid} is already on row {seen}").format(
                n=n, sid=repr(sid), seen=seen[sid.lower()]), name)
        seen[sid.lower()] = n
        students.append(Student(sid, row[i_name].strip() if i_name is not None else ""))
    if not students:
        raise SheetnetError(_("the roster has no students"), name)
    return students


def student_rng(course_seed: int, student_id: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{course_seed}:{student_id}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:8], "big")))


def varying_columns(spec) -> np.ndarray:
    """The input columns ``data`` varies: those holding a value other than 0 and 1."""
    x = spec.data.inputs
    return ~np.isin(x, (0.0, 1.0)).all(axis=0)


def student_spec(spec, course_seed: int, student_id: str, vary=("weights",)):
    """The spec with the student's own starting parameters and/or input values (see the module
    docstring)."""
    rng = student_rng(course_seed, student_id)
    if "weights" in vary:
        P = Model(spec).params
        shift = rng.integers(-10, 11, size=P.size) * (SHIFT / 10)
        theta = np.round(P.theta + shift, 12)  # 0.15 + 0.03 is 0.18, not 0.18000000000000002
        spec = with_parameters(spec, theta, P)
    if "data" in vary:
        x = spec.data.inputs
        shift = rng.integers(-5, 6, size=x.shape) * (DATA_SHIFT / 5) * varying_columns(spec)
        data = dataclasses.replace(spec.data, inputs=np.round(x + shift, 12), source="inline")
        spec = dataclasses.replace(spec, data=data)
    return spec


def check_vary(spec, vary) -> tuple[str, ...]:
    """``vary`` (from ``--vary``: weights, data or both, comma-separated) checked against the spec."""
    from .errors import suggest

    parts = tuple(dict.fromkeys(p.strip() for p in vary.split(",") if p.strip()))
    for p in parts:
        if p not in VARY:
            raise SheetnetError(_("unknown part {p}").format(p=repr(p)) + suggest(p, VARY), "--vary")
    if not parts:
        raise SheetnetError(_("name weights, data or both"), "--vary")
    if "data" in parts and not varying_columns(spec).any():
        raise SheetnetError(_("every input is 0 or 1 (pixels or classes), so the data cannot vary without "
                              "changing what a sample means; vary the weights"), "--vary data")
    return parts


def write_class(spec, students, folder, course_seed, blank, scope, write, vary=("weights",)) -> list[str]:
    """One exercise per student (``folder/<id>.xlsx``), the worked run of each in
    ``folder/key/`` and ``folder/class.json``; ``write(trace, path, blank, scope)`` writes a
    workbook.  Returns the students' paths."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise SheetnetError(_("is a file; the class needs a folder"), folder)
    os.makedirs(os.path.join(folder, KEY), exist_ok=True)
    paths = []
    for s in students:
        trace = train(student_spec(spec, course_seed, s.id, vary))
        path = os.path.join(folder, f"{s.id}.xlsx")
        write(trace, path, blank, scope, s)
        write(trace, os.path.join(folder, KEY, f"{s.id}.xlsx"), (), None, s)
        paths.append(path)
    info = {"spec": spec.name, "course_seed": course_seed, "vary": list(vary), "blank": list(blank),
            "students": [dataclasses.asdict(s) for s in students]}
    with atomic_path(os.path.join(folder, CLASS_FILE)) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(info, fh, ensure_ascii=False, indent=1)
    return paths


# --------------------------------------------------------------------------- the gradebook
def submissions(folder: str) -> list[str]:
    """The workbooks to grade: every .xlsx of the folder but graded copies and the gradebook."""
    if not os.path.isdir(folder):
        raise SheetnetError(_("no such folder"), folder)
    names = sorted(f for f in os.listdir(folder) if f.lower().endswith(".xlsx") and not f.startswith((".", "~$"))
                   and not f.endswith(".graded.xlsx") and f != "gradebook.xlsx")
    if not names:
        raise SheetnetError(_("no .xlsx workbooks to grade"), folder)
    return [os.path.join(folder, f) for f in names]


def gradebook_rows(folder: str, rtol=None, digits=None, warn=print, graded=False) -> list[dict]:
    """One row per submission: the student, the score, the count of each verdict and of each
    kind of mistake, the first wrong answer.  A file that is not an exercise is a row with
    its error (and a warning), never the end of the grading.  With ``graded``, each
    submission's graded copy goes to ``folder/graded/<file>.graded.xlsx``."""
    from .book.grade import grade, mistake_counts, write_graded_copy
    from .book.reader import open_book

    names = _roster_names(folder)
    rows = []
    for path in submissions(folder):
        sid = os.path.splitext(os.path.basename(path))[0]
        row = {"id": sid, "name": names.get(sid, ""), "file": os.path.basename(path)}
        try:
            book = open_book(path)
            if not book.exercise:
                raise SheetnetError(_("not an exercise (written by `sheetnet exercise`)"), os.path.basename(path))
            answers = grade(book, rtol=rtol, digits=digits)
            if graded:
                base = os.path.splitext(os.path.basename(path))[0]
                os.makedirs(os.path.join(folder, GRADED), exist_ok=True)
                write_graded_copy(path, os.path.join(folder, GRADED, base + ".graded.xlsx"), answers)
            if book.student and book.student[0]:
                row["id"], row["name"] = book.student[0], book.student[1] or row["name"]
        except SheetnetError as e:
            warn(f"sheetnet: warning: {e}")
            rows.append(row | {"error": str(e)})
            continue
        right = sum(a.ok for a in answers)
        first = next((a for a in answers if not a.ok), None)
        row |= {"answers": len(answers), "score": round(100.0 * right / len(answers), 1),
                **{v: sum(a.verdict == v for a in answers) for v in ("correct", "consistent", "rounded", "wrong",
                                                                      "missing")},
                **{"mistake_" + k: n for k, n in mistake_counts(answers).items()},
                "first_wrong": f"{first.where} {first.name}" if first else "", "error": ""}
        rows.append(row)
    return rows


GRADEBOOK_COLUMNS = ("id", "name", "file", "answers", "score", "correct", "consistent", "rounded", "wrong", "missing")


def write_gradebook(rows: list[dict], folder: str) -> tuple[str, str]:
    """``folder/gradebook.csv`` and ``folder/gradebook.xlsx`` (the same table)."""
    import xlsxwriter

    from .book.grade import MISTAKES

    columns = [*GRADEBOOK_COLUMNS, *("mistake_" + k for k in MISTAKES), "first_wrong", "error"]
    csv_path, xlsx_path = os.path.join(folder, "gradebook.csv"), os.path.join(folder, "gradebook.xlsx")
    with atomic_path(csv_path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(columns)
            for r in rows:
                out.writerow([r.get(c, "") for c in columns])
    with atomic_path(xlsx_path, suffix=".xlsx.part") as tmp:
        wb = xlsxwriter.Workbook(tmp, {"strings_to_formulas": False, "strings_to_numbers": False,
                                       "strings_to_urls": False})
        ws = wb.add_worksheet("Gradebook")
        head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "text_wrap": True, "valign": "top"})
        for c, name in enumerate(columns):
            ws.write_string(0, c, MISTAKES.get(name[len("mistake_"):], name), head)
        for r, row in enumerate(rows, start=1):
            for c, name in enumerate(columns):
                v = row.get(name, "")
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    ws.write_number(r, c, v)
                else:
                    ws.write_string(r, c, str(v))
        ws.freeze_panes(1, 2)
        ws.set_column(0, 1, 14)
        ws.set_column(2, len(columns), 11)
        ws.set_row(0, 45)
        wb.close()
    return csv_path, xlsx_path


def _roster_names(folder: str) -> dict:
    path = os.path.join(folder, CLASS_FILE)
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as fh:
            return {s["id"]: s.get("name", "") for s in json.load(fh).get("students", [])}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}
