"""The management API (functions/admin/, /admin/v1) through its handler, as API Gateway passes requests on once its
AWS_IAM authorizer verified them; its background jobs (functions/jobs/) run from moto's queue (`run_jobs`); and what
it changes for SCIM requests (keys at once, revocation and deletion at once, erasure of everything)."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest

from scim_endpoint import activity_log
from scim_endpoint.management import erasure, export
from scim_endpoint.store import registry as registry_module
from scim_endpoint.tenants import TenantDirectory, now_text, with_key
from tests.conftest import ADMIN_ARN, REGION, SECRETS_PREFIX, JobFailed, new_guid, run_jobs
from tests.integration.test_groups import group
from tests.integration.test_users import user
from tests.support import seed_member_items, table_items

QUERY = 'filter=userName eq "nobody@contoso.com"'


@pytest.fixture
def new_idp(admin):
    def make(name: str = "Contoso", **fields) -> dict:
        result = admin("POST", "/admin/v1/idps", {"name": name, **fields})
        assert result.status == 201, result.body
        return result.body

    return make


@pytest.fixture
def new_key(admin):
    def make(idp_id: str, privileges: list[str] | None = None, **fields) -> dict:
        result = admin("POST", f"/admin/v1/idps/{idp_id}/keys",
                       {"name": "Entra", "privileges": privileges or ["users:write", "groups:write"], **fields})
        assert result.status == 201, result.body
        return result.body

    return make


def scim_get(call, idp_id: str, token: str, path: str = f"/Users?{QUERY}") -> int:
    return call("GET", f"/v1/scim/{idp_id}{path}", token=token).status


def error(result, status: int, code: str) -> dict:
    assert result.status == status, (result.status, result.body)
    assert result.headers["content-type"] == "application/json"
    assert set(result.body) == {"error"} and set(result.body["error"]) == {"code", "message"}
    assert result.body["error"]["code"] == code, result.body
    return result.body["error"]


def tenant_items(idp_id: str) -> list[dict]:
    return [item for item in table_items(with_key_uses=True) if item["pk"]["S"].startswith(f"T#{idp_id}#")]


# --- IAM only -------------------------------------------------------------------------------------------------------


def test_a_request_that_names_no_iam_principal_is_refused(admin, new_idp, new_key, call) -> None:
    """API Gateway lets through only SigV4-signed requests of allowed principals; should a route ever lack the
    authorizer, the function still refuses what names no IAM principal, a SCIM token included."""
    idp = new_idp()
    token = new_key(idp["idp_id"])["token"]
    for method, path in (("GET", "/admin/v1/idps"), ("POST", "/admin/v1/idps"),
                         ("DELETE", f"/admin/v1/idps/{idp['idp_id']}")):
        error(admin(method, path, {"name": "x"} if method == "POST" else None, principal=None,
                    headers={"Authorization": f"Bearer {token}"}), 403, "forbidden")
    assert admin("GET", f"/admin/v1/idps/{idp['idp_id']}").body["state"] == "active"
    assert scim_get(call, idp["idp_id"], token) == 200


def test_a_scim_token_reaches_no_management_route_and_an_iam_principal_no_scim_route(call, new_idp) -> None:
    """The two APIs are apart: the SCIM routes are all on ScimApi under /v1/scim, the management routes on
    AdminApi under /admin/v1 (template.yaml; tests/template checks the authorizers)."""
    from devtools.local.template import routes

    for route in routes():
        assert (route.api == "AdminApi") == route.resource.startswith("/admin/v1/") == route.iam, route


# --- IdPs -------------------------------------------------------------------------------------------------------------


def test_create_read_update_and_list_idps(admin, new_idp) -> None:
    created = new_idp("Contoso", description="Contoso's Entra tenant")
    assert created == {"idp_id": created["idp_id"], "name": "Contoso", "description": "Contoso's Entra tenant",
                       "created": created["created"], "state": "active",
                       "tenant_url": f"https://scim.test/v1/scim/{created['idp_id']}", "allowed_networks": []}
    assert admin("GET", f"/admin/v1/idps/{created['idp_id']}").body == created
    changed = admin("PATCH", f"/admin/v1/idps/{created['idp_id']}", {"name": "Contoso Ltd", "description": ""})
    assert changed.status == 200 and changed.body["name"] == "Contoso Ltd" and changed.body["description"] == ""
    chosen = new_idp("Fabrikam", idp_id="fabrikam")
    assert chosen["idp_id"] == "fabrikam"
    listed = admin("GET", "/admin/v1/idps").body
    assert [i["idp_id"] for i in listed["idps"]] == [created["idp_id"], "fabrikam"]
    assert listed["next_cursor"] is None


def test_listing_pages_with_an_opaque_cursor(admin, new_idp) -> None:
    made = [new_idp(f"IdP {n}")["idp_id"] for n in range(5)]
    seen, cursor, pages = [], None, 0
    while True:
        page = admin("GET", "/admin/v1/idps?limit=2" + (f"&cursor={cursor}" if cursor else "")).body
        seen += [i["idp_id"] for i in page["idps"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made and pages == 3
    # Cursors that decode but are no listing key: part of one, or a key outside the listing's partition.
    partial = registry_module.encode_cursor({"pk": {"S": "T#x#Idp"}})
    elsewhere = registry_module.encode_cursor({"pk": {"S": "T#x#User"}, "sk": {"S": "u"}, "gsi1pk": {"S": "T#x#M"},
                                               "gsi1sk": {"S": "g"}})
    for bad in ("nonsense", "eyJ4IjoxfQ", "%00", partial, elsewhere):
        error(admin("GET", f"/admin/v1/idps?cursor={bad}"), 400, "invalid_cursor")
    for limit in ("0", "101", "x"):
        error(admin("GET", f"/admin/v1/idps?limit={limit}"), 400, "invalid_request")


def test_an_expiry_beyond_year_9999_in_utc_is_a_400_and_offsets_become_utc(admin, new_idp) -> None:
    idp = new_idp()["idp_id"]
    late = admin("POST", f"/admin/v1/idps/{idp}/keys", {"name": "k", "privileges": ["users:read"],
                                                        "expires_at": "9999-12-31T23:59:59-05:00"})
    assert late.status == 400 and late.body["error"]["code"] == "invalid_request", late.body
    assert "expires_at" in late.body["error"]["message"]
    made = admin("POST", f"/admin/v1/idps/{idp}/keys", {"name": "k", "privileges": ["users:read"],
                                                        "expires_at": "2090-01-01T01:00:00+02:00"})
    assert made.status == 201 and made.body["expires_at"] == "2089-12-31T23:00:00Z", made.body


@pytest.mark.parametrize("body, field", [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "x" * 201}, "name"), ({"name": "a\nb"}, "name"),
    ({"name": "x", "idp_id": "no spaces"}, "idp_id"), ({"name": "x", "idp_id": "-x"}, "idp_id"),
    ({"name": "x", "color": "red"}, "color"), ({"name": 7}, "name"),
])
def test_an_invalid_idp_is_a_400_that_names_the_field(admin, body: dict, field: str) -> None:
    found = error(admin("POST", "/admin/v1/idps", body), 400, "invalid_request")
    assert found["message"].startswith(field), found
    assert admin("GET", "/admin/v1/idps").body["idps"] == []


def test_a_body_that_is_not_json_is_a_400(admin) -> None:
    error(admin("POST", "/admin/v1/idps", b"{nope"), 400, "invalid_request")


def test_an_idp_id_is_never_given_twice(admin, new_idp) -> None:
    new_idp("Contoso", idp_id="contoso")
    error(admin("POST", "/admin/v1/idps", {"name": "Other", "idp_id": "contoso"}), 409, "idp_exists")


def test_unknown_idps_keys_and_exports_are_404(admin, new_idp) -> None:
    idp = new_idp()["idp_id"]
    for method, path in (("GET", "/admin/v1/idps/nobody"), ("PATCH", "/admin/v1/idps/nobody"),
                         ("DELETE", "/admin/v1/idps/nobody"), ("GET", "/admin/v1/idps/nobody/keys"),
                         ("POST", "/admin/v1/idps/nobody/keys"), ("DELETE", f"/admin/v1/idps/{idp}/keys/0123456789abcdef"),
                         ("GET", f"/admin/v1/idps/{idp}/exports/{new_guid()}"), ("GET", "/admin/v1/idps/nobody/export"),
                         ("GET", "/admin/v1/idps/nobody/activity")):
        body = {"name": "x"} if method == "PATCH" else {"name": "k", "privileges": ["users:read"]} \
            if method == "POST" else None
        error(admin(method, path, body), 404, "not_found")


def test_allowed_networks_are_set_through_patch_and_refused_when_invalid(admin, new_idp, new_key, call) -> None:
    idp = new_idp()["idp_id"]
    token = new_key(idp)["token"]
    result = admin("PATCH", f"/admin/v1/idps/{idp}", {"allowed_networks": ["20.190.128.0/18", "40.126.0.5"]})
    assert result.body["allowed_networks"] == ["20.190.128.0/18", "40.126.0.5/32"]
    # At once, in every container: the registry's revision of the IdP's secret moved on.
    assert call("GET", f"/v1/scim/{idp}/Users?{QUERY}", token=token, source_ip="192.0.2.1").status == 403
    assert call("GET", f"/v1/scim/{idp}/Users?{QUERY}", token=token, source_ip="40.126.0.5").status == 200
    for networks in (["not-a-network"], ["10.0.0.0/33"], ["10.0.0.1"] * 1001, "10.0.0.0/8"):
        found = error(admin("PATCH", f"/admin/v1/idps/{idp}", {"allowed_networks": networks}), 400, "invalid_request")
        assert found["message"].startswith("allowed_networks: ") and "Value error" not in found["message"]
    assert admin("PATCH", f"/admin/v1/idps/{idp}", {"allowed_networks": []}).body["allowed_networks"] == []
    assert call("GET", f"/v1/scim/{idp}/Users?{QUERY}", token=token, source_ip="192.0.2.1").status == 200


# --- keys -------------------------------------------------------------------------------------------------------------


def test_a_key_works_at_once_lists_without_secrets_and_stops_at_once_when_revoked(admin, new_idp, new_key, call,
                                                                                  captured) -> None:
    idp = new_idp()["idp_id"]
    key = new_key(idp, ["users:write", "groups:read"], description="Contoso's tenant")
    assert key["token"].startswith(f"scim_{key['id']}_") and key["tenant_url"].endswith(f"/v1/scim/{idp}")
    assert key["privileges"] == ["users:write", "groups:read"]
    spare = new_key(idp, ["users:read"])
    assert scim_get(call, idp, key["token"]) == 200
    assert scim_get(call, idp, key["token"], f"/Groups?{QUERY}") == 200
    assert call("POST", f"/v1/scim/{idp}/Groups", body={"displayName": "x"}, token=key["token"]).status == 403

    listed = admin("GET", f"/admin/v1/idps/{idp}/keys")
    assert [k["id"] for k in listed.body["keys"]] == sorted([key["id"], spare["id"]], key=lambda i: (
        key["created"] if i == key["id"] else spare["created"], i))
    text = json.dumps(listed.body)
    assert key["token"] not in text and "digest" not in text and key["token"].split("_", 2)[2] not in text

    revoked = admin("DELETE", f"/admin/v1/idps/{idp}/keys/{key['id']}")
    assert revoked.status == 200 and revoked.body["revoked"]
    # The very next request, with the key cache of this container still warm: 401.
    assert scim_get(call, idp, key["token"]) == 401
    assert scim_get(call, idp, spare["token"]) == 200
    again = admin("DELETE", f"/admin/v1/idps/{idp}/keys/{key['id']}")
    assert again.body["revoked"] == revoked.body["revoked"]  # revoking twice keeps the first time
    assert not any(key["token"] in json.dumps(line) for line in captured.lines())


def test_an_expired_key_answers_401_like_a_revoked_one(admin, new_idp, new_key, call) -> None:
    idp = new_idp()["idp_id"]
    soon = now_text(datetime.now(timezone.utc) + timedelta(seconds=2))
    key = new_key(idp, expires_at=soon)
    assert key["expires_at"] == soon
    assert scim_get(call, idp, key["token"]) == 200
    time.sleep(2.2)
    assert scim_get(call, idp, key["token"]) == 401
    assert admin("GET", f"/admin/v1/idps/{idp}/keys").body["keys"][0]["expires_at"] == soon


@pytest.mark.parametrize("expires_at", ["2020-01-01T00:00:00Z", "2030-01-01T00:00:00", "tomorrow", "2030-13-01T00:00Z"])
def test_an_expiry_in_the_past_or_without_an_offset_is_refused(admin, new_idp, expires_at: str) -> None:
    idp = new_idp()["idp_id"]
    error(admin("POST", f"/admin/v1/idps/{idp}/keys", {"name": "k", "privileges": ["users:read"],
                                                       "expires_at": expires_at}), 400, "invalid_request")
    assert admin("GET", f"/admin/v1/idps/{idp}/keys").body["keys"] == []


@pytest.mark.parametrize("privileges", [[], ["users:admin"], ["*"], "users:read"])
def test_a_key_needs_known_privileges(admin, new_idp, privileges) -> None:
    idp = new_idp()["idp_id"]
    error(admin("POST", f"/admin/v1/idps/{idp}/keys", {"name": "k", "privileges": privileges}), 400,
          "invalid_request")


def test_last_use_is_written_at_most_once_per_key_per_container_per_interval(admin, new_idp, new_key, call,
                                                                             monkeypatch) -> None:
    idp = new_idp()["idp_id"]
    key = new_key(idp)
    assert "last_used_at" not in admin("GET", f"/admin/v1/idps/{idp}/keys").body["keys"][0]
    writes = []
    real = registry_module.DynamoRegistryStore.record_key_use
    monkeypatch.setattr(registry_module.DynamoRegistryStore, "record_key_use",
                        lambda self, *args: writes.append(args) or real(self, *args))
    for _ in range(20):
        assert scim_get(call, idp, key["token"]) == 200
    assert len(writes) == 1
    used = admin("GET", f"/admin/v1/idps/{idp}/keys").body["keys"][0]["last_used_at"]
    assert abs(datetime.fromisoformat(used.replace("Z", "+00:00")) - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_admission_costs_one_read(new_idp, new_key, call, captured) -> None:
    """Every SCIM request reads the IdP's registry item once (its state, its keys' revision); the key's last use
    is one more write per minute; a refused token reads nothing of the table."""
    idp = new_idp()["idp_id"]
    token = new_key(idp)["token"]
    for _ in range(3):
        scim_get(call, idp, token, "/ServiceProviderConfig")
    assert [line["dynamodb_calls"] for line in captured.handled()] == [2, 1, 1]
    scim_get(call, idp, token[:-1] + ("A" if token[-1] != "A" else "B"), "/ServiceProviderConfig")
    assert captured.handled()[-1]["status"] == 401 and captured.handled()[-1]["dynamodb_calls"] == 0


def test_concurrent_key_changes_of_one_idp_never_lose_each_other(admin, new_idp, call, atomic_dynamodb) -> None:
    """The secret is written whole: each change takes the IdP's lock, so ten keys made at once are ten keys."""
    idp = new_idp()["idp_id"]
    made: list[dict] = []
    failures: list[object] = []

    def create(n: int) -> None:
        result = admin("POST", f"/admin/v1/idps/{idp}/keys", {"name": f"k{n}", "privileges": ["users:read"]})
        (made if result.status == 201 else failures).append(result.body)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not failures and len(made) == 10
    assert sorted(k["id"] for k in admin("GET", f"/admin/v1/idps/{idp}/keys").body["keys"]) == sorted(
        k["id"] for k in made)
    for key in made:
        assert scim_get(call, idp, key["token"]) == 200


