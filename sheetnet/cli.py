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

from . import __version__, i18n
from . import examples as ex
from .cli_help import Command, TranslatedHelp
from .errors import SheetnetError
from .i18n import LANGUAGES, _, ngettext, set_language
from .text import display_width, terminal_width, wrap


# numpy, pandas and the spreadsheet libraries are imported where a command uses them, so
# that `sheetnet --help` and `--version` start at once (tests/test_startup.py)
def train_run(*args, **kwargs):
    from .engine.training import train
    return train(*args, **kwargs)


def walkthrough(*args, **kwargs):
    from .walkthrough import walkthrough as run
    return run(*args, **kwargs)


def render(*args, **kwargs):
    from .walkthrough import render as run
    return run(*args, **kwargs)


def as_dicts(*args, **kwargs):
    from .walkthrough import as_dicts as run
    return run(*args, **kwargs)

PROGRESS_FROM = 2000  # steps: show a progress bar on stderr for runs at least this long


def _fail_cleanly(fn):
    """Turn a SheetnetError into one line on stderr and its exit code (no traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SheetnetError as e:
            _error(str(e))
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            _error(_("interrupted; partial files removed"))
            sys.exit(130)
        except MemoryError:
            _error(_("out of memory"))
            sys.exit(2)
        except RecursionError:
            _error(_("the input is nested too deeply"))
            sys.exit(2)
        except OSError as e:
            from .files import describe_os_error
            import traceback
            if any(frame.f_code.co_name == "echo" for frame, _ in traceback.walk_tb(e.__traceback__)):
                _stdout_failed(e)  # writing to stdout failed
            where = f"{e.filename}: " if getattr(e, "filename", None) else ""
            _error(where + describe_os_error(e))
            sys.exit(2)

    return wrapper


def _error(message: str):
    click.echo(_("sheetnet: error: {message}").format(message=message), err=True)


def _warning(message: str):
    click.echo(_("sheetnet: warning: {message}").format(message=message), err=True)


def _note(message: str):
    click.echo(_("sheetnet: note: {message}").format(message=message), err=True)


def _wrote(path):
    click.echo(_("wrote {path}").format(path=path), err=True)


def _load(spec_arg: str, epochs: int | None = None):
    spec = ex.resolve(spec_arg)
    if epochs is not None:
        spec = spec.with_train(epochs=epochs)
    return spec


def _spec_inputs(spec) -> tuple[str, ...]:
    """The files a spec was read from: the TOML and its CSV data (never to be written over)."""
    import os

    files = [spec.path] if spec.path and os.path.exists(spec.path) else []
    source = getattr(spec.data, "source", None)
    if source and source != "workbook" and spec.base_dir:
        files.append(os.path.join(spec.base_dir, source))
    return tuple(files)


def _check_output(output, reading=()):
    """-o names an .xlsx that is none of the files read (``reading``)."""
    from .sheet.workbook import check_output_path

    check_output_path(output, reading=reading)


def _note_divergence(trace, label=""):
    """One line on stderr when the run diverged (the trace stops before it)."""
    if getattr(trace, "diverged_at", None) is not None:
        from .sheet.history import diverged_note
        _warning(label + diverged_note(trace))


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

    with _Progress(_("writing"), trace.n_steps) as progress:
        return write_workbook(trace, output, layout=layout, progress=progress, notes=ex.guide_notes(trace), **kw)



READ_NOTE_FROM = 1_000_000  # bytes: reading a workbook this big takes seconds


def _open_with_note(book):
    """open_book, saying on stderr first when the workbook is big enough to take a while."""
    from .book.reader import open_book

    if os.path.isfile(book) and os.path.getsize(book) >= READ_NOTE_FROM:
        click.echo(_("reading {book} ({size:.1f} MB)…").format(book=book, size=os.path.getsize(book) / 1e6), err=True)
    return open_book(book)


def _train_with_progress(spec, record=True):
    from .engine.budget import n_steps
    n = n_steps(spec)
    if n < PROGRESS_FROM:
        return train_run(spec, record=record)
    with click.progressbar(length=n, label=_("training"), file=sys.stderr) as bar:
        last = [0]

        def progress(done, total):
            bar.update(done - last[0])
            last[0] = done

        trace = train_run(spec, record=record, progress=progress)
    return trace


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
        _warning(_("the run diverged (NaN or infinite values are written as null)"))
    return json.dumps(obj)




def _set_language(ctx, param, value):
    if value is not None:
        set_language(value)


def _language_option() -> click.Option:
    return click.Option(["--lang"], type=click.Choice(LANGUAGES), expose_value=False, is_eager=True,
                        callback=_set_language,
                        help="The language of what sheetnet writes (default: the environment's locale).")


class _Group(TranslatedHelp, click.Group):
    """A click group whose usage errors are one line on stderr (exit 2), as SPEC.md asks, and
    whose every command takes --lang and shows its help in the language in force."""

    command_class = Command

    def add_command(self, cmd, name=None):
        cmd.params.append(_language_option())
        super().add_command(cmd, name)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run one command in the environment's language (or its --lang), then restore the caller's."""
        before = i18n.language
        set_language(None)
        try:
            return self._main(args, prog_name, complete_var, standalone_mode, **extra)
        finally:
            set_language(before)

    def _main(self, args, prog_name, complete_var, standalone_mode, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        from .files import raise_on_signals
        raise_on_signals()
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
            sys.stdout.flush()
        except click.ClickException as e:
            _error(e.format_message())
            sys.exit(e.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except OSError as e:  # stdout is a full disk or a closed pipe
            _stdout_failed(e)
        sys.exit(rv if isinstance(rv, int) else 0)


def _stdout_failed(e: OSError):
    """Writing to stdout failed (``> /dev/full``, a closed pipe): one line, exit 2, and stdout
    pointed at /dev/null so the interpreter's own final flush stays quiet."""
    import os

    from .files import describe_os_error
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    _error(_("cannot write the output (stdout): {reason}").format(reason=describe_os_error(e)))
    sys.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             params=[_language_option()])
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
@click.option("--trace", "trace_out", metavar="RUN.json",
              help="Write every number of the run, unrounded, as JSON (README: Trace export).")
@click.option("--notation", type=click.Choice(["mazur", "wakui", "matrix"]), default="mazur", show_default=True,
              help="The workbook's labels: Mazur's net_h1, out_h1, E; Wakui's z²₁, a²₁, C; or Z1[1], A1[1], L.")
@_fail_cleanly
def train(spec, output, epochs, as_json, layout, trace_out, notation):
    """Train the network described by SPEC.

    \b
    SPEC is a TOML spec file or the name of a built-in example.
    Prints the loss of the first and the last step (or JSON with --json);
    with -o also writes the workbook.
    """
    run = _load(spec, epochs)
    if _is_function(run):
        if output is not None:
            _check_output(output, reading=(run.path,))
        return _train_function(run, output, as_json)
    if output is not None:
        from .engine.budget import check_budget
        _check_output(output, reading=_spec_inputs(run))
        check_budget(run, workbook=True)
    if trace_out:
        from .engine.export import check_trace_path
        check_trace_path(trace_out)
    trace = _train_with_progress(run, record=True)
    _note_divergence(trace)
    if output is not None:
        _write_with_progress(trace, output, layout, notation=notation)
        _wrote(output)
    if trace_out:
        from .engine.export import save_trace
        save_trace(trace, trace_out)
        _wrote(trace_out)
    if as_json:
        out = trace.to_json()
        if not trace.diverged:
            out["epochs"] = [{"after_epoch": int(e), **{key: int(v) if key.endswith("correct") else float(v)
                                                         for key, v in row.items()}}
                             for e, row in trace.epochs.iterrows()]
        click.echo(_strict_json(out))
    else:
        click.echo("\n".join(_summary(run.name or spec, trace)))


def _function_book(path):
    """The function workbook at ``path`` (read with its edits), or None for any other file."""
    from .function.book import is_function_book, open_function_book

    return open_function_book(path) if os.path.isfile(path) and is_function_book(path) else None


def _is_function(spec) -> bool:
    from .function.spec import FunctionSpec
    return isinstance(spec, FunctionSpec)


def _train_function(spec, output, as_json):
    """Gradient descent on the spec's function: the path, its workbook, a summary."""
    from .function.engine import train_function

    trace = train_function(spec)
    if output:
        from .function.workbook import write_function_workbook
        write_function_workbook(trace, output)
        click.echo(_("wrote {path}").format(path=output), err=True)
    if as_json:
        click.echo(_strict_json(trace.to_json()))
        return
    point = ", ".join(f"{v} = {x:.9g}" for v, x in zip(spec.variables, trace.points[-1]))
    text = _("{name}: {steps}; f {first} → {last} at ({point})").format(
        name=spec.name or spec.path, steps=ngettext("{n} step", "{n} steps", trace.n_steps).format(n=trace.n_steps),
        first=f"{trace.values[0]:.9g}", last=f"{trace.values[-1]:.9g}", point=point)
    click.echo("\n".join(wrap(text, terminal_width())))
    _note_function_divergence(trace)


def _note_function_divergence(trace):
    if trace.diverged_at:
        click.echo(_("sheetnet: diverged at step {step}: f or the point stopped being a finite number; the run "
                     "stops at the point before it").format(step=trace.diverged_at), err=True)


def _walk_function(spec, steps, as_json):
    from .function.engine import train_function
    from .function.walkthrough import walkthrough as function_walkthrough

    trace = train_function(spec.with_train(epochs=max(steps, 1)))
    out = []
    for k in range(min(steps, trace.n_steps)):
        lines = function_walkthrough(trace, k)
        if as_json:
            out.append({"step": k + 1, "lr": float(trace.lr[k]), "lines": as_dicts(lines)})
        else:
            head = _("Step {step} (η = {lr})").format(step=k + 1, lr=f"{trace.lr[k]:g}")
            click.echo(render(lines, head) + "\n")
    if as_json:
        click.echo(json.dumps({"name": spec.name, "steps": out}))


def _summary(name: str, trace) -> list[str]:
    """What a run did, each loss saying which it is: the batch losses of the first and last step
    (each before its update), the whole training set's loss (and right answers) before and after
    training, and the gradient size per layer at the last step."""
    n, width = trace.n_steps, terminal_width()
    epochs = trace.spec.train.epochs
    steps = ngettext("{n} step", "{n} steps", n).format(n=n)
    lines = wrap(f"{name}: " + ngettext("{steps} in {n} epoch", "{steps} in {n} epochs", epochs).format(
        steps=steps, n=epochs), width)
    first, last = trace.loss[0], trace.final_loss
    text = _("batch loss (before the step's update): {first} at step 1").format(first=f"{first:.9g}")
    if n > 1:
        text += _(" → {last} at step {n}").format(last=f"{last:.9g}", n=n)
    lines += wrap(text, width, "  ", "    ")
    if trace.diverged:
        return lines
    table, data = trace.epochs, trace.spec.data
    start, end = table.iloc[0], table.iloc[-1]
    sets = [(_("training-set loss: {start} at the start → {end} after epoch {epoch}"), "", len(data.inputs))]
    if data.test_inputs is not None:
        sets.append((_("test-set loss: {start} at the start → {end} after epoch {epoch}"), "test_",
                     len(data.test_inputs)))
    for what, prefix, total in sets:
        text = what.format(start=f"{start[prefix + 'loss']:.9g}", end=f"{end[prefix + 'loss']:.9g}",
                           epoch=table.index[-1])
        if prefix + "correct" in table:
            text += _("; right {before}/{total} → {after}/{total}").format(
                before=int(start[prefix + "correct"]), after=int(end[prefix + "correct"]), total=total)
        lines += wrap(text, width, "  ", "    ")
    sizes = trace.gradient_sizes.iloc[-1]
    lines += wrap(_("mean |∂L/∂w| at the last step: ")
                  + ", ".join(_("layer {n} {size}").format(n=col.split()[-1], size=f"{v:.3g}") for col, v in sizes.items()),
                  width, "  ", "    ")
    return lines


@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("--steps", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many optimizer steps to walk through.")
@click.option("--sample", type=click.IntRange(min=1), default=1, show_default=True,
              help="Which sample of each step's batch to show (1 = the first).")
@click.option("--chain", is_flag=True,
              help="Show each δ and weight gradient as the chain rule's factors (∂E/∂out · ∂out/∂net · ∂net/∂w).")
@click.option("--notation", type=click.Choice(["mazur", "wakui", "matrix"]), default="mazur", show_default=True,
              help="Labels as Mazur (net, out, E), the Wakui book (z, a, C, layer superscripts) or code-first "
                   "posts (Z1, A1, dW1) write them.")
@click.option("--json", "as_json", is_flag=True, help="The same lines as JSON (one object).")
@_fail_cleanly
def step(spec, steps, sample, chain, notation, as_json):
    """Walk through training by hand: every equation with its numbers.

    \b
    SPEC is a TOML spec file, the name of a built-in example, or a workbook
    sheetnet wrote (the run as the workbook now describes it: its edited
    settings, data and starting weights).
    For each step: the forward pass (net and out of every unit), the loss,
    the deltas, the gradients and the updated parameters, in textbook order.
    """
    if spec.lower().endswith((".xlsx", ".xlsm")):
        from .book.reader import open_book
        fbook = _function_book(spec)
        if fbook is not None:
            return _walk_function(fbook.spec, steps, as_json)
        book = open_book(spec)
        _walk(book.spec, steps, sample, as_json, chain, notation, start=book.start if book.start.step else None)
        return
    run = _load(spec)
    if _is_function(run):
        return _walk_function(run, steps, as_json)
    _walk(run, steps, sample, as_json, chain, notation)


def _walk(run, steps, sample, as_json, chain=False, names="mazur", start=None):
    from .limits import MAX_WALK_STEPS
    if steps > MAX_WALK_STEPS:
        raise SheetnetError(_("{steps:,} steps, more than sheetnet walks through ({limit:,})").format(
            steps=steps, limit=MAX_WALK_STEPS), "--steps")
    from .engine.budget import n_steps as count_steps
    from .engine.trace import StepView
    n_steps = count_steps(run)
    if steps > n_steps:
        epochs = -(-steps * run.train.epochs // n_steps)
        run = run.with_train(epochs=epochs)
    trace = train_run(run, start=start) if start is not None else train_run(run)
    out = []
    largest = max(len(StepView(trace, k).samples) for k in range(steps))
    if sample > largest:
        raise SheetnetError(ngettext("the batches of these steps have only {n:,} sample",
                                     "the batches of these steps have only {n:,} samples", largest).format(n=largest),
                            f"--sample {sample}")
    for k in range(steps):
        view = StepView(trace, k)
        if sample > len(view.samples):  # a short last batch: say so, and go on
            _note(_("step {step} has only {n} samples; --sample {sample} is not shown for it").format(
                step=view.number, n=len(view.samples), sample=sample))
            if as_json:
                out.append(_step_json(trace, view, None, None))
            continue
        lines = walkthrough(trace, k, sample - 1, chain, names)
        if as_json:
            out.append(_step_json(trace, view, sample - 1, lines))
        else:
            head = _("Step {step} (epoch {epoch}, sample {sample} of a batch of {size}: data row {row}, η = {lr})")
            head = head.format(step=view.number, epoch=view.epoch, sample=sample, size=len(view.samples),
                               row=int(view.samples[sample - 1]) + 1, lr=f"{view.lr:g}")
            click.echo(render(lines, head, names=names) + "\n")
    if as_json:
        tr = run.train
        settings = {"lr": tr.lr, "momentum": tr.momentum, "beta1": tr.beta1, "beta2": tr.beta2, "alpha": tr.alpha,
                    "eps": tr.eps, "l1": tr.l1, "l2": tr.l2, "lr_decay": tr.lr_decay, "huber_delta": run.loss.delta}
        click.echo(_strict_json({"name": run.name, "settings": settings, "steps": out}))


def _step_json(trace, view, pos, lines):
    """One step of `step --json`: the chosen sample's lines, then every sample's, with the
    batch's inputs, targets and the parameters at the start of the step as numbers."""
    k = view.k
    return {"step": view.number, "epoch": view.epoch, "samples": view.samples.tolist(),
            "sample": None if pos is None else int(view.samples[pos]), "lr": view.lr,
            "lines": [] if lines is None else as_dicts(lines),
            "inputs": view.inputs.to_numpy().tolist(), "targets": view.targets.to_numpy().tolist(),
            "parameters": dict(zip(trace.params.labels, trace.thetas[k].tolist())),
            "every_sample": [{"sample": int(n), "lines": as_dicts(walkthrough(trace, k, i))}
                             for i, n in enumerate(view.samples)]}


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
    _walk(run, 1, 1, False, chain=True)
    after = train_run(run.with_train(epochs=2), record=False).loss[1]  # E before step 2 = after step 1
    click.echo("\n".join(wrap(_(ex.MAZUR_ERRATUM).format(after=after), terminal_width())) + "\n")
    from .sheet.workbook import check_output_path, write_workbook
    check_output_path(output)
    trace = train_run(run)
    write_workbook(trace, output, notes=ex.guide_notes(trace))
    click.echo(_("wrote {path}: open it in Excel, change eta or a weight, and watch it recompute "
                 "(LibreOffice: press Ctrl+Shift+F9 after opening, or set Tools > Options > Calc > Formula > "
                 "Recalculation on file load to Always)").format(path=output), err=True)


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
        click.echo(_("{n} formula cells, {bad} differ from LibreOffice's values").format(n=n, bad=len(bad)), err=True)
        sys.exit(1 if bad else 0)
    target = output or book
    if output:
        from .sheet.workbook import check_output_path
        check_output_path(output)
    recalc_workbook(book, target)
    click.echo(_("recalculated {book} -> {target}").format(book=book, target=os.path.abspath(target)) if output
               else _("recalculated {book}").format(book=book), err=True)


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

    fbook = _function_book(book)
    if fbook is not None:
        return _read_function(fbook, book, as_json, spec_out)
    b = _open_with_note(book)
    if spec_out:
        from .spec.toml_out import to_toml
        _write_text(spec_out, to_toml(b.spec), book)
        _wrote(spec_out)
        if not as_json:
            return
    st = stored_values(b)
    if st.trustworthy:
        out = {"losses": st.losses, "layers": st.trace.params.as_json(st.final_theta), "recomputed": False}
    else:
        first = st.missing[0] if st.missing else st.stale[0][0]
        what = (_("{n} formula cell(s) have no stored value").format(n=len(st.missing)) if st.missing else
                _("{n} stored value(s) do not follow from the workbook's inputs").format(n=len(st.stale)))
        _note(_("{book}: {what} (first: {first}); recomputed from the workbook's inputs").format(
            book=book, what=what, first=first.where()))
        out = {**st.trace.to_json(), "recomputed": True}
    if as_json:
        click.echo(_strict_json(out))
    else:
        losses = out["losses"]
        click.echo(_("{name}: {steps}, loss {first:.9g} -> {last:.9g}").format(
            name=b.spec.name or book, steps=plural(len(losses), "step"), first=losses[0], last=losses[-1])
                   + (_(" (recomputed)") if out["recomputed"] else ""))
        click.echo(parameter_tables(b.spec, out["layers"]))


def _read_function(fbook, book, as_json, spec_out):
    """read on a function workbook: the path as the workbook's inputs now give it."""
    from .function.book import audit_function
    from .function.engine import train_function
    from .function.spec import to_toml

    if spec_out:
        _write_text(spec_out, to_toml(fbook.spec), book)
        _wrote(spec_out)
        if not as_json:
            return
    findings, missing = audit_function(fbook)
    trace = train_function(fbook.spec)
    _note_function_divergence(trace)
    if findings or missing:
        what = (_("{n} cell(s) do not follow from the workbook's inputs (first: {first})").format(
            n=len(findings), first=findings[0].cell) if findings
                else _("{n} formula cell(s) have no stored value").format(n=missing))
        _note(_("{book}: {what}; the path recomputed from the workbook's inputs").format(book=book, what=what))
    out = {**trace.to_json(), "lr": fbook.spec.train.lr, "start": dict(zip(fbook.spec.variables, map(float, fbook.spec.start))),
           "recomputed": bool(findings or missing)}
    if as_json:
        click.echo(_strict_json(out))
        return
    point = ", ".join(f"{v} = {x:.9g}" for v, x in zip(fbook.spec.variables, trace.points[-1]))
    start = ", ".join(f"{v} = {x:.9g}" for v, x in zip(fbook.spec.variables, fbook.spec.start))
    click.echo(_("{name}: η {lr:g}, start ({start}); {steps}, f {first:.9g} -> {last:.9g} at ({point})").format(
        name=fbook.spec.name or book, lr=fbook.spec.train.lr, start=start, steps=plural(trace.n_steps, "step"),
        first=trace.values[0], last=trace.values[-1], point=point)
               + (_(" (recomputed)") if out["recomputed"] else ""))


def _write_text(path, text, reading=None):
    """Write a text file atomically; never over the workbook being read."""
    import os

    from .files import atomic_path

    if reading and os.path.exists(path) and os.path.samefile(path, reading):
        raise SheetnetError(_("refusing to write over the workbook being read"), path)
    if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise SheetnetError(_("the folder does not exist"), path)
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
@click.option("--teacher", is_flag=True,
              help="Exercise: show the expected value of every answer (a student's check never does).")
@_fail_cleanly
def audit(book, as_json, rtol, digits, graded, teacher):
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

    if rtol is not None and not math.isfinite(rtol):
        raise SheetnetError(_("must be a finite number, got {value}").format(value=rtol), "--rtol")
    fbook = _function_book(book)
    if fbook is not None:
        return _audit_function(fbook, book, as_json, rtol, digits, graded, teacher)
    b = _open_with_note(book)
    if b.exercise:
        _grade(b, book, as_json, rtol, digits, graded, teacher)
        return
    from .book.audit import audit_book, evaluated_note, report

    with _Progress(_("auditing"), b.layout.n_steps) as progress:
        findings, evaluated = audit_book(b, rtol=1e-9 if rtol is None else rtol, progress=progress)
    if evaluated:
        click.echo(evaluated_note(book, evaluated), err=True)
    if as_json:
        click.echo(_strict_json({"ok": not findings, "findings": [f.as_dict() for f in findings]}))
    else:
        click.echo(report(findings, book))
    sys.exit(1 if findings else 0)


def _audit_function(fbook, book, as_json, rtol, digits, graded, teacher):
    """audit on a function workbook: every Steps cell checked, or an exercise graded."""
    from .function.book import audit_function, audit_report

    if fbook.exercise:
        return _grade(fbook, book, as_json, rtol, digits, graded, teacher)
    findings, missing = audit_function(fbook, rtol=1e-9 if rtol is None else rtol)
    from .function.engine import train_function
    _note_function_divergence(train_function(fbook.spec))
    if missing:
        _note(_("{book}: {n} formula cell(s) had no stored value (saved by a program that does not calculate); "
                "sheetnet evaluated them itself").format(book=book, n=missing))
    if as_json:
        click.echo(_strict_json({"ok": not findings, "findings": [f.as_dict() for f in findings]}))
    else:
        click.echo(audit_report(findings, book))
    sys.exit(1 if findings else 0)


def _grade(b, book, as_json, rtol, digits, graded, teacher=False):
    import os

    from .book.grade import grade, mistake_counts, mistake_lines, summary, write_graded_copy
    from .sheet.workbook import check_output_path

    graded = graded or os.path.splitext(book)[0] + ".graded.xlsx"
    check_output_path(graded, reading=book)
    if _is_function(b.spec):
        from .function.book import grade_function
        answers = grade_function(b, rtol=rtol, digits=digits)
    else:
        answers = grade(b, rtol=rtol, digits=digits)
    write_graded_copy(book, graded, answers, teacher=teacher)
    ok = all(a.ok for a in answers)
    if as_json:
        click.echo(_strict_json({"ok": ok, "graded": graded, "mistakes": mistake_counts(answers),
                                 "answers": [a.as_dict(teacher) for a in answers]}))
    else:
        click.echo(f"{book}: {summary(answers)}")
        for line in mistake_lines(answers):
            click.echo(line)
        for a in answers:
            click.echo(a.line(teacher))
    _wrote(graded)
    sys.exit(0 if ok else 1)


@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("-o", "--output", metavar="EX.xlsx", required=True, help="Where to write the exercise.")
@click.option("--steps", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many steps the exercise covers (whole epochs are written).")
@click.option("--blank", default="forward,loss,backward,update", show_default=True,
              help="Which parts the student fills in: any of forward, loss, backward, update.")
@click.option("--sample", type=click.IntRange(min=1),
              help="Only this sample of each batch (from 1): its forward pass, loss, deltas and gradient.")
@click.option("--layer", type=click.IntRange(min=1),
              help="Only this layer (1 = the first after the inputs; the loss goes with the last).")
@click.option("--quantities", metavar="LIST",
              help="Only these quantities: net, out, exp, term, loss, E, delta, gs, g, gradient, m, v, s, "
                   "state, updated (e.g. delta,updated).")
@click.option("--hide-equations", is_flag=True,
              help="Show only each answer's label and name, not its equation.")
@click.option("--derive", is_flag=True,
              help="The student also writes each formula (equations hidden); a typed number is not accepted.")
@click.option("--students", metavar="ROSTER.csv",
              help="A class: one workbook per student (columns id, name) with the student's own starting "
                   "weights, written into the folder -o, with a teacher's key in its folder key/.")
@click.option("--seed", "course_seed", type=int, default=0, show_default=True,
              help="With --students: the course seed the students' numbers are drawn from.")
@click.option("--vary", metavar="LIST",
              help="With --students: what differs between students: weights (starting weights and biases; the "
                   "default), data (input values that are not 0/1), or weights,data.")
@click.option("--notation", type=click.Choice(["mazur", "wakui", "matrix"]), default="mazur", show_default=True,
              help="The workbook's labels: Mazur's net_h1, out_h1, E; Wakui's z²₁, a²₁, C; or Z1[1], A1[1], L.")
@_fail_cleanly
def exercise(spec, output, steps, blank, sample, layer, quantities, hide_equations, derive, students, course_seed,
             vary, notation):
    """Write a hand-calculation exercise: the chosen cells are left empty.

    \b
    The answer cells are empty and highlighted green, each row labelled with
    its equation. The student fills in numbers (or formulas) in Excel or
    LibreOffice and saves; `sheetnet audit EX.xlsx` then grades every answer.
    With --students ROSTER.csv -o DIR: a workbook per student, DIR/ID.xlsx, each
    with its own starting weights; `sheetnet grade DIR` writes the gradebook.
    """
    from .sheet.layout import EXERCISE_SECTIONS
    from .sheet.workbook import check_output_path, write_workbook

    parts = tuple(p.strip() for p in blank.split(",") if p.strip())
    for p in parts:
        if p not in EXERCISE_SECTIONS:
            from .errors import suggest
            raise SheetnetError(_("unknown part {part}").format(part=repr(p)) + suggest(p, EXERCISE_SECTIONS),
                                "--blank")
    if not parts:
        raise SheetnetError(_("name at least one part to leave blank"), "--blank")
    run = _load(spec)
    if _is_function(run):
        return _function_exercise(run, output, steps, hide_equations, students or vary or derive or sample or layer
                                  or quantities or blank != "forward,loss,backward,update")
    from .engine.budget import check_budget, n_steps
    per_epoch = n_steps(run, epochs=1)
    run = run.with_train(epochs=-(-steps // per_epoch))
    scope = _exercise_scope(run, sample, layer, quantities)
    scope.level = "derive" if derive else "names" if hide_equations else "equations"
    if vary is not None and not students:
        raise SheetnetError(_("needs --students: it says how the students' workbooks differ"), "--vary")
    if students:
        from .classroom import check_vary, read_roster, write_class
        vary_parts = check_vary(run, vary or "weights")
        roster = read_roster(students)

        def write(trace, path, blank_parts, sc, student):
            write_workbook(trace, path, layout="steps", blank=blank_parts, scope=sc, student=(student.id, student.name),
                           notation=notation)

        paths = write_class(run, roster, output, course_seed, parts, scope, write, vary_parts)
        click.echo(_("wrote {n} exercises into {folder} (the key in {key}); collect them there and run "
                     "`sheetnet grade {folder}`").format(n=len(paths), folder=output, key=output.rstrip("/") + "/key/"),
                   err=True)
        return
    check_output_path(output, reading=_spec_inputs(run))
    check_budget(run, workbook=True)
    trace = train_run(run)
    _note_divergence(trace)
    write_workbook(trace, output, layout="steps", blank=parts, scope=scope, notation=notation)
    click.echo(_("wrote {path}: fill in the green cells, save, then run `sheetnet audit {path}`").format(path=output), err=True)


@main.command()
@click.argument("folder", metavar="DIR")
@click.option("--rtol", type=click.FloatRange(min=0), help="Relative tolerance of an answer (default 1e-4).")
@click.option("--digits", type=click.IntRange(min=1, max=15),
              help="An answer counts when it has this many correct significant digits.")
@_fail_cleanly
def grade(folder, rtol, digits):
    """Grade a folder of filled-in exercises: DIR/gradebook.csv and .xlsx.

    \b
    One row per workbook: the student, the score (% of answers right or
    consistent with the student's earlier answers), the count of each verdict
    and of each kind of mistake, and the first wrong answer. A file that is
    not an exercise gets a row with its error and a warning on stderr.
    Each student's graded copy (every answer coloured, with its verdict and
    hint) goes to DIR/graded/ID.graded.xlsx, to hand back.
    """
    from .classroom import gradebook_rows, write_gradebook

    rows = gradebook_rows(folder, rtol=rtol, digits=digits, warn=lambda line: click.echo(line, err=True),
                          graded=True)
    csv_path, xlsx_path = write_gradebook(rows, folder)
    for r in rows:
        click.echo(f"{r['id']}: " + (_("{score:g} % ({correct} correct of {answers})").format(
            score=r["score"], correct=r["correct"], answers=r["answers"]) if not r.get("error") else r["error"]))
    click.echo(_("wrote {csv} and {xlsx}, and the graded copies in {folder}").format(
        csv=csv_path, xlsx=xlsx_path, folder=os.path.join(folder, "graded", "")), err=True)


def _function_exercise(spec, output, steps, hide_equations, network_only):
    """exercise on a function spec: the first ``steps`` steps with every derivative, state and
    update cell left for the student."""
    from .function.engine import train_function
    from .function.workbook import Exercise, write_function_workbook

    if network_only:
        raise SheetnetError(_("a function exercise takes --steps and --hide-equations only (the other options "
                              "choose parts of a network)"), spec.path)
    _check_output(output, reading=(spec.path,))
    trace = train_function(spec.with_train(epochs=steps))
    write_function_workbook(trace, output, Exercise(hide_equations=hide_equations))
    click.echo(_("wrote {path}: fill in the green cells, save, then run `sheetnet audit {path}`").format(path=output), err=True)


def _exercise_scope(run, sample, layer, quantities):
    """The exercise.Scope of the options, each checked against the run."""
    from .errors import suggest
    from .sheet.exercise import QUANTITY_NAMES, Scope

    batch = max(hi - lo for _, lo, hi in ex_batches(run))
    if sample is not None and sample > batch:
        raise SheetnetError(_("a batch has only {n} sample(s)").format(n=batch), f"--sample {sample}")
    n_layers = len(run.layers) - 1
    if layer is not None and layer > n_layers:
        raise SheetnetError(_("the network has {n} layer(s) after its inputs").format(n=n_layers), f"--layer {layer}")
    kinds = None
    if quantities is not None:
        kinds = []
        for q in (q.strip() for q in quantities.split(",")):
            if q not in QUANTITY_NAMES:
                raise SheetnetError(_("unknown quantity {name}").format(name=repr(q)) + suggest(q, QUANTITY_NAMES),
                                    "--quantities")
            kinds += QUANTITY_NAMES[q]
        if not kinds:
            raise SheetnetError(_("name at least one quantity"), "--quantities")
    return Scope(sample, layer, tuple(dict.fromkeys(kinds)) if kinds else None)


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
    from .sheet.workbook import check_output_path

    check_output_path(output, reading=book)
    fbook = _function_book(book)
    if fbook is not None:
        return _resume_function(fbook, output, epochs, as_json)
    b = open_book(book)
    start = final_state(b)
    spec = b.spec.with_train(epochs=epochs) if epochs else b.spec
    from .engine.budget import check_budget
    check_budget(spec, workbook=True, where=book)
    trace = train_run(spec, start=start)
    _note_divergence(trace)
    _write_with_progress(trace, output, layout)
    click.echo(_("wrote {path}: {steps} from step {step}, loss {first:.9g} -> {last:.9g}").format(
        path=output, steps=plural(trace.n_steps, "more step"), step=start.step, first=trace.loss[0],
        last=trace.final_loss), err=True)
    if as_json:
        click.echo(_strict_json(trace.to_json()))


def _resume_function(fbook, output, more, as_json):
    """resume on a function workbook: the path as the workbook's inputs give it, continued for
    ``more`` steps (default: as many as it has); the new workbook holds the whole path, live
    from the start point, so its first steps are the old ones."""
    from .function.engine import train_function
    from .function.workbook import write_function_workbook

    if fbook.exercise:
        raise SheetnetError(_("an exercise: grade it with `sheetnet audit`; resume continues a worked run"), fbook.path)
    before = fbook.spec.steps
    trace = train_function(fbook.spec.with_train(epochs=before + (more or before)))
    if trace.n_steps <= before:
        raise SheetnetError(_("with the workbook's inputs the run diverges at step {step}, before its {n} steps "
                              "end: nothing to continue").format(step=trace.diverged_at, n=before), fbook.name)
    write_function_workbook(trace, output)
    _note_function_divergence(trace)
    click.echo(_("wrote {path}: steps {first_step}–{last_step} after the {before} of {book}, "
                 "f {first:.9g} -> {last:.9g}").format(path=output, first_step=before + 1, last_step=trace.n_steps,
                                                      before=before, book=fbook.name, first=trace.values[before],
                                                      last=trace.values[-1]), err=True)
    if as_json:
        click.echo(_strict_json(trace.to_json()))


@main.command()
@click.argument("source", metavar="BOOK.xlsx|SPEC")
@click.argument("inputs", metavar="INPUTS.csv", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="The outputs as JSON (one object).")
@_fail_cleanly
def predict(source, inputs, as_json):
    """Run the trained network on new inputs.

    \b
    BOOK.xlsx: the network at the end of the workbook's run, as edited.
    SPEC: a spec file or built-in example, trained now.
    INPUTS.csv names the inputs as the data does (the spec's input_columns,
    or the input units' names: i1, i2, … or x1_1, … for an image); with the
    target columns too, each row says whether the network is right.
    """
    from .predict import network, predict as run_network

    spec, theta = network(source)
    p = run_network(spec, theta, inputs)
    if as_json:
        rows = [{"row": r, "outputs": dict(zip(p.output_names, map(float, y))),
                 **({"class": p.classes[i]} if p.classes else {}),
                 **({"right": bool(p.right[i])} if p.right is not None else {})}
                for i, (r, y) in enumerate(zip(p.rows, p.outputs))]
        click.echo(json.dumps({"rows": rows, **({"correct": int(p.right.sum()), "total": len(p.rows)}
                                                 if p.right is not None else {})}))
        return
    head = [_("row"), *p.output_names] + ([_("class")] if p.classes else []) + \
        ([_("right")] if p.right is not None else [])
    table = [[str(r), *(f"{v:.6g}" for v in y)] + ([p.classes[i]] if p.classes else [])
             + ([_("yes") if p.right[i] else _("no")] if p.right is not None else [])
             for i, (r, y) in enumerate(zip(p.rows, p.outputs))]
    widths = [max(display_width(row[c]) for row in [head, *table]) for c in range(len(head))]
    for row in [head, *table]:
        click.echo("  ".join(" " * (w - display_width(cell)) + cell for cell, w in zip(row, widths)))
    if p.right is not None:
        click.echo(_("right: {correct} of {total}").format(correct=int(p.right.sum()), total=len(p.rows)))


@main.command()
@click.argument("spec", metavar="SPEC")
@click.option("-o", "--output", metavar="OUT.xlsx", required=True, help="Where to write the comparison workbook.")
@click.option("--epochs", type=click.IntRange(min=1), help="Override [train].epochs for every run.")
@_fail_cleanly
def compare(spec, output, epochs):
    """Run SPEC once per setting compared, and chart the losses in one workbook.

    \b
    The runs come from the spec's [compare] table: optimizers with their
    learning rates (sgd = 4.0, adam = 0.1), or settings with lists of values
    (lr = [0.1, 1, 10]; batch_size, activation, seed, lr_decay, l1, l2,
    optimizer likewise; several lists give every combination). Without one,
    all five optimizers run at the spec's lr. Each run is live on its own
    sheets (adam Settings, adam Run, ...); the Compare sheet charts every
    run's loss. Try: sheetnet compare optimizers -o optimizers.xlsx
    """
    from .compare import runs, write_comparison

    run = _load(spec)
    if _is_function(run):
        return _compare_function(run, output, epochs)
    _check_output(output, reading=_spec_inputs(run))
    from .engine.budget import check_budget
    check_budget(run.with_train(epochs=epochs) if epochs else run, workbook=True)
    traces = write_comparison(runs(run, epochs), output)
    width = max(display_width(label) for label in traces)
    for label, trace in traces.items():
        _note_divergence(trace, f"{label}: ")
        pad = " " * (width - display_width(label))
        start, end = trace.evaluate(trace.thetas[0]), trace.evaluate(trace.final_theta)
        line = _("batch loss {first} → {last}; training-set loss {start} → {end}").format(
            first=f"{trace.loss[0]:.6g}", last=f"{trace.final_loss:.6g}", start=f"{start.loss:.6g}",
            end=f"{end.loss:.6g}")
        if end.correct is not None:
            line += _(", right {before}/{n} → {after}/{n}").format(before=start.correct, after=end.correct,
                                                                   n=end.total)
        click.echo(f"{label}{pad}  lr {trace.spec.train.lr:<7g} {line}")
    _wrote(output)


def _compare_function(spec, output, steps):
    from .function.compare import function_runs, write_function_comparison

    _check_output(output, reading=(spec.path,))
    specs = function_runs(spec.with_train(epochs=steps) if steps else spec)
    traces = write_function_comparison(specs, output)
    width = max(display_width(label) for label in traces)
    for label, trace in traces.items():
        pad = " " * (width - display_width(label))
        point = ", ".join(f"{x:.6g}" for x in trace.points[-1])
        click.echo(f"{label}{pad}  lr {trace.spec.train.lr:<7g} f {trace.values[0]:.9g} -> {trace.values[-1]:.9g} "
                   f"at ({point})" + (_("; diverged at step {step}").format(step=trace.diverged_at)
                                      if trace.diverged_at else ""))
    _wrote(output)


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
            raise SheetnetError(_("--toml needs the name of an example: sheetnet examples mazur --toml"))
        for name in ex.example_names():
            spec = ex.example(name)
            sizes = "-".join(_layer_size(layer) for layer in spec.layers)
            n = len(spec.data.inputs)
            click.echo(f"{name:<10} {sizes:<18} {plural(n, 'sample'):>12}  {ex.describe(name)}")
        for name in ex.function_example_names():
            variables = "f(" + ", ".join(ex.resolve(name).variables) + ")"
            click.echo(f"{name:<10} {variables:<18} {'':>12}  {ex.describe(name)}")
        return
    if name in ex.function_example_names():
        if not as_toml:
            click.echo(_("{name}: {description}; its spec: sheetnet examples {name} --toml").format(
                name=name, description=ex.describe(name)))
            return
        with open(os.path.join(ex.FUNCTIONS, name + ".toml"), encoding="utf-8") as fh:
            click.echo(fh.read(), nl=False)
        return
    spec = ex.example(name)  # refuses an unknown name, with a suggestion
    if not as_toml:
        click.echo(_("{name}: {description}; its spec: sheetnet examples {name} --toml").format(
            name=name, description=ex.describe(name)))
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
    """``1 step``, ``2 steps`` (``word``: step, more step or sample)."""
    forms = {"step": ngettext("{n:,} step", "{n:,} steps", n),
             "more step": ngettext("{n:,} more step", "{n:,} more steps", n),
             "sample": ngettext("{n:,} sample", "{n:,} samples", n)}
    return forms[word].format(n=n)


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
    Writes DIR/<name>.xlsx for the examples of the gallery (descent-1d,
    wakui-2-11, mazur, xor, digits01, iris, cnn123, optimizers, lr-sweep,
    batch-sizes, vanishing, rosenbrock; any other built-in example when
    named with --example)
    and pictures of each, rendered from the workbook by LibreOffice
    (headless, one start for all) and cropped by pdftoppm:
      DIR/img/<name>-step.png     the main sheet: Step 1, Run or Steps
                                  (vanishing: the Gradients sheet)
      DIR/img/<name>-history.png  the Losses sheet (a function: its landscape
                                  and charts; a comparison: its Compare sheet)
    Needs LibreOffice and poppler-utils (`apt-get install libreoffice-calc-nogui
    poppler-utils`). `sheetnet gallery workbooks/` refreshes the committed
    gallery.
    """
    import time

    from .gallery import make_gallery

    t0 = time.perf_counter()
    files = make_gallery(folder, names or None, pictures=not no_pictures,
                         progress=lambda line: click.echo(line, err=True))
    click.echo(f"{len(files)} files in {folder} ({time.perf_counter() - t0:.1f} s)", err=True)


if __name__ == "__main__":  # pragma: no cover
    main()
