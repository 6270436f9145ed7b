"""The HTML of ``grade serve``: the overview (chapters, mastery, the day streak), an item's page
and its result, written on the server. Every text from the bank, the workspace or a result is
escaped; the pages load one script and one style sheet from the server (``static/``) and
nothing else, so the Content-Security-Policy can forbid inline script and other origins.

Every control has a label, and the keyboard reaches all of them: the answer box submits on
Enter, options are radio buttons or checkboxes in a fieldset, steps move with buttons as well
as by dragging, and results are announced (``aria-live``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import quote

from grader.grading.report import ItemOutcome
from grader.model.entry import ManifestItem
from grader.reporters.terminal import points_cell
from grader.results.status import Status
from grader.serve.views import FILE, MANY, ONE, ORDER, TEXT, ItemView, Standing

GRADED_NOTE = ("Graded workspace: answers are checked for format only, as 'grade check' does here; "
               "they are graded after you submit.")


def e(text: object) -> str:
    return escape(str(text), quote=True)


def item_url(item_id: str, action: str = "") -> str:
    return f"/item/{quote(item_id, safe='')}" + (f"/{action}" if action else "")


def document(title: str, body: str, csrf: str, stamp: str, stamp_url: str) -> str:
    """A whole page around ``body``."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf" content="{e(csrf)}">
<title>{e(title)} · grade serve</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/serve.css">
<script src="/static/serve.js" defer></script>
</head>
<body data-stamp="{e(stamp)}" data-stamp-url="{e(stamp_url)}">
<a class="skip" href="#main">Skip to the content</a>
{body}
</body>
</html>
"""


def standing_html(standing: Standing) -> str:
    """The header's summary: mastery overall (readable, in a graded workspace) and the streak."""
    what = "Readable" if standing.graded else "Mastery"
    days = f"{standing.streak} day{'s' * (standing.streak != 1)}"
    return (f'<span class="mastery">{what} <strong>{standing.done}/{standing.total}</strong>'
            f'<progress max="{standing.total}" value="{standing.done}" aria-label="{what}">'
            f"{standing.done}/{standing.total}</progress></span>"
            f'<span class="streak" title="Days in a row with a check">Day streak '
            f"<strong>{days}</strong></span>")


def header(name: str, standing: Standing) -> str:
    return (f'<header class="top"><a class="home" href="/">{e(name)}</a>'
            f'<div id="standing" aria-live="polite">{standing_html(standing)}</div></header>')


def _status(status: Status) -> str:
    return (f'<span class="status st-{e(status.style)}" title="{e(status.description)}">'
            f'<span aria-hidden="true">{e(status.symbol)}</span> {e(status.label.replace("_", " "))}</span>')


def overview(name: str, mode: str, standing: Standing, entries: Sequence[ManifestItem],
             titles: dict[int, str]) -> str:
    """The chapters, each with its mastery and its items' latest status."""
    graded = mode == "graded"
    parts = [f'<main id="main"><h1>{e(name)}</h1>']
    if graded:
        parts.append(f'<p class="note">{e(GRADED_NOTE)}</p>')
    if standing.warning:
        parts.append(f'<p class="warning">warning: {e(standing.warning)}</p>')
    parts.append('<p class="lead">Pick an item, answer it here or in answers.yaml: both are the same '
                 "workspace, and <code>grade check</code> agrees with this page.</p>")
    by_chapter: dict[int, list[ManifestItem]] = {}
    for entry in entries:
        by_chapter.setdefault(entry.chapter, []).append(entry)
    rows = {r.chapter: r for r in standing.rows}
    for chapter, items in by_chapter.items():
        row = rows[chapter]
        done = row.answered if graded else row.mastered
        label = "readable" if graded else "mastered"
        parts.append(f'<section class="chapter" aria-labelledby="ch-{chapter}">'
                     f'<h2 id="ch-{chapter}">Chapter {chapter} · {e(titles.get(chapter, ""))}</h2>'
                     f'<p class="chapter-mastery">{done}/{row.total} {label} '
                     f'<progress max="{row.total}" value="{done}" aria-label="Chapter {chapter} {label}">'
                     f"{done}/{row.total}</progress></p><ul class=\"items\">")
        for entry in items:
            status = Status.lookup(standing.statuses[entry.id].status) or Status.UNANSWERED
            parts.append(f'<li><a href="{item_url(entry.id)}"><span class="id">{e(entry.id)}</span> '
                         f"{e(entry.title)}</a> <span class=\"kind\">{e(entry.type)}</span> "
                         f"{_status(status)}</li>")
        parts.append("</ul></section>")
    parts.append("</main>")
    return "".join(parts)


