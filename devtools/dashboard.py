"""Renders the operations dashboard of template.yaml as an HTML page, from the metrics a local run emitted.

    make dashboard [PORT=3000]     (or: scim-dashboard --port 3000 --out dashboard.html)

The functions write their metrics as Embedded Metric Format lines among their log lines; the local server keeps
those lines in `.local-server-<port>.log`. Each metric widget of the template's dashboard becomes a chart of the
metrics it names that a local run can produce (this service's own, from the functions); the AWS services' metrics
(API Gateway, Lambda, DynamoDB) exist only in AWS, and their widgets say so. No network, no JavaScript: inline SVG.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

from .local import template

BUCKET_SECONDS = 60
_METRIC_NAME = re.compile(r'MetricName=\\?"(\w+)\\?"')


def emitted(lines: list[str]) -> dict[str, dict[int, float]]:
    """Metric name -> {minute (epoch seconds) -> value}, from EMF lines: counts are summed per minute, times
    (milliseconds) averaged."""
    sums: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    timed: set[str] = set()
    for text in lines:
        if '"_aws"' not in text:
            continue
        try:
            blob = json.loads(text)
        except ValueError:
            continue
        minute = int(blob["_aws"]["Timestamp"] / 1000) // BUCKET_SECONDS * BUCKET_SECONDS
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                values = blob.get(metric["Name"], [])
                values = values if isinstance(values, list) else [values]
                sums[metric["Name"]][minute] += sum(values)
                counts[metric["Name"]][minute] += len(values)
                if metric.get("Unit") == "Milliseconds":
                    timed.add(metric["Name"])
    return {
        name: {m: (v / counts[name][m] if name in timed else v) for m, v in points.items()}
        for name, points in sums.items()
    }


def dashboard_widgets(values: dict[str, str]) -> list[dict]:
    """The widgets of the template's dashboard, with `${…}` filled from `values` (unknown ones left as names)."""
    body = template.load()["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    filled = re.sub(r"\$\{([\w:.]+)\}", lambda m: values.get(m.group(1), m.group(1)), body)
    filled = filled.replace("${!", "${")
    return json.loads(filled)["widgets"]


def widget_metrics(widget: dict, namespace: str) -> tuple[list[tuple[str, str]], bool]:
    """([(label, metric name)] of this service's metrics the widget shows, whether it also shows AWS metrics)."""
    found, aws = [], False
    for row in widget["properties"].get("metrics", []):
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        if options.get("visible") is False:
            continue
        if row and isinstance(row[0], str):
            if row[0] == namespace:
                found.append((options.get("label", row[1]), row[1]))
            else:
                aws = True
        elif "expression" in options:
            for name in _METRIC_NAME.findall(options["expression"]):
                found.append((options.get("label", name) if "PROP" not in options.get("label", "") else name, name))
    return found, aws


def _chart(series: list[tuple[str, dict[int, float]]], width: int = 560, height: int = 160) -> str:
    minutes = sorted({m for _, points in series for m in points})
    if not minutes:
        return '<p class="empty">No data from this local run.</p>'
    top = max((v for _, points in series for v in points.values()), default=1) or 1
    span = max(1, len(minutes) - 1)
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    parts = [f'<svg width="{width}" height="{height + 20}" role="img">',
             f'<line x1="30" y1="{height}" x2="{width}" y2="{height}" stroke="#999"/>',
             f'<text x="0" y="12" font-size="10">{top:g}</text><text x="0" y="{height}" font-size="10">0</text>']
    for index, (label, points) in enumerate(series):
        colour = colours[index % len(colours)]
        coordinates = " ".join(
            f"{30 + (width - 40) * minutes.index(m) / span:.1f},{height - (height - 10) * points.get(m, 0) / top:.1f}"
            for m in minutes
        )
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coordinates}"/>')
        for m in minutes:
            x = 30 + (width - 40) * minutes.index(m) / span
            y = height - (height - 10) * points.get(m, 0) / top
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
    parts.append("</svg>")
    legend = "".join(
        f'<li><span style="color:{colours[i % len(colours)]}">&#9632;</span> {html.escape(label)}: '
        f"{sum(points.values()):g} in all</li>"
        for i, (label, points) in enumerate(series)
    )
    return "".join(parts) + f'<ul class="legend">{legend}</ul>'


def render(lines: list[str], namespace: str) -> str:
    series = emitted(lines)
    values = {name: str(p["Default"]) for name, p in template.load()["Parameters"].items() if "Default" in p}
    values.update({"AWS::StackName": "scim-local", "Environment": "local", "AWS::Region": "local",
                   "MetricsNamespace": namespace})
    sections = []
    for widget in dashboard_widgets(values):
        props = widget.get("properties", {})
        if widget["type"] == "text":
            sections.append(f'<h2>{html.escape(props.get("markdown", "").lstrip("# ").splitlines()[0])}</h2>')
            continue
        if widget["type"] != "metric":
            continue
        shown, aws = widget_metrics(widget, namespace)
        charted = [(label, series.get(name, {})) for label, name in shown]
        body = _chart(charted) if charted else ""
        if aws:
            body += '<p class="aws">AWS service metrics (API Gateway, Lambda, DynamoDB) exist only once deployed.</p>'
        sections.append(f'<div class="widget"><h3>{html.escape(props.get("title", ""))}</h3>{body}</div>')
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>SCIM operations dashboard (local)</title><style>"
        "body{font-family:sans-serif;margin:1em}h2{clear:both;border-bottom:1px solid #ccc;font-size:1.1em}"
        ".widget{float:left;width:600px;margin:0 1em 1em 0}.widget h3{font-size:.95em}.legend{font-size:.8em;"
        "list-style:none;padding:0}.empty,.aws{color:#777;font-size:.85em}</style></head><body>"
        "<h1>SCIM operations dashboard — local run</h1>"
        f"<p>From the metrics in the local server's log ({sum(len(p) for p in series.values())} data points, "
        f"per minute). The same widgets as the CloudWatch dashboard in template.yaml.</p>"
        + "".join(sections) + "</body></html>"
    )


def main(argv: list[str] | None = None) -> int:
    from .local.server import log_path

    parser = argparse.ArgumentParser(prog="scim-dashboard", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=3000, help="the local server whose log to read")
    parser.add_argument("--log", type=Path, help="a log file to read instead")
    parser.add_argument("--out", type=Path, default=template.REPO_ROOT / "dashboard.html")
    args = parser.parse_args(argv)
    log = args.log or log_path(args.port)
    if not log.exists():
        print(f"scim-dashboard: no log at {log}; run the local server (make run) and send it some requests",
              file=sys.stderr)
        return 1
    defaults = {name: p.get("Default") for name, p in template.load()["Parameters"].items()}
    namespace = str(defaults.get("MetricsNamespace") or "ScimEndpoint")
    args.out.write_text(render(log.read_text(encoding="utf-8").splitlines(), namespace), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
