"""Helpers for ``tests/test_browser.py``: a token-less JupyterLab on loopback, driven by Debian's
headless Chromium through the Playwright Python package (no ``playwright install``, no downloads).

- :class:`JupyterLab` starts ``python -m jupyterlab`` from this interpreter on a free 127.0.0.1 port,
  rooted at a folder of notebooks, with its own config/runtime/settings/workspace folders (so nothing
  of the user's leaks in or out), news and update checks off, every notebook cell attached to the
  DOM (``windowingMode: none``) and ``window.jupyterapp`` exposed to the page.
- :func:`launch_chromium` opens ``/usr/bin/chromium`` headless with a new, empty user-data-dir and
  the flags that keep it off the network.
- :func:`run_notebook` opens one notebook in a new tab, runs all cells through JupyterLab's own
  ``notebook:run-all-cells`` command, waits for the run to finish (bounded), then reads what the page
  shows — per cell: execution count, error outputs (model *and* DOM), widgets, check-cell status —
  probes that Hangul renders as real glyphs, saves a full-page screenshot and returns a
  :class:`NotebookRun` whose :meth:`NotebookRun.problems` lists what is wrong.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path(os.environ.get("VGG_TEACH_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--no-first-run", "--disable-default-apps", "--disable-extensions",
    "--disable-dev-shm-usage", "--no-default-browser-check", "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider",
]
RUN_TIMEOUT_S = float(os.environ.get("VGG_TEACH_BROWSER_TIMEOUT", "240"))
KERNEL_START_TIMEOUT_S = 90.0
SERVER_START_TIMEOUT_S = 60.0

# JupyterLab user settings written for the test server (JSON5 files, plain JSON is fine).
LAB_SETTINGS: dict[str, dict[str, Any]] = {
    # every cell in the DOM: full-page screenshots and per-cell DOM checks see the whole notebook
    # (and no empty "scroll past the end" space at the bottom of the screenshot)
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none", "scrollPastEnd": False},
    # no "fetch Jupyter news?" toast, no update check (the network is closed anyway)
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}

STDERR_MIME = "application/vnd.jupyter.stderr"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: Source that shows ipywidgets on purpose (tqdm.auto bars are widgets too, but may close themselves).
USES_WIDGETS = re.compile(r"\bipywidgets\b|\binteract(?:ive)?\s*\(")


def browser_unavailable() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} not found: install it with `bash .ci/install_browser.sh` "
                f"(Debian's chromium + fonts-nanum)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (`pip install -e .[test]`)"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- JupyterLab ----------------------------------------------------------------------------------

class JupyterLab:
    """``python -m jupyterlab`` on 127.0.0.1, token-less, rooted at ``root_dir``; a context manager."""

    def __init__(self, root_dir: Path, work_dir: Path, env: dict[str, str] | None = None) -> None:
        self.root_dir = Path(root_dir)
        self.work_dir = Path(work_dir)
        self.extra_env = env or {}
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.work_dir / "jupyterlab.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # the test suite's Agg would hide figures: let ipykernel use inline
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
            path = self.work_dir / name.lower()
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        env.update({"JUPYTER_PLATFORM_DIRS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                    "VGG_TEACH_SMOKE": "1", "PYTHONUNBUFFERED": "1"})
        env.update(self.extra_env)
        return env

    def start(self) -> "JupyterLab":
        settings = self.work_dir / "user-settings"
        for rel, value in LAB_SETTINGS.items():
            path = settings / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(value), encoding="utf-8")
        workspaces = self.work_dir / "workspaces"
        workspaces.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
            "--port-retries=0", "--IdentityProvider.token=",  # = --ServerApp.token='' (deprecated spelling)
            "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={workspaces}", "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # CI containers run as root
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root_dir, env=self._env(), stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        log.close()
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {SERVER_START_TIMEOUT_S:.0f} s:\n"
                           f"{self.log()}")

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-tail:]
        except OSError:
            return ""

    def api(self, method: str, path: str) -> Any:
        req = urllib.request.Request(f"{self.url}{path}", method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every kernel of this server (between notebooks: each holds VGG16 in memory)."""
        try:
            for kernel in self.api("GET", "/api/kernels") or []:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
        except OSError:
            pass

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.shutdown_kernels()
        pgid = self.proc.pid  # start_new_session: the server leads its own process group
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            pass

    def __enter__(self) -> "JupyterLab":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- Chromium ------------------------------------------------------------------------------------

