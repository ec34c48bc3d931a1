"""The cost model (bench/cost.py, docs/costs.md): its arithmetic from measured inputs to dollars, the prices table it
reads, DynamoDB's capacity rules it applies, and a small measured run over moto (in a process of its own: the bench
sets up its own environment and emulator)."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.append(str(ROOT / "bench"))

import cost  # noqa: E402
import harness  # noqa: E402


def synthetic_prices() -> dict:
    """Round prices, so that the dollars below can be worked out by hand."""
    prices = {name: {"usd": 1.0, "per": 1, "unit": "u", "source": "s"} for name in cost.USED_PRICES}
    prices["apigateway_rest_request"] = {"usd": 3.5, "per": 1_000_000, "unit": "u", "source": "s"}
    prices["dynamodb_ondemand_write_request_unit"] = {"usd": 0.625, "per": 1_000_000, "unit": "u", "source": "s"}
    prices["dynamodb_ondemand_read_request_unit"] = {"usd": 0.125, "per": 1_000_000, "unit": "u", "source": "s"}
    prices["secretsmanager_api_call"] = {"usd": 0.05, "per": 10_000, "unit": "u", "source": "s"}
    prices["lambda_arm64_gb_second"] = {"usd": 0.0000133334, "per": 1, "unit": "u", "source": "s"}
    prices["cloudwatch_logs_ingestion_gb"] = {"usd": 0.5, "per": 1, "unit": "u", "source": "s"}
    prices["cloudwatch_logs_storage_gb_month"] = {"usd": 0.03, "per": 1, "unit": "u", "source": "s"}
    return {"region": "us-east-1", "date": "2026-11-30", "prices": prices,
            "inputs": {"log_compression_ratio": {"value": 0.5}}}


def test_dollars_from_a_synthetic_usage_are_the_hand_computed_ones() -> None:
    usage = cost.Usage(api_requests=1, lambda_invocations=2, lambda_gb_seconds=0.025, rru=3, wru=4, events=0,
                       secrets_calls=0.1, log_bytes=cost.GIB / 1_000_000, traces=0, transfer_out_bytes=0)
    lines = cost.dollars(usage, 1_000_000, synthetic_prices(), log_retention_days=cost.MONTH_DAYS)

    assert lines["API Gateway REST requests"] == pytest.approx(3.50)
    assert lines["DynamoDB reads (RRU)"] == pytest.approx(3 * 0.125)
    assert lines["DynamoDB writes (WRU)"] == pytest.approx(4 * 0.625)
    assert lines["Lambda requests"] == pytest.approx(2_000_000 * 1.0)  # the synthetic $1 per invocation
    assert lines["Lambda duration (arm64)"] == pytest.approx(25_000 * 0.0000133334)  # 25,000 GB-s
    assert lines["Secrets Manager API calls"] == pytest.approx(100_000 / 10_000 * 0.05)
    assert lines["CloudWatch Logs ingestion"] == pytest.approx(0.50)  # one GiB
    assert lines["CloudWatch Logs storage"] == pytest.approx(0.5 * 0.03)  # half a GiB kept one month
    assert lines["EventBridge events"] == 0 and lines["X-Ray traces"] == 0 and lines["Data transfer out"] == 0
    assert set(lines) == set(cost.LINE_ITEMS)


def test_lambda_billing_is_own_time_at_the_cpu_share_plus_call_latency_rounded_up_to_a_millisecond() -> None:
    latency = {"dynamodb:GetItem": 4, "dynamodb:TransactWriteItems": 12}
    assert cost.billed_ms(2.0, {"dynamodb:GetItem": 2, "dynamodb:TransactWriteItems": 1}, 3.0, latency, 10) == 26
    assert cost.billed_ms(0.1, {"sqs:SendMessage": 1}, 1.0, latency, 10) == 11  # the default latency, then ceil
    assert cost.billed_ms(0.01, {}, 1.0, latency, 10) == 1

    prices = {"inputs": {"full_vcpu_memory_mb": {"value": 1769}, "cpu_speed_vs_this_machine": {"value": 1.0}}}
    assert cost.cpu_scale(prices, 512) == pytest.approx(1769 / 512)
    assert cost.cpu_scale(prices, 4096) == 1.0  # one thread never runs faster than one vCPU


def test_dynamodb_item_sizes_and_units_follow_dynamodbs_rules() -> None:
    item = {"pk": {"S": "abc"}, "n": {"N": "-0123.40"}, "m": {"M": {"a": {"BOOL": True}}}, "l": {"L": [{"S": "xy"}]},
            "é": {"NULL": True}}
    # pk: 2 + 3; n: 1 + (4 digits: 2 bytes, plus 1); m: 1 + (3 + 1 + 1 + 1); l: 1 + (3 + 1 + 2); é: 2 + 1
    assert harness.item_size(item) == 5 + 4 + 7 + 7 + 3
    assert harness.item_size(None) == 0

    assert harness.read_units(0) == 1 and harness.read_units(4096) == 1 and harness.read_units(4097) == 2
    assert harness.read_units(4096, consistent=False) == 0.5
    assert harness.read_units(5000, transactional=True) == 4
    assert harness.write_units(0) == 1 and harness.write_units(1024) == 1 and harness.write_units(1025) == 2
    assert harness.write_units(1500, transactional=True) == 4


def test_the_prices_table_has_every_price_the_model_uses_with_its_region_date_unit_and_source(tmp_path) -> None:
    prices = cost.load_prices()
    assert prices["region"] == "us-east-1"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices["date"])
    for name in cost.USED_PRICES:
        entry = prices["prices"][name]
        assert entry["usd"] > 0 and entry["per"] >= 1 and entry["unit"] and entry["source"], name
    # The published prices the docs quote.
    assert cost.price(prices, "apigateway_rest_request") * 1e6 == pytest.approx(3.50)
    assert cost.price(prices, "dynamodb_ondemand_write_request_unit") * 1e6 == pytest.approx(0.625)
    assert cost.price(prices, "dynamodb_ondemand_read_request_unit") * 1e6 == pytest.approx(0.125)
    assert cost.price(prices, "waf_request") * 1e6 == pytest.approx(0.60)
    assert cost.price(prices, "eventbridge_custom_event") * 1e6 == pytest.approx(1.00)

    broken = json.loads(cost.PRICES_PATH.read_text())
    del broken["prices"]["waf_request"]["source"]
    del broken["inputs"]["tenant"]
    broken["date"] = ""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(broken))
    with pytest.raises(ValueError) as refused:
        cost.load_prices(path)
    assert "waf_request" in str(refused.value) and "tenant" in str(refused.value) and "no date" in str(refused.value)


def test_the_template_gives_memory_architecture_and_limits() -> None:
    from devtools.local import template

    facts = cost.template_facts()
    t = template.load()
    assert facts["memory_mb"] == t["Globals"]["Function"]["MemorySize"] and facts["architectures"] == ["arm64"]
    assert facts["stage_rate_limit"] == t["Parameters"]["ThrottlingRateLimit"]["Default"]
    assert facts["reserved"]["Groups"] == t["Parameters"]["ReservedConcurrencyGroups"]["Default"]
    assert facts["waf_rules"] >= 1 and facts["alarms"] >= 1
    assert facts["stream_batch_size"] == {"CleanupFunction": 10, "EventsFunction": 100}
    assert cost.access_log_bytes(facts["access_log_format"]) > 300


def test_the_initial_sync_is_weighted_as_the_tenant_it_describes() -> None:
    prices = cost.load_prices()
    tenant = cost.given(prices, "tenant")
    weights = cost.initial_weights(prices)
    assert sum(weights.values()) == pytest.approx(1)
    patches = math.ceil(tenant["users"] * tenant["groups_per_user"] / cost.given(prices, "entra_members_per_patch"))
    assert cost.initial_requests(prices) == 2 * tenant["users"] + 2 * tenant["groups"] + patches
    assert weights["user create (POST)"] == pytest.approx(tenant["users"] / cost.initial_requests(prices))
    assert sum(share for _, share in cost.STEADY_MIX) == pytest.approx(1)


def test_a_small_measured_run_counts_units_events_and_dollars() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "cost.py"), "--users", "8", "--groups", "2",
                          "--steady", "12", "--json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    initial = result["mixes"]["initial sync"]["types"]

    for write in ("user create (POST)", "group create (POST)", "group member add (PATCH)"):
        usage = initial[write]["usage"]
        assert usage["wru"] >= 2 and usage["rru"] >= 1, write  # a transaction: 2 units per KB at least
        assert usage["events"] == pytest.approx(1), write  # one change, one event
    for read in ("user lookup (no match)", "group lookup (no match)"):
        usage = initial[read]["usage"]
        assert usage["rru"] >= 1 and usage["wru"] == 0 and usage["events"] == 0, read
    assert result["failed_dynamodb_calls"] == 0

    # moto says nothing for transactions: the units counted are the rules'.
    calls, computed, moto = result["moto_check"]["TransactWriteItems"]
    assert calls > 0 and computed >= 2 * calls and moto == 0

    for mix in result["mixes"].values():
        assert mix["per_million_total"] == pytest.approx(sum(mix["per_million"].values()))
        assert mix["per_million"]["API Gateway REST requests"] == pytest.approx(3.50)
        assert mix["per_million"]["DynamoDB writes (WRU)"] > 0 and mix["per_million"]["Lambda duration (arm64)"] > 0
    month = result["month"]
    assert month["first_month_total"] > month["steady_month_total"] > sum(month["fixed_deployment"].values())
    assert len(result["capacity"]) == 3 and all(len(rows) == 3 for rows in result["capacity"].values())
