"""Races on one user through the real handlers: a change that loses a race to another writer is retried on the fresh
version (never lost, never a 500) unless the client pinned a version with If-Match, which then gets 412."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any, Callable

import pytest

from scim_endpoint.resources import common, retry
from scim_endpoint.scim.resource_types import USER
from scim_endpoint.store.resources import DynamoResourceStore as Store
from tests.conftest import Tenant
from tests.integration.test_users import ENTERPRISE, entra_user, patch_op, user, version
from tests.support import Container, Users, at_once, error, ok


# The real method, whatever a test patches it to: the other writer uses it.
REAL_UPDATE = Store.update


def write(store: Store, idp_id: str, user_id: str, change: Callable[[dict], dict]) -> None:
    """Another writer's committed change to a user, straight through the store."""
    fresh = store.get(idp_id, USER.name, user_id)
    attributes = change(dict(fresh.attributes))
    other = replace(fresh, attributes=attributes, version=fresh.version + 1, last_modified=common.timestamp())
    REAL_UPDATE(store, idp_id, USER.name, fresh, other,
                common.unique_keys(USER, fresh.attributes), common.unique_keys(USER, attributes))


def interloper(monkeypatch: pytest.MonkeyPatch, operation: str, change: Callable[[dict], dict]) -> list[int]:
    """Make the first `Store.<operation>` lose a race: between our read and our write, another writer changes the
    same user (a real, committed change). Returns the versions each call of `Store.<operation>` was based on."""
    original = getattr(Store, operation)
    calls: list[int] = []

    def racing(self: Store, idp_id: str, resource_type: str, current, *args: Any, **kwargs: Any):
        calls.append(current.version)
        if len(calls) == 1:
            write(self, idp_id, current.id, change)
        return original(self, idp_id, resource_type, current, *args, **kwargs)

    monkeypatch.setattr(Store, operation, racing)
    return calls


def test_a_lost_patch_race_is_retried_and_both_changes_are_kept(users: Users, monkeypatch) -> None:
    before = users.create(entra_user("race@contoso.com"))
    calls = interloper(monkeypatch, "update", lambda a: {**a, "title": "Set by the other writer"})
    result = users.patch(before["id"], patch_op({"op": "replace", "path": "displayName", "value": "Set by us"}))
    after = ok(result)
    assert calls == [1, 2]  # lost on version 1, retried on version 2
    assert after["displayName"] == "Set by us"
    assert after["title"] == "Set by the other writer"
    assert version(after) == 3 and result.headers["etag"] == 'W/"3"'
    assert users.read(before["id"]) == after


def test_a_lost_race_with_if_match_is_412(users: Users, monkeypatch) -> None:
    before = users.create(entra_user("race@contoso.com"))
    calls = interloper(monkeypatch, "update", lambda a: {**a, "title": "Set by the other writer"})
    body = error(users.patch(before["id"], patch_op({"op": "replace", "path": "displayName", "value": "Mine"}),
                             headers={"If-Match": before["meta"]["version"]}), 412)
    assert body["status"] == "412"
    assert calls == [1]
    after = users.read(before["id"])
    assert after["displayName"] == before["displayName"] and after["title"] == "Set by the other writer"
    assert version(after) == 2


def test_a_lost_put_race_is_retried(users: Users, monkeypatch) -> None:
    before = users.create(entra_user("race@contoso.com"))
    calls = interloper(monkeypatch, "update", lambda a: {**a, "title": "Overwritten by the PUT"})
    after = ok(users.put(before["id"], user("race@contoso.com", displayName="Put")))
    assert calls == [1, 2]
    assert "title" not in after and after["displayName"] == "Put" and version(after) == 3
    assert users.read(before["id"]) == after

    calls = interloper(monkeypatch, "update", lambda a: {**a, "title": "Kept"})
    error(users.put(before["id"], user("race@contoso.com"), headers={"If-Match": 'W/"3"'}), 412)
    assert users.read(before["id"])["title"] == "Kept"


