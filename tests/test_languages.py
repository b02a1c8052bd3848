"""Languages: every message of the package in every catalog, catalogs compiled as written, the
language from --lang or the environment, and Chinese text that fits the terminal."""

from __future__ import annotations

import gettext
import re

import pytest
from click.testing import CliRunner

from catalogs import LOCALES, po_path, read, template
from sheetnet import i18n
from sheetnet.cli import main
from sheetnet.text import display_width

PLACEHOLDER = re.compile(r"\{[^}]*\}")


@pytest.fixture(scope="module")
def messages():
    return [m for m in template() if m.id]


@pytest.mark.parametrize("locale", LOCALES.values())
def test_every_message_has_a_translation(messages, locale):
    catalog = read(locale)
    for m in messages:
        entry = catalog.get(m.id)
        assert entry is not None and not entry.fuzzy, (locale, m.id)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        assert all(strings), (locale, m.id)
        for string in strings:  # the same placeholders, so that .format() fills them all
            assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(ids[-1])), (locale, m.id)


@pytest.mark.parametrize("locale", LOCALES.values())
def test_the_compiled_catalog_is_the_po_file(locale):
    with open(po_path(locale).with_suffix(".mo"), "rb") as fh:
        mo = gettext.GNUTranslations(fh)
    for entry in read(locale):
        if entry.id and not isinstance(entry.id, tuple):
            assert mo.gettext(entry.id) == entry.string, (locale, entry.id)


@pytest.mark.parametrize("environ, language", [
    ({}, "en"), ({"LANG": "C.UTF-8"}, "en"), ({"LANG": "zh_CN.UTF-8"}, "zh-CN"), ({"LANG": "zh_TW.UTF-8"}, "zh-TW"),
    ({"LANG": "zh_HK.UTF-8"}, "zh-TW"), ({"LANG": "zh_SG"}, "zh-CN"), ({"LC_ALL": "zh_Hant_TW"}, "zh-TW"),
    ({"LANGUAGE": "en:zh_CN", "LANG": "zh_CN.UTF-8"}, "en"), ({"LANGUAGE": "zh_CN:en"}, "zh-CN"),
    ({"LC_MESSAGES": "fr_FR.UTF-8"}, "en"),
])
def test_the_language_of_the_environment(environ, language):
    assert i18n.from_environment(environ) == language


def test_every_command_takes_lang():
    assert all("lang" in {p.name for p in command.params} for command in main.commands.values())


