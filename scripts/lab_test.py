"""The notebook in a real JupyterLab (issue 13, item 3), as a student would run it.

Starts JupyterLab headless on 127.0.0.1 under a JupyterHub-like prefix (/user/student/),
opens a copy of the notebook in headless Chromium (Debian's, driven by Playwright), runs
Run > Run All Cells, and checks in the lab's own DOM what a student sees: no error
output, the settings table as an HTML <table>, the charts as <svg>, and the live page's
frame showing the trending table, once through jupyter-server-proxy (the frame's script
picks `<base_url>proxy/<port>/<secret>/`) and once direct (a second window where the
proxy answers 404, as on a server without it: the frame must keep http://127.0.0.1:<port>/).
Screenshots go to artifacts/lab/*.png, JupyterLab's log to artifacts/lab/jupyterlab.log.
At the end, pass or fail, it shuts the kernel down through Jupyter's API, stops
JupyterLab and checks that no process of the notebook is left.

Usage: python scripts/lab_test.py [notebook, default Notebook.ipynb]
Uses EVCXR_TMPDIR (default .evcxr-build) and HELPERS_BIN_DIR from the environment, like
scripts/run_notebook; the stream settings default to the short ones of scripts/test.
Needs scripts/setup (the venv with JupyterLab, jupyter-server-proxy and Playwright; the
Rust kernel; chromium). Exits 1 on failure.
"""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbjson

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "artifacts" / "lab"
BIN = Path(sys.executable).parent  # the venv's bin: jupyter is there
BASE = "/user/student/"  # as JupyterHub serves a user's server
COPY = "Notebook.lab.ipynb"  # next to the original, so `:dep helpers = { path = "helpers" }` works
CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if os.path.exists(p)), None)
# The short settings of scripts/test (scripts/short_settings.env); the environment may
# override them.
SETTINGS = nbjson.short_settings()
RUN_TIMEOUT = float(os.environ.get("LAB_TEST_TIMEOUT", "1500"))  # the whole notebook, s

started = time.monotonic()
failures = []


def log(msg):
    print(f"[lab {time.monotonic() - started:6.1f}s] {msg}", flush=True)


def check(ok, what, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}: {what}" + (f" ({detail})" if detail else ""), flush=True)
    if not ok:
        failures.append(what)
    return ok


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server of our own, and its REST API."""

    def __init__(self, env, port, token):
        self.port, self.token = port, token
        self.url = f"http://127.0.0.1:{port}{BASE}"
        self.log_file = open(ARTIFACTS / "jupyterlab.log", "w")
        self.proc = subprocess.Popen(
            [str(BIN / "jupyter"), "lab", "--no-browser",
             "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", f"--ServerApp.base_url={BASE}",
             f"--ServerApp.root_dir={REPO}",
             # The app object in window.jupyterapp: the test reads cells' execution counts.
             "--LabApp.expose_app_in_browser=True",
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
            + (["--allow-root"] if os.geteuid() == 0 else []),  # CI runs as root
            cwd=REPO, env=env, stdout=self.log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one below
        )

    def api(self, path, method="GET"):
        req = urllib.request.Request(self.url + "api/" + path, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
            return json.loads(body) if body else None

    def wait_up(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.proc.returncode}): see {self.log_file.name}")
            try:
                self.api("status")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("JupyterLab did not answer within 90 s")

    def stop(self):
        """Shuts every kernel down through the API, then the server; kills what is left."""
        if self.proc.poll() is None:
            try:
                for k in self.api("kernels"):
                    log(f"shutting down kernel {k['id']} ({k['name']}, {k['execution_state']})")
                    self.api(f"kernels/{k['id']}", method="DELETE")
            except OSError as e:
                log(f"could not shut the kernels down through the API: {e}")
            try:
                self.api("shutdown", method="POST")
            except OSError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log("JupyterLab did not stop: SIGTERM to its process group")
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)  # kernels it started that are still there
            except ProcessLookupError:
                break
            time.sleep(2)
        self.proc.wait()
        self.log_file.close()


# JavaScript run in the lab page (window.jupyterapp: --LabApp.expose_app_in_browser).
JS_STATE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return null;
  const cells = panel.content.model.cells;
  let code = 0, ran = 0; const errors = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    code++;
    if (c.executionCount !== null) ran++;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j);
      if (o.type === 'error') errors.push(i + ': ' + JSON.stringify(o.toJSON()).slice(0, 600));
    }
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {code, ran, errors, kernel: kernel ? kernel.status : 'none'};
}"""

JS_FIND_CELL = """(snippet) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  for (let i = 0; i < cells.length; i++)
    if (cells.get(i).type === 'code' && cells.get(i).sharedModel.getSource().includes(snippet)) return i;
  return -1;
}"""

