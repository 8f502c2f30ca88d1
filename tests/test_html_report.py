"""`convcost report`: one self-contained HTML page, its numbers equal to the JSON, checked in a real browser.

The page is read twice: as text (self-contained, the data it carries equal to what
`convcost table --format json` and `convcost roofline --format json` print, every cell equal to
that JSON), and in headless Chromium (Debian's package), driven over the DevTools protocol on a
pipe with the standard library only. The browser test reads the DOM after the page's script ran
(totals, row count, the in-page exact sums, sorting, folding blocks), checks that the page asked
for nothing but its own file, and takes a screenshot. It is never skipped: without Chromium it
fails and says how to install it (.ci/run installs it).
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from convcost.cli import main

SPEC_WITH_A_HOSTILE_NAME = """name = "hostile"
input = [3, 16, 16]

[[layers]]
type = "Conv2D"
name = "</script><script>alert(1)</script>&amp;"
filters = 4
kernel = 3
"""


def cli_output(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def write_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[Path, str]:
    target = tmp_path / "report.html"
    assert main(["report", *args, "-o", str(target)]) == 0
    assert capsys.readouterr() == ("", "")
    return target, target.read_text(encoding="utf-8")


def embedded_data(page: str) -> dict[str, Any]:
    match = re.search(r'<script id="convcost-data" type="application/json">\n(.*?)\n</script>', page, re.S)
    assert match, "the page carries its data"
    return dict(json.loads(match[1]))


class Cells(HTMLParser):
    """The layer table's leaf rows, each as {column class: data-sort} plus the row's path."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.in_layers = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.in_layers = a.get("id") == "layer-table"
        elif self.in_layers and tag == "tr" and "data-order" in a:
            self.rows.append({"path": a["data-path"] or ""})
        elif self.in_layers and tag == "td" and self.rows and "data-sort" in a:
            for name in ("params", "macs", "bytes"):
                if name in (a.get("class") or "").split():
                    self.rows[-1][name] = a["data-sort"] or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.in_layers = False


def test_page_is_self_contained_and_holds_the_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, page = write_report(tmp_path, capsys, "mobilenet_v1")
    assert page.startswith("<!DOCTYPE html>")
    assert "568,740,352" in page and "4,210,088" in page and "138,662,272" in page
    for outside in ("http:", "https:", "<link", " src=", "@import", "url(", "//fonts", "<iframe"):
        assert outside not in page, outside
    assert page.count("<svg") == 1 and 'class="roofline"' in page


def test_page_data_and_cells_equal_the_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = json.loads(cli_output(["table", "mobilenet_v2", "--format", "json"], capsys))
    roofline = json.loads(cli_output(["roofline", "mobilenet_v2", "--format", "json"], capsys))
    _, page = write_report(tmp_path, capsys, "mobilenet_v2")
    data = embedded_data(page)
    assert data["table"] == table and data["roofline"] == roofline
    cells = Cells()
    cells.feed(page)
    assert [row["path"] for row in cells.rows] == [layer["path"] for layer in table["layers"]]
    for row, layer in zip(cells.rows, table["layers"], strict=True):
        assert {k: int(row[k]) for k in ("params", "macs", "bytes")} == {
            k: layer[k] for k in ("params", "macs", "bytes")
        }
    totals = table["totals"]
    for name in ("params", "macs", "bytes"):
        assert f'id="total-{name}" data-value="{totals[name]}">{totals[name]:,}<' in page


def test_convention_and_dtype_reach_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = json.loads(cli_output(["table", "--convention", "keras", "--dtype", "float16", "--format", "json"], capsys))
    _, page = write_report(tmp_path, capsys, "--convention", "keras", "--dtype", "float16")
    assert embedded_data(page)["table"] == table
    assert f"{table['totals']['params']:,}" in page and table["totals"]["params"] == 4_253_864


def test_names_cannot_break_out_of_the_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "hostile.toml"
    spec.write_text(SPEC_WITH_A_HOSTILE_NAME)
    _, page = write_report(tmp_path, capsys, str(spec))
    assert "<script>alert(1)" not in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    data = embedded_data(page)
    assert data["table"]["layers"][0]["path"] == "</script><script>alert(1)</script>&amp;"


def test_without_output_the_page_goes_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    page = cli_output(["report", "lenet5"], capsys)
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")


# --- in a real browser -------------------------------------------------------------------------

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--remote-debugging-pipe",
]
#: a guard against a hung browser, not a speed limit: a page loads in well under a second
HANG_SECONDS = 120


