"""`sam local` without an AWS account: the emulated AWS services the functions use, on a local port.

    make emulator [EMULATOR_PORT=4566]      (or: scim-emulator --port 4566 [--endpoint-host host.docker.internal])

Serves moto's DynamoDB, Secrets Manager and SQS on 127.0.0.1:<port> (or --host), with the table and queue of
template.yaml and the IdP of the sample events (`demo`) with one API key, and writes into `.emulator/`:

- `env.json`, for `sam local invoke/start-api --env-vars`: the functions' settings pointing at the emulator
  (`AWS_ENDPOINT_URL`, which boto3 reads, is declared in template.yaml for this: sam local only overrides variables
  the template declares);
- `credentials.json`: the IdP's Tenant URL and Secret Token (0600);
- `events/`: the sample events of `events/`, with the Secret Token filled in.

The functions run in Docker under sam local, so the endpoint in env.json must be reachable from a container:
127.0.0.1 with `--docker-network host` (Linux), or `--endpoint-host host.docker.internal --host 0.0.0.0` (Docker
Desktop). docs/local-server.md shows both. Stops on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from .local import template
from .local.server import (
    REGION, STACK_NAME, Emulator, _write_json, configure_environment, create_resources, write_private,
)

IDP_ID = "demo"  # the IdP id of the sample events in events/
TOKEN_PLACEHOLDER = "REPLACE_WITH_SECRET_TOKEN"
SAM_LOCAL_PORT = 3000  # where `sam local start-api` serves by default


def seed(directory_path: Path, endpoint_for_functions: str, public_base_url: str) -> dict:
    """The table, the queues, the bucket, the IdP and its key; the files sam local and its user need. Returns the
    credentials."""
    from scim_endpoint.config import settings
    from scim_endpoint.management import services
    from scim_endpoint.management.idps import Idps
    from scim_endpoint.management.keys import Keys
    from scim_endpoint.management.models import IdpCreate, KeyCreate

    queues = create_resources()
    configure_environment(os.environ["AWS_ENDPOINT_URL"], public_base_url, queues)
    Idps(services()).create(IdpCreate(name="Demo IdP (sam local)", idp_id=IDP_ID))
    token = Keys(services()).create(IDP_ID, KeyCreate(name="sam local", description="Seeded by the emulator",
                                                      privileges=["users:write", "groups:write"])).token

    directory_path.mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory_path, 0o700)
    environment = {
        "TABLE_NAME": settings().table_name,
        "SECRETS_PREFIX": settings().secrets_prefix,
        "AWS_ENDPOINT_URL": endpoint_for_functions,
        "PUBLIC_BASE_URL": public_base_url,
        # The management functions' own (sam local would otherwise give them the resources' logical ids).
        "JOBS_QUEUE_URL": settings().jobs_queue_url.replace(os.environ["AWS_ENDPOINT_URL"], endpoint_for_functions),
        "EXPORT_BUCKET": settings().export_bucket,
        # The key OAuth access tokens are signed with (the emulator made one, as CloudFormation does).
        "TOKEN_SIGNING_SECRET": settings().token_signing_secret,
    }
    _write_json(directory_path / "env.json", {"Parameters": environment})
    credentials = {"idp_id": IDP_ID, "tenant_url": f"{public_base_url}/v1/scim/{IDP_ID}", "token": token}
    _write_json(directory_path / "credentials.json", credentials)
    events = directory_path / "events"
    events.mkdir(mode=0o700, exist_ok=True)
    os.chmod(events, 0o700)
    for sample in sorted((template.REPO_ROOT / "events").glob("*.json")):
        write_private(events / sample.name, sample.read_text(encoding="utf-8").replace(TOKEN_PLACEHOLDER, token))
    return credentials


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scim-emulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (0.0.0.0 for Docker Desktop)")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--endpoint-host", default="127.0.0.1",
                        help="the host the functions reach the emulator at (host.docker.internal for Docker Desktop)")
    parser.add_argument("--dir", type=Path, default=template.REPO_ROOT / ".emulator", help="where to write its files")
    parser.add_argument("--api-port", type=int, default=SAM_LOCAL_PORT,
                        help="the port `sam local start-api` serves on (its --port; default 3000): the Tenant URLs")
    args = parser.parse_args(argv)

    emulator = Emulator(args.host, args.port)
    emulator.start()
    endpoint = f"http://{args.endpoint_host}:{emulator.port}"
    api = f"http://127.0.0.1:{args.api_port}"
    configure_environment(emulator.endpoint_url, api)
    credentials = seed(args.dir, endpoint, api)

    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    print(f"AWS emulated (DynamoDB, Secrets Manager, SQS) on {emulator.endpoint_url} (Ctrl-C to stop)\n"
          f"  region {REGION}; IdP {credentials['idp_id']}; its Secret Token is in {args.dir / 'credentials.json'}\n"
          f"  sam local start-api --env-vars {args.dir / 'env.json'} --docker-network host\n"
          f"  sam local invoke UsersFunction -e {args.dir / 'events' / 'get-users-filter.json'} "
          f"--env-vars {args.dir / 'env.json'} --docker-network host", flush=True)
    stopping.wait()
    emulator.stop()
    print("stopped")
    return 0


def function_environment(env_file: Path) -> dict[str, Any]:
    """What sam local gives a function: the template's variables, overridden by the file's `Parameters` (and by a
    section named after the function, which this project does not use), and sam's own AWS_* variables."""
    values = template.function_environment({"Table": "Table", "TokenSigningSecret": "TokenSigningSecret",
                                            "AWS::StackName": STACK_NAME, "AWS::Region": REGION})
    values.update(json.loads(env_file.read_text(encoding="utf-8"))["Parameters"])
    # sam local's defaults when no credentials are configured (samcli.local.lambdafn.env_vars).
    values.update(AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID="defaultkey",
                  AWS_SECRET_ACCESS_KEY="defaultsecret", AWS_SAM_LOCAL="true")
    return values


if __name__ == "__main__":
    sys.exit(main())