# --- deleting and erasing -----------------------------------------------------------------------------------------


def populate(call, idp_id: str, token: str, users: int = 3) -> list[str]:
    ids = []
    for n in range(users):
        result = call("POST", f"/v1/scim/{idp_id}/Users", body=user(f"u{n}@contoso.com", externalId=f"e{n}"),
                      token=token)
        assert result.status == 201
        ids.append(result.body["id"])
    made = call("POST", f"/v1/scim/{idp_id}/Groups", body=group("Team", members=[{"value": i} for i in ids]),
                token=token)
    assert made.status == 201
    return ids


def secret_exists(idp_id: str) -> bool:
    client = boto3.client("secretsmanager", region_name=REGION)
    try:
        client.describe_secret(SecretId=f"{SECRETS_PREFIX}{idp_id}")
        return True
    except client.exceptions.ResourceNotFoundException:
        return False


def test_deleting_an_idp_stops_every_key_at_once_and_erases_all_its_data(admin, new_idp, new_key, call) -> None:
    doomed, kept = new_idp("Doomed")["idp_id"], new_idp("Kept")["idp_id"]
    doomed_token, kept_token = new_key(doomed)["token"], new_key(kept)["token"]
    populate(call, doomed, doomed_token)
    populate(call, kept, kept_token)
    assert admin("POST", f"/admin/v1/idps/{doomed}/exports").status == 202
    run_jobs()
    kept_before = tenant_items(kept)

    deleting = admin("DELETE", f"/admin/v1/idps/{doomed}")
    assert deleting.status == 202 and deleting.body["state"] == "deleting"
    assert deleting.body["erasure"]["phase"] == "waiting"
    # The next request, with this container's key cache still warm: 401, for every route.
    for path in (f"/Users?{QUERY}", "/Groups", "/ServiceProviderConfig"):
        assert scim_get(call, doomed, doomed_token, path) == 401
    assert admin("GET", f"/admin/v1/idps/{doomed}").body["state"] == "deleting"
    error(admin("POST", f"/admin/v1/idps/{doomed}/keys", {"name": "k", "privileges": ["users:read"]}), 409,
          "idp_deleting")
    error(admin("PATCH", f"/admin/v1/idps/{doomed}", {"name": "Back"}), 409, "idp_deleting")

    run_jobs()
    error(admin("GET", f"/admin/v1/idps/{doomed}"), 404, "not_found")
    # Nothing of the tenant is left in the table but the tombstone (its id and when it was deleted)...
    (tombstone,) = tenant_items(doomed)
    assert set(tombstone) == {"pk", "sk", "id", "state", "erasure", "deleted", "expires_at"} and tombstone["state"]["S"] == \
        "deleted"
    # ... nor in Secrets Manager, nor in the export bucket; the other tenant is untouched.
    assert not secret_exists(doomed)
    objects = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket="scim-test-exports").get("Contents", [])
    assert not [o for o in objects if f"/{doomed}/" in o["Key"]]
    assert tenant_items(kept) == kept_before
    assert scim_get(call, kept, kept_token) == 200
    assert doomed not in [i["idp_id"] for i in admin("GET", "/admin/v1/idps").body["idps"]]
    error(admin("POST", "/admin/v1/idps", {"name": "Again", "idp_id": doomed}), 409, "idp_exists")
    assert scim_get(call, doomed, doomed_token) == 401


