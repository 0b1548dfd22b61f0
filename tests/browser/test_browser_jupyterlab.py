"""The notebooks in JupyterLab itself (not only Voila), in headless Chromium, in light and dark theme.

Each notebook runs top to bottom (Run → Run All Cells) with no traceback, a picture of each of its
widgets lands in ``test-artifacts/jupyterlab/<notebook>-<widget>-<theme>.png``, then on the same page
the key interactions a person does after Run All (02, 03, 06; one Run All serves both), and nothing
lands in the log console (where exceptions of widget callbacks go, and where they stay). The send
panel's controls (04) act while the send runs, so they have a Run All of their own; and the journey
01 → 06 in one workspace at a daytime and a nighttime clock. One JupyterLab server per theme (module
scope); each test opens its notebook alone, in a folder of its own (so its own empty
``./wamkt-workspace``) and shuts its kernel down afterwards.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from helpers import ROOT
from helpers.jupyterlab import (
    NOTEBOOK,
    diagnosed,
    log_console_errors,
    menu,
    open_notebook,
    run_all,
    screenshot_widget,
    start_jupyterlab,
    theme_of,
    tracebacks,
)
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WIDGETS = {
    "01_load_customers": ("wamkt-data-loader",),
    "02_segments": ("wamkt-segment-builder",),
    "03_compose_and_dry_run": ("wamkt-preview", "wamkt-dryrun"),
    "04_send": ("wamkt-send",),
    "05_auto_replies": ("wamkt-autoreply",),
    "06_ab_test": ("wamkt-ab-planner", "wamkt-ab-results"),
}
"""The widgets each notebook shows, by their CSS class."""

assert sorted(f"{n}.ipynb" for n in WIDGETS) == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module", params=["light", "dark"])
def lab(request, tmp_path_factory):
    """A JupyterLab server in ``light`` or ``dark`` theme; its log is printed when it fails to start."""
    server = start_jupyterlab(tmp_path_factory.mktemp(f"jupyterlab-{request.param}"), request.param)
    yield server
    server.stop()


@pytest.fixture
def lab_page(browser, lab):
    """A fresh browser context on ``lab``; afterwards every kernel of the server is shut down (while
    the next test opens its page)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)
    expect.set_options(timeout=60_000)
    page = context.new_page()
    yield page
    context.close()
    lab.shutdown_kernels(wait=False)


def run_notebook(page, lab, notebook: str, folder: str) -> list[str]:
    """Copy ``notebook`` into ``folder``, open it, Run All; fail on a traceback or a cell that did not
    run. Returns the cell prompts."""
    path = lab.add_notebook(f"{notebook}.ipynb", folder)
    open_notebook(page, lab, path)
    assert theme_of(page) == lab.theme
    prompts = run_all(page)
    errors = tracebacks(page)
    assert not errors, f"{notebook}: a cell raised:\n{errors[0]}"
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"{notebook}: cells that did not run: {prompts}"
    return prompts


def no_log_console_errors(page) -> None:
    errors = log_console_errors(page)
    assert not errors, f"the log console shows an error (a widget callback raised):\n{errors[0]}"


# --- the key interactions after Run All ------------------------------------------------------------


def segment_count(page) -> int:
    text = page.locator(f"{NOTEBOOK} .wamkt-segment-count").inner_text()
    return int(re.search(r"([\d,.]+) customers match", text).group(1).replace(",", "").replace(".", ""))