# Scrolls cell i (or the element `selector` in it) to the top of the notebook, again until
# it stays put: cells off screen have estimated heights until they render.
JS_SCROLL_TO = """async ([i, selector]) => {
  const node = window.jupyterapp.shell.currentWidget.content.widgets[i].node;
  const target = (selector && node.querySelector(selector)) || node;
  let last = null;
  for (let k = 0; k < 10; k++) {
    target.scrollIntoView({block: 'start'});
    await new Promise(r => setTimeout(r, 300));
    const top = target.getBoundingClientRect().top;
    if (last !== null && Math.abs(top - last) < 2) break;
    last = top;
  }
}"""

JS_OUTPUT = """([i, selector]) => {
  const node = window.jupyterapp.shell.currentWidget.content.widgets[i].node;
  const out = node.querySelector('.jp-OutputArea');
  return out ? Array.from(out.querySelectorAll(selector)).map(e => e.outerHTML.length) : [];
}"""

# Inside the live page's frame: a table with at least one hashtag row.
JS_FRAME_HAS_TABLE = """() => Array.from(document.querySelectorAll('table td'))
  .some(td => td.textContent.trim().startsWith('#'))"""


def cell_index(page, snippet):
    i = page.evaluate(JS_FIND_CELL, snippet)
    check(i >= 0, f"a code cell contains {snippet!r}")
    return i


def shot(page, name, index, selector=None):
    """A screenshot of the lab's window with cell `index` (or `selector` in it) at the top.
    (The whole window: JupyterLab scrolls inside the notebook, not the page.)"""
    page.evaluate(JS_SCROLL_TO, [index, selector])
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    log(f"screenshot {path.relative_to(REPO)}")


def wait_live_frame(page, timeout_s):
    """Waits for the live cell's box to settle (its script chose `proxy` or `direct`), or
    fails early if an error output stopped Run All; returns the choice, the frame's src and
    whether the frame shows the trending table."""
    deadline = time.monotonic() + timeout_s
    while True:
        box = page.query_selector(".stream-demo-live[data-live-via='proxy'], "
                                  ".stream-demo-live[data-live-via='direct']")
        if box:
            break
        state = page.evaluate(JS_STATE)
        if state and state["errors"]:
            raise RuntimeError("an error stopped Run All before the live frame: " + state["errors"][0])
        if time.monotonic() > deadline:
            raise RuntimeError(f"no live frame within {timeout_s:.0f} s")
        time.sleep(1)
    via = box.get_attribute("data-live-via")
    frame_el = box.query_selector("iframe")
    src = frame_el.get_attribute("src")
    try:
        frame_el.content_frame().wait_for_function(JS_FRAME_HAS_TABLE, timeout=30_000)
        shows = True
    except Exception as e:  # noqa: BLE001 - reported as a FAIL line
        log(f"the frame shows no trending table: {e}")
        shows = False
    return via, src, shows