def test_an_interrupted_erasure_resumes_where_it_stopped(admin, new_idp, new_key, call, monkeypatch) -> None:
    idp = new_idp()["idp_id"]
    token = new_key(idp)["token"]
    populate(call, idp, token, users=6)
    seed_member_items(idp, "orphan-group", [f"orphan-{n}" for n in range(30)])  # a lagging cleanup's leftovers
    monkeypatch.setattr(registry_module, "ERASURE_PAGE_ITEMS", 7)
    deletes = {"n": 0}
    real = registry_module.DynamoRegistryStore.delete_keys

    def failing_on_the_second(self, keys):
        deletes["n"] += 1
        if deletes["n"] == 2:
            raise RuntimeError("DynamoDB went away")
        return real(self, keys)

    monkeypatch.setattr(registry_module.DynamoRegistryStore, "delete_keys", failing_on_the_second)
    admin("DELETE", f"/admin/v1/idps/{idp}")
    with pytest.raises(JobFailed):
        run_jobs()
    progress = admin("GET", f"/admin/v1/idps/{idp}").body["erasure"]
    assert progress["phase"] == "erasing" and progress["items_deleted"] > 0
    left = len(tenant_items(idp))
    run_jobs()  # the message again: from the saved place on
    error(admin("GET", f"/admin/v1/idps/{idp}"), 404, "not_found")
    assert len(tenant_items(idp)) == 1 < left


