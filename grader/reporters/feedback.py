"""Each student's own feedback, to hand back: the text of feedback/<student>.md and .html.

Like nbgrader's ``generate_feedback``: the assignment, the student, the score, then each item's
status, points and feedback. The score says what the late policy took off (raw points, days
late, penalty) and an item scored by hand says so, with the reason. Everything comes from the
student's own result, nothing else: no other student, no answer key, no hidden test, not even
the analysis of their answers. The HTML is a page of its own (no script, no link out, every
text escaped). Not a class file of the aggregate pass (200,000 more files would double a
MOOC's merge): ``grade feedback`` writes them when they are to be handed out, after the due
date, one student at a time (``grader.batch.feedback_files``).
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping

from grader.reporters import ERROR, NO_SUBMISSION, StudentResult
from grader.reporters.report_md import markdown_text
from grader.results.points import points_phrase, points_text, score_text

FOLDER = "feedback"


def _name(item_id: str, titles: Mapping[str, str]) -> str:
    return f"{item_id} {titles[item_id]}" if item_id in titles else item_id


def score_lines(s: StudentResult) -> Iterator[str]:
    """The score in sentences: the total, and what the late policy did (plain text)."""
    if s.status == NO_SUBMISSION:
        yield f"No submission was received. Score: {score_text(s.total, s.max_total)}."
        return
    if s.status == ERROR:
        yield f"Your submission could not be graded: {s.error or 'no reason recorded'}"
    late = s.late
    if late is not None and late.penalty:
        yield (f"Score: {score_text(s.total, s.max_total)} (items {points_text(s.raw, s.max_total)}, "
               f"late penalty {points_text(late.penalty)}).")
    else:
        yield f"Score: {score_text(s.total, s.max_total)}."
    if late is None:
        return
    if late.days_late is None:
        yield "The time of your submission is not known, so no late penalty was applied."
    elif late.days_late == 0:
        yield f"Submitted {late.submitted_at}, due {late.due}: on time."
    else:
        days = f"{late.days_late} day{'s' * (late.days_late != 1)}"
        yield (f"Submitted {late.submitted_at}, due {late.due}: {days} late, "
               f"{points_phrase(late.penalty)} off.")
    if late.policy:
        yield f"Late policy: {late.policy}."


def _item_feedback(s: StudentResult, item_id: str) -> str:
    """An item's feedback, less the reason a submission could not be graded (said once, at the
    top, rather than under every item)."""
    feedback = s.items[item_id].feedback
    return "" if s.status == ERROR and s.error and feedback.strip() == s.error.strip() else feedback


def _item_status(s: StudentResult, item_id: str) -> str:
    item = s.items[item_id]
    return f"{item.status.label.replace('_', ' ')}" + (" (scored by hand)" if item_id in s.overrides else "")


def feedback_markdown(s: StudentResult, titles: Mapping[str, str] | None = None) -> str:
    titles = titles or {}
    lines = [f"# Feedback: {markdown_text(s.assignment or 'grade batch', None)}", "",
             f"Student: {markdown_text(s.student, None)}", ""]
    lines += [markdown_text(line, None) + "  " for line in score_lines(s)]
    lines += ["", "| Item | Status | Points |", "|---|---|---|"]
    for item_id, item in s.items.items():
        lines.append(f"| {markdown_text(_name(item_id, titles), None)} | {_item_status(s, item_id)} | "
                     f"{score_text(item.score, item.max_score)} |")
    for item_id, item in s.items.items():
        lines += ["", f"## {markdown_text(_name(item_id, titles), None)}", "",
                  f"{_item_status(s, item_id).capitalize()}: {score_text(item.score, item.max_score)}", ""]
        lines += [f"- {markdown_text(line, None)}" for line in _item_feedback(s, item_id).splitlines()
                  if line.strip()]
    return "\n".join(lines).rstrip() + "\n"


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;"
          "line-height:1.45}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .6rem;"
          "text-align:left}.feedback{white-space:pre-wrap}")


def feedback_html(s: StudentResult, titles: Mapping[str, str] | None = None) -> str:
    titles = titles or {}
    e = html.escape
    title = f"Feedback: {s.assignment or 'grade batch'}"
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
             "style-src 'unsafe-inline'\">",
             f"<title>{e(title)}: {e(s.student)}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{e(title)}</h1>", f"<p>Student: {e(s.student)}</p>"]
    parts += [f"<p>{e(line)}</p>" for line in score_lines(s)]
    parts.append("<table><thead><tr><th>Item</th><th>Status</th><th>Points</th></tr></thead><tbody>")
    for item_id, item in s.items.items():
        parts.append(f"<tr><td>{e(_name(item_id, titles))}</td><td>{e(_item_status(s, item_id))}</td>"
                     f"<td>{e(score_text(item.score, item.max_score))}</td></tr>")
    parts.append("</tbody></table>")
    for item_id, item in s.items.items():
        points = score_text(item.score, item.max_score)
        parts += [f"<h2>{e(_name(item_id, titles))}</h2>",
                  f"<p>{e(_item_status(s, item_id).capitalize())}: {e(points)}</p>"]
        if (feedback := _item_feedback(s, item_id)).strip():
            parts.append(f'<p class="feedback">{e(feedback)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
