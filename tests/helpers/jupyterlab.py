"""A real ``jupyter lab`` server for the browser tests, and the few JupyterLab page actions they need.

The server runs on a free 127.0.0.1 port with a token, in a temporary root that receives copies of
the notebooks, with its own config, data, settings and workspaces folders (so nothing of the
developer's JupyterLab leaks in, and the theme can be chosen). Kernels inherit ``PYTHONPATH`` with
this checkout first, so they import this checkout's ``wamkt_nb``. Page helpers drive JupyterLab
through its menus and DOM, as a person would.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from helpers import ROOT
from helpers.processes import free_port, stop_process

ARTIFACTS = ROOT / "test-artifacts" / "jupyterlab"
"""Screenshots of every widget per theme, and of every failure (ignored by git: see :func:`artifacts`)."""


def artifacts(*parts: str) -> Path:
    """A folder under :data:`ARTIFACTS`, made on first use; ``test-artifacts/`` keeps a ``.gitignore``
    of ``*`` so nothing in it is ever committed."""
    folder = ARTIFACTS.joinpath(*parts)
    folder.mkdir(parents=True, exist_ok=True)
    ignore = ARTIFACTS.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    return folder


THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}

SETTINGS = {
    # the JupyterLab settings files a user would write; ``theme`` is filled in per server
    "@jupyterlab/apputils-extension/themes.jupyterlab-settings": {},
    # no news / update-check pop-up over the notebook
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


class JupyterLabError(AssertionError):
    """A JupyterLab step did not finish; the message says which, and the server log follows it."""


@dataclass
class JupyterLab:
    """A running ``jupyter lab``: where it serves, its token, its folders and its log."""

    proc: subprocess.Popen
    port: int
    token: str
    root: Path
    workspace: Path | None
    log: Path
    theme: str
    env: dict[str, str] = field(repr=False, default_factory=dict)
    _stopping: threading.Thread | None = field(repr=False, default=None)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_notebook(self, name: str, folder: str = "") -> str:
        """Copy ``notebooks/<name>`` into ``folder`` under the root; return its path for :meth:`url`."""
        target = self.root / folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / "notebooks" / name, target)
        return f"{folder}/{name}" if folder else name

    def url(self, notebook: str) -> str:
        """The page that opens ``notebook`` alone (``reset`` drops the tabs of an earlier test)."""
        return f"{self.base}/lab/tree/{notebook}?reset&token={self.token}"

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(
            f"{self.base}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self, wait: bool = True) -> None:
        """Stop every kernel running now (each notebook test starts its own; two cores cannot carry many).

        A kernel takes seconds to stop; without ``wait`` they stop in a thread while the caller goes on
        (the next test loads its page meanwhile). The next call, and :meth:`stop`, wait for it first.
        """
        self.wait_kernels_stopped()
        running = [kernel["id"] for kernel in self.api("GET", "/api/kernels")]  # type: ignore[union-attr]

        def delete() -> None:
            for kernel_id in running:
                self.api("DELETE", f"/api/kernels/{kernel_id}")

        if wait:
            delete()
        else:
            self._stopping = threading.Thread(target=delete, name="jupyterlab-kernel-shutdown", daemon=True)
            self._stopping.start()

    def wait_kernels_stopped(self) -> None:
        """Wait for the kernels a ``shutdown_kernels(wait=False)`` is stopping."""
        if self._stopping is not None:
            self._stopping.join(timeout=60)
            self._stopping = None

    def log_tail(self, chars: int = 6_000) -> str:
        """The end of the server's log (kernels' stderr included), without its routine info lines."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        kept = [line for line in text.splitlines() if not line.startswith("[I ")]
        return "\n".join(kept)[-chars:]

    def stop(self) -> None:
        self.wait_kernels_stopped()
        stop_process(self.proc, timeout=20)


def start_jupyterlab(
    base: Path,
    theme: str,
    workspace: Path | None = None,
    extra_env: dict[str, str] | None = None,
    timeout: float = 120.0,
) -> JupyterLab:
    """Start ``jupyter lab`` in ``base`` (fresh folders under it) with ``theme`` ("light" or "dark").

    With ``workspace``, every kernel shares it (``WAMKT_WORKSPACE``); without, each notebook uses
    ``./wamkt-workspace`` next to itself, so notebooks copied into folders of their own start empty.
    The developer's own ``WAMKT_*`` variables (a live access token!) never reach the kernels.
    """
    root, config, data, settings, workspaces = (base / n for n in ("root", "config", "data", "settings", "workspaces"))
    for folder in (root, config, data, settings, workspaces, *([workspace] if workspace else [])):
        folder.mkdir(parents=True, exist_ok=True)
    for name, values in SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("themes.jupyterlab-settings"):
            values = {"theme": THEMES[theme]}
        path.write_text(json.dumps(values))
    token = secrets.token_hex(16)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAMKT_")}
    env.update(extra_env or {})
    env.update(
        {
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_DATA_DIR": str(data),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(workspaces),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "IPYTHONDIR": str(base / "ipython"),
            **({"WAMKT_WORKSPACE": str(workspace)} if workspace else {}),
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
        }
    )
    log = base / "jupyterlab.log"
    with open(log, "wb") as out:  # the server keeps its own handle
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={port}",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                "--ServerApp.port_retries=0",
                "--allow-root",
                "--ServerApp.terminals_enabled=False",
            ],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    lab = JupyterLab(proc, port, token, root, workspace, log, theme, env)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise JupyterLabError(f"jupyter lab exited with code {proc.returncode}:\n{lab.log_tail()}")
        try:
            lab.api("GET", "/api/status")
            return lab
        except OSError as exc:
            if time.monotonic() > deadline:
                lab.stop()
                raise JupyterLabError(f"jupyter lab not answering after {timeout} s:\n{lab.log_tail()}") from exc
            time.sleep(0.3)


