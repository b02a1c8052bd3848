"""The command line: ``sheetnet train | step | demo | examples | gallery | …``.

Every command takes a spec file or the name of a built-in example.  Data goes to stdout
(exactly one JSON object with ``--json``), progress and messages to stderr.  Unusable input
is one line on stderr and exit code 2.
"""

from __future__ import annotations

import functools
import json
import math
import os
import sys

import click

from . import __version__
from . import examples as ex
from .engine.training import train as train_run
from .errors import SheetnetError
from .walkthrough import as_dicts, render, walkthrough

PROGRESS_FROM = 2000  # steps: show a progress bar on stderr for runs at least this long


def _fail_cleanly(fn):
    """Turn a SheetnetError into one line on stderr and its exit code (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SheetnetError as e:
            click.echo(f"sheetnet: error: {e}", err=True)
            sys.exit(e.exit_code)

    return wrapper


def _load(spec_arg: str, epochs: int | None = None):
    spec = ex.resolve(spec_arg)
    if epochs is not None:
        spec = spec.with_train(epochs=epochs)
    return spec


class _Progress:
    """A click progress bar on stderr for ``label`` once the work has at least ``shown_from``
    units; called as ``progress(done, total)`` (a no-op below the threshold)."""

    def __init__(self, label, total, shown_from=100):
        self.bar = click.progressbar(length=total, label=label, file=sys.stderr) if total >= shown_from else None
        self.done = 0

    def __enter__(self):
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def __call__(self, done, total):
        if self.bar is not None:
            self.bar.update(done - self.done)
            self.done = done


def _write_with_progress(trace, output, layout="auto", **kw):
    """write_workbook with a bar on stderr for runs of many steps (mazur-10k: 10,000 rows)."""
    from .sheet.workbook import write_workbook

    with _Progress("writing", trace.n_steps) as progress:
        return write_workbook(trace, output, layout=layout, progress=progress, **kw)


READ_NOTE_FROM = 1_000_000  # bytes: reading a workbook this big takes seconds


def _open_with_note(book):
    """open_book, saying on stderr first when the workbook is big enough to take a while."""
    from .book.reader import open_book

    if os.path.isfile(book) and os.path.getsize(book) >= READ_NOTE_FROM:
        click.echo(f"reading {book} ({os.path.getsize(book) / 1e6:.1f} MB)…", err=True)
    return open_book(book)


def _train_with_progress(spec, record=True):
    n = len(ex_batches(spec))
    if n < PROGRESS_FROM:
        return train_run(spec, record=record)
    with click.progressbar(length=n, label="training", file=sys.stderr) as bar:
        last = [0]

        def progress(done, total):
            bar.update(done - last[0])
            last[0] = done

        return train_run(spec, record=record, progress=progress)


def ex_batches(spec):
    from .engine.training import batches
    return batches(spec)


def _strict_json(obj) -> str:
    """JSON that every parser accepts: a NaN or infinite number (a diverged run) becomes null,
    and ``"diverged": true`` is added."""
    bad = []

    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            bad.append(x)
            return None
        if isinstance(x, list):
            return [clean(v) for v in x]
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        return x

    obj = clean(obj)
    if bad:
        obj["diverged"] = True
        click.echo("sheetnet: warning: the run diverged (NaN or infinite values are written as null)", err=True)
    return json.dumps(obj)


SPEC_HELP = "SPEC is a TOML spec file or the name of a built-in example (see `sheetnet examples`)."


class _Group(click.Group):
    """A click group whose usage errors are one line on stderr (exit 2), as SPEC.md asks."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as e:
            click.echo(f"sheetnet: error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, message="sheetnet %(version)s")
def main():
    """sheetnet: train small neural networks and see every number.

    Every forward value, delta, gradient and update of a run, as tables, as a
    step-by-step hand calculation in the terminal, and as an Excel workbook of
    live formulas.  Start with `sheetnet demo`.
    """


@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("-o", "--output", metavar="OUT.xlsx", help="Write the run as a workbook of live formulas.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override [train].epochs.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: {\"losses\": [...], \"layers\": [{\"weights\", \"biases\"}, ...]}.")
@click.option("--layout", type=click.Choice(["auto", "steps", "compact"]), default="auto", show_default=True,
              help="Workbook layout: one sheet per step, or one row per step.")
@_fail_cleanly
def train(spec, output, epochs, as_json, layout):
    """Train the network described by SPEC.

    \b
    SPEC is a TOML spec file or the name of a built-in example.
    Prints the loss of the first and the last step (or JSON with --json);
    with -o also writes the workbook.
    """
    run = _load(spec, epochs)
    if output:
        from .sheet.workbook import check_output_path
        check_output_path(output)
    trace = _train_with_progress(run, record=True)
    if output:
        _write_with_progress(trace, output, layout)
        click.echo(f"wrote {output}", err=True)
    if as_json:
        click.echo(_strict_json(trace.to_json()))
    else:
        click.echo(f"{run.name or spec}: {plural(trace.n_steps, 'step')}, loss {trace.loss[0]:.9g} -> {trace.final_loss:.9g}")


@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("--steps", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many optimizer steps to walk through.")
@click.option("--sample", type=click.IntRange(min=1), default=1, show_default=True,
              help="Which sample of each step's batch to show (1 = the first).")
@click.option("--json", "as_json", is_flag=True, help="The same lines as JSON (one object).")
@_fail_cleanly
def step(spec, steps, sample, as_json):
    """Walk through training by hand: every equation with its numbers.

    \b
    SPEC is a TOML spec file or the name of a built-in example.
    For each step: the forward pass (net and out of every unit), the loss,
    the deltas, the gradients and the updated parameters, in textbook order.
    """
    _walk(_load(spec), steps, sample, as_json)


def _walk(run, steps, sample, as_json):
    n_steps = len(ex_batches(run))
    if steps > n_steps:
        epochs = -(-steps * run.train.epochs // n_steps)
        run = run.with_train(epochs=epochs)
    trace = train_run(run)
    out = []
    for k in range(steps):
        view = trace.step(k)
        if sample > len(view.samples):
            raise SheetnetError(f"--sample {sample}: step {k + 1} has only {plural(len(view.samples), 'sample')}")
        lines = walkthrough(trace, k, sample - 1)
        if as_json:
            out.append({"step": k + 1, "epoch": view.epoch + 1, "samples": view.samples.tolist(),
                        "sample": int(view.samples[sample - 1]), "lr": view.lr, "lines": as_dicts(lines)})
        else:
            head = (f"Step {k + 1} (epoch {view.epoch + 1}, sample {sample} of a batch of {len(view.samples)}: "
                    f"data row {int(view.samples[sample - 1]) + 1}, η = {view.lr:g})")
            click.echo(render(lines, head) + "\n")
    if as_json:
        click.echo(json.dumps({"name": run.name, "steps": out}))


@main.command()
@click.option("-o", "--output", metavar="OUT.xlsx", default="mazur.xlsx", show_default=True,
              help="Where to write the workbook.")
@_fail_cleanly
def demo(output):
    """Mazur's 2-2-2 worked example: the walk-through, and its workbook.

    Prints every number of one training step of the classic "step by step
    backpropagation example" (inputs 0.05 and 0.10, targets 0.01 and 0.99)
    and writes the same step as a workbook of live formulas.
    """
    run = ex.example("mazur")
    _walk(run, 1, 1, False)
    from .sheet.workbook import check_output_path, write_workbook
    check_output_path(output)
    write_workbook(train_run(run), output)
    click.echo(f"wrote {output}: open it in Excel, change eta or a weight, and watch it recompute "
               "(LibreOffice: press Ctrl+Shift+F9 after opening, or set Tools > Options > Calc > Formula > "
               "Recalculation on file load to Always)", err=True)


@main.command()
@click.argument("book", metavar="BOOK.xlsx", type=click.Path(dir_okay=False))
@click.option("-o", "--output", metavar="OUT.xlsx", help="Write the recalculated copy here (default: replace BOOK).")
@click.option("--check", is_flag=True,
              help="Do not write; compare every stored value with LibreOffice's and list the cells that differ "
                   "(exit 1 if any).")
@_fail_cleanly
def recalc(book, output, check):
    """Refresh every stored value of BOOK.xlsx with LibreOffice (headless).

    For workbooks edited by a script (openpyxl and the like keep formulas but no
    values). Needs LibreOffice (`apt-get install libreoffice-calc-nogui`).
    """
    import os
    import tempfile

    from .book.cells import open_xlsx
    from .book.recalc import recalc_files, recalc_workbook

    open_xlsx(book).close()  # a clear error for what is not a workbook
    if check:
        from .book.check import compare
        with tempfile.TemporaryDirectory() as tmp:
            n, bad = compare(book, recalc_files([book], tmp)[0])
        for m in bad[:20]:
            click.echo(str(m))
        click.echo(f"{n} formula cells, {len(bad)} differ from LibreOffice's values", err=True)
        sys.exit(1 if bad else 0)
    target = output or book
    if output:
        from .sheet.workbook import check_output_path
        check_output_path(output)
    recalc_workbook(book, target)
    click.echo(f"recalculated {book} -> {os.path.abspath(target)}" if output else f"recalculated {book}", err=True)


@main.command()
@click.argument("book", metavar="BOOK.xlsx")
@click.option("--json", "as_json", is_flag=True, help="Print the run's losses and final parameters as JSON.")
@click.option("--spec", "spec_out", metavar="OUT.toml",
              help="Write the run as the workbook now describes it (edited settings, data, weights) as a spec.")
@_fail_cleanly
def read(book, as_json, spec_out):
    """Read a workbook back: the losses and parameters it stores.

    \b
    Values that are missing (a file saved by a script keeps formulas without
    results) or stale (they do not follow from the workbook's inputs) are
    detected; sheetnet then recomputes the run from the workbook's inputs
    and says so on stderr.
    """
    from .book.reader import stored_values

    b = _open_with_note(book)
    if spec_out:
        from .spec.toml_out import to_toml
        _write_text(spec_out, to_toml(b.spec), book)
        click.echo(f"wrote {spec_out}", err=True)
        if not as_json:
            return
    st = stored_values(b)
    if st.trustworthy:
        out = {"losses": st.losses, "layers": st.trace.params.as_json(st.final_theta), "recomputed": False}
    else:
        first = st.missing[0] if st.missing else st.stale[0][0]
        what = (f"{len(st.missing)} formula cell(s) have no stored value" if st.missing else
                f"{len(st.stale)} stored value(s) do not follow from the workbook's inputs")
        click.echo(f"sheetnet: note: {book}: {what} (first: {first.where()}); "
                   "recomputed from the workbook's inputs", err=True)
        out = {**st.trace.to_json(), "recomputed": True}
    if as_json:
        click.echo(_strict_json(out))
    else:
        losses = out["losses"]
        click.echo(f"{b.spec.name or book}: {plural(len(losses), 'step')}, loss {losses[0]:.9g} -> {losses[-1]:.9g}"
                   + (" (recomputed)" if out["recomputed"] else ""))
        click.echo(parameter_tables(b.spec, out["layers"]))


def _write_text(path, text, reading=None):
    """Write a text file atomically; never over the workbook being read."""
    import os

    from .files import atomic_path

    if reading and os.path.exists(path) and os.path.samefile(path, reading):
        raise SheetnetError("refusing to write over the workbook being read", path)
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise SheetnetError("the folder does not exist", path)
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)


@main.command()
@click.argument("book", metavar="BOOK.xlsx")
@click.option("--json", "as_json", is_flag=True, help="The findings (or the grades) as one JSON object.")
@click.option("--rtol", type=click.FloatRange(min=0),
              help="Relative tolerance of a value (default 1e-9; for an exercise 1e-4).")
@click.option("--digits", type=click.IntRange(min=1, max=15),
              help="Exercise: an answer counts when it has this many correct significant digits.")
@click.option("--graded", metavar="OUT.xlsx",
              help="Exercise: where to write the graded copy (default: BOOK.graded.xlsx).")
@_fail_cleanly
def audit(book, as_json, rtol, digits, graded):
    """Check a workbook cell by cell against sheetnet's own calculation.

    \b
    Recomputes the run from the workbook's inputs (settings, data, starting
    weights) and reports, in computation order, every cell whose stored value
    differs, whose formula was changed, or that a constant overwrote; the
    first one is named as the likely root cause.
    An exercise (from `sheetnet exercise`) is graded instead: every answer is
    correct, consistent with the student's earlier answers, wrong (with a hint
    for the common confusions) or missing; a graded copy is written beside it.
    Exit status: 0 clean (all answers right), 1 findings, 2 unusable workbook.
    """
    from .book.reader import open_book

    b = _open_with_note(book)
    if b.exercise:
        _grade(b, book, as_json, rtol, digits, graded)
        return
    from .book.audit import audit as run_audit
    from .book.audit import report

    with _Progress("auditing", b.layout.n_steps) as progress:
        findings = run_audit(b, rtol=1e-9 if rtol is None else rtol, progress=progress)
    if as_json:
        click.echo(_strict_json({"ok": not findings, "findings": [f.as_dict() for f in findings]}))
    else:
        click.echo(report(findings, book))
    sys.exit(1 if findings else 0)


def _grade(b, book, as_json, rtol, digits, graded):
    import os

    from .book.grade import grade, summary, write_graded_copy
    from .sheet.workbook import check_output_path

    graded = graded or os.path.splitext(book)[0] + ".graded.xlsx"
    check_output_path(graded, reading=book)
    answers = grade(b, rtol=rtol, digits=digits)
    write_graded_copy(book, graded, answers)
    ok = all(a.ok for a in answers)
    if as_json:
        click.echo(_strict_json({"ok": ok, "graded": graded, "answers": [a.as_dict() for a in answers]}))
    else:
        click.echo(f"{book}: {summary(answers)}")
        for a in answers:
            click.echo(a.line())
    click.echo(f"wrote {graded}", err=True)
    sys.exit(0 if ok else 1)


@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("-o", "--output", metavar="EX.xlsx", required=True, help="Where to write the exercise.")
@click.option("--steps", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many steps the exercise covers (whole epochs are written).")
@click.option("--blank", default="forward,loss,backward,update", show_default=True,
              help="Which parts the student fills in: any of forward, loss, backward, update.")
@_fail_cleanly
def exercise(spec, output, steps, blank):
    """Write a hand-calculation exercise: the chosen cells are left empty.

    \b
    The answer cells are empty and highlighted green, each row labelled with
    its equation. The student fills in numbers (or formulas) in Excel or
    LibreOffice and saves; `sheetnet audit EX.xlsx` then grades every answer.
    """
    from .sheet.layout import EXERCISE_SECTIONS
    from .sheet.workbook import check_output_path, write_workbook

    parts = tuple(p.strip() for p in blank.split(",") if p.strip())
    for p in parts:
        if p not in EXERCISE_SECTIONS:
            from .errors import suggest
            raise SheetnetError(f"unknown part {p!r}" + suggest(p, EXERCISE_SECTIONS), "--blank")
    if not parts:
        raise SheetnetError("name at least one part to leave blank", "--blank")
    run = _load(spec)
    per_epoch = len(ex_batches(run.with_train(epochs=1)))
    run = run.with_train(epochs=-(-steps // per_epoch))
    check_output_path(output)
    write_workbook(train_run(run), output, layout="steps", blank=parts)
    click.echo(f"wrote {output}: fill in the green cells, save, then run `sheetnet audit {output}`", err=True)


@main.command()
@click.argument("book", metavar="BOOK.xlsx")
@click.option("-o", "--output", metavar="NEXT.xlsx", required=True, help="Where to write the continued run.")
@click.option("--epochs", type=click.IntRange(min=1), help="How many more epochs (default: as many as BOOK has).")
@click.option("--layout", type=click.Choice(["auto", "steps", "compact"]), default="auto", show_default=True,
              help="Workbook layout of the continued run.")
@click.option("--json", "as_json", is_flag=True, help="Also print the continued run's JSON.")
@_fail_cleanly
def resume(book, output, epochs, layout, as_json):
    """Continue training from where BOOK.xlsx ends, as it is now edited.

    \b
    Starts from the last step's parameters and optimizer state (momentum,
    Adagrad/RMSprop/Adam accumulators, Adam's step counter, the epoch count for
    lr_decay), with the workbook's current settings and data. A value typed into
    the last step's updated parameters is taken as it is. N epochs and then
    N more with resume give the numbers of 2N epochs in one go.
    """
    from .book.reader import final_state, open_book
    from .sheet.workbook import check_output_path, write_workbook

    check_output_path(output, reading=book)
    b = open_book(book)
    start = final_state(b)
    spec = b.spec.with_train(epochs=epochs) if epochs else b.spec
    trace = train_run(spec, start=start)
    _write_with_progress(trace, output, layout)
    click.echo(f"wrote {output}: {plural(trace.n_steps, 'more step')} from step {start.step}, loss {trace.loss[0]:.9g} -> "
               f"{trace.final_loss:.9g}", err=True)
    if as_json:
        click.echo(_strict_json(trace.to_json()))


@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("-o", "--output", metavar="OUT.xlsx", required=True, help="Where to write the comparison workbook.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override [train].epochs for every run.")
@_fail_cleanly
def compare(spec, output, epochs):
    """Run SPEC once per optimizer and chart the losses in one workbook.

    \b
    The optimizers and their learning rates come from the spec's [compare]
    table (e.g. sgd = 4.0, adam = 0.1); without one, all five optimizers run
    at the spec's lr. Each run is live on its own sheets (adam Settings,
    adam Run, adam Losses, ...); the Compare sheet charts every run's loss.
    Try: sheetnet compare optimizers -o optimizers.xlsx
    """
    from .compare import runs, write_comparison

    run = _load(spec)
    traces = write_comparison(runs(run, epochs), output)
    for label, trace in traces.items():
        click.echo(f"{label:<9} lr {trace.spec.train.lr:<7g} loss {trace.loss[0]:.9g} -> {trace.final_loss:.9g}")
    click.echo(f"wrote {output}", err=True)


@main.command("examples")
@click.argument("name", required=False, metavar="[NAME]")
@click.option("--toml", "as_toml", is_flag=True, help="Print example NAME's spec, a file to start from.")
@_fail_cleanly
def examples_cmd(name, as_toml):
    """List the built-in examples (usable wherever a SPEC is asked for).

    \b
    sheetnet examples mazur --toml > my.toml   a spec to start from
    """
    if name is None:
        if as_toml:
            raise SheetnetError("--toml needs the name of an example: sheetnet examples mazur --toml")
        for name in ex.example_names():
            spec = ex.example(name)
            sizes = "-".join(_layer_size(layer) for layer in spec.layers)
            n = len(spec.data.inputs)
            click.echo(f"{name:<10} {sizes:<18} {plural(n, 'sample'):>12}  {ex.describe(name)}")
        return
    spec = ex.example(name)  # refuses an unknown name, with a suggestion
    if not as_toml:
        click.echo(f"{name}: {ex.describe(name)}; its spec: sheetnet examples {name} --toml")
        return
    click.echo(_example_toml(name, spec), nl=False)


def _example_toml(name, spec) -> str:
    """The example's own file (comments and all); one whose data sits in a CSV file beside it
    is written out whole, the data inline, so that the printed spec runs anywhere."""
    import tomllib

    with open(ex.example_path(name), encoding="utf-8") as fh:
        text = fh.read()
    if "csv" not in tomllib.loads(text).get("data", {}):
        return text
    from .spec.toml_out import to_toml
    lines = text.splitlines()
    head = lines[:next(i for i, line in enumerate(lines) if not line.startswith("#"))]
    return "".join(line + "\n" for line in head) + to_toml(spec)


def parameter_tables(spec, layers) -> str:
    """The final parameters as the Parameters sheet shows them: per layer a row per receiving
    unit (its weights, then its bias), or per filter its grid and bias."""
    lines = []
    with_params = [(i, layer) for i, layer in enumerate(spec.layers[1:], start=2) if layer.kind != "maxpool"]
    for (i, layer), p in zip(with_params, layers):
        prev = spec.layers[i - 2]
        lines.append("")
        if layer.kind == "conv":
            lines.append(f"layer {i} (conv): one {layer.kernel}x{layer.kernel} filter and its bias per feature map")
            for f, (grid, bias) in enumerate(zip(p["weights"], p["biases"]), start=1):
                lines.append(f"  filter {f}" + " " * 6 + f"bias {bias:.9g}")
                lines += ["    " + " ".join(f"{v:>16.9g}" for v in row) for row in grid]
            continue
        senders = list(prev.names) if len(prev.names) == len(p["weights"][0]) else \
            [f"x{k + 1}" for k in range(len(p["weights"][0]))]
        lines.append(f"layer {i} ({layer.kind}): a row per unit, its weights from each input, then its bias")
        width = max(len(n) for n in layer.names)
        lines.append(" " * (width + 2) + " ".join(f"{n:>16}" for n in senders + ["bias"]))
        for name, row, bias in zip(layer.names, p["weights"], p["biases"]):
            lines.append(f"  {name:<{width}}" + " ".join(f"{v:>16.9g}" for v in row + [bias]))
    return "\n".join(lines)


def plural(n: int, word: str) -> str:
    """``1 step``, ``2 steps``."""
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _layer_size(layer) -> str:
    """``12``, an image ``6x6``, or maps ``3@4x4``."""
    if layer.maps is not None:
        return "{}@{}x{}".format(*layer.maps)
    if layer.shape is not None and len(layer.shape) == 2:
        return "{}x{}".format(*layer.shape)
    return str(layer.size)


@main.command()
@click.argument("folder", metavar="DIR")
@click.option("--example", "names", multiple=True, metavar="NAME",
              help="Only this example (repeatable). Default: every example of the gallery.")
@click.option("--no-pictures", is_flag=True, help="Write the workbooks only (needs no LibreOffice).")
@_fail_cleanly
def gallery(folder, names, no_pictures):
    """Regenerate the example gallery into DIR.

    \b
    Writes DIR/<name>.xlsx for the examples of the gallery (mazur, xor,
    digits01, iris, cnn123, optimizers; any other built-in example when
    named with --example)
    and pictures of each, rendered from the workbook by LibreOffice
    (headless, one start for all) and cropped by pdftoppm:
      DIR/img/<name>-step.png     the main sheet: Step 1, or Run (one row per step)
      DIR/img/<name>-history.png  the Losses sheet: the loss table and its chart
    Needs LibreOffice and poppler-utils (`apt-get install libreoffice-calc-nogui
    poppler-utils`). `sheetnet gallery workbooks/` refreshes the committed gallery.
    """
    import time

    from .gallery import make_gallery

    t0 = time.perf_counter()
    files = make_gallery(folder, names or None, pictures=not no_pictures,
                         progress=lambda line: click.echo(line, err=True))
    click.echo(f"{len(files)} files in {folder} ({time.perf_counter() - t0:.1f} s)", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