def launch_chromium(playwright: Any, user_data_dir: Path, env: dict[str, str] | None = None) -> Any:
    """Headless Debian Chromium with a new, empty profile; returns a Playwright BrowserContext."""
    user_data_dir.mkdir(parents=True, exist_ok=True)
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 900}, device_scale_factor=1, locale="ko-KR",
        env=env, timeout=60_000,
    )


#: In-page proof that Hangul renders with real glyphs: draw several syllables and a private-use
#: character (which no font has, so it is a "tofu" box) on a canvas in the page's own font stack.
#: Without a Hangul font every syllable is the same box (or nothing): bitmaps repeat or have no ink.
HANGUL_PROBE_JS = """
(family) => {
  const canvas = document.createElement('canvas');
  canvas.width = 72; canvas.height = 72;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const font = `48px ${family}`;
  const draw = (ch) => {
    ctx.clearRect(0, 0, 72, 72);
    ctx.font = font; ctx.fillStyle = '#000'; ctx.textBaseline = 'top';
    ctx.fillText(ch, 6, 6);
    const d = ctx.getImageData(0, 0, 72, 72).data;
    let ink = 0, h = 2166136261;
    for (let i = 3; i < d.length; i += 4) {
      if (d[i] > 0) ink++;
      h = Math.imul(h ^ d[i], 16777619) >>> 0;
    }
    return {ch, ink, hash: h.toString(16), width: ctx.measureText(ch).width};
  };
  const syllables = ['가', '힣', '한', '글', '똠'].map(draw);
  const tofu = draw('\\uE000');
  const hashes = new Set(syllables.map(s => s.hash));
  const ok = syllables.every(s => s.ink > 0 && s.hash !== tofu.hash) && hashes.size === syllables.length;
  return {ok, family, syllables, tofu};
}
"""

_STATE_JS = """
(path) => {
  const app = window.jupyterapp;
  if (!app) return {app: false};
  const panel = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
  if (!panel) return {app: true, panel: false};
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const counts = panel.content.widgets.filter(c => c.model.type === 'code' && c.model.sharedModel.getSource().trim())
                                      .map(c => c.model.executionCount);
  const dialogs = Array.from(document.querySelectorAll('.jp-Dialog')).map(d => d.innerText.trim().slice(0, 500));
  return {app: true, panel: true, ready: panel.context.isReady, kernel: kernel ? kernel.status : null,
          kernelName: kernel ? kernel.name : null, runAll: window.__vggRunAll, counts, dialogs};
}
"""

_START_RUN_JS = """
(path) => {
  const app = window.jupyterapp;
  const panel = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
  app.shell.activateById(panel.id);
  window.__vggRunAll = undefined;
  app.commands.execute('notebook:run-all-cells').then(
    ok => { window.__vggRunAll = ok === undefined ? true : ok; },
    err => { window.__vggRunAll = 'error: ' + err; });
}
"""

_CELLS_JS = """
(path) => {
  const app = window.jupyterapp;
  const panel = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
  const text = (el) => (el.innerText || el.textContent || '').trim();
  return panel.content.widgets.map((cell, index) => {
    const m = cell.model;
    const node = cell.node;
    const outs = m.type === 'code' ? m.outputs.toJSON() : [];
    const domOuts = Array.from(node.querySelectorAll('.jp-OutputArea-output'));
    const check = node.querySelector('.vgg-teach-check');
    const checkBox = check ? check.getBoundingClientRect() : null;
    return {
      index, type: m.type, tags: m.getMetadata('tags') || [],
      source: m.sharedModel.getSource(),
      executionCount: m.type === 'code' ? m.executionCount : null,
      outputs: outs.map(o => ({type: o.output_type, name: o.name || null, ename: o.ename || null,
                               evalue: o.evalue || null, mimes: Object.keys(o.data || {}),
                               text: typeof o.text === 'string' ? o.text.slice(0, 2000)
                                     : Array.isArray(o.text) ? o.text.join('').slice(0, 2000) : null})),
      dom: domOuts.map(o => ({mime: o.getAttribute('data-mime-type'), text: text(o).slice(0, 2000),
                              widgets: o.querySelectorAll('.jupyter-widgets, [class*="widget-"]').length})),
      check: check ? {status: check.getAttribute('data-status'), text: text(check).slice(0, 300),
                      visible: !!checkBox && checkBox.width > 0 && checkBox.height > 0} : null,
    };
  });
}
"""

