"""report.html: the pictures instructors look at, in one file that opens offline: the score
histogram, each item's difficulty and discrimination, and for items answered by choosing
options how often each option was chosen. Inline SVG and CSS, no script, nothing fetched;
well-formed XML (XHTML syntax), so any parser reads it. Written from the class's statistics
once every student has passed; the students are named in report.md.

Difficulty is the share of an item's points the graded students earned (1: everyone full
marks); discrimination is the correlation of the item's score with the rest of the test (the
total less the item): the point-biserial correlation for a right-or-wrong item, as Canvas's
and Gradescope's item analyses give it, corrected so the item does not correlate with itself.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator

from grader.reporters import ERROR, GRADED, NO_SUBMISSION, ItemInfo, Reporter, reporter
from grader.reporters.junit import xml_text
from grader.reporters.statistics import ChoiceTally, ClassStatistics, ItemSummary
from grader.results.points import points_text

LOW_DISCRIMINATION = 0.2  # below it an item is listed for review (Gradescope's guidance: .2 or above)
WIDTH = 640  # the figures' drawing width (they scale to the page)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th, td:first-child, td.text { text-align: left; }
svg { width: 100%; height: auto; max-width: 48em; display: block; }
svg text { font-size: 11px; fill: #333; }
.bar { fill: #4c78a8; } .right { fill: #54a24b; } .other { fill: #bab0ac; }
.review { fill: #e45756; }
.axis { stroke: #888; stroke-width: 1; } .guide { stroke: #e45756; stroke-dasharray: 4 3; }
.note { color: #555; font-size: 0.9em; }
"""


@reporter("report.html")
class ReportHtml(Reporter):
    reads_statistics = True

    def close(self) -> None:
        sink = self.out.stream("report.html")
        for part in report_html(self.stats):
            sink.write(part)


def esc(text: object) -> str:
    """Text (a student's answer, an id, a title) as inert markup that XML can hold."""
    return html.escape(xml_text(str(text)), quote=True)


