"""The local picture of the operations dashboard (devtools.dashboard), drawn from EMF lines."""

from __future__ import annotations

import json

from devtools import dashboard
from devtools.local import template


def emf(name: str, value: float, unit: str = "Count", timestamp: int = 1_800_000_000_000, **dimensions) -> str:
    return json.dumps({"_aws": {"Timestamp": timestamp, "CloudWatchMetrics": [{
        "Namespace": "ScimEndpoint", "Dimensions": [["service", *dimensions]],
        "Metrics": [{"Name": name, "Unit": unit}]}]}, "service": "scim", name: [value], **dimensions})


def test_counts_add_up_and_times_average_per_minute() -> None:
    lines = [emf("UsersCreated", 1), emf("UsersCreated", 1), "a plain log line",
             emf("OperationLatency", 10, "Milliseconds", Operation="POST /Users"),
             emf("OperationLatency", 30, "Milliseconds", Operation="POST /Users"),
             emf("UsersCreated", 1, timestamp=1_800_000_120_000)]
    series = dashboard.emitted(lines)
    assert sorted(series["UsersCreated"].values()) == [1, 2]
    assert list(series["OperationLatency"].values()) == [20]


def test_the_page_has_the_templates_widgets_with_local_data() -> None:
    page = dashboard.render([emf("UsersCreated", 1), emf("UsersCreated", 1), emf("Conflicts", 1)], "ScimEndpoint")
    widgets = dashboard.dashboard_widgets({"MetricsNamespace": "ScimEndpoint"} | {
        "AWS::StackName": "s", "Environment": "e", "AWS::Region": "r"} | {
        name: "1" for name in template.load()["Parameters"] if name.startswith("Alarm")})
    for widget in widgets:
        if widget["type"] == "metric":
            assert widget["properties"]["title"].replace("&", "&amp;") in page
    assert "Created: 2 in all" in page and "409 uniqueness conflict: 1 in all" in page
    assert "exist only once deployed" in page  # API Gateway, Lambda and DynamoDB widgets say why they are empty
    assert page.count("<svg") >= 2
