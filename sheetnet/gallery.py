"""The example gallery: the workbook of every built-in example, and pictures of each.

``sheetnet gallery DIR`` writes ``DIR/<name>.xlsx`` for every example of the gallery, prints
them all to PDF with LibreOffice (one start for all, every sheet on one page of its own size,
see ``recalc.pdf_files``), finds the main sheet (``Step 1``, or ``Run`` in a compact workbook)
and the Losses sheet by their titles in the PDF's text (``pdftotext -bbox``), and renders a
crop of each with ``pdftoppm``: ``DIR/img/<name>-step.png`` and ``DIR/img/<name>-history.png``.
The PDF is vector, so a crop of a sheet that LibreOffice had to shrink onto its page is
rendered at a higher resolution instead: every picture shows the sheet at the same zoom.
No image library is needed.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from . import examples as ex
from .errors import SheetnetError

# in the order a course meets them: gradient descent on a function first, then networks
GALLERY = ("descent-1d", "wakui-2-11", "mazur", "xor", "digits01", "iris", "cnn123", "optimizers", "lr-sweep",
           "batch-sizes", "vanishing", "rosenbrock")
GRADIENT_PICTURES = ("vanishing",)  # their first picture: the first run's Gradients sheet, not its steps
LEFT_OUT = {  # every other built-in example, and why (tests/test_gallery.py checks the two cover them all)
    "mazur-10k": "its Run sheet has 10,000 rows (a 9 MB workbook); `sheetnet train mazur-10k -o …` writes it",
    "wakui-cnn": "30 step sheets of 96 images each (a 20 MB workbook); `sheetnet train wakui-cnn -o …` writes it",
}
ZOOM = 1.4  # pixels of a picture per point of the sheet at 100 % (about a 100 % zoom on screen)
MAIN_SIZE = (900.0, 690.0)  # points of the sheet at 100 %: the main sheet's top-left corner (≈ 45 rows)
HISTORY_BOTTOM = 300.0  # points: below the chart (rows 3… hold it), if its axis title is not found
ROW_GAP = 0.25  # points: less than the gap between the words of two rows (a 15-pt row, 14.3-pt text)
TITLE_HEIGHT = 18.2  # the height pdftotext gives the words of a sheet title (14-pt bold) at 100 %
MAIN_TITLES = ("Step 1 of", "Run:", "Steps:")
LANDSCAPE_WORD = "landscape:"  # the top-left word of a function workbook's landscape and its charts
LANDSCAPE_SIZE = (1140.0, 840.0)  # points: the landscape grid and the two charts below it
HISTORY_TITLE = "Losses:"
COMPARE_TITLE = "The same problem, one run per setting"  # the Compare sheet of `sheetnet compare`
FUNCTION_COMPARE_TITLE = "Compare:"  # … of `sheetnet compare` on a function spec
TIMEOUT = 120  # seconds, for one pdftotext or pdftoppm run


class GalleryError(SheetnetError):
    pass


@dataclass
class Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass
class Page:
    number: int  # from 1, as pdftoppm counts
    width: float
    height: float
    words: list[Word]

    def title(self) -> str:
        """The words of the page's first line (a sheet's title sits in its top-left cell)."""
        if not self.words:
            return ""
        top = min(w.y0 for w in self.words)
        first = [w for w in self.words if w.y0 <= top + 0.5]
        return " ".join(w.text for w in sorted(first, key=lambda w: w.x0))

    def scale(self) -> float:
        """Points of the page per point of the sheet: 1 unless LibreOffice shrank a huge sheet."""
        top = min(w.y0 for w in self.words)
        first = [w for w in self.words if w.y0 <= top + 0.5]
        return max(w.y1 - w.y0 for w in first) / TITLE_HEIGHT


def gallery_names() -> list[str]:
    """The examples of the gallery, in GALLERY's order."""
    return list(GALLERY)