def segment_builder_keeps_a_changed_operator_and_saves_a_segment(page, lab) -> None:
    builder = page.locator(f"{NOTEBOOK} .wamkt-segment-builder").first
    builder.scroll_into_view_if_needed()
    expect(builder.locator(".wamkt-segment-count")).to_contain_text("customers match")
    # 02 starts from the preset "active in the last 7 days"; add the default condition
    # "order count >= 1" after it, then make it "order count < 1"
    conditions = builder.locator(".wamkt-segment-condition").count()
    builder.locator(".wamkt-segment-add-condition").first.click()
    expect(builder.locator(".wamkt-segment-condition")).to_have_count(conditions + 1)
    condition = builder.locator(".wamkt-segment-condition").last
    expect(condition.locator(".wamkt-segment-op select")).to_have_value(">=")
    page.wait_for_timeout(1_000)  # the count of the preset and the added condition
    before = segment_count(page)
    op = condition.locator(".wamkt-segment-op select")
    op.select_option(label="<")
    page.wait_for_function(
        f"() => !document.querySelector('{NOTEBOOK} .wamkt-segment-count').innerText.startsWith('{before:,} ')"
    )
    page.wait_for_timeout(1_000)  # any late redraw of the editor would show by now
    assert op.evaluate("s => s.options[s.selectedIndex].text") == "<", "the operator went back"
    assert segment_count(page) != before
    expect(builder.locator(".wamkt-segment-error")).to_have_text("")

    builder.locator(".wamkt-segment-name input").fill("Nie bestellt")
    builder.locator(".wamkt-segment-save").click()
    expect(builder.locator(".wamkt-segment-store-message")).to_contain_text(
        re.compile(r"saved\W*Nie bestellt", re.IGNORECASE)
    )
    expect(builder.locator(".wamkt-segment-saved select")).to_have_value("Nie bestellt")
    expect(builder.locator(".wamkt-segment-comparison")).to_contain_text("Nie bestellt")
    assert op.evaluate("s => s.options[s.selectedIndex].text") == "<", "saving reset the operator"
    screenshot_widget(page, "wamkt-segment-builder", f"02_segments-segment-builder-saved-{lab.theme}")


def dry_run_reruns_after_run_all(page, lab) -> None:
    dry = page.locator(f"{NOTEBOOK} .wamkt-dryrun").first
    dry.scroll_into_view_if_needed()
    summary = dry.locator(".wamkt-dryrun-summary")
    expect(summary).to_contain_text("would be sent")
    first = summary.inner_text()
    # a daily limit of 10 caps today's sends: the numbers must change
    limit = dry.locator(".wamkt-dryrun-limit input")
    limit.fill("10")
    limit.press("Tab")
    dry.locator(".wamkt-dryrun-run").click()
    changed(page, ".wamkt-dryrun-summary", first)
    expect(dry.locator(".wamkt-dryrun-error .wamkt-status-error")).to_have_count(0)
    expect(dry.locator(".wamkt-dryrun-error")).to_contain_text("saved as campaign 'spring-sale'")
    assert summary.inner_text().split(" would be sent")[0].strip() in ("10", "0"), summary.inner_text()
    screenshot_widget(page, "wamkt-dryrun", f"03_compose_and_dry_run-dryrun-rerun-{lab.theme}")


def changed(page, css: str, before: str, timeout_ms: int = 60_000) -> str:
    """Wait until the first ``css`` element of the notebook shows another text than ``before``; when it
    does not, the failure quotes the log console (where a widget callback's exception lands)."""
    try:
        page.wait_for_function(
            "([sel, before]) => { const e = document.querySelector(sel); return e && e.innerText !== before; }",
            arg=[f"{NOTEBOOK} {css}", before],
            timeout=timeout_ms,
        )
    except Exception as exc:
        raise AssertionError(
            f"{css} still shows {before!r} after {timeout_ms / 1000:g} s; "
            f"log console: {log_console_errors(page) or 'no errors'}"
        ) from exc
    return page.locator(f"{NOTEBOOK} {css}").first.inner_text()


def sent_so_far(page) -> str:
    """The ledger counts the send panel shows (one cell per state)."""
    return page.locator(f"{NOTEBOOK} .wamkt-send .wamkt-send-counts").first.inner_text()


def not_sent(page) -> tuple[str, ...]:
    """The panel's planned and cancelled counts: rows that have not left. Status webhooks move the
    other counts (accepted → sent → delivered → read) at any time, also while paused or cancelled."""
    counts = page.locator(f"{NOTEBOOK} .wamkt-send .wamkt-send-counts").first
    return tuple(counts.locator(f".wamkt-state-{state} b").inner_text() for state in ("planned", "cancelled"))