def chromium_binary() -> str:
    for name in (os.environ.get("CONVCOST_CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return name
    pytest.fail(
        "the HTML report test needs Chromium: apt-get install -y chromium (or set CONVCOST_CHROMIUM); "
        ".ci/run installs it"
    )


class Browser:
    """Headless Chromium over the DevTools protocol on a pipe (fd 3 in, fd 4 out, NUL-separated JSON)."""

    def __init__(self, profile: str) -> None:
        commands_r, self._commands = os.pipe()
        self._replies, replies_w = os.pipe()

        def on_fds_3_and_4() -> None:  # in the child: the pipe ends where Chromium looks for them
            a, b = os.dup(commands_r), os.dup(replies_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.process = subprocess.Popen(
            [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,1000"],
            preexec_fn=on_fds_3_and_4,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_r)
        os.close(replies_w)
        self._buffer = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def _message(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._replies], [], [], HANG_SECONDS)
            assert ready, "Chromium stopped answering"
            chunk = os.read(self._replies, 1 << 20)
            assert chunk, "Chromium closed the pipe"
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return dict(json.loads(raw))

    def send(self, method: str, params: dict[str, Any] | None = None, *, browser: bool = False) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if self.session and not browser:
            message["sessionId"] = self.session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._next:
                assert "error" not in reply, (method, reply["error"])
                return dict(reply["result"])
            self.events.append(reply)

    def wait_for(self, event: str) -> dict[str, Any]:
        for seen in self.events:
            if seen.get("method") == event:
                self.events.remove(seen)
                return seen
        while True:
            reply = self._message()
            if reply.get("method") == event:
                return reply
            self.events.append(reply)

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, browser=True)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, browser=True)[
            "sessionId"
        ]
        self.send("Page.enable")
        self.send("Network.enable")
        self.send("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def js(self, expression: str) -> Any:
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in reply, reply["exceptionDetails"]
        return reply["result"].get("value")

    def requested(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, path: Path) -> None:
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self.send("Browser.close", browser=True)
            self.process.wait(HANG_SECONDS)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            os.close(self._commands)
            os.close(self._replies)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with tempfile.TemporaryDirectory(prefix="convcost-chromium-") as profile:
        b = Browser(profile)
        try:
            yield b
        finally:
            b.close()


VISIBLE_LEAVES = "[...document.querySelectorAll('#layer-table tbody tr[data-order]')].filter(r => r.offsetParent)"


def test_mobilenet_page_in_chromium(tmp_path: Path, capsys: pytest.CaptureFixture[str], browser: Browser) -> None:
    table = json.loads(cli_output(["table", "--format", "json"], capsys))
    path, _ = write_report(tmp_path, capsys, "mobilenet_v1")
    browser.open(path.as_uri())
    assert browser.js("document.documentElement.dataset.ready") == "yes"  # the script ran to its end
    check = browser.js(
        "({...document.getElementById('check').dataset, text: document.getElementById('check').textContent})"
    )
    totals = table["totals"]
    assert check["rows"] == str(len(table["layers"])) == "84"
    assert [check["params"], check["macs"], check["bytes"]] == [str(totals[k]) for k in ("params", "macs", "bytes")]
    assert check["macs"] == "568740352"
    assert check["text"].startswith("Checked in this browser: the 84 layer rows add up exactly")
    assert browser.js("document.getElementById('total-macs').textContent") == "568,740,352"
    assert browser.js(f"{VISIBLE_LEAVES}.length") == 84
    # the roofline: one dot per layer that does arithmetic (1 conv, 13 + 13 separable halves, the classifier)
    assert browser.js("document.querySelectorAll('svg.roofline circle.point').length") == 28
    # sorting by bytes, largest first, then smallest first
    most = max(table["layers"], key=lambda layer: layer["bytes"])
    least = min(table["layers"], key=lambda layer: (layer["bytes"], table["layers"].index(layer)))
    headers = "[...document.querySelectorAll('#layer-table thead th')]"
    browser.js(f"{headers}.find(th => th.textContent === 'Bytes').click()")
    assert browser.js(f"{VISIBLE_LEAVES}[0].dataset.path") == most["path"]
    browser.js(f"{headers}.find(th => th.textContent === 'Bytes').click()")
    assert browser.js(f"{VISIBLE_LEAVES}[0].dataset.path") == least["path"]
    browser.js("document.getElementById('tree-order').click()")
    assert browser.js(f"{VISIBLE_LEAVES}.map(r => r.dataset.path)") == [layer["path"] for layer in table["layers"]]
    shot = tmp_path / "mobilenet_v1.png"
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    assert browser.requested() and all(url == path.as_uri() for url in browser.requested()), browser.requested()


def test_blocks_fold_in_chromium(tmp_path: Path, capsys: pytest.CaptureFixture[str], browser: Browser) -> None:
    table = json.loads(cli_output(["table", "resnet50", "--format", "json"], capsys))
    path, _ = write_report(tmp_path, capsys, "resnet50")
    browser.open(path.as_uri())
    assert browser.js("document.documentElement.dataset.ready") == "yes"
    assert browser.js("document.getElementById('check').dataset.rows") == str(len(table["layers"])) == "176"
    visible_rows = "[...document.querySelectorAll('#layer-table tbody tr')].filter(r => r.offsetParent)"
    browser.js("document.getElementById('collapse-all').click()")
    top = list(dict.fromkeys(layer["path"].split("/")[0] for layer in table["layers"]))
    assert browser.js(f"{visible_rows}.map(r => r.dataset.path)") == top  # blocks and top-level layers
    browser.js("document.querySelector('tr[data-path=\"conv1\"] button.fold').click()")
    opened = [
        layer["path"] for layer in table["layers"] if layer["path"].startswith("conv1/") or "/" not in layer["path"]
    ]
    assert browser.js(f"{VISIBLE_LEAVES}.map(r => r.dataset.path)") == opened
    browser.js("document.getElementById('expand-all').click()")
    assert browser.js(f"{VISIBLE_LEAVES}.length") == 176
    block = browser.js("document.querySelector('tr[data-path=\"conv2\"]').cells[9].textContent")
    conv2 = sum(layer["bytes"] for layer in table["layers"] if layer["path"].startswith("conv2/"))
    assert block == f"{conv2:,}"
    browser.screenshot(tmp_path / "resnet50.png")


def test_ci_installs_chromium_before_the_tests() -> None:
    lines = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text().splitlines()
    install = next(i for i, line in enumerate(lines) if "apt-get install -y -q chromium" in line)
    tests = lines.index("pip install -e '.[test]' && python3 -m pytest")
    assert install < tests