# --- page actions -----------------------------------------------------------------------------------

NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
"""The notebook panel in front."""

PROMPTS_JS = f"""() => Array.from(document.querySelectorAll(
    '{NOTEBOOK} .jp-CodeCell .jp-InputArea-prompt')).map(p => p.textContent.trim())"""


def open_notebook(page, lab: JupyterLab, notebook: str, timeout_ms: int = 180_000) -> None:
    """Open ``notebook`` in JupyterLab and wait until its kernel is idle."""
    page.goto(lab.url(notebook), timeout=timeout_ms)
    try:
        page.locator(f"{NOTEBOOK} .jp-Notebook").wait_for(state="visible", timeout=timeout_ms)
        wait_kernel_idle(page, timeout_ms)
    except Exception as exc:
        raise JupyterLabError(f"{notebook} did not open with an idle kernel: {exc}") from exc


def wait_kernel_idle(page, timeout_ms: int = 180_000) -> None:
    """A kernel is attached (the toolbar names it) and the status bar says it is idle."""
    page.wait_for_function(
        f"""() => {{
            const name = document.querySelector('{NOTEBOOK} .jp-Toolbar-kernelName');
            const status = document.querySelector('#jp-main-statusbar');
            return name && !/No Kernel/.test(name.textContent) && status && /\\| Idle/.test(status.innerText);
        }}""",
        timeout=timeout_ms,
        polling=200,
    )


