"""``python -m local_runtime``: serve the template locally, print development tokens, play the demo, write the
OpenAPI document.

    python -m local_runtime serve [--demo] [--port 3000] [--moto-port 5000] [--template template.yaml]
    python -m local_runtime token --role customer|agent|admin [--sub ID]
    python -m local_runtime demo --url http://127.0.0.1:3000
    python -m local_runtime openapi --out docs/openapi.json
    python -m local_runtime env [--moto-endpoint http://127.0.0.1:5000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from local_runtime.auth import ROLES, DevJwt
from local_runtime.shell import aws_cli_line, default_region, export_lines
from local_runtime.template import TemplateError
from local_runtime.terminal_log import ActivitySummary, FunctionOutput

DEFAULT_PORT = 3000
DEFAULT_MOTO_PORT = 5000
SUMMARY_SECONDS = 5.0  # how often serve sums up the deliveries (without --verbose)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m local_runtime", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the template locally (API on 127.0.0.1, moto server for AWS)")
    serve.add_argument("--template", default="template.yaml")
    serve.add_argument("--config", default=None, help="development config (default: local_runtime/dev-config.json)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="API port (default $PORT or 3000; 0 picks a free one)")
    serve.add_argument("--moto-port", type=int, default=None, help="moto port (default $MOTO_PORT or 5000; 0: free)")
    serve.add_argument("--demo", action="store_true", help="play the demo journey once the runtime is up")
    serve.add_argument(
        "--verbose",
        action="store_true",
        help="every delivery as it happens, the functions' INFO logs, HTTP details and metric lines",
    )

    token = commands.add_parser("token", help="print a development JWT the local runtime accepts")
    token.add_argument("--role", choices=ROLES, default="customer")
    token.add_argument("--sub", default=None, help="subject (default dev-<role>)")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.add_argument("--scope", action="append", default=[], help="an extra scope (repeatable)")
    token.add_argument("--id-token", action="store_true", help="an ID token (token_use id) instead of an access token")
    token.add_argument("--email", default=None, help="ID token: a verified e-mail claim")
    token.add_argument("--phone", default=None, help="ID token: a verified phone_number claim (+E.164)")
    token.add_argument("--config", default=None)

    demo = commands.add_parser("demo", help="play the demo journey against a running local runtime")
    demo.add_argument("--url", default=None, help="API base URL (default http://127.0.0.1:$PORT)")
    demo.add_argument("--moto-endpoint", default=None, help="moto URL (default http://127.0.0.1:$MOTO_PORT)")

    env = commands.add_parser(
        "env", help='print the shell lines that point the AWS CLI and boto3 at moto: eval "$(make -s env)"'
    )
    env.add_argument("--moto-endpoint", default=None, help="moto URL (default http://127.0.0.1:$MOTO_PORT)")
    env.add_argument("--region", default=None, help="default: $AWS_REGION, $AWS_DEFAULT_REGION or eu-west-1")

    openapi = commands.add_parser("openapi", help="write the OpenAPI document generated from a function's routes")
    openapi.add_argument("--out", default="docs/openapi.json")
    openapi.add_argument("--template", default="template.yaml")
    openapi.add_argument("--config", default=None)
    openapi.add_argument("--function", default="CaptureApiFunction", help="its handler module must define `app`")
    return parser


def _configure_logging(verbose: bool) -> ActivitySummary | None:
    """The runtime's lines on stdout; unless ``verbose``, deliveries summed up (the summary to report)."""
    logger = logging.getLogger("local_runtime")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    summary = None if verbose else ActivitySummary()
    if summary is not None:
        handler.addFilter(summary)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    return summary


def _banner(runtime: object) -> str:
    from local_runtime.runtime import LocalRuntime

    assert isinstance(runtime, LocalRuntime)
    url = runtime.base_url
    moto = runtime.moto_endpoint
    lines = [
        f"omnichannel local runtime: {runtime.template.path.name} as stack {runtime.context.stack_name}"
        f" ({runtime.context.region})",
        f"  API   {url}",
        f'  moto  {moto}   AWS CLI: eval "$(make -s env)" once per shell, or one line:',
        f"        {aws_cli_line(moto or '', runtime.context.region, 'dynamodb', 'list-tables')}",
        "routes:",
    ]
    routes = sorted(runtime.routes, key=lambda route: (route.path or "~", route.method))
    width = max((len(route.route_key) for route in routes), default=0)
    for route in routes:
        auth = (
            f"  [JWT {route.authorizer}{' ' + ' '.join(route.scopes) if route.scopes else ''}]"
            if route.authorizer
            else ""
        )
        lines.append(f"  {route.route_key:<{width}}  → {route.function}{auth}")
    lines.append(f"  {'GET /_local/bus':<{width}}  → the last bus events (local only)")
    lines.append(f"  {'POST /_local/token':<{width}}  → a development token for the console's dev sign-in (local only)")
    lines.append(f"  {'GET /_local/backlog':<{width}}  → the deliveries still waiting, by function (local only)")
    deliveries = [
        f"  {sub.trigger}  ({sub.schedule.expression if sub.schedule else sub.kind})"
        + ("" if sub.enabled else " disabled")
        for sub in runtime.delivery.subscriptions
        if sub.function
    ]
    deliveries += [f"  {stream.trigger}  (DynamoDB stream)" for stream in runtime.delivery.streams]
    if deliveries:
        lines += ["deliveries:", *deliveries]
    keys = runtime.write_keys()
    if keys:
        others = f"   (also: {', '.join(keys[1:])})" if len(keys) > 1 else ""
        lines.append(f"write key: {keys[0]}{others}")
        lines.append(f"           e.g. curl -u {keys[0]}: -H 'content-type: application/json'")
        lines.append(f'           -d \'{{"userId":"u1","event":"Product Added","messageId":"m1"}}\' {url}/v1/track')
    lines.append(
        "token:     make token ROLE=customer|agent|admin [SUB=...]  (python -m local_runtime token --role agent)"
    )
    lines.append(f"console:   {url}/console  (dev sign-in, or paste a token)")
    lines.append(f"listening on {url} (Ctrl-C stops)")
    return "\n".join(lines)