_CHECKS_SHOWN_JS = """
(path) => {
  const app = window.jupyterapp;
  const panel = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
  return panel.content.widgets.filter(c => (c.model.getMetadata('tags') || []).includes('check'))
                              .every(c => c.node.querySelector('.vgg-teach-check'));
}
"""

_LAYOUT_JS = """
(path) => {
  const app = window.jupyterapp;
  const panel = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
  if (app.shell.collapseLeft) app.shell.collapseLeft();
  if (app.shell.collapseRight) app.shell.collapseRight();
  const outer = panel.content.node.querySelector('.jp-WindowedPanel-outer') || panel.content.node;
  return {scroll: outer.scrollHeight, client: outer.clientHeight, inner: window.innerHeight};
}
"""

_SCROLL_TOP_JS = """
(path) => {
  const app = window.jupyterapp;
  const panel = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
  const outer = panel.content.node.querySelector('.jp-WindowedPanel-outer') || panel.content.node;
  outer.scrollTop = 0;
  panel.content.node.scrollTop = 0;
  return outer.scrollHeight;
}
"""

_SHUTDOWN_JS = """
async (path) => {
  const app = window.jupyterapp;
  const panel = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path);
  if (panel) { try { await panel.sessionContext.shutdown(); } catch (e) {} }
}
"""

_WIDGET_REPR = re.compile(r"^(?:interactive|[A-Z][A-Za-z]*(?:Slider|Box|Progress|Button|Dropdown|Text|Output|"
                          r"HTML|Label|Checkbox|Select|Tab|Accordion|Play|Picker|Widget))\(", re.M)
_ERROR_TEXT = re.compile(r"Traceback \(most recent call last\)|^\w*(?:Error|Exception)\b", re.M)