@pytest.mark.parametrize("lang, titles", [
    ("zh-CN", ["前向传播", "损失", "反向传播（神经单元误差 δ = ∂E/∂net）", "梯度", "参数更新"]),
    ("zh-TW", ["前向傳播", "損失", "反向傳播（神經單元誤差 δ = ∂E/∂net）", "梯度", "參數更新"]),
])
def test_demo_speaks_chinese_within_80_columns(tmp_path, lang, titles):
    result = CliRunner().invoke(main, ["demo", "--lang", lang, "-o", str(tmp_path / "m.xlsx")],
                                env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [t for t in titles if t in lines] == titles
    assert lines[0].startswith("第 1 步")
    assert "0.291027774" in result.stdout and "Mazur" in result.stdout
    assert max(display_width(line) for line in lines) <= 80
    assert not any(line.startswith(("，", "。", "；")) for line in lines)  # no line starts with closing punctuation
    assert i18n.language == "en"  # the command's language ends with the command


def test_the_environment_chooses_the_language_when_lang_is_not_given():
    result = CliRunner().invoke(main, ["train", "xor"], env={"LANGUAGE": "", "LANG": "zh_TW.UTF-8", "COLUMNS": "100"})
    assert result.exit_code == 0, result.stderr
    assert "訓練集損失" in result.stdout and "600 輪共 600 步" in result.stdout


# --------------------------------------------------------------------------- the workbook in Chinese
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def chinese_books(tmp_path_factory):
    """mazur and digits01 written in English and in simplified Chinese."""
    folder = tmp_path_factory.mktemp("zh")
    out = {}
    for name in ("mazur", "digits01"):
        for lang in ("en", "zh-CN"):
            path = str(folder / f"{name}-{lang}.xlsx")
            result = CliRunner().invoke(main, ["train", name, "-o", path, "--lang", lang])
            assert result.exit_code == 0, result.stderr
            out[name, lang] = path
    return out


def test_a_chinese_workbook_has_chinese_words_and_the_same_cells(chinese_books):
    import openpyxl

    from sheetnet.book.cells import read_cells

    for name in ("mazur", "digits01"):
        en, zh = (openpyxl.load_workbook(chinese_books[name, lang]) for lang in ("en", "zh-CN"))
        assert zh["_sheetnet"]["C2"].value == "zh-CN" and en["_sheetnet"]["C2"].value == "en"
        # every sheet a person sees is named in Chinese; the formulas refer to those names
        named = dict(zip(en.sheetnames, zh.sheetnames))
        assert named["Settings"] == "设置" and named["Data"] == "数据" and named["Step 1"] == "第1步"
        assert all(CJK.search(zh_name) for en_name, zh_name in named.items() if en_name != "_sheetnet")
        assert zh["设置"]["C4"].value and CJK.search(zh["设置"]["C4"].value)
        assert "=数据!B4" in [c.value for row in zh["第1步"].iter_rows() for c in row]
        words = [c.value for ws in zh for row in ws.iter_rows() for c in row
                 if isinstance(c.value, str) and not c.value.startswith("=")]
        assert sum(bool(CJK.search(w)) for w in words) > 20
        assert "前向传播" in [c.value for c in zh["第1步"]["A"]]
        guide = [c.value for c in zh["说明"]["A"] if c.value]
        assert sum(bool(CJK.search(line)) for line in guide) > 20
        # every number is the English workbook's, every formula the same but for the sheet names
        a, b = read_cells(chinese_books[name, "en"]), read_cells(chinese_books[name, "zh-CN"])
        for sheet in a:
            other = b[named[sheet]]
            numbers = {at: v[1] for at, v in a[sheet].items() if isinstance(v[1], (int, float))}
            assert numbers == {at: v[1] for at, v in other.items() if isinstance(v[1], (int, float))}, sheet
            assert {at for at, v in a[sheet].items() if v[0]} == {at for at, v in other.items() if v[0]}, sheet


def test_a_chinese_workbook_reads_back_audits_and_recalculates(chinese_books, tmp_path):
    from sheetnet.book.audit import audit
    from sheetnet.book.reader import open_book
    from sheetnet.book.recalc import recalc_workbook

    path = chinese_books["mazur", "zh-CN"]
    assert audit(open_book(path)) == []
    again = str(tmp_path / "recalculated.xlsx")
    recalc_workbook(path, again)  # LibreOffice recomputes every cell: the same values
    assert audit(open_book(again)) == []
    en = CliRunner().invoke(main, ["read", chinese_books["mazur", "en"], "--json"])
    zh = CliRunner().invoke(main, ["read", path, "--json"])
    assert en.exit_code == zh.exit_code == 0 and en.stdout == zh.stdout


def test_the_mazur_guide_gives_the_erratum_in_the_language(chinese_books):
    import openpyxl

    for lang, word in (("en", "Note for readers of Mazur's post"), ("zh-CN", "Mazur")):
        guide = openpyxl.load_workbook(chinese_books["mazur", lang])["Guide" if lang == "en" else "说明"]
        note = guide["A2"].value
        assert word in note and "0.291027774" in note and "0.291027924" in note
        assert (CJK.search(note) is not None) == (lang != "en")


def test_a_chinese_workbook_renders_with_a_cjk_font(chinese_books, tmp_path):
    """LibreOffice prints the Chinese headings with a font that has their glyphs (a CJK font is
    embedded in the PDF), and its text layer holds them."""
    import shutil
    import subprocess

    from sheetnet.book.recalc import pdf_files

    pdf = pdf_files([chinese_books["mazur", "zh-CN"]], str(tmp_path))[0]
    fonts = subprocess.run([shutil.which("pdffonts"), pdf], capture_output=True, text=True, timeout=60).stdout
    assert re.search(r"CJK|WenQuanYi|Droid ?Sans ?Fallback|Noto ?Sans ?SC|Source ?Han", fonts), fonts
    text = subprocess.run([shutil.which("pdftotext"), pdf, "-"], capture_output=True, text=True, timeout=60).stdout
    assert "前向传播" in text and "反向传播" in text


# --------------------------------------------------------------------------- the workbook in a textbook's notation
@pytest.mark.parametrize("notation, labels", [
    ("wakui", ["z²₁", "a²₁", "z³₁", "a³₂", "C₁", "C", "δ³₁", "δ²₃", "Backward pass: δ = ∂C/∂z"]),
    ("matrix", ["Z1[1]", "A1[1]", "Z2[2]", "L[1]", "L", "dZ2[1]", "dZ1[3]", "Backward pass: δ = ∂L/∂Z"]),
])
def test_a_workbook_in_a_textbook_notation_changes_labels_only(tmp_path, notation, labels):
    import openpyxl

    from sheetnet.book.audit import audit
    from sheetnet.book.cells import read_cells
    from sheetnet.book.reader import open_book

    paths = {}
    for name in ("mazur", notation):
        paths[name] = str(tmp_path / f"{name}.xlsx")
        result = CliRunner().invoke(main, ["train", "digits01", "-o", paths[name], "--notation", name])
        assert result.exit_code == 0, result.stderr
    step = openpyxl.load_workbook(paths[notation])["Step 1"]
    heads = [c.value for c in step["A"] if c.value]
    assert [label for label in labels if label in heads] == labels
    a, b = read_cells(paths["mazur"]), read_cells(paths[notation])
    for sheet in a:  # the same formulas and numbers; only text differs
        same = {at: v for at, v in a[sheet].items() if v[0] or isinstance(v[1], (int, float))}
        assert same == {at: v for at, v in b[sheet].items() if v[0] or isinstance(v[1], (int, float))}, sheet
    book = open_book(paths[notation])
    assert book.notation == notation and audit(book) == []


def test_an_exercise_in_wakuis_notation_grades_with_its_names(tmp_path):
    path = str(tmp_path / "ex.xlsx")
    result = CliRunner().invoke(main, ["exercise", "mazur", "-o", path, "--notation", "wakui", "--blank", "forward"])
    assert result.exit_code == 0, result.stderr
    graded = CliRunner().invoke(main, ["audit", path])
    assert "z²₁" in graded.stdout and "net_h1" not in graded.stdout
    chinese = CliRunner().invoke(main, ["audit", path, "--lang", "zh-CN"])
    assert "未作答" in chinese.stdout


def test_the_demo_workbook_in_chinese_has_no_english_label_left(tmp_path):
    """Every string a person reads in `demo --lang zh-CN`'s workbook is Chinese, apart from names:
    units, parameters and notation (net_h1, w5, b[o1]), the settings' defined names, the spec's
    own words (its name, layer, loss and optimizer kinds), and the names of programs and commands."""
    import openpyxl

    import sheetnet

    path = str(tmp_path / "demo.xlsx")
    result = CliRunner().invoke(main, ["demo", "--lang", "zh-CN", "-o", path])
    assert result.exit_code == 0, result.stderr
    spec = sheetnet.example("mazur")
    allowed = set(re.findall(r"[A-Za-z_]+", spec.name)) | {
        "net", "out", "batch", "SUM", "dense", "sigmoid", "sgd", "half_sse", "eta", "momentum", "beta_1",
        "beta_2", "alpha", "eps", "lambda_l1", "lambda_l2", "lr_decay", "huber_delta", "Huber", "sheetnet",
        "Mazur", "Excel", "LibreOffice", "Calc", "Ctrl", "Shift", "xlsx", "BOOK", "NEXT", "RUN", "json", "spec",
        "toml", "read", "resume", "audit", "recalc", "o", "E_batch", "Adam", "adam", "RMSprop", "rmsprop",
        "adagrad", "lr_decay·"}  # optimizers are proper names
    english = set()
    for ws in openpyxl.load_workbook(path):
        if ws.title == "_sheetnet":
            continue
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and not c.value.startswith("="):
                    # a token with _ or a digit is a name (net_h1, beta_1, w5); a word is letters only
                    english |= {w for w in re.findall(r"[A-Za-z][A-Za-z_0-9]*", c.value)
                                if w.isalpha() and len(w) >= 3 and w not in allowed}
    assert not english, " ".join(sorted(english))


# --------------------------------------------------------------------------- help and errors
@pytest.mark.parametrize("lang, words", [("zh-CN", ["用法：", "选项：", "命令：", "训练 SPEC 所描述的网络。"]),
                                         ("zh-TW", ["用法：", "選項：", "命令：", "訓練 SPEC 所描述的網路。"]),
                                         ("en", ["Usage:", "Options:", "Commands:", "Train the network described"])])
def test_help_in_the_learners_language_within_80_columns(lang, words):
    runner = CliRunner()
    top = runner.invoke(main, ["--lang", lang, "--help"], env={"COLUMNS": "80"})
    assert top.exit_code == 0 and all(w in top.output for w in words), top.output
    for name in main.commands:
        result = runner.invoke(main, [name, "--lang", lang, "--help"], env={"COLUMNS": "80"})
        assert result.exit_code == 0, (name, result.output)
        widths = [display_width(line) for line in result.output.splitlines()]
        assert max(widths) <= 80, (name, lang, result.output)
        if lang != "en":  # the command's own words are translated: no English sentence left in it
            text = result.output.split("\n", 2)[2]  # after the usage line
            english = re.findall(r"\b(?:the|and|of|with|a|an|to|is)\s+[a-z]+", text)
            assert not english, (name, lang, english)


def test_the_environment_chooses_the_language_of_help_and_errors():
    runner = CliRunner()
    result = runner.invoke(main, ["train", "--help"], env={"LANG": "zh_TW.UTF-8", "LANGUAGE": "", "LC_ALL": ""})
    assert "訓練 SPEC 所描述的網路。" in result.output
    result = runner.invoke(main, ["step", "mazur", "--steps", "100000"], env={"LANG": "zh_CN.UTF-8", "LANGUAGE": ""})
    assert result.exit_code == 2
    assert result.output.strip() == "sheetnet：错误：--steps：100,000 步，超过了 sheetnet 逐步演算的上限（10,000）"


@pytest.mark.parametrize("lang, line", [
    ("zh-CN", "sheetnet：错误：bad.toml，第 2 层（dense），键 'activation'：未知的 activation 'sigmod'；你是不是想写 'sigmoid'？"),
    ("zh-TW", "sheetnet：錯誤：bad.toml，第 2 層（dense），鍵 'activation'：未知的 activation 'sigmod'；你是不是想寫 'sigmoid'？"),
    ("en", "sheetnet: error: bad.toml, layer 2 (dense), key 'activation': unknown activation 'sigmod'; did you mean "
           "'sigmoid'?"),
])
def test_a_spec_error_is_one_line_in_the_learners_language(tmp_path, lang, line):
    spec = tmp_path / "bad.toml"
    spec.write_text('[[layers]]\nkind = "input"\nsize = 2\n[[layers]]\nkind = "dense"\nsize = 2\n'
                    'activation = "sigmod"\n[loss]\nkind = "half_sse"\n[data]\ninputs = [[0, 1]]\ntargets = [[1, 0]]\n',
                    encoding="utf-8")
    result = CliRunner().invoke(main, ["train", str(spec), "--lang", lang])
    assert result.exit_code == 2 and result.output == line + "\n"


def test_a_workbook_error_names_sheet_and_cell_in_chinese(tmp_path):
    book = tmp_path / "m.xlsx"
    assert CliRunner().invoke(main, ["train", "mazur", "-o", str(book)]).exit_code == 0
    import openpyxl
    wb = openpyxl.load_workbook(book)
    wb["Settings"]["B4"] = "abc"  # eta, as text
    wb.save(book)
    result = CliRunner().invoke(main, ["read", str(book), "--lang", "zh-CN"])
    assert result.exit_code == 2
    assert result.output.startswith("sheetnet：错误：m.xlsx，工作表 'Settings'，单元格 B4：")
    assert "应为数，实际是 'abc'" in result.output and result.output.count("\n") == 1
