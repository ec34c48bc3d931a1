"""The admin command line: what the SaaS admin console does for IdPs and API keys.

    scim-admin --stack scim-dev create-idp --name "Contoso Entra"
    scim-admin --stack scim-dev create-key --idp <IdP ID> --name Entra --description "Provisioning" \\
        --privilege users:write --privilege groups:write
    scim-admin --stack scim-dev list-keys --idp <IdP ID>
    scim-admin --stack scim-dev revoke-key --idp <IdP ID> --key <key id>

Target a deployed stack with `--stack NAME` (its outputs give the Secrets Manager prefix and the API URL), the
running local server with `--local`, or set SCIM_SECRETS_PREFIX and SCIM_API_BASE_URL. A key's secret is printed
once, when it is created, and is never stored or shown again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import activity
from scim_endpoint.auth.privileges import ALL as ALL_PRIVILEGES
from scim_endpoint.scim.errors import ServiceUnavailable
from scim_endpoint.tenants import TenantDirectory, UnknownIdp, UnknownKey


@dataclass(frozen=True)
class Target:
    secrets_prefix: str
    api_base_url: str
    client_options: dict
    # Where the functions' log lines are: a deployed stack's log groups, or the local server's file.
    log_groups: tuple[str, ...] = ()
    log_file: str | None = None
    # The table, and the cleanup's dead-letter queue (for redrive-cleanup).
    table_name: str | None = None
    dead_letter_queue_url: str | None = None

    def tenant_url(self, idp_id: str) -> str:
        return f"{self.api_base_url.rstrip('/')}/v1/scim/{idp_id}"


def _local_target(port: int) -> Target:
    from .local.server import state_file

    try:
        state = json.loads(state_file(port).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SystemExit(f"no local server is running on port {port} (start it with `make run`)") from None
    return Target(
        secrets_prefix=state["secrets_prefix"],
        api_base_url=state["api_base_url"],
        log_file=state.get("log_file"),
        table_name=state.get("table_name"),
        dead_letter_queue_url=state.get("dead_letter_queue_url"),
        client_options={
            "endpoint_url": state["aws_endpoint_url"],
            "region_name": state["region"],
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
        },
    )


def _stack_target(stack: str, region: str | None) -> Target:
    import boto3

    options = {"region_name": region} if region else {}
    described = boto3.client("cloudformation", **options).describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    log_groups = tuple(f"/aws/lambda/{stack}/{name}" for name in ("users", "groups"))
    return Target(outputs["SecretsPrefix"], outputs["ApiBaseUrl"], options, log_groups=log_groups,
                  table_name=outputs.get("TableName"), dead_letter_queue_url=outputs.get("CleanupDeadLetterQueueUrl"))


def _env_target(region: str | None) -> Target:
    prefix = os.environ.get("SCIM_SECRETS_PREFIX")
    if not prefix:
        raise SystemExit("name a target: --stack NAME, --local, or SCIM_SECRETS_PREFIX and SCIM_API_BASE_URL")
    options = {"region_name": region} if region else {}
    return Target(prefix, os.environ.get("SCIM_API_BASE_URL", "https://<api host>/<stage>"), options)


def _directory(target: Target) -> TenantDirectory:
    import boto3

    return TenantDirectory(boto3.client("secretsmanager", **target.client_options), target.secrets_prefix)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scim-admin", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--stack", help="a deployed stack's name (reads its outputs)")
    where.add_argument(
        "--local", nargs="?", type=int, const=3000, metavar="PORT",
        help="the running local server (`make run`), on PORT (default 3000)",
    )
    parser.add_argument("--region", help="AWS region of the stack (default: your AWS configuration's)")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    commands = parser.add_subparsers(dest="command", required=True)

    create_idp = commands.add_parser("create-idp", help="create an IdP; prints its IdP ID and Tenant URL")
    create_idp.add_argument("--name", required=True)
    create_idp.add_argument("--id", dest="idp_id", help="choose the IdP ID (default: a random UUID)")

    commands.add_parser("list-idps", help="list the IdPs")

    create_key = commands.add_parser("create-key", help="create an API key; prints its secret token once")
    create_key.add_argument("--idp", required=True)
    create_key.add_argument("--name", required=True)
    create_key.add_argument("--description", default="")
    create_key.add_argument(
        "--privilege",
        action="append",
        required=True,
        metavar="PRIVILEGE",
        help=f"repeatable; one of {', '.join(ALL_PRIVILEGES)} (write implies read)",
    )

    list_keys = commands.add_parser("list-keys", help="list an IdP's keys (never their secrets)")
    list_keys.add_argument("--idp", required=True)

    activity_command = commands.add_parser(
        "activity", help="an IdP's recent provisioning activity: changes asked for, by which key, how they ended"
    )
    activity_command.add_argument("--idp", required=True)
    activity_command.add_argument("--hours", type=float, default=24, help="how far back (default 24)")
    activity_command.add_argument("--limit", type=int, default=50, help="at most this many, newest first")

    revoke_key = commands.add_parser("revoke-key", help="revoke a key")
    revoke_key.add_argument("--idp", required=True)
    revoke_key.add_argument("--key", required=True)

    networks = commands.add_parser(
        "allow-networks",
        help="accept an IdP's requests only from these source networks (e.g. Entra's provisioning ranges); --any: all")
    networks.add_argument("--idp", required=True)
    chosen = networks.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--network", action="append", metavar="CIDR", help="repeatable, e.g. 20.190.128.0/18")
    chosen.add_argument("--networks-file", type=Path, metavar="FILE",
                        help="the networks, one per line (e.g. Entra's published ranges: docs/security.md)")
    chosen.add_argument("--any", action="store_true", help="no allow-list: any address (the default)")

    commands.add_parser(
        "migrate-guards",
        help="move the uniqueness guards of resources an earlier version wrote to the keys this version makes")

    redrive = commands.add_parser(
        "redrive-cleanup",
        help="replay the stream batches the cleanup could not handle (its dead-letter queue); sweep if they expired")
    redrive.add_argument("--timeout", type=float, default=300, help="stop after this many seconds (default 300)")
    return parser


def run(args: argparse.Namespace, target: Target, out: Any = None) -> int:
    out = out or sys.stdout
    if args.command == "redrive-cleanup":
        result = _redrive(args, target)
        print(json.dumps(result.as_dict(), indent=2) if args.json else
              f"Replayed {result.batches} failed batch(es), {result.records} stream record(s); "
              f"{result.memberships_deleted} membership(s) deleted"
              + ("; the table was swept (some records had left the stream)" if result.swept else "")
              + (f"; {len(result.left)} batch(es) failed again and stay on the queue" if result.left else ""),
              file=out)
        return 1 if result.left else 0
    if args.command == "migrate-guards":
        result = _migrate(target)
        print(json.dumps(result.as_dict(), indent=2) if args.json else
              f"Examined {result.examined} resource(s); moved the guards of {result.moved}"
              + (f"; {len(result.conflicts)} hold a name another resource now holds: "
                 + ", ".join(result.conflicts) if result.conflicts else ""), file=out)
        return 1 if result.conflicts else 0
    if args.command == "activity":
        records = _activity(args, target)
        print(json.dumps(records, indent=2) if args.json else
              "\n".join(activity.line(r) for r in records) or "no activity", file=out)
        return 0
    directory = _directory(target)

    def emit(data: Any, text: str) -> None:
        print(json.dumps(data, indent=2) if args.json else text, file=out)

    if args.command == "create-idp":
        idp = directory.create_idp(args.name, args.idp_id)
        url = target.tenant_url(idp.id)
        emit({"idp_id": idp.id, "name": idp.name, "tenant_url": url}, f"IdP ID:     {idp.id}\nTenant URL: {url}")
    elif args.command == "list-idps":
        idps = directory.list_idps()
        rows = [{"idp_id": i.id, "name": i.name, "created": i.created, "tenant_url": target.tenant_url(i.id),
                 "allowed_networks": list(i.allowed_networks)} for i in idps]
        emit(rows, "\n".join(f"{r['idp_id']}  {r['name']}  {r['tenant_url']}" for r in rows) or "no IdPs")
    elif args.command == "create-key":
        key, token = directory.create_key(args.idp, args.name, args.description, args.privilege)
        emit(
            {**key.public(), "idp_id": args.idp, "tenant_url": target.tenant_url(args.idp), "token": token},
            f"Key ID:       {key.id}\nPrivileges:   {', '.join(key.privileges)}\n"
            f"Tenant URL:   {target.tenant_url(args.idp)}\nSecret Token: {token}\n\n"
            "Copy the Secret Token now: it is shown this once and cannot be recovered.",
        )
    elif args.command == "list-keys":
        keys = [key.public() for key in directory.list_keys(args.idp)]
        emit(
            keys,
            "\n".join(
                f"{k['id']}  {k['name']}  {','.join(k['privileges'])}  created {k['created']}"
                + (f"  REVOKED {k['revoked']}" if k["revoked"] else "")
                for k in keys
            )
            or "no keys",
        )
    elif args.command == "allow-networks":
        networks = args.network or []
        if args.networks_file:
            lines = args.networks_file.read_text(encoding="utf-8").splitlines()
            networks = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
            if not networks:
                # An empty file (a download that failed) must not turn the allow-list off: that takes --any.
                raise ValueError(f"{args.networks_file} names no network; to accept any address, use --any")
        idp = directory.set_allowed_networks(args.idp, [] if args.any else networks)
        emit({"idp_id": idp.id, "allowed_networks": list(idp.allowed_networks)},
             f"IdP {idp.id} accepts requests from "
             + (", ".join(idp.allowed_networks) if idp.allowed_networks else "any address")
             + " (running functions apply it within SECRETS_CACHE_TTL_SECONDS).")
    elif args.command == "revoke-key":
        key = directory.revoke_key(args.idp, args.key)
        emit(key.public(), f"Revoked key {key.id} ({key.name}); running functions stop accepting it within "
                           "SECRETS_CACHE_TTL_SECONDS.")
    return 0


def _store(target: Target):
    import boto3

    from scim_endpoint.store import DynamoStore

    if not target.table_name:
        raise ValueError("this command needs --stack NAME or --local (the table)")
    return DynamoStore.over(boto3.client("dynamodb", **target.client_options), target.table_name)


def _migrate(target: Target):
    from .migrate import migrate

    return migrate(_store(target))


def _redrive(args: argparse.Namespace, target: Target):
    import boto3

    from scim_endpoint.observability import logger
    from scim_endpoint.store import DynamoStore

    from .redrive import redrive

    if not (target.table_name and target.dead_letter_queue_url):
        raise ValueError("redrive-cleanup needs --stack NAME or --local (the table and its dead-letter queue)")
    logger.setLevel("WARNING")  # the consumer's own log lines are for CloudWatch, not this terminal
    store = DynamoStore.over(boto3.client("dynamodb", **target.client_options), target.table_name)
    return redrive(boto3.client("sqs", **target.client_options),
                   boto3.client("dynamodbstreams", **target.client_options), store,
                   target.dead_letter_queue_url, timeout=args.timeout,
                   progress=lambda message: print(f"scim-admin: {message}", file=sys.stderr))


def _activity(args: argparse.Namespace, target: Target) -> list[dict]:
    if target.log_file:
        return activity.from_file(Path(target.log_file), args.idp, args.limit)
    if not target.log_groups:
        raise ValueError("activity needs --stack NAME or --local")
    import boto3

    logs = boto3.client("logs", **target.client_options)
    return activity.from_cloudwatch(logs, list(target.log_groups), args.idp, args.hours, args.limit)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.local is not None:
        target = _local_target(args.local)
    elif args.stack:
        target = _stack_target(args.stack, args.region)
    else:
        target = _env_target(args.region)
    try:
        return run(args, target)
    except UnknownIdp as error:
        print(f"scim-admin: no IdP {error}", file=sys.stderr)
    except UnknownKey as error:
        print(f"scim-admin: no key {error} for that IdP", file=sys.stderr)
    except ValueError as error:
        print(f"scim-admin: {error}", file=sys.stderr)
    except ServiceUnavailable as error:
        print(f"scim-admin: {error.detail}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