def test_send_pause_resume_cancel_resume(lab, lab_page):
    """Run All of 04 (the send starts in the cell that shows the panel; the cell after it waits for the
    send without holding the panel's buttons), then with its buttons while it sends: pause (nothing
    moves), resume (it moves on), cancel (confirming when asked), and resume again: cancelled rows
    are final, so the panel refuses and says why, and nothing more is sent."""
    page = lab_page
    with diagnosed(page, lab, f"04-interactions-{lab.theme}"):
        path = lab.add_notebook("04_send.ipynb", "04-interactions")
        open_notebook(page, lab, path)
        menu(page, "Run", "Run All Cells")
        send = page.locator(f"{NOTEBOOK} .wamkt-send").first
        send.wait_for(state="visible", timeout=180_000)
        status = send.locator(".wamkt-send-status")
        pause, cancel, start = (
            send.locator(f"button.wamkt-send-{b}, .wamkt-send-{b} button").first for b in ("pause", "cancel", "start")
        )
        expect(pause).to_be_enabled()
        pause.click()
        expect(status).to_contain_text("paused", timeout=60_000)
        expect(pause).to_contain_text("Resume")
        paused_at, waiting = sent_so_far(page), not_sent(page)
        time.sleep(2)
        assert not_sent(page) == waiting, "the send went on while paused"

        pause.click()  # resume
        expect(pause).to_contain_text("Pause")
        changed(page, ".wamkt-send .wamkt-send-counts", paused_at)

        cancel.click()
        page.wait_for_function(  # cancelled at once, or a confirmation asked first
            f"""() => {{ const s = document.querySelector('{NOTEBOOK} .wamkt-send');
                const ask = s.querySelector('.wamkt-send-confirm-cancel');
                return /cancel/.test(s.querySelector('.wamkt-send-status').innerText)
                       || (ask && ask.offsetParent !== null); }}""",
            timeout=60_000,
        )
        confirm = send.locator(".wamkt-send-confirm-cancel")
        if confirm.count() and confirm.is_visible():
            confirm.click()
        expect(status).to_contain_text("cancelled", timeout=60_000)
        screenshot_widget(page, "wamkt-send", f"04_send-send-cancelled-{lab.theme}")

        # resume after cancel: every control that would resume is refused, and says why
        after_cancel = not_sent(page)
        assert after_cancel[0] == "0", "rows are still planned after the cancel"
        expect(pause).to_be_disabled()
        expect(start).to_be_disabled()
        for button in (pause, start):  # its tooltip explains (ipywidgets shows the label when none is set)
            label, tooltip = button.inner_text().strip(), (button.get_attribute("title") or "").strip()
            assert tooltip not in ("", label), f"the disabled {label!r} button does not say why it cannot resume"
        start.click(force=True)  # a click on the disabled button must change nothing
        time.sleep(2)
        assert not_sent(page) == after_cancel, "rows were sent after the campaign was cancelled"
        expect(status).to_contain_text("cancelled")
        assert not tracebacks(page)
        screenshot_widget(page, "wamkt-send", f"04_send-send-resume-refused-{lab.theme}")
        no_log_console_errors(page)


def planner_with_a_tiny_segment_keeps_its_inputs(page, lab) -> None:
    planner = page.locator(f"{NOTEBOOK} .wamkt-ab-planner").first
    planner.scroll_into_view_if_needed()
    size = planner.locator(".wamkt-ab-segment-size input")
    size.fill("12")
    size.press("Tab")
    expect(size).to_have_value("12")
    page.wait_for_function(  # the plan says the segment is too small, or the error line says why
        f"""() => {{ const p = document.querySelector('{NOTEBOOK} .wamkt-ab-planner');
            return /too small|not enough|at least/i.test(p.querySelector('.wamkt-ab-summary').innerText
                                                           + p.querySelector('.wamkt-ab-error').innerText); }}""",
        timeout=120_000,
    )
    for name in ("metric", "baseline", "mde", "alpha", "power", "arms", "segment-size", "tier", "pace"):
        expect(planner.locator(f".wamkt-ab-{name}")).to_be_visible()
    screenshot_widget(page, "wamkt-ab-planner", f"06_ab_test-ab-planner-tiny-{lab.theme}")


