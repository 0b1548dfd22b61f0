"""The auto-reply rule editor: the stored rules, a form to add or change one, and a "try a message"
box that shows which rule fires and exactly what would be sent. A thin shell over ``wamkt_nb.autoreply``."""

from __future__ import annotations

import html

import ipywidgets as W

from ..autoreply import (
    ACTIONS,
    MATCH_TYPES,
    AutoReplyRuleError,
    Rule,
    delete_rule,
    load_rules,
    save_rule,
    try_message,
)
from ..store import Store
from .feedback import StatusLine, guarded
from .theme import themed

NEW = "__new__"


def rules_table_html(rules: list[Rule]) -> str:
    """The rules as an HTML table, in the order they are tried."""
    if not rules:
        return "<p>No rules yet: add one below.</p>"
    head = "".join(
        f"<th>{h}</th>"
        for h in ("priority", "rule", "match", "keywords", "languages", "action", "reply / template / tag", "on")
    )
    rows = []
    for r in rules:
        what = r.reply_text or (f"template {r.template_name} ({r.template_language})" if r.template_name else "")
        if r.tag:
            what += f" [tag {r.tag}]"
        cells = (
            r.priority,
            r.rule_id,
            r.match_type,
            r.pattern,
            ", ".join(r.languages) or "any",
            r.action,
            what[:90],
            "yes" if r.enabled else "no",
        )
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table class='wamkt-table'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