def test_a_long_erasure_is_continued_by_its_own_next_step(new_idp, new_key, call, admin, monkeypatch) -> None:
    """A step that runs out of its time saves its place and queues the next, rather than outlive its invocation."""
    import importlib

    idp = new_idp()["idp_id"]
    populate(call, idp, new_key(idp)["token"], users=5)
    monkeypatch.setattr(registry_module, "ERASURE_PAGE_ITEMS", 3)
    monkeypatch.setattr(erasure, "PAGES_PER_SAVE", 1)
    run_jobs()  # loads the jobs function (nothing queued yet)
    jobs = importlib.import_module("_test_function_jobs_app")
    monkeypatch.setattr(jobs, "STEP_SECONDS", 0)
    admin("DELETE", f"/admin/v1/idps/{idp}")
    assert run_jobs() > 2
    assert tenant_items(idp)[0]["state"]["S"] == "deleted" and len(tenant_items(idp)) == 1


def test_an_erasure_waits_until_no_admitted_request_can_still_write(admin, new_idp, monkeypatch) -> None:
    monkeypatch.setenv("ERASURE_GRACE_SECONDS", "300")
    from tests.conftest import clear_process_caches

    clear_process_caches()
    idp = new_idp()["idp_id"]
    admin("DELETE", f"/admin/v1/idps/{idp}")
    sqs = boto3.client("sqs", region_name=REGION)
    import os

    attributes = sqs.get_queue_attributes(QueueUrl=os.environ["JOBS_QUEUE_URL"],
                                          AttributeNames=["ApproximateNumberOfMessagesDelayed"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # queued for after the grace period
    assert admin("GET", f"/admin/v1/idps/{idp}").body["erasure"]["phase"] == "waiting"


# --- IdPs made before the registry ----------------------------------------------------------------------------------


def test_an_idp_made_before_the_registry_is_adopted_by_its_first_request(admin, call) -> None:
    directory = TenantDirectory(boto3.client("secretsmanager", region_name=REGION), SECRETS_PREFIX)
    secret = directory.create("legacy", "Legacy IdP", now_text())
    secret, key, token = with_key(secret, "Entra", "", ["users:write"], None, now_text())
    directory.write(secret)
    assert scim_get(call, "legacy", token) == 200
    shown = admin("GET", "/admin/v1/idps/legacy").body
    assert shown["name"] == "Legacy IdP" and shown["state"] == "active"
    assert [k["id"] for k in admin("GET", "/admin/v1/idps/legacy/keys").body["keys"]] == [key.id]
    assert admin("DELETE", f"/admin/v1/idps/legacy/keys/{key.id}").status == 200
    assert scim_get(call, "legacy", token) == 401


# --- export ---------------------------------------------------------------------------------------------------------


def lines_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_export_of_a_tenant_with_a_large_group(admin, new_idp, new_key, call) -> None:
    idp = new_idp()["idp_id"]
    token = new_key(idp)["token"]
    ids = populate(call, idp, token)
    big = call("POST", f"/v1/scim/{idp}/Groups", body=group("Everyone"), token=token).body["id"]
    seed_member_items(idp, big, [f"seeded-{n:05d}" for n in range(2500)])
    call("PATCH", f"/v1/scim/{idp}/Users/{ids[0]}", body={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "password", "value": "Secret-Passw0rd!"}]}, token=token)

    result = admin("GET", f"/admin/v1/idps/{idp}/export")
    assert result.status == 200 and result.headers["content-type"] == "application/x-ndjson"
    lines = lines_of(result.body)
    kinds = [line["kind"] for line in lines]
    assert kinds == ["User"] * 3 + ["Group"] * 2 + ["Membership"] * (2500 + 3)
    assert [line["resource"]["id"] for line in lines[:3]] == sorted(ids)
    assert {line["resource"]["userName"] for line in lines[:3]} == {f"u{n}@contoso.com" for n in range(3)}
    assert all("members" not in line["resource"] for line in lines if line["kind"] == "Group")
    assert sum(1 for line in lines if line.get("group") == big) == 2500
    assert "password" not in result.body and "Secret-Passw0rd" not in result.body
    assert lines[0]["resource"]["meta"]["location"].startswith(f"https://scim.test/v1/scim/{idp}/Users/")


