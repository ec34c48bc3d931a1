"""SnapStart and tracing at cold start: the restore hooks make a restored environment build its own AWS clients and
reseed `random`; the snapshot holds the SDK's models but no client or credentials; the X-Ray SDK is imported only
where the function traces."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import types
from pathlib import Path

import pytest

from scim_endpoint import observability, snapstart

ROOT = Path(__file__).resolve().parents[2]


def test_hooks_are_registered_only_where_the_runtime_has_snapstart(monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "snapshot_restore_py", raising=False)
    assert snapstart.register() is False  # the local server, the tests: no such module
    registered: dict[str, object] = {}
    runtime = types.ModuleType("snapshot_restore_py")
    runtime.register_before_snapshot = lambda hook: registered.setdefault("before", hook)
    runtime.register_after_restore = lambda hook: registered.setdefault("after", hook)
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime)
    assert snapstart.register() is True
    assert registered == {"before": snapstart.before_snapshot, "after": snapstart.after_restore}


def test_after_a_restore_every_aws_client_is_made_again(aws) -> None:
    from scim_endpoint import store, tenants
    from scim_endpoint.management import services

    before = (store.store(), tenants.key_cache(), services())
    assert (store.store(), tenants.key_cache(), services()) == before  # made once per process...
    snapstart.after_restore()
    after = (store.store(), tenants.key_cache(), services())
    assert all(new is not old for new, old in zip(after, before))  # ...and again after a restore
    assert after[0].table.client is not before[0].table.client


def test_after_a_restore_random_is_seeded_again() -> None:
    random.seed(7)
    snapshot_sequence = [random.random() for _ in range(3)]
    random.seed(7)  # the state every environment restored from one snapshot would share
    snapstart.after_restore()
    assert [random.random() for _ in range(3)] != snapshot_sequence


def test_the_snapshot_holds_the_sdk_models_and_no_credentials(aws, monkeypatch) -> None:
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    snapstart.before_snapshot()
    session = boto3.DEFAULT_SESSION._session
    assert session._credentials is None  # resolved by the first client made after the restore
    loader = session.get_component("data_loader")
    cached = [key for key in loader._cache if key[0] == "load_service_model"]
    assert {key[1] for key in cached} >= {"dynamodb", "secretsmanager"}


@pytest.mark.parametrize("environment, on", [
    ({}, False),  # not in Lambda
    ({"LAMBDA_TASK_ROOT": "/var/task"}, False),  # in Lambda, X-Ray off (PassThrough): no daemon address
    ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000"}, True),
    ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_XRAY_DAEMON_ADDRESS": "x", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
    ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_XRAY_DAEMON_ADDRESS": "x", "AWS_SAM_LOCAL": "true"}, False),
])
def test_tracing_is_on_only_in_lambda_with_x_ray(monkeypatch, environment, on) -> None:
    for name in ("LAMBDA_TASK_ROOT", "AWS_XRAY_DAEMON_ADDRESS", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert observability.tracing_on() is on


def test_a_function_that_does_not_trace_never_imports_the_x_ray_sdk() -> None:
    probe = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('h', sys.argv[1]); "
             "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
             "print('aws_xray_sdk.core' in sys.modules, type(sys.modules['scim_endpoint.observability'].tracer).__name__)")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "LAMBDA_"))}
    base.update({"AWS_DEFAULT_REGION": "us-east-1", "TABLE_NAME": "t", "POWERTOOLS_METRICS_NAMESPACE": "t",
                 "PYTHONPATH": str(ROOT / "layers" / "scim" / "python")})
    traced = {**base, "LAMBDA_TASK_ROOT": "/var/task", "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000"}
    for environment, expected in ((base, "False _NoTracer"), (traced, "True Tracer")):
        out = subprocess.run([sys.executable, "-c", probe, str(ROOT / "functions" / "users" / "app.py")],
                             env=environment, capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == expected, out.stderr[-2000:]