class AutoReplyEditor(W.VBox):
    """Rules on top, the edit form in the middle, "try a message" below; every change is saved to the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        style = {"description_width": "120px"}
        self.table = W.HTML().add_class("wamkt-autoreply-rules")
        self.pick = W.Dropdown(description="Edit rule", style=style).add_class("wamkt-autoreply-pick")
        self.rule_id = W.Text(description="Rule id", style=style)
        self.name = W.Text(description="Name", style=style)
        self.match_type = W.Dropdown(options=MATCH_TYPES, value="contains", description="Match", style=style)
        self.pattern = W.Text(
            description="Keywords", placeholder="rabatt, discount (or a regex)", style=style
        ).add_class("wamkt-autoreply-pattern")
        self.languages = W.Text(description="Languages", placeholder="de, en (empty: any)", style=style)
        self.priority = W.IntText(value=100, description="Priority", style=style)
        self.action = W.Dropdown(options=ACTIONS, value="text", description="Action", style=style)
        self.reply_text = W.Textarea(
            description="Reply text", style=style, layout=W.Layout(width="520px", height="70px")
        ).add_class("wamkt-autoreply-reply")
        self.template_name = W.Text(description="Template", style=style)
        self.template_language = W.Text(description="Template lang.", style=style)
        self.template_params = W.Text(description="Parameters", placeholder="comma separated", style=style)
        self.tag = W.Text(description="Tag", style=style)
        self.enabled = W.Checkbox(value=True, description="enabled", indent=False)
        self.save = W.Button(description="Save rule", button_style="primary", icon="save").add_class(
            "wamkt-autoreply-save"
        )
        self.delete = W.Button(description="Delete", icon="trash").add_class("wamkt-autoreply-delete")
        self.status = StatusLine().add_class("wamkt-autoreply-status")
        self.try_text = W.Text(
            description="Try a message",
            placeholder="e.g. RABATT!",
            style=style,
            continuous_update=True,
            layout=W.Layout(width="520px"),
        ).add_class("wamkt-autoreply-try-text")
        self.try_language = W.Text(description="Customer lang.", placeholder="optional", style=style)
        self.try_result = W.HTML().add_class("wamkt-autoreply-try-result")
        self.pick.observe(self._load_form, "value")
        self.save.on_click(lambda _: self.save_form())
        self.delete.on_click(lambda _: self.delete_selected())
        self.try_text.observe(lambda _: self.try_now(), "value")
        self.try_language.observe(lambda _: self.try_now(), "value")
        form = W.VBox(
            [
                self.pick,
                W.HBox(
                    [
                        W.VBox(
                            [
                                self.rule_id,
                                self.name,
                                self.match_type,
                                self.pattern,
                                self.languages,
                                self.priority,
                                self.action,
                            ]
                        ),
                        W.VBox(
                            [
                                self.reply_text,
                                self.template_name,
                                self.template_language,
                                self.template_params,
                                self.tag,
                                self.enabled,
                            ]
                        ),
                    ]
                ),
                W.HBox([self.save, self.delete]),
                self.status,
            ]
        )
        super().__init__(
            [
                W.HTML("<h3>Auto-reply rules</h3>"),
                self.table,
                form,
                W.HTML("<h4>Try a message</h4>"),
                W.HBox([self.try_text, self.try_language]),
                self.try_result,
            ]
        )
        self.add_class("wamkt-autoreply")
        themed(self)
        self.refresh()

    @guarded(lambda self: self.status, "Refresh")
    def refresh(self, select: str | None = None) -> None:
        rules = load_rules(self.store)
        self._rules = {r.rule_id: r for r in rules}
        self.table.value = rules_table_html(rules)
        self.pick.options = [("— new rule —", NEW)] + [(f"{r.rule_id} ({r.action})", r.rule_id) for r in rules]
        self.pick.value = select if select in self._rules else NEW
        self._load_form()
        self.try_now()

    @guarded(lambda self: self.status, "Loading the rule")
    def _load_form(self, _: object = None) -> None:
        rule = self._rules.get(self.pick.value)
        if rule is None:
            rule = Rule("new_rule", "keyword", reply_text="…")
            self.rule_id.value, self.pattern.value, self.reply_text.value = "", "", ""
        else:
            self.rule_id.value, self.pattern.value, self.reply_text.value = rule.rule_id, rule.pattern, rule.reply_text
        self.name.value, self.match_type.value = rule.name, rule.match_type
        self.languages.value, self.priority.value, self.action.value = (
            ", ".join(rule.languages),
            rule.priority,
            rule.action,
        )
        self.template_name.value, self.template_language.value = rule.template_name, rule.template_language
        self.template_params.value, self.tag.value = ", ".join(rule.template_params), rule.tag
        self.enabled.value = rule.enabled

    def form_rule(self) -> Rule:
        """The rule the form describes; :class:`AutoReplyRuleError` names the field that is wrong."""
        return Rule(
            rule_id=self.rule_id.value.strip(),
            name=self.name.value.strip(),
            match_type=self.match_type.value,
            pattern=self.pattern.value,
            languages=tuple(x.strip() for x in self.languages.value.split(",") if x.strip()),
            priority=int(self.priority.value),
            action=self.action.value,
            reply_text=self.reply_text.value.strip(),
            template_name=self.template_name.value.strip(),
            template_language=self.template_language.value.strip(),
            template_params=tuple(x.strip() for x in self.template_params.value.split(",") if x.strip()),
            tag=self.tag.value.strip(),
            enabled=self.enabled.value,
        )

    @guarded(lambda self: self.status, "Save rule")
    def save_form(self) -> Rule | None:
        try:
            rule = save_rule(self.store, self.form_rule())
        except AutoReplyRuleError as exc:
            self.status.value = f"<span class='wamkt-error wamkt-bad'>{html.escape(str(exc))}</span>"
            return None
        self.refresh(select=rule.rule_id)
        self.status.value = f"Saved rule <b>{html.escape(rule.rule_id)}</b>."
        return rule

    @guarded(lambda self: self.status, "Delete rule")
    def delete_selected(self) -> None:
        if self.pick.value == NEW:
            self.status.value = "Pick a rule to delete."
            return
        rule_id = self.pick.value
        delete_rule(self.store, rule_id)
        self.refresh()
        self.status.value = f"Deleted rule <b>{html.escape(rule_id)}</b>."

    @guarded(lambda self: self.status, "Trying the rules")
    def try_now(self) -> None:
        """Show which rule fires for the text in the box and what would be sent."""
        text = self.try_text.value
        if not text.strip():
            self.try_result.value = "<i>Type a customer message to see which rule answers.</i>"
            return
        decision = try_message(self.store, text, language=self.try_language.value.strip() or None)
        effects = decision.effects()
        if not effects:
            self.try_result.value = "<b>No rule fires.</b> The message waits in the inbox for a person."
            return
        lines = [html.escape(e) for e in effects]
        lines[0] = f"<b class='wamkt-autoreply-fired'>{lines[0]}</b>"
        self.try_result.value = "<br>".join(lines)
