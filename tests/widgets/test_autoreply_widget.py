"""The rule editor widget, driven like a person would: pick, edit, save, try a message."""

from __future__ import annotations

import pytest

from wamkt_nb.autoreply import load_rules
from wamkt_nb.store import open_store
from wamkt_nb.widgets.autoreply import AutoReplyEditor


@pytest.fixture
def editor(tmp_path):
    store = open_store(tmp_path / "w.db")
    yield AutoReplyEditor(store)
    store.close()


def test_try_a_message_shows_rule_and_reply(editor):
    editor.try_text.value = "Rabatt?"
    assert "rabatt" in editor.try_result.value and "WILLKOMMEN10" in editor.try_result.value
    editor.try_text.value = "STOP"
    assert "opt-out" in editor.try_result.value
    editor.try_text.value = "Guten Morgen"
    assert "No rule fires" in editor.try_result.value


def test_add_rule_then_it_fires(editor):
    editor.pick.value = "__new__"
    editor.rule_id.value = "gutschein"
    editor.pattern.value = "gutschein, voucher"
    editor.match_type.value = "contains"
    editor.priority.value = 5
    editor.reply_text.value = "Ihr Gutschein: GUT5"
    editor.tag.value = "voucher_asked"
    editor.save.click()
    assert "Saved rule" in editor.status.value and "gutschein" in editor.table.value
    assert {r.rule_id: r for r in load_rules(editor.store)}["gutschein"].tag == "voucher_asked"
    editor.try_text.value = "Habt ihr einen GUTSCHEIN??"
    assert "GUT5" in editor.try_result.value and "voucher_asked" in editor.try_result.value


def test_invalid_rule_shows_message_not_traceback(editor):
    editor.pick.value = "__new__"
    editor.rule_id.value = "bad"
    editor.pattern.value = "(unclosed"
    editor.match_type.value = "regex"
    editor.reply_text.value = "x"
    editor.save.click()
    assert "regular expression" in editor.status.value and "Traceback" not in editor.status.value
    assert "bad" not in [r.rule_id for r in load_rules(editor.store)]


def test_edit_and_delete(editor):
    editor.pick.value = "rabatt"
    assert editor.pattern.value.startswith("rabatt")
    editor.reply_text.value = "Neuer Code: NEU20"
    editor.save.click()
    editor.try_text.value = "rabatt"
    assert "NEU20" in editor.try_result.value
    editor.pick.value = "rabatt"
    editor.delete.click()
    assert "rabatt" not in [r.rule_id for r in load_rules(editor.store)]
    assert "No rule fires" in editor.try_result.value


def test_a_closed_database_shows_in_the_widget_not_only_in_the_log(editor):
    editor.store.close()  # a notebook cell closed the workspace under the widget
    editor.pick.value = "__new__"
    editor.rule_id.value = "late"
    editor.pattern.value = "late"
    editor.reply_text.value = "ok"
    editor.save.click()
    assert editor.status.level == "error"
    assert "Save rule failed: Cannot operate on a closed database" in editor.status.text