@dataclass
class NotebookRun:
    """What one notebook looked like in the browser after Run All."""

    name: str
    seconds: float = 0.0       # open + kernel start + Run All + checks + screenshot
    run_seconds: float = 0.0   # Run All alone (until the command resolves and the kernel is idle)
    finished: bool = False
    run_all: Any = None
    kernel: str | None = None
    cells: list[dict[str, Any]] = field(default_factory=list)
    hangul: dict[str, Any] = field(default_factory=dict)
    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    note: str = ""

    @property
    def code_cells(self) -> list[dict[str, Any]]:
        return [c for c in self.cells if c["type"] == "code" and c["source"].strip()]

    def error_cells(self) -> list[tuple[int, str]]:
        """(cell index, what) for every error the notebook shows: error outputs in the model, or a
        rendered stderr output with a traceback/``…Error`` in the page."""
        found = []
        for c in self.cells:
            for o in c["outputs"]:
                if o["type"] == "error":
                    found.append((c["index"], f"{o['ename']}: {o['evalue']}"))
                elif o["type"] == "stream" and o["name"] == "stderr" and o["text"] and "Traceback" in o["text"]:
                    found.append((c["index"], "traceback on stderr: " + o["text"][-300:]))
            for d in c["dom"]:
                if d["mime"] == STDERR_MIME and _ERROR_TEXT.search(d["text"]):
                    found.append((c["index"], "page shows: " + d["text"][-300:]))
        return found

    def rendered_widgets(self) -> int:
        """Widget elements (``.jupyter-widgets``/``.widget-*``) inside the notebook's outputs."""
        return sum(d["widgets"] for c in self.cells for d in c["dom"])

    def uses_widgets(self) -> bool:
        # the setup cell names ipywidgets as a package it may install, not as something it shows
        return any(USES_WIDGETS.search(c["source"]) for c in self.code_cells if "setup" not in c.get("tags", []))

    def problems(self) -> list[str]:
        out: list[str] = []
        if not self.finished:
            out.append(f"Run All did not finish within {RUN_TIMEOUT_S:.0f} s (kernel {self.kernel!r}, "
                       f"counts {[c['executionCount'] for c in self.code_cells]}) {self.note}".strip())
        if self.run_all is not True and self.finished:
            out.append(f"notebook:run-all-cells reported {self.run_all!r} (false: a cell failed)")
        out += [f"a dialog is open: {d!r}" for d in self.dialogs]
        missing = [c["index"] for c in self.code_cells if c["executionCount"] is None]
        if missing:
            out.append(f"code cells without an execution count (not run): {missing}")
        counts = [c["executionCount"] for c in self.code_cells]
        if not missing and counts != sorted(counts):
            out.append(f"execution counts out of order: {counts}")
        out += [f"cell {i}: error output: {what}" for i, what in self.error_cells()]
        # widgets: rendered as widgets, never as their text repr, a placeholder or an error box
        for c in self.cells:
            for d in c["dom"]:
                if "Loading widget" in d["text"] or "Error displaying widget" in d["text"]:
                    out.append(f"cell {c['index']}: widget not rendered: {d['text'][:200]!r}")
                elif d["mime"] == "text/plain" and _WIDGET_REPR.search(d["text"]):
                    out.append(f"cell {c['index']}: a widget shown as its text repr: {d['text'][:200]!r}")
        if self.uses_widgets() and not self.rendered_widgets():
            out.append("the notebook uses ipywidgets but no widget is rendered in the page")
        # check cells show their status
        for c in self.cells:
            if "check" in c["tags"]:
                check = c["check"]
                if not check:
                    out.append(f"cell {c['index']} (check): no .vgg-teach-check status in the page "
                               f"(outputs: {[d['mime'] for d in c['dom']]})")
                elif check["status"] not in ("pass", "fail", "todo") or not check["visible"]:
                    out.append(f"cell {c['index']} (check): status {check['status']!r}, visible={check['visible']}")
        if not self.hangul.get("ok"):
            out.append(f"Hangul does not render as real glyphs in the page: {self.hangul}")
        return out

    def summary(self) -> str:
        checks = [c["check"]["status"] if c["check"] else None for c in self.cells if "check" in c["tags"]]
        widgets = self.rendered_widgets()
        stderr = sum(d["mime"] == STDERR_MIME for c in self.cells for d in c["dom"])
        return (f"{self.name}: {self.seconds:.1f} s (Run All {self.run_seconds:.1f} s), "
                f"{len(self.code_cells)} code cells, checks {checks}, "
                f"{widgets} widget element(s), {stderr} stderr output(s), "
                f"Hangul {'ok' if self.hangul.get('ok') else 'NOT ok'}, "
                f"screenshot {self.screenshot}")


def _poll(page: Any, path: str, until: Any, timeout: float, interval: float = 0.5) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while True:
        state = page.evaluate(_STATE_JS, path)
        if until(state) or time.monotonic() > deadline:
            return state
        if state.get("dialogs"):
            return state
        page.wait_for_timeout(interval * 1000)