def write_books(names: list[str], folder: str, progress=None) -> dict[str, str]:
    """Train every example in ``names`` and write ``folder/<name>.xlsx`` (layout auto);
    return {name: path}."""
    from .engine.training import train
    from .sheet.workbook import write_workbook

    os.makedirs(folder, exist_ok=True)
    paths = {}
    from .compare import runs, write_comparison

    for name in names:
        path = os.path.join(folder, name + ".xlsx")
        spec = ex.resolve(name)
        if not hasattr(spec, "layers"):  # gradient descent on a function
            layout = _write_function_book(spec, path)
        elif spec.compare:  # one run per optimizer or setting compared, in one workbook
            write_comparison(runs(spec), path)
            layout = "comparison"
        else:
            trace = train(spec)
            layout = write_workbook(trace, path, notes=ex.guide_notes(trace))
        if progress:
            progress(f"wrote {path} ({layout} layout, {os.path.getsize(path) / 1e6:.2f} MB)")
        paths[name] = path
    return paths


def _write_function_book(spec, path: str) -> str:
    from .function.compare import function_runs, write_function_comparison
    from .function.engine import train_function
    from .function.workbook import write_function_workbook

    if spec.compare:
        write_function_comparison(function_runs(spec), path)
        return "comparison"
    write_function_workbook(train_function(spec), path)
    return "function"


def find_tool(name: str) -> str:
    """The path of a poppler-utils program, or a one-line error."""
    path = shutil.which(name)
    if not path:
        raise GalleryError(f"{name} not found: install poppler-utils (e.g. `apt-get install poppler-utils`)")
    return path


def _run(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise GalleryError(f"{os.path.basename(cmd[0])} did not finish within {TIMEOUT} s") from None
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise GalleryError(f"{os.path.basename(cmd[0])} failed (exit {proc.returncode}): {' '.join(tail)}")
    return proc.stdout.decode("utf-8", "replace")


_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)
_WORD = re.compile(r'<word xMin="(-?[\d.]+)" yMin="(-?[\d.]+)" xMax="(-?[\d.]+)" yMax="(-?[\d.]+)">(.*?)</word>')


def parse_bbox(text: str) -> list[Page]:
    """The pages of ``pdftotext -bbox`` output, with every word and its box (points, y down)."""
    pages = []
    for number, m in enumerate(_PAGE.finditer(text), start=1):
        words = [Word(float(a), float(b), float(c), float(d), html.unescape(t))
                 for a, b, c, d, t in _WORD.findall(m.group(3))]
        pages.append(Page(number, float(m.group(1)), float(m.group(2)), words))
    return pages


def pdf_pages(pdf: str) -> list[Page]:
    """Every page of ``pdf`` with its words (``pdftotext -raw -bbox``: in the order they are
    drawn, which skips the layout analysis that takes a minute on a Run sheet of 600 rows)."""
    return parse_bbox(_run([find_tool("pdftotext"), "-raw", "-bbox", pdf, "-"]))


def find_page(pages: list[Page], prefixes: tuple[str, ...], pdf: str) -> Page:
    """The first page whose title starts with one of ``prefixes``."""
    for page in pages:
        if page.words and page.title().startswith(prefixes):
            return page
    raise GalleryError(f"no page titled {' or '.join(repr(p) for p in prefixes)}", pdf)


def clear_cut(spans: list[tuple[float, float]], edge: float, pad: float) -> float:
    """``edge`` moved back until it cuts through none of ``spans`` (the words' extents along
    the cut's axis), so a picture never ends in half a number."""
    while True:
        cut = [lo for lo, hi in spans if lo < edge < hi]
        if not cut:
            return edge
        edge = min(cut) - pad


def _below_title(page: Page) -> list[Word]:
    top = min(w.y0 for w in page.words)
    title_bottom = max(w.y1 for w in page.words if w.y0 <= top + 0.5)
    return [w for w in page.words if w.y0 >= title_bottom - 0.5]