def test_a_tenant_too_large_for_one_response_is_exported_to_the_bucket(admin, new_idp, new_key, call,
                                                                        monkeypatch) -> None:
    idp = new_idp()["idp_id"]
    ids = populate(call, idp, new_key(idp)["token"])
    monkeypatch.setattr(export, "INLINE_BYTES", 500)
    found = error(admin("GET", f"/admin/v1/idps/{idp}/export"), 400, "export_too_large")
    assert f"/admin/v1/idps/{idp}/exports" in found["message"]

    started = admin("POST", f"/admin/v1/idps/{idp}/exports")
    assert started.status == 202 and started.body["state"] == "running"
    export_id = started.body["export_id"]
    assert admin("GET", f"/admin/v1/idps/{idp}/exports/{export_id}").body["state"] == "running"
    run_jobs()
    ready = admin("GET", f"/admin/v1/idps/{idp}/exports/{export_id}").body
    assert ready["state"] == "ready" and ready["counts"] == {"users": 3, "groups": 1, "memberships": 3}
    assert ready["url"].startswith("https://") and f"exports/{idp}/{export_id}.jsonl" in ready["url"]
    stored = boto3.client("s3", region_name=REGION).get_object(Bucket="scim-test-exports",
                                                               Key=f"exports/{idp}/{export_id}.jsonl")
    text = stored["Body"].read().decode()
    assert len(text.encode()) == ready["bytes"]
    assert [line["kind"] for line in lines_of(text)] == ["User"] * 3 + ["Group"] + ["Membership"] * 3
    assert {line["resource"]["id"] for line in lines_of(text)[:3]} == set(ids)