def _lines(lines: Iterable[str], cls: str) -> str:
    return "".join(f'<p class="{cls}">{e(line)}</p>' for line in lines)


def result_html(outcome: ItemOutcome | None, warnings: Sequence[str], error: str | None,
                graded: bool) -> str:
    """The result of the item's check: status, points, feedback, the next hint, and the worked
    solution once right: what ``grade check`` prints for it."""
    parts = ['<h2 id="result-title">Result</h2>']
    if error:
        parts.append(f'<p class="error" role="alert">{e(error)}</p>')
    if outcome is not None:
        parts.append(f'<p class="verdict">{_status(outcome.result.status)} '
                     f'<span class="points">{e(points_cell([outcome]))} '
                     f'point{"s" * (outcome.entry.points != 1)}</span></p>')
        parts.append(f'<div class="feedback">{_lines(outcome.result.feedback, "line")}</div>')
        if outcome.hint:
            parts.append(f'<p class="hint">{e(outcome.hint)}</p>')
        if outcome.derivation:
            parts.append(f'<details class="derivation" open><summary>Worked solution</summary>'
                         f'<div class="prose">{e(outcome.derivation)}</div></details>')
    if graded:
        parts.append(f'<p class="note">{e(GRADED_NOTE)}</p>')
    parts += [f'<p class="warning">warning: {e(w)}</p>' for w in warnings]
    return "".join(parts)


def _hidden(csrf: str) -> str:
    return f'<input type="hidden" name="csrf" value="{e(csrf)}">'


def _busy(what: str) -> str:
    return f'<span class="busy" role="status" hidden>{e(what)}</span>'


def _text_form(view: ItemView, csrf: str) -> str:
    described = ' aria-describedby="asked"' if view.asked else ""
    return (f'<form class="answer" method="post" action="{item_url(view.entry.id, "answer")}" data-check>'
            f'{_hidden(csrf)}<label for="answer">Your answer</label>'
            f'<input id="answer" name="answer" type="text" value="{e(view.answer)}" autocomplete="off" '
            f'spellcheck="false" maxlength="1000"{described}>'
            f'<button type="submit">Check</button>{_busy("Checking…")}'
            '<p class="help">Numbers, arithmetic and units: 52000, 5.2 x 10^4, 34.36 GFLOPs, 2^20, 1/3, 15%. '
            "Press Enter to check.</p></form>")


def _choice_form(view: ItemView, csrf: str) -> str:
    many = view.control == MANY
    kind, legend = ("checkbox", "Choose every correct option") if many else ("radio", "Choose one option")
    options = "".join(
        f'<div class="option"><input type="{kind}" id="opt-{e(label)}" name="answer" value="{e(label)}"'
        f'{" checked" if label in view.chosen else ""}>'
        f'<label for="opt-{e(label)}"><b>{e(label)}.</b> {e(text)}</label></div>'
        for label, text in view.choices)
    return (f'<form class="answer" method="post" action="{item_url(view.entry.id, "answer")}" data-check>'
            f'{_hidden(csrf)}<fieldset><legend>{legend}</legend>{options}</fieldset>'
            f'<button type="submit">Check</button>{_busy("Checking…")}</form>')