def menu(page, menu_name: str, item: str) -> None:
    """Click ``menu_name`` in the main menu bar, then the item labelled ``item``."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu_name}$")).click()
    page.locator(
        ".lm-Menu .lm-Menu-item:visible",
        has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")),
    ).first.click()


def run_all(page, timeout_ms: int = 600_000) -> list[str]:
    """Run → Run All Cells, then wait until no cell is queued or running; return the prompts."""
    menu(page, "Run", "Run All Cells")
    try:
        page.wait_for_function(
            f"""() => {{
                const prompts = ({PROMPTS_JS})();
                const ran = prompts.every(p => /\\[\\d+\\]/.test(p));
                const stopped = Array.from(document.querySelectorAll(
                    '{NOTEBOOK} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
                    .some(o => /Traceback|Error/.test(o.innerText));  // Run All stops at an error
                return !prompts.some(p => p.includes('*')) && (ran || stopped);
            }}""",
            timeout=timeout_ms,
            polling=250,
        )
        wait_kernel_idle(page, timeout_ms)
    except Exception as exc:
        prompts = page.evaluate(PROMPTS_JS)
        raise JupyterLabError(f"Run All did not finish; cell prompts {prompts}: {exc}") from exc
    return page.evaluate(PROMPTS_JS)


def tracebacks(page) -> list[str]:
    """The text of every error output (a traceback, not a widget's message) in the notebook in front."""
    return page.evaluate(f"""() => Array.from(document.querySelectorAll(
        '{NOTEBOOK} .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
        .map(o => o.innerText).filter(t => /Traceback|Error|Exception/.test(t))""")


def run_code(page, code: str, timeout_ms: int = 120_000) -> str:
    """Append a cell with ``code`` at the end of the notebook, run it and return its text output."""
    page.locator(f"{NOTEBOOK} .jp-Cell").last.click(position={"x": 5, "y": 5})
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # command mode: insert a cell below
    editor = page.locator(f"{NOTEBOOK} .jp-Cell.jp-mod-active .cm-content")
    editor.click()
    page.keyboard.insert_text(code)
    before = len(page.evaluate(PROMPTS_JS))
    page.keyboard.press("Control+Enter")
    cell = page.locator(f"{NOTEBOOK} .jp-CodeCell").nth(before - 1)
    page.wait_for_function(
        f"""() => {{ const c = document.querySelectorAll('{NOTEBOOK} .jp-CodeCell')[{before - 1}];
            return c && /\\[\\d+\\]/.test(c.querySelector('.jp-InputArea-prompt').textContent); }}""",
        timeout=timeout_ms,
    )
    return cell.locator(".jp-OutputArea").inner_text()


def log_console_errors(page) -> list[str]:
    """Open JupyterLab's log console (where widget callback exceptions land) and return its error
    entries."""
    menu(page, "View", "Show Log Console")
    panel = page.locator(".jp-LogConsolePanel").first
    panel.wait_for(state="attached", timeout=30_000)
    page.wait_for_timeout(500)
    return page.evaluate("""() => Array.from(document.querySelectorAll('.jp-LogConsolePanel .jp-OutputArea-child'))
        .map(o => o.innerText).filter(t => /Traceback|Error|Exception/.test(t))""")


def theme_of(page) -> str:
    """ "light" or "dark": what JupyterLab applied to the page."""
    page.wait_for_function("() => document.body.dataset.jpThemeName", timeout=60_000)
    return "light" if page.evaluate("() => document.body.dataset.jpThemeLight") == "true" else "dark"


def screenshot_widget(page, css_class: str, name: str):
    """Wait until the widget with ``css_class`` shows, and save its picture as ``<name>.png`` under
    :data:`ARTIFACTS`; return its locator."""
    widget = page.locator(f"{NOTEBOOK} .{css_class}").first
    try:
        widget.wait_for(state="visible", timeout=120_000)
    except Exception as exc:
        raise JupyterLabError(f"no visible .{css_class} widget: {exc}") from exc
    folder = artifacts()
    # a widget taller than the window would be cut by the notebook's scroll area: grow the window
    viewport = page.viewport_size
    height = widget.evaluate("e => e.getBoundingClientRect().height")
    if viewport and height + 200 > viewport["height"]:
        page.set_viewport_size({"width": viewport["width"], "height": int(height) + 200})
        page.wait_for_timeout(300)  # JupyterLab lays the panels out again
    try:
        widget.scroll_into_view_if_needed()
        widget.screenshot(path=folder / f"{name}.png", animations="disabled")
    finally:
        if viewport and page.viewport_size != viewport:
            page.set_viewport_size(viewport)
    return widget


@contextmanager
def diagnosed(page, lab: JupyterLab, name: str) -> Iterator[None]:
    """On any failure: a full-page screenshot under ``ARTIFACTS/failures`` and the server log's tail in
    the message, so a red test says what JupyterLab showed and what the server and kernels printed."""
    try:
        yield
    except Exception as exc:
        shot = artifacts("failures") / f"{name}.png"
        try:
            page.screenshot(path=shot, full_page=True)
        except Exception as shot_error:  # noqa: BLE001 - the page may be gone; the log still helps
            shot = Path(f"(no screenshot: {shot_error})")
        raise JupyterLabError(
            f"{type(exc).__name__}: {exc}\nscreenshot: {shot}\n--- jupyter lab log, last lines ---\n{lab.log_tail()}"
        ) from exc