INTERACTIONS = {
    "02_segments": segment_builder_keeps_a_changed_operator_and_saves_a_segment,
    "03_compose_and_dry_run": dry_run_reruns_after_run_all,
    "06_ab_test": planner_with_a_tiny_segment_keeps_its_inputs,
}
"""What a person does with a notebook's widgets after its Run All (on the page Run All left)."""


# --- every notebook top to bottom, light and dark, then its interactions ----------------------------


@pytest.mark.parametrize("notebook", list(WIDGETS))
def test_notebook_runs_top_to_bottom_then_its_widgets_answer(lab, lab_page, notebook):
    """Run All with no traceback and a picture of each widget as Run All left it; then the notebook's
    interactions (:data:`INTERACTIONS`); then the log console, which keeps every error of both."""
    with diagnosed(lab_page, lab, f"{notebook}-{lab.theme}"):
        run_notebook(lab_page, lab, notebook, f"{notebook}-alone")
        for css in WIDGETS[notebook]:
            widget = screenshot_widget(lab_page, css, f"{notebook}-{css.removeprefix('wamkt-')}-{lab.theme}")
            assert widget.inner_text().strip(), f".{css} shows no text"
        if notebook in INTERACTIONS:
            INTERACTIONS[notebook](lab_page, lab)
        no_log_console_errors(lab_page)


# --- the journey 01 -> 06 in one workspace, by day and by night -------------------------------------

YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)
CLOCKS = {"day": f"{YESTERDAY}T16:10:00+00:00", "night": f"{YESTERDAY}T01:00:00+00:00"}
"""``WAMKT_NOW`` for the journey, in the past (so nothing is "future"). By day it is daytime for every
time zone of the sample (17/18 h in Berlin, 8/9 h in Los Angeles, 21:40 in Kolkata); by night it is
2/3 h in Berlin, inside the quiet hours (22-8 h local) of most customers."""


@pytest.mark.parametrize("clock", list(CLOCKS))
def test_journey_01_to_06_in_one_workspace(browser, tmp_path, clock):
    server = start_jupyterlab(
        tmp_path, "light", workspace=tmp_path / "wamkt-workspace", extra_env={"WAMKT_NOW": CLOCKS[clock]}
    )
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(120_000)
    page = context.new_page()
    try:
        for notebook, widgets in WIDGETS.items():
            with diagnosed(page, server, f"journey-{clock}-{notebook}"):
                run_notebook(page, server, notebook, "")
                if notebook == "01_load_customers":  # the loaded data becomes the workspace's
                    page.locator(f"{NOTEBOOK} .wamkt-data-save").first.click()
                    expect(page.locator(f"{NOTEBOOK} .wamkt-data-status").first).to_contain_text("Saved to")
                if notebook == "04_send":  # by day everyone due gets it now; at night quiet hours hold them
                    status = page.locator(f"{NOTEBOOK} .wamkt-send-status").first.inner_text()
                    assert ("complete" in status) == (clock == "day"), f"{clock}: the send ended {status!r}"
                    if clock == "night":  # the panel says who waits and until when
                        expect(page.locator(f"{NOTEBOOK} .wamkt-send-next").first).to_contain_text(
                            re.compile(r"recipient\(s\) wait .*the first goes .*recipient's time")
                        )
                for css in widgets:
                    screenshot_widget(page, css, f"journey-{clock}-{notebook}-{css.removeprefix('wamkt-')}")
                no_log_console_errors(page)
            server.shutdown_kernels()
        assert (tmp_path / "wamkt-workspace" / "wamkt.db").exists()
    finally:
        context.close()
        server.stop()
