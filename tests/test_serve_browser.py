"""grade serve in a real browser: Playwright drives the system's Chromium (Debian's `chromium`,
which the test command installs) headless through a student's path: open the page, answer a
derive item wrong (the targeted mistake and the hint show) and right (the worked solution shows,
mastery goes up), put a design item's steps in order with the keyboard and by dragging, submit a
broken and then a correct count_pairs (run in the sandbox, with the running state shown),
reload and see the same state; then `grade check` agrees with every status the page showed.
It saves the README's screenshot, docs/img/serve.png."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.bank.loader import load_bank
from grader.bank.user_cache import user_cache
from grader.core.paths import COURSE_ROOT, default_bank_dir
from grader.items.instance import key_entry
from grader.serve.app import Server, make_server, open_page
from grader.workspace.folder import open_workspace
from tests.workspace_helpers import CHECKOUT, check_json, grade

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, pytest.mark.linux_only]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("needs Chromium (Debian: apt-get install chromium; the test command installs it)",
                allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402  # after the skip

SCREENSHOT = CHECKOUT / "docs/img/serve.png"
REFERENCE = COURSE_ROOT / "solutions/code/count_pairs.py"
# a usual mistake: the sequences are joined, so pairs cross from one sequence into the next
BROKEN = '''def count_pairs(sequences):
    flat = [token for seq in sequences for token in seq]
    counts = {}
    for a, b in zip(flat, flat[1:]):
        counts[(a, b)] = counts.get((a, b), 0) + 1
    return counts
'''


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    ws = tmp_path / "ws"
    assert grade("init", ws, "--items", "0.1,2.5,0.6").exit_code == 0
    with user_cache():
        server = make_server(ws)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield server, ws
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 860})
            yield context.new_page()
        finally:
            browser.close()


def _open_item(page: Page, item_id: str) -> None:
    """Back to the chapters, then the item's link, as a student goes."""
    page.get_by_role("link", name="All chapters").click()
    page.get_by_role("link", name=re.compile(rf"^{re.escape(item_id)} ")).click()
    page.wait_for_load_state()  # its script too: the answers go by fetch


def _tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Reach ``selector`` with the Tab key alone, from where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
    raise AssertionError(f"Tab never reaches {selector}")


def _labelled_and_reachable(page: Page) -> None:
    """Every control has a name a screen reader reads, and none is kept from the Tab order."""
    unnamed = page.evaluate("""() => [...document.querySelectorAll(
        'a, button, input:not([type=hidden]), textarea, select, summary, progress')]
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                      && !el.textContent.trim())
        .map(el => el.outerHTML.slice(0, 100))""")
    assert unnamed == []
    assert page.locator("[tabindex^='-']").count() == 0


def _right_order(ws: Path) -> list[str]:
    entry = open_workspace(ws).manifest.item("2.5")
    assert entry is not None
    item = load_bank(default_bank_dir()).bank.items["2.5"].shuffled(entry.shuffle)
    return list(key_entry(item, entry.params or None)["answer"])


def _steps(page: Page) -> list[str]:
    return page.locator("li.step").evaluate_all("steps => steps.map(s => s.dataset.label)")


def _put_in_order(page: Page, order: list[str]) -> None:
    """The first step by dragging it to the top, the rest with the keyboard's move-up buttons."""
    first = page.locator(f'li.step[data-label="{order[0]}"]')
    if _steps(page)[0] != order[0]:
        first.drag_to(page.locator("li.step").first, target_position={"x": 40, "y": 3})
    assert _steps(page)[0] == order[0]
    for position, label in enumerate(order[1:], start=1):
        while _steps(page).index(label) > position:
            button = page.get_by_role("button", name=f"Move step {label} up")
            button.focus()
            page.keyboard.press("Enter")
    assert _steps(page) == order