def _port(value: int | None, variable: str, default: int) -> int:
    return value if value is not None else int(os.environ.get(variable, default))


def serve(args: argparse.Namespace) -> int:
    stop = threading.Event()  # set by the main thread once a signal came: the demo and the summary end
    signals: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        # Only a plain append here: a handler runs inside whatever the main thread was doing, and Event.set()
        # there deadlocked when the main thread was itself inside the Event's lock (seen after a cron tick).
        signals.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    if not args.verbose:
        # The functions print Powertools JSON logs and embedded-metric blobs: their warnings and errors as one
        # readable line each, nothing else (--verbose prints them raw)
        sys.stdout = FunctionOutput(sys.stdout)
    summary = _configure_logging(args.verbose)
    if not args.verbose:
        # Embedded-metric lines are for CloudWatch; on a terminal they bury the journey (--verbose shows them).
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    from local_runtime.runtime import LocalRuntime

    try:
        runtime = LocalRuntime.start(
            args.template,
            mode="server",
            http_port=_port(args.port, "PORT", DEFAULT_PORT),
            moto_port=_port(args.moto_port, "MOTO_PORT", DEFAULT_MOTO_PORT),
            host=args.host,
            config=args.config,
            # Without --verbose the functions log warnings and errors only: an INFO line per event buried the
            # demo (the template's LogLevel, INFO in dev-config.json, with --verbose)
            parameters=None if args.verbose else {"LogLevel": "WARNING"},
            background=True,
        )
    except OSError as exc:
        print(f"cannot start: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except (TemplateError, ValueError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 1
    if summary is not None:
        summary.report_every(SUMMARY_SECONDS, logging.getLogger("local_runtime"), stop)
    try:
        print(_banner(runtime), flush=True)
        if args.demo:
            moto = runtime.moto_endpoint or ""
            threading.Thread(target=_play_demo, args=(runtime.base_url, moto, stop), name="demo", daemon=True).start()
        while not signals:
            time.sleep(0.2)
        print("stopping…", flush=True)
    finally:
        stop.set()
        runtime.stop()
    print("stopped", flush=True)
    return 0


def _play_demo(base_url: str, moto_endpoint: str, stop: threading.Event) -> None:
    from local_runtime.demo import run_demo  # written separately; loaded only when asked for

    try:
        code = run_demo(base_url, moto_endpoint)
    except OSError as exc:  # requests' errors are OSErrors: an answer that never came is one line, not a traceback
        if not stop.is_set():
            print(f"the demo stopped: {type(exc).__name__}: {exc}; the runtime keeps serving (Ctrl-C stops)")
        return
    except Exception:
        if not stop.is_set():  # stopped mid-journey: the runtime going away is expected, not worth a traceback
            logging.getLogger("local_runtime").exception("the demo failed")
        return
    if not stop.is_set():
        print(f"demo finished with exit code {code}; the runtime keeps serving (Ctrl-C stops)", flush=True)


def demo(args: argparse.Namespace) -> int:
    from local_runtime.demo import run_demo

    url = args.url or f"http://127.0.0.1:{_port(None, 'PORT', DEFAULT_PORT)}"
    moto = args.moto_endpoint or f"http://127.0.0.1:{_port(None, 'MOTO_PORT', DEFAULT_MOTO_PORT)}"
    try:
        return run_demo(url, moto)
    except OSError as exc:  # requests' ConnectionError is one
        print(
            f"cannot reach the local runtime at {url} ({type(exc).__name__}); is `make serve` running?", file=sys.stderr
        )
        return 1


def env(args: argparse.Namespace) -> int:
    moto = args.moto_endpoint or f"http://127.0.0.1:{_port(None, 'MOTO_PORT', DEFAULT_MOTO_PORT)}"
    print(export_lines(moto, args.region or default_region()))
    return 0


def token(args: argparse.Namespace) -> int:
    from local_runtime.runtime import load_config

    dev_jwt = DevJwt.from_config(load_config(args.config))
    claims: dict[str, Any] = {}
    if args.email:
        claims.update(email=args.email, email_verified=True)
    if args.phone:
        claims.update(phone_number=args.phone, phone_number_verified=True)
    print(
        dev_jwt.issue(
            args.role,
            sub=args.sub,
            ttl_seconds=args.ttl,
            extra_scopes=args.scope,
            id_token=bool(args.id_token or claims),
            claims=claims,
        )
    )
    return 0


def openapi(args: argparse.Namespace) -> int:
    import importlib

    from local_runtime.runtime import LocalRuntime

    with (
        LocalRuntime.start(args.template, mode="inprocess", config=args.config) as runtime,
        runtime.in_function(args.function) as spec,
    ):
        module = importlib.import_module(spec.handler.replace("/", ".").rpartition(".")[0])
        # A handler may describe its API in `openapi_document()` (title, security schemes); else the bare schema.
        describe = getattr(module, "openapi_document", None) or module.app.get_openapi_json_schema
        document = json.loads(describe())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    commands = {"serve": serve, "token": token, "demo": demo, "openapi": openapi, "env": env}
    return commands[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