def report_html(stats: ClassStatistics) -> Iterator[str]:
    items = stats.items()
    yield ('<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" lang="en">\n<head>\n'
           '<meta charset="utf-8"/>\n<title>Batch report</title>\n'
           f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>Batch report</h1>\n")
    yield (f"<p>{stats.students} students: {stats.statuses[GRADED]} graded, {stats.statuses[ERROR]} with an "
           f"error, {stats.statuses[NO_SUBMISSION]} without a submission"
           + (f", {stats.unknown.count} not on the roster" if stats.unknown.count else "")
           + (f"; {len(stats.info.unmatched)} entries matched no student" if stats.info.unmatched else "")
           + ". report.md names them.</p>\n")
    if stats.graded:
        alpha = stats.alpha()
        possible = stats.max_total or 0.0
        yield (f"<p>Mean total of graded students: {points_text(stats.mean_total, possible)} / "
               f"{points_text(possible)} (standard deviation {stats.sd_total:.2f})"
               + (f"; Cronbach's alpha {alpha:.2f}" if alpha is not None else "") + ".</p>\n")
        yield "<h2>Scores</h2>\n" + histogram(stats)
    if items:
        yield "<h2>Items</h2>\n" + item_chart(items)
        yield from item_table(items, stats)
    chosen = [(item, stats.choices[item.item_id]) for item in items if item.item_id in stats.choices]
    if chosen:
        yield ("<h2>Options chosen</h2>\n<p class=\"note\">The share of the graded students who chose "
               "each option (a multiple-select answer counts each option it names); the right ones in "
               "green.</p>\n")
        for item, tally in chosen:
            yield choice_chart(item, tally, stats.info.items[item.item_id])
    yield ("<p class=\"note\">Difficulty: the share of the item's points the graded students earned (1: "
           "everyone full marks). Discrimination: the correlation of the item's score with the rest of the "
           "test (the total less the item), the point-biserial correlation for a right-or-wrong item; "
           f"below {LOW_DISCRIMINATION} (or none, when nobody's score on it differs) it is listed for "
           "review, and a negative one often means a wrong key.</p>\n</body>\n</html>\n")


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{esc(label)}">\n<title>{esc(label)}</title>\n' + "\n".join(body) + "\n</svg>\n")


def _label(x: float, y: float, text: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{esc(text)}</text>'


def histogram(stats: ClassStatistics) -> str:
    """The graded students' totals, one bar per bin."""
    bins = stats.bins()
    height, left, bottom, top = 220, 40, 30, 10
    plot_w, plot_h = WIDTH - left - 10, height - bottom - top
    most = max((c for _, _, c in bins), default=0) or 1
    step = plot_w / len(bins)
    body = [f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}"/>',
            _label(left - 6, top + 4, str(most), "end"), _label(left - 6, top + plot_h, "0", "end")]
    for k, (low, high, count) in enumerate(bins):
        h = plot_h * count / most
        x = left + k * step
        body.append(f'<rect class="bar" x="{x + 1:.1f}" y="{top + plot_h - h:.1f}" width="{step - 2:.1f}" '
                    f'height="{h:.1f}"><title>{points_text(low)} to {points_text(high)} points: {count} '
                    f"student{'s' * (count != 1)}</title></rect>")
        body.append(_label(x, top + plot_h + 14, points_text(low), "middle"))
    body.append(_label(left + plot_w, top + plot_h + 14, points_text(bins[-1][1]), "middle"))
    body.append(_label(left + plot_w / 2, height - 2, "total points", "middle"))
    return _svg(WIDTH, height, f"Histogram of the {stats.graded} graded students' totals", body)


def _flagged(item: ItemSummary) -> bool:
    return item.students > 0 and (item.discrimination is None or item.discrimination < LOW_DISCRIMINATION)


def item_chart(items: list[ItemSummary]) -> str:
    """Two bars per item, in item order: its difficulty above, its discrimination below (red where
    it is listed for review, the dashed line at ``LOW_DISCRIMINATION``)."""
    shown = [item for item in items if item.students]
    left, top, gap, bottom = 44, 10, 26, 44
    upper_h, lower_h = 110.0, 150.0
    plot_w = WIDTH - left - 10
    step = plot_w / max(1, len(shown))
    lowest = [math.floor(4 * i.discrimination) / 4 for i in shown if i.discrimination is not None]
    floor = min([-0.25, *lowest])  # the lower panel's bottom: a round value below every item's
    zero = top + upper_h + gap + lower_h * 1 / (1 - floor)  # discrimination 1 at the panel's top

    def y_r(r: float) -> float:
        return top + upper_h + gap + lower_h * (1 - r) / (1 - floor)

    right = left + plot_w
    body = [f'<line class="axis" x1="{left}" y1="{top + upper_h}" x2="{right}" y2="{top + upper_h}"/>',
            f'<line class="axis" x1="{left}" y1="{zero:.1f}" x2="{right}" y2="{zero:.1f}"/>',
            _label(left - 6, top + 4, "1", "end"), _label(left - 6, top + upper_h, "0", "end"),
            _label(left - 6, y_r(1) + 4, "1", "end"), _label(left - 6, zero + 4, "0", "end"),
            _label(left - 6, y_r(floor) + 4, f"{floor:g}", "end"),
            _label(left + 4, top + 10, "difficulty"), _label(left + 4, y_r(1) + 10, "discrimination")]
    for k, item in enumerate(shown):
        x = left + k * step + 1
        h = upper_h * item.difficulty
        r = item.discrimination if item.discrimination is not None else 0.0
        kind = "review" if _flagged(item) else "bar"
        r_text = "none" if item.discrimination is None else f"{item.discrimination:.2f}"
        body.append(f'<rect class="bar" x="{x:.1f}" y="{top + upper_h - h:.1f}" width="{step - 2:.1f}" '
                    f'height="{h:.1f}"><title>{esc(f"item {item.item_id}: difficulty {item.difficulty:.2f}")}'
                    "</title></rect>")
        body.append(f'<rect class="{kind}" x="{x:.1f}" y="{min(zero, y_r(r)):.1f}" width="{step - 2:.1f}" '
                    f'height="{max(abs(y_r(r) - zero), 1.0):.1f}">'
                    f'<title>{esc(f"item {item.item_id}: discrimination {r_text}")}</title></rect>')
        centre, base = x + step / 2 - 1, y_r(floor) + 8
        body.append(f'<text x="{centre:.1f}" y="{base:.1f}" text-anchor="end" '
                    f'transform="rotate(-90 {centre:.1f} {base:.1f})">{esc(item.item_id)}</text>')
    body.append(f'<line class="guide" x1="{left}" y1="{y_r(LOW_DISCRIMINATION):.1f}" x2="{right}" '
                f'y2="{y_r(LOW_DISCRIMINATION):.1f}"/>')
    height = int(y_r(floor) + bottom)
    return _svg(WIDTH, height, "Each item's difficulty (share of the points earned) and discrimination", body)


def item_table(items: list[ItemSummary], stats: ClassStatistics) -> Iterator[str]:
    heads = ("item", "title", "students", "mean score", "share correct", "difficulty", "discrimination",
             "review")
    yield "<table>\n<tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>\n"
    for item in items:
        title = stats.info.items[item.item_id].title if item.item_id in stats.info.items else ""
        r = "none" if item.discrimination is None else f"{item.discrimination:.2f}"
        review = ("" if not _flagged(item) else "negative: check the key" if (item.discrimination or 0) < 0
                  else "low discrimination")
        mean = points_text(item.mean, item.max_score if item.students else None)
        yield (f'<tr><td>{esc(item.item_id)}</td><td class="text">{esc(title)}</td><td>{item.students}</td>'
               f"<td>{mean} / {points_text(item.max_score)}</td><td>{item.share_correct:.0%}</td>"
               f'<td>{item.difficulty:.2f}</td><td>{r}</td><td class="text">{review}</td></tr>\n')
    yield "</table>\n"


def choice_chart(item: ItemSummary, tally: ChoiceTally, info: ItemInfo) -> str:
    """One bar per option (the right ones green), then the answers that named none and the blanks."""
    rows = [(f"option {o}" + (" (right)" if o in info.correct else ""), tally.chosen[o],
             "right" if o in info.correct else "bar") for o in info.options]
    rows += [("named no option", tally.unreadable, "other"),
             ("no answer", max(0, item.students - tally.answered), "other")]
    left, row_h, width = 120, 22, WIDTH
    bar_w = width - left - 110
    body = []
    for k, (label, count, kind) in enumerate(rows):
        share = count / item.students if item.students else 0.0
        y = 4 + k * row_h
        body.append(_label(left - 8, y + 14, label, "end"))
        body.append(f'<rect class="{kind}" x="{left}" y="{y + 2}" width="{bar_w * share:.1f}" '
                    f'height="{row_h - 6}"><title>{esc(label)}: {count} of {item.students}</title></rect>')
        body.append(_label(left + bar_w * share + 6, y + 14, f"{share:.0%} ({count})"))
    title = info.title or item.item_id
    return (f"<h3>{esc(item.item_id)} {esc(info.title)}</h3>\n"
            + _svg(width, 8 + len(rows) * row_h, f"Options chosen on item {item.item_id}: {title}", body))