def test_a_students_path_through_the_page(served: tuple[Server, Path], page: Page):
    server, ws = served
    page.goto(server.url)
    expect(page.locator("#standing")).to_contain_text("Mastery 0/3")
    assert "token=" not in page.url  # the token went to a cookie
    _labelled_and_reachable(page)

    # derive: wrong, with the targeted feedback and the hint; then right, with the derivation
    page.get_by_role("link", name="0.1 Vocabulary size of a byte-level BPE tokenizer").click()
    page.wait_for_load_state()  # its script too: the answers below go by fetch
    _labelled_and_reachable(page)
    _tab_to(page, "#answer")  # the keyboard alone: Tab to the box, type, Enter
    page.keyboard.type("32000")
    page.keyboard.press("Enter")
    answer = page.get_by_label("Your answer")
    result = page.locator("#result")
    expect(result).to_contain_text("incorrect")
    expect(result.locator(".hint")).to_contain_text("Hint 1/3")
    expect(result).to_contain_text("You counted only the tokens created by merges")
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    answer.fill("32,256")
    answer.press("Enter")
    expect(result.locator(".verdict")).to_contain_text("correct")
    expect(result.locator("details.derivation")).to_contain_text("256 + 32,000 = 32,256 tokens")
    expect(page.locator("#standing")).to_contain_text("Mastery 1/3")
    expect(page.locator("#standing")).to_contain_text("Day streak 1 day")

    # design: the steps in order by dragging and by the keyboard
    _open_item(page, "2.5")
    _labelled_and_reachable(page)
    _tab_to(page, "li.step button.up")
    _put_in_order(page, _right_order(ws))
    page.get_by_role("button", name="Check order").click()
    expect(result.locator(".verdict")).to_contain_text("correct")
    expect(page.locator("#standing")).to_contain_text("Mastery 2/3")

    # code: a broken count_pairs, then the reference; each saved and run in the sandbox
    _open_item(page, "0.6")
    _labelled_and_reachable(page)
    editor = page.get_by_label("count_pairs/count_pairs.py")
    expect(editor).to_contain_text("raise NotImplementedError")
    run = page.get_by_role("button", name="Save and run tests")
    editor.fill(BROKEN)
    run.click()
    expect(page.locator(".busy")).to_be_visible()  # "Running the tests in the sandbox…"
    expect(run).to_be_disabled()
    expect(page.locator(".busy")).to_be_hidden(timeout=120_000)
    broken = result.locator(".verdict").inner_text()
    assert "correct" not in broken.replace("incorrect", ""), broken
    assert result.locator(".feedback .line").count() >= 1
    assert (ws / "count_pairs/count_pairs.py").read_text("utf-8") == BROKEN
    editor.fill(REFERENCE.read_text("utf-8"))
    run.click()
    expect(page.locator(".busy")).to_be_hidden(timeout=120_000)
    expect(result.locator(".verdict")).to_contain_text("✓ correct")
    expect(page.locator("#standing")).to_contain_text("Mastery 3/3")

    # a reload shows the same state: the files and the progress are the workspace's
    page.reload()
    expect(page.get_by_label("count_pairs/count_pairs.py")).to_have_value(REFERENCE.read_text("utf-8"))
    expect(result.locator(".verdict")).to_contain_text("✓ correct")
    page.goto(server.url.split("?")[0] + "item/0.1")
    expect(page.get_by_label("Your answer")).to_have_value("32,256")
    expect(result.locator("details.derivation")).to_be_visible()
    page.goto(server.url.split("?")[0])
    expect(page.locator("#standing")).to_contain_text("Mastery 3/3")
    shown = {item_id: page.locator(f'li:has(a[href="/item/{item_id}"]) .status').inner_text()
             for item_id in ("0.1", "2.5", "0.6")}

    # grade check agrees with every status the page shows
    doc = check_json(ws)
    assert {i: doc["items"][i]["status"] for i in shown} == {i: "correct" for i in shown}
    assert all(text.endswith("correct") for text in shown.values()), shown
    assert "Mastery 3/3" in grade("progress", ws).output
    progress = json.loads((ws / ".grade/progress.json").read_text("utf-8"))
    assert len(progress["days"]) == 1


def test_without_javascript_the_forms_still_work(served: tuple[Server, Path]):
    server, ws = served
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_context(java_script_enabled=False).new_page()
            page.goto(server.url)
            page.get_by_role("link", name="0.1 Vocabulary size of a byte-level BPE tokenizer").click()
            page.get_by_label("Your answer").fill("32256")
            page.get_by_label("Your answer").press("Enter")
            expect(page.locator("#result .verdict")).to_contain_text("correct")
            assert page.url.endswith("/item/0.1#result")
            _open_item(page, "2.5")
            page.get_by_role("button", name="Check order").click()  # the steps as shown
            expect(page.locator("#result .verdict")).not_to_contain_text("unanswered")
        finally:
            browser.close()
    assert check_json(ws)["items"]["0.1"]["status"] == "correct"


def test_an_edit_in_an_editor_shows_without_touching_the_page(served: tuple[Server, Path], page: Page):
    server, ws = served
    page.goto(server.url.split("?")[0] + "item/0.1?token=" + server.session.gate.token)
    expect(page.locator("#result")).to_contain_text("unanswered")
    text = (ws / "answers.yaml").read_text("utf-8").replace('"0.1":', '"0.1": 32256', 1)
    (ws / "answers.yaml").write_text(text, "utf-8")  # an editor saves the file
    expect(page.get_by_label("Your answer")).to_have_value("32256", timeout=10_000)  # the page reloaded
    expect(page.locator("#result .verdict")).to_contain_text("correct")


def test_the_page_the_browser_is_opened_on_leads_to_the_session(served: tuple[Server, Path], page: Page):
    """grade serve opens the browser on a file that leads on to the link (so the token is on no
    command line): Chromium follows it from file:// to the page, with the session's cookie."""
    server, ws = served
    page.goto(open_page(server.url, ws / ".grade").as_uri())
    page.wait_for_url(f"http://127.0.0.1:{server.port}/")
    expect(page.locator("#standing")).to_contain_text("Mastery 0/3")


def test_the_link_followed_from_another_page_opens_the_session(served: tuple[Server, Path], page: Page):
    """The printed link clicked on another page (a course page, a chat, a notes file): the
    cookie is SameSite=Strict, so it must be set by a step this server takes itself, not on a
    redirect of the other site's navigation."""
    server, _ = served
    page.set_content(f'<a href="{server.url}">the link</a>')
    page.get_by_role("link", name="the link").click()
    page.wait_for_url(f"http://127.0.0.1:{server.port}/")
    expect(page.locator("#standing")).to_contain_text("Mastery 0/3")
    page.reload()
    expect(page.locator("#standing")).to_contain_text("Mastery 0/3")