def run_notebook(context: Any, lab: JupyterLab, path: str, screenshot: Path | None,
                 timeout: float = RUN_TIMEOUT_S) -> NotebookRun:
    """Open ``path`` (relative to the server root) in a new tab, Run All, and report what the page shows."""
    run = NotebookRun(path)
    start = time.monotonic()
    page = context.new_page()
    page.on("pageerror", lambda exc: run.page_errors.append(str(exc)[:500]))
    try:
        workspace = re.sub(r"[^A-Za-z0-9]", "-", Path(path).stem)
        page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{path}?reset", wait_until="domcontentloaded",
                  timeout=60_000)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=60_000)
        state = _poll(page, path, lambda s: s.get("panel") and s.get("ready") and s.get("kernel") == "idle",
                      KERNEL_START_TIMEOUT_S)
        run.kernel = state.get("kernel")
        run.dialogs = state.get("dialogs") or []
        if run.kernel != "idle" or run.dialogs:
            run.note = f"(kernel never became idle: {state})"
        else:
            page.evaluate(_START_RUN_JS, path)
            run_start = time.monotonic()
            state = _poll(page, path, lambda s: (s.get("runAll") is not None and s.get("kernel") == "idle")
                          or s.get("kernel") == "dead", timeout, interval=1.0)
            run.run_seconds = time.monotonic() - run_start
            run.kernel, run.run_all = state.get("kernel"), state.get("runAll")
            run.dialogs = state.get("dialogs") or []
            run.finished = run.run_all is not None and run.kernel == "idle"
            # let late renderers (widgets, figures) attach before reading the DOM; a widget still
            # "Loading…" after that is reported by problems()
            try:
                page.wait_for_function(
                    "() => !Array.from(document.querySelectorAll('.jp-OutputArea-output'))"
                    ".some(o => (o.innerText || '').includes('Loading widget'))", timeout=15_000)
            except Exception:  # noqa: BLE001 - playwright's TimeoutError
                pass
            try:  # HTML outputs (the check boxes) render asynchronously after the last reply
                page.wait_for_function(_CHECKS_SHOWN_JS, arg=path, timeout=5_000)
            except Exception:  # noqa: BLE001 - a missing status box is reported by problems()
                pass
        run.cells = page.evaluate(_CELLS_JS, path)
        family = page.evaluate("() => getComputedStyle(document.querySelector('.jp-RenderedMarkdown') "
                               "|| document.body).fontFamily")
        run.hangul = page.evaluate(HANGUL_PROBE_JS, family)
        if screenshot is not None:
            run.screenshot = full_page_screenshot(page, path, screenshot)
    finally:
        try:
            page.evaluate(_SHUTDOWN_JS, path)
        except Exception:  # noqa: BLE001 - the page may be gone; the server shuts kernels down below
            pass
        page.close()
        lab.shutdown_kernels()
        run.seconds = time.monotonic() - start
    return run


def full_page_screenshot(page: Any, path: str, target: Path) -> Path:
    """Collapse the side panels, grow the viewport to the notebook's height and screenshot it all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1280, "height": 900}
    layout = page.evaluate(_LAYOUT_JS, path)
    page.wait_for_timeout(300)
    layout = page.evaluate(_LAYOUT_JS, path)
    height = min(int(layout["scroll"] + layout["inner"] - layout["client"] + 40), 30_000)
    page.set_viewport_size({"width": size["width"], "height": max(height, size["height"])})
    page.wait_for_timeout(500)
    page.evaluate(_SCROLL_TOP_JS, path)  # Run All left it scrolled to the last cell
    page.wait_for_timeout(500)
    page.screenshot(path=str(target), full_page=True)
    page.set_viewport_size(size)
    return target


def hangul_probe_without_cjk_font(playwright: Any, work_dir: Path) -> dict[str, Any]:
    """The Hangul probe in a Chromium that sees one Latin-only font (matplotlib's DejaVu Sans).

    Proves :data:`HANGUL_PROBE_JS` can fail: fontconfig is pointed at a config listing that one font.
    """
    import matplotlib

    fonts = work_dir / "fonts"
    fonts.mkdir(parents=True, exist_ok=True)
    dejavu = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    (fonts / dejavu.name).write_bytes(dejavu.read_bytes())
    conf = work_dir / "fonts.conf"
    conf.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{fonts}</dir><cachedir>{work_dir / 'fc-cache'}</cachedir></fontconfig>
""", encoding="utf-8")
    env = dict(os.environ, FONTCONFIG_FILE=str(conf), FONTCONFIG_PATH=str(work_dir))
    context = launch_chromium(playwright, work_dir / "profile-nocjk", env=env)
    try:
        page = context.new_page()
        page.set_content("<p style='font-family: sans-serif'>한글 Hangul</p>")
        return page.evaluate(HANGUL_PROBE_JS, "sans-serif")
    finally:
        context.close()