# --- activity and audit -------------------------------------------------------------------------------------------


class CapturedActivity:
    def __init__(self, captured) -> None:
        self._captured = captured

    def records(self, idp_id: str, hours: float, limit: int) -> list[dict]:
        from scim_endpoint.management import activity

        return activity.from_lines((json.dumps(line) for line in self._captured.lines()), idp_id, limit)


def test_every_management_request_is_audited_and_shows_in_the_idps_activity(admin, new_idp, new_key, call,
                                                                           captured) -> None:
    idp = new_idp()["idp_id"]
    key = new_key(idp)
    call("POST", f"/v1/scim/{idp}/Users", body=user("alice@contoso.com"), token=key["token"])
    admin("DELETE", f"/admin/v1/idps/{idp}/keys/{key['id']}")
    audit = [line for line in captured.lines() if line.get("message") == "management action"]
    assert [(line["action"], line["status"]) for line in audit] == [
        ("idp.create", 201), ("key.create", 201), ("key.revoke", 200)]
    for line in audit:
        assert line["principal"] == ADMIN_ARN and line["idp_id"] == idp
    assert audit[2]["key_id"] == key["id"]
    text = json.dumps(captured.lines())
    assert key["token"] not in text and "alice@contoso.com" not in text

    activity_log.use(CapturedActivity(captured))
    records = admin("GET", f"/admin/v1/idps/{idp}/activity?limit=10").body["records"]
    assert [(r["kind"], r.get("action") or r.get("operation")) for r in records] == [
        ("management", "key.revoke"), ("scim", "POST /Users"), ("management", "key.create"),
        ("management", "idp.create")]
    assert records[1]["key_id"] == key["id"] and records[1]["status"] == 201
    error(admin("GET", f"/admin/v1/idps/{idp}/activity?hours=0"), 400, "invalid_request")


def test_an_idp_being_deleted_is_not_exported(admin, new_idp) -> None:
    idp = new_idp()["idp_id"]
    admin("DELETE", f"/admin/v1/idps/{idp}")
    error(admin("GET", f"/admin/v1/idps/{idp}/export"), 409, "idp_deleting")
    error(admin("POST", f"/admin/v1/idps/{idp}/exports"), 409, "idp_deleting")


