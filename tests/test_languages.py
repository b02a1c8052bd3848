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