def main_box(page: Page) -> tuple[float, float, float, float]:
    """The top-left corner of the main sheet (x0, y0, x1, y1 in points of the page), ending
    between columns and between rows; on a Step sheet with grids (a CNN), the first sample's
    band of grids instead: its image, the filters, every feature map, pooled map and delta."""
    s = page.scale()
    band = sorted((w for w in page.words if w.text == "sample" and w.y0 > 40 * s
                   and any(v.text == "filter" and abs(v.y0 - w.y0) < 1 for v in page.words)), key=lambda w: w.y0)
    if band:
        first = band[0]
        below = [w.y0 for w in page.words if w.text == "sample" and abs(w.x0 - first.x0) < 1 and w.y0 > first.y1]
        x0, y0 = first.x0 - 4 * s, first.y0 - 4 * s
        y1 = (min(below) - 4 * s) if below else min(y0 + MAIN_SIZE[1] * s, page.height)
        return x0, y0, min(x0 + GRID_BAND_WIDTH * s, page.width), y1
    words = _below_title(page)
    right = clear_cut([(w.x0, w.x1) for w in words], min(MAIN_SIZE[0] * s, page.width), 1 * s)
    bottom = clear_cut([(w.y0, w.y1) for w in words], min(MAIN_SIZE[1] * s, page.height), ROW_GAP * s)
    return 0.0, 0.0, right, bottom


GRID_BAND_WIDTH = 1140.0  # points: a CNN sample's band of grids
COMPARE_SIZE = (1000.0, 790.0)  # points: the table of runs and the two charts below it
FUNCTION_COMPARE_SIZE = (1000.0, 470.0)  # points: the table, the chart of f and the chart of the paths


def compare_box(page: Page) -> tuple[float, float, float, float]:
    """The Compare sheet: its table of runs and the chart of every run's loss (and, for runs on
    a function, the chart of their paths beside it)."""
    s = page.scale()
    w, h = FUNCTION_COMPARE_SIZE if page.title().startswith(FUNCTION_COMPARE_TITLE) else COMPARE_SIZE
    return 0.0, 0.0, min(w * s, page.width), min(h * s, page.height)


def history_box(page: Page) -> tuple[float, float, float, float]:
    """The loss table and the chart of the Losses sheet, left of its table of parameters."""
    s = page.scale()
    title_bottom = min(w.y1 for w in page.words if w.text == HISTORY_TITLE)
    heads = [w for w in page.words if w.y0 > title_bottom]
    # the parameter table starts at the "after epoch" header; the chart ends just left of it
    after = [w.x0 for w in heads if w.text == "after"]
    right = (min(after) - 4 * s) if after else min(MAIN_SIZE[0] * s, page.width)
    # the chart's lowest text is its axis title "step" (the loss table's header is left of it)
    loss_head = [w for w in heads if w.text == "loss"]
    left_of_chart = min(w.x1 for w in loss_head) if loss_head else 0.0
    axis = [w for w in heads if w.text == "step" and left_of_chart < w.x0 < right]
    bottom = (max(w.y1 for w in axis) + 30 * s) if axis else HISTORY_BOTTOM * s
    # a short run's whole table of losses, when it ends above the picture's bottom edge
    step_head = [w for w in heads if w.text == "step" and w.x1 <= left_of_chart]
    if step_head:
        column = [w for w in heads if w.y0 > step_head[0].y1 and w.x0 < left_of_chart]
        table_bottom = max((w.y1 for w in column), default=0.0) + 3 * s
        if table_bottom <= MAIN_SIZE[1] * s:
            bottom = max(bottom, table_bottom)
    bottom = clear_cut([(w.y0, w.y1) for w in heads], min(bottom, page.height), ROW_GAP * s)
    return 0.0, 0.0, right, bottom