def test_a_listing_reads_no_secret(admin, new_idp, monkeypatch) -> None:
    """The registry keeps a copy of each allow-list: listing 30 IdPs is one Query, not 30 Secrets Manager reads."""
    made = [new_idp(f"IdP {n}")["idp_id"] for n in range(30)]
    admin("PATCH", f"/admin/v1/idps/{made[3]}", {"allowed_networks": ["10.0.0.0/8"]})
    reads = []
    real = TenantDirectory.read
    monkeypatch.setattr(TenantDirectory, "read", lambda self, idp_id: reads.append(idp_id) or real(self, idp_id))
    listed = admin("GET", "/admin/v1/idps?limit=100").body["idps"]
    assert [i["idp_id"] for i in listed] == made and reads == []
    assert listed[3]["allowed_networks"] == ["10.0.0.0/8"] and listed[4]["allowed_networks"] == []


def test_upgrade_adopts_every_idp_made_before_the_registry(admin, new_idp) -> None:
    """`scim-admin upgrade`: IdPs that have only a secret are listed from then on, without waiting for a request."""
    from devtools.migrate import adopt_idps
    from scim_endpoint.store import store

    directory = TenantDirectory(boto3.client("secretsmanager", region_name=REGION), SECRETS_PREFIX)
    for idp_id in ("legacy-a", "legacy-b"):
        directory.create(idp_id, f"Legacy {idp_id}", now_text())
    current = new_idp("Current")["idp_id"]
    assert {i["idp_id"] for i in admin("GET", "/admin/v1/idps").body["idps"]} == {current}
    assert sorted(adopt_idps(store(), directory)) == ["legacy-a", "legacy-b"]
    assert {i["idp_id"] for i in admin("GET", "/admin/v1/idps").body["idps"]} == {current, "legacy-a", "legacy-b"}
    assert adopt_idps(store(), directory) == []  # once is enough


def _export_objects(idp: str) -> tuple[list[str], list[str]]:
    s3 = boto3.client("s3", region_name=REGION)
    objects = [o["Key"] for o in s3.list_objects_v2(Bucket="scim-test-exports",
                                                    Prefix=f"exports/{idp}/").get("Contents", [])]
    uploads = [u["Key"] for u in s3.list_multipart_uploads(Bucket="scim-test-exports",
                                                           Prefix=f"exports/{idp}/").get("Uploads", [])]
    return objects, uploads


def test_an_export_running_as_its_idp_is_deleted_leaves_nothing(admin, new_idp, new_key, call, monkeypatch) -> None:
    """An export that finds its IdP deleted when it is about to complete aborts its upload; one that completes as the
    erasure runs finds no record to finish (the erasure deletes the records first) and deletes its object; the
    erasure aborts uploads still under way. Nothing of the IdP is left in the bucket."""
    from scim_endpoint.management import services
    from scim_endpoint.store.registry import DynamoRegistryStore

    idp = new_idp()["idp_id"]
    populate(call, idp, new_key(idp)["token"])
    first = admin("POST", f"/admin/v1/idps/{idp}/exports").body["export_id"]
    assert admin("DELETE", f"/admin/v1/idps/{idp}").status == 202
    run_jobs()  # the export finds its IdP deleting: aborts; then the erasure
    assert _export_objects(idp) == ([], [])

    # An export whose check passed just before the erasure deleted its record: it completes, then cleans up.
    idp = new_idp()["idp_id"]
    populate(call, idp, new_key(idp)["token"])
    second = admin("POST", f"/admin/v1/idps/{idp}/exports").body["export_id"]
    real_get = DynamoRegistryStore.get

    def erased_meanwhile(self, idp_id):
        record = real_get(self, idp_id)
        self.delete_keys(self.registry_keys(idp_id))  # the erasure's step, between the check and the completion
        return record

    with monkeypatch.context() as patched:
        patched.setattr(DynamoRegistryStore, "get", erased_meanwhile)
        export.run(services(), idp, second)
    assert _export_objects(idp) == ([], [])

    # An upload still under way when the erasure deletes the IdP's exports is aborted.
    writer = services().exports.writer(f"exports/{idp}/{first}.jsonl")
    writer.write(b"{}\n")
    assert _export_objects(idp)[1] == [f"exports/{idp}/{first}.jsonl"]
    services().exports.delete_prefix(f"exports/{idp}/")
    assert _export_objects(idp) == ([], [])