def _order_form(view: ItemView, csrf: str) -> str:
    texts = dict(view.choices)
    steps = "".join(
        f'<li class="step" draggable="true" data-label="{e(label)}">'
        f'<input type="hidden" name="answer" value="{e(label)}">'
        f'<span class="grip" aria-hidden="true">⠿</span>'
        f'<span class="step-text"><b>{e(label)}.</b> {e(texts.get(label, ""))}</span>'
        f'<span class="moves">'
        f'<button type="button" class="up" aria-label="Move step {e(label)} up">↑</button>'
        f'<button type="button" class="down" aria-label="Move step {e(label)} down">↓</button></span></li>'
        for label in view.chosen)
    return (f'<form class="answer" method="post" action="{item_url(view.entry.id, "answer")}" data-check>'
            f'{_hidden(csrf)}<p id="order-help" class="help">Put the steps in order: drag them, or use '
            "each step's ↑ and ↓ buttons (Tab to reach them).</p>"
            f'<ol class="steps" aria-describedby="order-help">{steps}</ol>'
            '<p class="sr-only" id="order-status" aria-live="polite"></p>'
            f'<button type="submit">Check order</button>{_busy("Checking…")}</form>')


def _code_form(view: ItemView, csrf: str) -> str:
    name = view.entry.files[0]
    return (f'<form class="code" method="post" action="{item_url(view.entry.id, "code")}" data-check>'
            f'{_hidden(csrf)}<label for="source">{e(name)} <span class="help">(saved to your workspace; '
            "your editor sees the same file)</span></label>"
            f'<textarea id="source" name="source" rows="24" spellcheck="false" autocomplete="off" '
            f'autocapitalize="off">{e(view.code or "")}</textarea>'
            f'<button type="submit">Save and run tests</button>'
            f'{_busy("Running the tests in the sandbox…")}</form>')


FORMS = {TEXT: _text_form, ONE: _choice_form, MANY: _choice_form, ORDER: _order_form, FILE: _code_form}


def item_page(view: ItemView, graded: bool, csrf: str, before: ManifestItem | None,
              after: ManifestItem | None, chapter_title: str) -> str:
    """One item: its prompt at the workspace's variant, what to answer in, the control, and the
    result of its check."""
    entry = view.entry
    links = ['<a href="/">All chapters</a>']
    if before is not None:
        links.append(f'<a href="{item_url(before.id)}" rel="prev">← {e(before.id)}</a>')
    if after is not None:
        links.append(f'<a href="{item_url(after.id)}" rel="next">{e(after.id)} →</a>')
    points = f"{entry.points:g} point{'s' * (entry.points != 1)}"
    parts = [f'<nav class="crumbs" aria-label="Items">{" ".join(links)}</nav>',
             f'<main id="main" data-item="{e(entry.id)}">',
             f'<p class="chapter-name">Chapter {entry.chapter} · {e(chapter_title)}</p>',
             f'<h1><span class="id">{e(entry.id)}</span> {e(entry.title)}</h1>',
             f'<p class="meta">{e(entry.type)} · {points}</p>',
             f'<div class="prose prompt">{e(view.prompt)}</div>']
    if view.asked:
        parts.append(f'<p id="asked" class="asked">{e(view.asked)}</p>')
    parts.append(FORMS[view.control](view, csrf))
    parts.append('<section id="result" class="result" aria-live="polite" aria-labelledby="result-title">'
                 f"{result_html(view.outcome, view.warnings, view.error, graded)}</section></main>")
    return "".join(parts)


def forward_page(url: str) -> str:
    """A page that goes on to ``url`` at once (a link too, for a browser that does not)."""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="refresh" content="0;url={e(url)}"><title>grade serve</title></head>'
            f'<body><p><a href="{e(url)}">Open grade serve</a></p></body></html>')


def message_page(title: str, text: str) -> str:
    """A refusal or an error, with no detail beyond ``text``."""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title></head>'
            f"<body><h1>{e(title)}</h1><p>{e(text)}</p></body></html>")