def test_a_lost_rename_race(users: Users, monkeypatch) -> None:
    """Meanwhile the other writer renamed the user to our name in another case: the retry still renames it."""
    before = users.create(entra_user("old.name@contoso.com"))
    calls = interloper(monkeypatch, "update", lambda a: {**a, "userName": "New.Name@contoso.com"})
    after = ok(users.patch(before["id"], patch_op({"op": "replace", "path": "userName",
                                                   "value": "new.name@contoso.com"})))
    assert calls == [1, 2]
    assert after["userName"] == "new.name@contoso.com" and version(after) == 3
    assert users.filter('userName eq "NEW.NAME@contoso.com"') == [after]
    assert users.filter('userName eq "old.name@contoso.com"') == []


def test_a_lost_race_for_our_new_user_name_is_409(users: Users, monkeypatch) -> None:
    """Another user takes the name we rename to between our read and our write: 409, and nothing changes."""
    mine = users.create(entra_user("mine@contoso.com"))
    other = users.create(user("other@contoso.com"))
    original = Store.update
    calls: list[str] = []

    def racing(self, idp_id, resource_type, current, *args, **kwargs):
        calls.append(current.id)
        if len(calls) == 1:
            write(self, idp_id, other["id"], lambda a: {**a, "userName": "Wanted@contoso.com"})
        return original(self, idp_id, resource_type, current, *args, **kwargs)

    monkeypatch.setattr(Store, "update", racing)
    error(users.patch(mine["id"], patch_op({"op": "replace", "path": "userName", "value": "WANTED@contoso.com"},
                                           {"op": "replace", "path": "title", "value": "x"})), 409, "uniqueness")
    assert calls == [mine["id"]]
    assert users.read(mine["id"]) == mine
    (taker,) = users.filter('userName eq "wanted@contoso.com"')
    assert taker["id"] == other["id"]


def test_a_lost_delete_race_is_retried(users: Users, monkeypatch) -> None:
    before = users.create(entra_user("race@contoso.com"))
    calls = interloper(monkeypatch, "delete", lambda a: {**a, "userName": "renamed@contoso.com"})
    assert users.delete(before["id"]).status == 204
    assert calls == [1, 2]
    error(users.get(before["id"]), 404)
    # The guard of the name the other writer gave it went with it.
    assert users.filter('userName eq "renamed@contoso.com"') == []
    users.create(user("renamed@contoso.com"))


def test_a_lost_delete_race_with_if_match_is_412(users: Users, monkeypatch) -> None:
    before = users.create(entra_user("race@contoso.com"))
    interloper(monkeypatch, "delete", lambda a: {**a, "title": "Changed"})
    error(users.delete(before["id"], headers={"If-Match": 'W/"1"'}), 412)
    assert users.read(before["id"])["title"] == "Changed"


def test_a_change_that_keeps_losing_is_429_not_500(users: Users, monkeypatch) -> None:
    monkeypatch.setattr(retry, "RETRY_MAX_SECONDS", 0)
    before = users.create(entra_user("busy@contoso.com"))
    attempts: list[int] = []

    def always_late(self, idp_id, resource_type, current, *args, **kwargs):
        attempts.append(current.version)
        write(self, idp_id, current.id, lambda a: {**a, "title": f"t{len(attempts)}"})
        return REAL_UPDATE(self, idp_id, resource_type, current, *args, **kwargs)

    monkeypatch.setattr(Store, "update", always_late)
    status, headers, body = users.patch(before["id"], patch_op({"op": "replace", "path": "nickName", "value": "x"}))
    assert status == 429, body
    assert int(headers["retry-after"]) >= 1
    assert len(attempts) == retry.MAX_ATTEMPTS
    assert "nickName" not in users.read(before["id"])


# --- many writers at once -------------------------------------------------------------------------------------------


TEN_CHANGES = [
    ("title", "Title"),
    ("nickName", "Nick"),
    ("displayName", "Display"),
    ("profileUrl", "https://contoso.example/p"),
    ("userType", "Employee"),
    ("preferredLanguage", "en-GB"),
    ("locale", "en-GB"),
    ("timezone", "Europe/London"),
    ("name.givenName", "Given"),
    (f"{ENTERPRISE}:costCenter", "CC-7"),
]