def test_a_key_change_that_outlived_its_lock_is_not_reported_done(admin, new_idp, new_key, monkeypatch) -> None:
    """A change whose lease ran out while it wrote, and whose lock another change took (its release fails), reads
    the secret back: if its change is not what the secret holds, it answers 503, never 201."""
    from scim_endpoint.management import services
    from scim_endpoint.store.registry import DynamoRegistryStore

    idp = new_idp()["idp_id"]
    kept = new_key(idp)
    real_unlock = DynamoRegistryStore.unlock

    def overtaken(self, idp_id, owner, revision):
        real_unlock(self, idp_id, owner, revision)
        # Another holder, after our lease ran out: it read the secret from before our write, and wrote after it.
        directory = services().directory
        secret = directory.read(idp_id)
        directory.write(secret.model_copy(update={"keys": {kept["id"]: secret.keys[kept["id"]]}}))
        return False

    with monkeypatch.context() as patched:
        patched.setattr(DynamoRegistryStore, "unlock", overtaken)
        lost = admin("POST", f"/admin/v1/idps/{idp}/keys", {"name": "late", "privileges": ["users:read"]})
    assert lost.status == 503 and lost.headers["retry-after"] == "1", lost.body
    assert "list the keys, then retry" in lost.body["error"]["message"]
    assert [k["id"] for k in admin("GET", f"/admin/v1/idps/{idp}/keys").body["keys"]] == [kept["id"]]


def test_unexpected_failures_are_500_and_aws_failures_retryable(admin, new_idp, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    from scim_endpoint.management import idps
    from scim_endpoint.scim.errors import Throttled

    idp = new_idp()["idp_id"]

    def fails(error):
        def raising(self, *args, **kwargs):
            raise error
        return raising

    cases = [
        (KeyError("a bug"), 500, "internal_error", None),
        (Throttled("DynamoDB did not answer the reads in time; retry.", retry_after=1), 429, "throttled", "1"),
        (ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetSecretValue"), 429,
         "throttled", "1"),
        (ClientError({"Error": {"Code": "InternalServiceError", "Message": "oops"}}, "SendMessage"), 503,
         "unavailable", "1"),
    ]
    for raised, status, code, retry_after in cases:
        monkeypatch.setattr(idps.Idps, "get", fails(raised))
        answer = admin("GET", f"/admin/v1/idps/{idp}")
        assert (answer.status, answer.body["error"]["code"]) == (status, code), answer.body
        assert answer.headers.get("retry-after") == retry_after
        assert "a bug" not in json.dumps(answer.body) and "oops" not in json.dumps(answer.body)


def test_an_export_longer_than_one_invocation_fails_and_a_failed_job_is_retried_within_a_minute(
        admin, new_idp, new_key, call, monkeypatch) -> None:
    from scim_endpoint import jobs

    idp = new_idp()["idp_id"]
    populate(call, idp, new_key(idp)["token"])
    started = admin("POST", f"/admin/v1/idps/{idp}/exports").body["export_id"]
    ticks = iter(range(0, 10_000, 100))
    with monkeypatch.context() as patched:
        patched.setattr(export.time, "monotonic", lambda: float(next(ticks)))  # 100 s per line read
        run_jobs()
    assert admin("GET", f"/admin/v1/idps/{idp}/exports/{started}").body["state"] == "failed"
    assert _export_objects(idp) == ([], [])  # its upload aborted

    waits = []
    monkeypatch.setattr(jobs.JobQueue, "retry_after", lambda self, handle, seconds: waits.append(seconds))
    monkeypatch.setattr(erasure, "erase_step", lambda *args: (_ for _ in ()).throw(RuntimeError("DynamoDB down")))
    assert admin("DELETE", f"/admin/v1/idps/{idp}").status == 202
    with pytest.raises(JobFailed):
        run_jobs()
    assert waits == [60]  # received again a minute later, not after the queue's hour


def test_a_deletion_whose_erasure_could_not_be_queued_is_503_and_the_next_delete_queues_it(admin, new_idp,
                                                                                            monkeypatch) -> None:
    from botocore.exceptions import ClientError

    from scim_endpoint import jobs

    idp = new_idp()["idp_id"]
    with monkeypatch.context() as patched:
        patched.setattr(jobs.JobQueue, "submit", lambda self, job, delay_seconds=0: (_ for _ in ()).throw(
            ClientError({"Error": {"Code": "InternalError", "Message": "SQS is down"}}, "SendMessage")))
        failed = admin("DELETE", f"/admin/v1/idps/{idp}")
    assert failed.status == 503 and failed.body["error"]["code"] == "unavailable", failed.body
    assert admin("GET", f"/admin/v1/idps/{idp}").body["state"] == "deleting"  # it admits no request already
    assert run_jobs() == 0  # nothing was queued
    assert admin("DELETE", f"/admin/v1/idps/{idp}").status == 202  # the retry queues it
    run_jobs()
    error(admin("GET", f"/admin/v1/idps/{idp}"), 404, "not_found")