def landscape_box(page: Page) -> tuple[float, float, float, float]:
    """A function workbook's landscape (f on a grid around the path) and the two charts below it."""
    s = page.scale()
    word = min((w for w in page.words if w.text == LANDSCAPE_WORD), key=lambda w: w.y0)
    x0, y0 = max(word.x0 - 6 * s, 0.0), max(word.y0 - 6 * s, 0.0)
    return x0, y0, min(x0 + LANDSCAPE_SIZE[0] * s, page.width), min(y0 + LANDSCAPE_SIZE[1] * s, page.height)


def render(pdf: str, page: Page, box: tuple[float, float, float, float], png: str):
    """Render ``box`` of ``page`` to ``png`` at ZOOM pixels per point of the sheet (pdftoppm)."""
    dpi = 72.0 * ZOOM / page.scale()
    px = dpi / 72.0
    x0, y0, x1, y1 = box
    stem = png[:-4] if png.endswith(".png") else png
    _run([find_tool("pdftoppm"), "-png", "-singlefile", "-f", str(page.number), "-l", str(page.number),
          "-r", f"{dpi:.3f}", "-x", str(round(x0 * px)), "-y", str(round(y0 * px)),
          "-W", str(round((x1 - x0) * px)), "-H", str(round((y1 - y0) * px)), pdf, stem])
    if not os.path.isfile(stem + ".png"):
        raise GalleryError("pdftoppm wrote no picture", png)


def picture_paths(name: str, img_dir: str) -> tuple[str, str]:
    """Where the pictures of example ``name`` go: (main sheet, Losses)."""
    return os.path.join(img_dir, f"{name}-step.png"), os.path.join(img_dir, f"{name}-history.png")


def draw_pictures(books: dict[str, str], img_dir: str, progress=None) -> list[str]:
    """Print every workbook to PDF (one LibreOffice start) and render the pictures of each."""
    from .book.recalc import pdf_files

    find_tool("pdftotext")
    find_tool("pdftoppm")
    os.makedirs(img_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="sheetnet-gallery-")
    try:
        pdfs = pdf_files(list(books.values()), tmp)
        out = []
        for (name, book), pdf in zip(books.items(), pdfs):
            pages = pdf_pages(pdf)
            main_png, history_png = picture_paths(name, img_dir)
            main = find_page(pages, ("Gradients:",) if name in GRADIENT_PICTURES else MAIN_TITLES, book)
            render(pdf, main, main_box(main), main_png)
            if main.title().startswith("Steps:") and not any(p.title().startswith(FUNCTION_COMPARE_TITLE) for p in pages):
                history, box = main, landscape_box(main)  # one function run: its landscape and charts
            else:
                history = find_page(pages, (COMPARE_TITLE, FUNCTION_COMPARE_TITLE, HISTORY_TITLE), book)
                box = history_box(history) if history.title().startswith(HISTORY_TITLE) else compare_box(history)
            render(pdf, history, box, history_png)
            out += [main_png, history_png]
            if progress:
                progress(f"drew {main_png} ({main.title().split(':')[0]}) and {history_png}")
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def make_gallery(folder: str, names: list[str] | None = None, pictures: bool = True, progress=None):
    """Write the workbooks of ``names`` (default: ``gallery_names()``) into ``folder`` and,
    with ``pictures``, their pictures into ``folder/img``; return the files written."""
    names = list(names) if names else gallery_names()
    for name in names:
        if ex.example_path(name) is None and name not in ex.function_example_names():
            from .errors import suggest
            raise GalleryError(f"no built-in example {name!r}"
                               + suggest(name, ex.example_names() + ex.function_example_names()))
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise GalleryError("not a folder", folder)
    if pictures:  # fail before any work when a tool is missing
        from .book.recalc import find_soffice
        find_soffice()
        find_tool("pdftotext")
        find_tool("pdftoppm")
    from . import i18n

    spoken = i18n.language
    i18n.set_language("en")  # the committed gallery is English; its pictures are found by English titles
    try:
        books = write_books(names, folder, progress)
        files = list(books.values())
        if pictures:
            files += draw_pictures(books, os.path.join(folder, "img"), progress)
    finally:
        i18n.set_language(spoken)
    return files