def test_ten_concurrent_patches_of_one_user_all_land(users: Users, tenant: Tenant, atomic_dynamodb,
                                                    monkeypatch) -> None:
    before = users.create(entra_user("crowd@contoso.com"))
    containers = [Container("UsersFunction", tenant, n) for n in range(len(TEN_CHANGES))]
    ok(users.get(before["id"]))  # the key is in the process's key cache before the crowd arrives
    bodies = [patch_op({"op": "replace", "path": path, "value": value}) for path, value in TEN_CHANGES]
    attempts: list[int] = []
    original = Store.update

    def counted(self, *args, **kwargs):
        attempts.append(threading.get_ident())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Store, "update", counted)

    def send(index: int):
        return containers[index]("PATCH", f"{tenant.base}/Users/{before['id']}", bodies[index])

    results = at_once(len(containers), send, timeout=30)

    assert [r[0] if isinstance(r, tuple) else r for r in results] == [200] * 10, results
    after = users.read(before["id"])
    assert version(after) == 11
    assert after["title"] == "Title" and after["nickName"] == "Nick" and after["displayName"] == "Display"
    assert after["profileUrl"] == "https://contoso.example/p" and after["userType"] == "Employee"
    assert after["preferredLanguage"] == "en-GB" and after["locale"] == "en-GB"
    assert after["timezone"] == "Europe/London"
    assert after["name"] == {**before["name"], "givenName": "Given"}
    assert after[ENTERPRISE] == {**before[ENTERPRISE], "costCenter": "CC-7"}
    # Every answer was the whole user at the version it made.
    versions = sorted(version(r[2]) for r in results)
    assert versions == list(range(2, 12))
    assert len(attempts) >= 10  # more when some lost a race and were retried (usually 15 to 30)


def test_containers_in_one_process_do_not_see_each_others_requests(users: Users, tenant: Tenant,
                                                                  monkeypatch) -> None:
    """Two containers of the Users function serving at the same time in one process, as the local server runs
    them: each request is answered from its own event (Powertools keeps the current event on a class that every
    resolver of the process shares)."""
    from scim_endpoint import tenants

    first, second = Container("UsersFunction", tenant, 1), Container("UsersFunction", tenant, 2)
    ok(users.list("count=0"))  # the key is in the process's key cache
    paused, resume = threading.Event(), threading.Event()
    authenticate = tenants.KeyCache.authenticate

    def slow_for_the_first(self, idp_id, token, source_ip=None, revision=None):
        principal = authenticate(self, idp_id, token, source_ip, revision)
        if threading.current_thread().name == "first" and not paused.is_set():
            paused.set()
            assert resume.wait(10)
        return principal

    monkeypatch.setattr(tenants.KeyCache, "authenticate", slow_for_the_first)
    answers: dict[str, Any] = {}

    def send(name: str, container: Container, user_name: str) -> None:
        answers[name] = container("POST", f"{tenant.base}/Users", user(user_name))

    one = threading.Thread(target=send, args=("first", first, "first@contoso.com"), name="first")
    one.start()
    assert paused.wait(10)
    send("second", second, "second@contoso.com")  # served while the first waits in its middleware
    resume.set()
    one.join(10)
    assert answers["second"][0] == 201 and answers["second"][2]["userName"] == "second@contoso.com"
    assert answers["first"][0] == 201, answers["first"]
    assert answers["first"][2]["userName"] == "first@contoso.com"


def test_a_containers_log_keys_are_its_own(aws, captured) -> None:
    """Containers are threads here: one clearing its logger state (as every invocation starts) or appending keys
    must not reach another's lines (an audit line would lose its principal and its IdP)."""
    from scim_endpoint.observability import logger

    ready, go = threading.Event(), threading.Event()

    def first() -> None:
        logger.append_keys(idp_id="first-idp", principal="arn:first")
        ready.set()
        assert go.wait(5)
        logger.info("from the first container")

    thread = threading.Thread(target=first)
    thread.start()
    assert ready.wait(5)
    logger.clear_state()  # another container's invocation starting
    logger.append_keys(idp_id="second-idp")
    logger.info("from the second container")
    go.set()
    thread.join(5)
    lines = {line["message"]: line for line in captured.lines()}
    assert lines["from the first container"]["idp_id"] == "first-idp"
    assert lines["from the first container"]["principal"] == "arn:first"
    assert lines["from the second container"]["idp_id"] == "second-idp"
    assert "principal" not in lines["from the second container"]
    for line in lines.values():
        assert line["level"] == "INFO" and line["service"] == "scim"  # each thread starts from the built keys
