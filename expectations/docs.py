"""Data Docs for one validation run, readable offline.

GX's pages link Bootstrap, jQuery, vega and font-awesome from CDNs. Offline (this machine, CI
artefacts) the validation and suite pages still render as plain HTML with every expectation and
its observed values, but GX's ``index.html`` is empty: its table is filled in by JavaScript from the
CDN. So next to GX's site this module writes ``summary-<layer>.html``: a static page with inline
CSS, one row per expectation (severity, success, observed value, sample, why) and a link to each
suite's GX validation page. It also inlines a few lines of CSS into this run's GX pages so their
tables stay legible without Bootstrap.

One ``docs_dir`` can serve every layer and run: validation pages accumulate under
``validations/<schema>/<table>/<run_id>/``, ``summary-<layer>.html`` and GX's ``index.html`` show the
latest validation.
"""

from __future__ import annotations

import html
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from expectations.validate import LayerReport

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.fail-critical { background: #fde2e2; } .fail-warning { background: #fff4d6; }
code { font-size: 0.9em; }
"""
_MARKER = "<!-- otklik offline css -->"


def write_summary(docs_dir: Path, report: LayerReport, validation_pages: dict[str, str], *, as_of: datetime) -> Path:
    """Write ``summary-<layer>.html`` into ``docs_dir`` and inline CSS into GX's pages; return the summary."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    # Only this run's pages: the site directory may hold every earlier run too.
    gx_pages = [docs_dir / "index.html", *docs_dir.glob("expectations/**/*.html")]
    _inline_css([*gx_pages, *(docs_dir / p for p in validation_pages.values())])
    rows = []
    for r in report.results:
        state = "ok" if r.success else f"FAILED ({r.severity})"
        css_class = "" if r.success else f' class="fail-{r.severity}"'
        page = validation_pages.get(r.suite)
        suite = f'<a href="{html.escape(page)}">{html.escape(r.suite)}</a>' if page else html.escape(r.suite)
        cells = [
            suite,
            f"<code>{html.escape(r.expectation)}</code><br>{html.escape(r.detail)}",
            html.escape(r.column or ""),
            html.escape(r.severity),
            state,
            html.escape(r.observed_value or ""),
            html.escape(json.dumps(r.sample, default=str, ensure_ascii=False) if r.sample else ""),
            html.escape(r.why),
        ]
        rows.append(f"<tr{css_class}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    heading = f"Layer {report.layer}: run {report.run_id or 'ad hoc'}, as of {as_of.isoformat()}"
    verdict = (
        f"{len(report.critical_failures)} critical failure(s), {len(report.warnings)} warning(s), "
        f"{len(report.results)} expectation(s)"
    )
    header = "".join(
        f"<th>{h}</th>" for h in ("table", "expectation", "column", "severity", "result", "observed", "sample", "why")
    )
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(heading)}</title>'
        f"<style>{CSS}</style></head><body><h1>{html.escape(heading)}</h1><p>{verdict}. "
        'GX\'s full site: <a href="index.html">index.html</a> (its index needs the CDN; the linked '
        f"validation pages do not).</p><table><tr>{header}</tr>{''.join(rows)}</table></body></html>"
    )
    target = docs_dir / f"summary-{report.layer}.html"
    target.write_text(page, encoding="utf-8")
    return target


def _inline_css(pages: list[Path]) -> None:
    for page in pages:
        if not page.is_file():
            continue
        text = page.read_text(encoding="utf-8")
        if _MARKER not in text and "</head>" in text:
            page.write_text(text.replace("</head>", f"{_MARKER}<style>{CSS}</style></head>", 1), encoding="utf-8")