def run(browser, lab):
    page_url = f"{lab.url}lab/tree/{COPY}?token={lab.token}"
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.on("pageerror", lambda e: log(f"page error: {e}"))
    log(f"opening {page_url.replace(lab.token, '<token>')}")
    page.goto(page_url)
    page.wait_for_function("() => { const s = (" + JS_STATE + ")(); return s && s.kernel === 'idle'; }",
                           timeout=120_000)
    log("notebook open, kernel idle: Run > Run All Cells")
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    run_started = time.monotonic()

    # The live frame, while the page is up (it stops in the clean-up cell).
    via, src, shows = wait_live_frame(page, RUN_TIMEOUT)
    log(f"live frame via the {via}: {src}")
    check(via == "proxy", "the frame's script found jupyter-server-proxy", via)
    check(re.fullmatch(rf"http://127\.0\.0\.1:{lab.port}{BASE}proxy/\d+/[0-9a-f]{{32}}/", src or "") is not None,
          "the live frame goes through jupyter-server-proxy under the base URL", src)
    check(shows, "the live frame, through the proxy, shows the trending table (a row with a hashtag)")
    live = cell_index(page, "live.show()")
    shot(page, "3-live-frame-proxy.png", live, ".stream-demo-live")
    live_port = re.search(r"proxy/(\d+)/", src or "proxy/0/").group(1)

    check_direct(page, lambda: browser.new_context(viewport={"width": 1400, "height": 1000}),
                 f"{lab.url}lab/workspaces/direct/tree/{COPY}?token={lab.token}", live_port)

    # Until every code cell ran (or an error stopped Run All).
    state = None
    while time.monotonic() - run_started < RUN_TIMEOUT:
        state = page.evaluate(JS_STATE)
        if state["errors"] or (state["ran"] == state["code"] and state["kernel"] == "idle"):
            break
        time.sleep(2)
    log(f"run all: {state['ran']}/{state['code']} code cells ran, kernel {state['kernel']}, "
        f"{time.monotonic() - run_started:.0f} s")
    check(not state["errors"], "no error output", "; ".join(state["errors"])[:2000])
    check(state["ran"] == state["code"] and state["kernel"] == "idle",
          "every code cell has an execution count and the kernel is idle",
          f"{state['ran']}/{state['code']}, kernel {state['kernel']}")

    # What a student sees, from the lab's DOM.
    i = cell_index(page, "settings.show()")
    check(len(page.evaluate(JS_OUTPUT, [i, "table"])) >= 1, "the settings table renders as an HTML <table>")
    shot(page, "1-settings-table.png", i)
    i = cell_index(page, "pipeline.show_top()")
    check(len(page.evaluate(JS_OUTPUT, [i, "svg"])) >= 1, "the first chart (top hashtags) renders as <svg>")
    shot(page, "2-first-chart.png", i)
    i = cell_index(page, "pipeline.show_trending()")
    check(len(page.evaluate(JS_OUTPUT, [i, "table"])) >= 1, "the trending table renders as an HTML <table>")
    i = cell_index(page, "pipeline.show_trend()")
    check(len(page.evaluate(JS_OUTPUT, [i, "svg"])) >= 1, "the trend chart (count per window) renders as <svg>")
    shot(page, "5-trend-chart.png", i)
    i = cell_index(page, "clean_up(")
    check(len(page.evaluate(JS_OUTPUT, [i, "table"])) >= 1, "the clean-up table renders")
    shot(page, "6-clean-up.png", i)
    # The value, not the words: the clean-up view's data block (what check_notebook reads).
    left = page.evaluate("""(i) => {
      const node = window.jupyterapp.shell.currentWidget.content.widgets[i].node;
      const block = node.querySelector('.jp-OutputArea script[data-stream-demo="clean_up"]');
      return block ? JSON.parse(block.textContent).left : null;
    }""", i)
    check(left == 0, "the clean-up table reports 0 processes left running", repr(left))

    check_slides(page)
    context.close()


def check_direct(page, new_context, url, live_port, name=""):
    """Saves the notebook open in `page`, opens it at `url` in a second window where the
    proxy is missing (every proxy/ URL answers 404) and checks that the live frame falls
    back to the direct address and shows the trending table there."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^File$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Save Notebook$")).click()
    time.sleep(2)
    direct = new_context()
    direct.route(re.compile(r".*/proxy/\d+/.*"), lambda route: route.fulfill(status=404, body="no proxy here"))
    page2 = direct.new_page()
    page2.goto(url)
    via2, src2, shows2 = wait_live_frame(page2, 120)
    log(f"live frame without the proxy: {via2}, {src2}")
    check(via2 == "direct", "without the proxy, the frame's script falls back to the direct address", via2)
    check(re.fullmatch(rf"http://127\.0\.0\.1:{live_port}/[0-9a-f]{{32}}/", src2 or "") is not None,
          "without jupyter-server-proxy the live frame keeps the direct address", src2)
    check(shows2, "the live frame, direct, shows the trending table")
    shot(page2, f"{name}4-live-frame-direct.png", page2.evaluate(JS_FIND_CELL, "live.show()"), ".stream-demo-live")
    direct.close()


JS_SLIDE = """() => { const s = document.querySelector('.reveal .slides section.present');
  return s ? s.textContent.slice(0, 200) : null; }"""


def check_slides(page, name="", tab=False):
    """RISE (jupyterlab-rise) is installed, and its preview shows the lesson's first slide
    (the cells' slide metadata) in a panel of its own; or, with `tab`, its slideshow in a
    tab of its own (on JupyterHub, whose servers forbid framing their pages, the preview
    panel stays empty)."""
    has = page.evaluate("() => ['RISE:slideshow', 'RISE:preview'].map(c => window.jupyterapp.commands.hasCommand(c))")
    check(all(has), "RISE's slideshow and preview commands are there", repr(has))
    if tab:
        with page.context.expect_page(timeout=60_000) as opened:
            page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0;"
                          " return window.jupyterapp.commands.execute('RISE:slideshow'); }")
        show = opened.value
        try:
            show.wait_for_function(f"() => {{ const t = ({JS_SLIDE})(); return t && t.includes('Live stream'); }}",
                                   timeout=60_000)
            slide = show.evaluate(JS_SLIDE)
        except Exception as e:  # noqa: BLE001 - reported below
            log(f"no title slide in the slideshow's tab: {e}")
            slide = None
        show.screenshot(path=str(ARTIFACTS / f"{name}7-slides.png"))
        log(f"screenshot {(ARTIFACTS / f'{name}7-slides.png').relative_to(REPO)}")
        check(bool(slide) and "Live stream processing" in slide,
              "the RISE slideshow shows the lesson's title slide", repr(slide))
        show.close()
        return
    # The preview opens at the active cell: the first one, the lesson's title.
    page.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0;"
                  " return window.jupyterapp.commands.execute('RISE:preview'); }")
    slide = None
    for _ in range(30):
        frames = [f for f in page.frames if f != page.main_frame]
        for f in frames:
            try:
                slide = f.evaluate(JS_SLIDE)
            except Exception:  # noqa: BLE001 - the frame may still be loading
                slide = None
            if slide:
                break
        if slide:
            break
        time.sleep(1)
    page.screenshot(path=str(ARTIFACTS / f"{name}7-slides.png"))
    log(f"screenshot {(ARTIFACTS / f'{name}7-slides.png').relative_to(REPO)}")
    check(bool(slide) and "Live stream processing" in slide,
          "the RISE preview shows the lesson's title slide", repr(slide))


def failure_screenshots(browser):
    """What every open page showed when a test failed: artifacts/.../failure-<i>-<j>.png."""
    for i, ctx in enumerate(browser.contexts):
        for j, pg in enumerate(ctx.pages):
            try:
                pg.screenshot(path=str(ARTIFACTS / f"failure-{i}-{j}.png"))
            except Exception:  # noqa: BLE001 - best effort
                pass


def leftovers(state_dir):
    """Pids of processes whose command line names the run's state directory."""
    found = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            try:
                if state_dir.encode() in (d / "cmdline").read_bytes():
                    found.append(int(d.name))
            except OSError:
                pass
    return found


def main():
    notebook = sys.argv[1] if len(sys.argv) > 1 else "Notebook.ipynb"
    if CHROMIUM is None:
        sys.exit("lab_test: chromium is not installed: run 'bash scripts/setup'")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("lab_test: Playwright is not installed in .venv: run 'bash scripts/setup'")
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    tmp = Path(tempfile.mkdtemp(prefix="lab-test-"))
    state_dir = str(tmp / "state")
    nb = nbjson.load(REPO / notebook)
    for c in nbjson.code_cells(nb):
        c["outputs"], c["execution_count"] = [], None
    nbjson.save(nb, REPO / COPY)

    env = dict(os.environ)
    for k, v in SETTINGS.items():
        env.setdefault(k, v)
    env["STREAM_DEMO_DIR"] = state_dir
    env.setdefault("EVCXR_TMPDIR", str(REPO / ".evcxr-build"))
    env["CARGO_HOME"] = str(REPO / ".cargo-home")  # as scripts/kernel_env sets it
    env["PATH"] = f"{BIN}:{Path.home() / '.cargo/bin'}:{env.get('PATH', '')}"
    # A lab of its own: user settings, workspaces and config start empty (no news prompt).
    for var, sub in (("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                     ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime")):
        env[var] = str(tmp / sub)
        (tmp / sub).mkdir()
    news = tmp / "settings" / "@jupyterlab" / "apputils-extension"
    news.mkdir(parents=True)
    (news / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
    log(f"{notebook} -> {COPY}; EVCXR_TMPDIR={env['EVCXR_TMPDIR']}; STREAM_DEMO_DIR={state_dir}")

    lab = Lab(env, free_port(), secrets.token_hex(16))
    try:
        lab.wait_up()
        log(f"JupyterLab up at {lab.url}")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            try:
                run(browser, lab)
            except Exception:
                failure_screenshots(browser)
                raise
            finally:
                browser.close()
    except Exception as e:  # noqa: BLE001 - any failure is reported, then everything stopped
        check(False, "the lab test ran to the end", f"{type(e).__name__}: {e}")
    finally:
        lab.stop()
        log("JupyterLab stopped")
        # The notebook's programs exit by themselves within ~2 s of their kernel's end
        # (`--parent-pid`); what is still there after 5 s is a failure (and is killed).
        deadline = time.monotonic() + 5
        while (left := leftovers(state_dir)) and time.monotonic() < deadline:
            time.sleep(0.5)
        what = []
        for pid in left:
            try:
                what.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200])
                os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        check(not left, "no process of the notebook left running", "; ".join(what))
        for p in (REPO / COPY, REPO / ".ipynb_checkpoints" / COPY.replace(".ipynb", "-checkpoint.ipynb")):
            p.unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
    took = time.monotonic() - started
    if failures:
        print(f"lab test: FAIL ({len(failures)} failed) in {took:.0f} s; screenshots in artifacts/lab/")
        sys.exit(1)
    print(f"lab test: PASS in {took:.0f} s; screenshots in artifacts/lab/")


if __name__ == "__main__":
    main()
