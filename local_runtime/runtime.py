"""``LocalRuntime``: the template running on this machine, with moto as AWS.

::

    with LocalRuntime.start("template.yaml", mode="inprocess") as rt:
        status, headers, body = rt.request("POST", "/v1/track", body={...}, headers={...})
        deliveries = rt.drain()

Two modes share all the wiring: ``inprocess`` (moto's ``mock_aws``: no sockets for AWS, fast, for tests) and
``server`` (moto's ``ThreadedMotoServer`` on 127.0.0.1, so boto3, the AWS CLI and the handlers see the same
tables and bus through ``AWS_ENDPOINT_URL``). Either mode can also serve the HTTP API on a port.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import socket
import sys
import threading
import urllib.request
import uuid
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any, Literal
from urllib.parse import urlencode

import boto3
import botocore.session
from botocore.config import Config

from local_runtime.auth import DevJwt
from local_runtime.bus_delivery import BusDelivery
from local_runtime.deliveries import Delivery
from local_runtime.functions import FunctionHost, FunctionSpec, function_specs
from local_runtime.http_gateway import (
    LOOPBACK_HOSTS,
    Gateway,
    GatewayServer,
    HttpRequest,
    HttpResponse,
    Route,
    function_routes,
    http_apis,
    json_response,
)
from local_runtime.moto_patches import patched_moto, stop_tracking_instances
from local_runtime.resources import Stack, StackContext
from local_runtime.template import load_template

log = logging.getLogger("local_runtime")

Mode = Literal["inprocess", "server"]
DEFAULT_CONFIG = Path(__file__).resolve().with_name("dev-config.json")
DEFAULT_STACK_NAME = "omnichannel-local"
DEFAULT_MOTO_PORT = 5000
# A function variable that starts with RUNTIME_URL (a development-config parameter such as
# "{runtime}/_local/sink/whatsapp") names this runtime's HTTP address once it listens.
RUNTIME_URL = "{runtime}"
SINK_PATH = "/_local/sink"
SINK_SIZE = 500
# What the template names an HTTP API by on AWS (its execute-api origin); locally it is this runtime's address.
AWS_API_ORIGIN = re.compile(r"https://[A-Za-z0-9]+\.execute-api\.[a-z0-9-]+\.amazonaws\.com/?")
# moto does not know botocore's account-based endpoints (<account>.streams-ddb.<region>.amazonaws.com).
CLIENT_CONFIG = Config(account_id_endpoint_mode="disabled")
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


def load_config(path: str | Path | None) -> dict[str, Any]:
    """The development config (parameters, secrets, jwt); ``{}`` when the default file is absent."""
    file = Path(path) if path is not None else DEFAULT_CONFIG
    if path is None and not file.exists():
        return {}
    config = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise ValueError(f"{file}: expected a JSON object")
    return config


class LocalRuntime:
    """The template's tables, bus, queues and secrets in moto; its functions behind routes, rules and schedules."""

    def __init__(
        self,
        template: str | Path = "template.yaml",
        *,
        mode: Mode = "inprocess",
        http_port: int | None = None,
        moto_port: int | None = None,
        host: str = "127.0.0.1",
        config: str | Path | None = None,
        parameters: Mapping[str, str] | None = None,
        background: bool | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str | None = None,
        bus_log_size: int = 200,
    ) -> None:
        if mode not in ("inprocess", "server"):
            raise ValueError("mode must be 'inprocess' or 'server'")
        self.mode: Mode = mode
        self.template = load_template(template)
        self.config = load_config(config)
        self.context = StackContext(
            stack_name=stack_name,
            region=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1",
        )
        self.dev_jwt = DevJwt.from_config(self.config)
        self._host = host
        self._http_port = http_port
        self._moto_port = moto_port
        self._parameters = {**(self.config.get("parameters") or {}), **(parameters or {})}
        self._background = mode == "server" if background is None else background
        self._bus_log_size = bus_log_size
        self._clients: dict[str, Any] = {}
        self._mock: Any = None
        self._moto_server: Any = None
        self._http: GatewayServer | None = None
        self.moto_endpoint: str | None = None
        self.stack: Stack
        self.functions: dict[str, FunctionSpec] = {}
        self.host: FunctionHost
        self.delivery: BusDelivery
        self.gateway: Gateway
        self._started = False
        self._moto_patches = ExitStack()
        self._sink: deque[dict[str, Any]] = deque(maxlen=SINK_SIZE)

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def start(
        cls,
        template: str | Path = "template.yaml",
        *,
        mode: Mode = "inprocess",
        http_port: int | None = None,
        moto_port: int | None = None,
        host: str = "127.0.0.1",
        config: str | Path | None = None,
        parameters: Mapping[str, str] | None = None,
        background: bool | None = None,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str | None = None,
        bus_log_size: int = 200,
    ) -> LocalRuntime:
        """Create everything and start serving; use as a context manager or call :meth:`stop`.

        ``http_port``: None serves no socket (``request`` still works), 0 picks a free port. ``moto_port`` (server
        mode): None means ``$MOTO_PORT`` or 5000, 0 a free port. ``background``: deliver bus events and fire
        schedules from a thread (default: in server mode only; tests call :meth:`drain`). ``config``: the
        development config (default ``local_runtime/dev-config.json``); ``parameters`` override its parameters.
        """
        runtime = cls(
            template,
            mode=mode,
            http_port=http_port,
            moto_port=moto_port,
            host=host,
            config=config,
            parameters=parameters,
            background=background,
            stack_name=stack_name,
            region=region,
            bus_log_size=bus_log_size,
        )
        try:
            runtime._start()
        except BaseException:
            runtime.stop()
            raise
        return runtime

    def _start(self) -> None:
        self._started = True
        _forget_powertools_clients()
        if self.mode == "inprocess":
            from moto import mock_aws

            self._mock = mock_aws()
            self._mock.start()
        else:
            self._start_moto_server()
        self._moto_patches.enter_context(patched_moto())
        self.stack = Stack(
            self.template,
            self.client,
            context=self.context,
            parameter_overrides=self._parameters,
            secret_values=self.config.get("secrets") or {},
        )
        self.stack.build()
        for address in self.config.get("verified_email_identities") or []:
            self.client("ses").verify_email_identity(EmailAddress=address)  # moto's SES sends only from these
        stop_tracking_instances()  # the model classes moto imported while building the stack too
        self.functions = function_specs(
            self.stack.resources,
            base_dir=self.template.base_dir,
            context=self.context,
            endpoint_url=self.moto_endpoint,
        )
        unset = ("AWS_PROFILE",) if self.moto_endpoint else ("AWS_PROFILE", "AWS_ENDPOINT_URL")
        self.host = FunctionHost(self.functions, unset_variables=unset)
        self.delivery = BusDelivery(self.client, self.host.invoke, self.context, bus_log_size=self._bus_log_size)
        self.delivery.subscribe(self.functions, self.stack.resources)
        implicit_api = self.stack.intrinsics.resolve(self.template.globals.get("HttpApi") or {})
        apis = http_apis(self.stack.resources, implicit_api)
        self.gateway = Gateway(
            apis=apis,
            routes=function_routes({fid: spec.events for fid, spec in self.functions.items()}, apis),
            invoke=self.host.invoke,
            context=self.context,
            dev_jwt=self.dev_jwt,
            local_routes={
                "GET /_local/bus": lambda _request: json_response(200, self.bus_log()),
                "POST /_local/token": self._dev_sign_in,
                "POST /_local/schedules": self._fire_schedule_now,
                "GET /_local/backlog": lambda _request: json_response(200, {"waiting": self.delivery.backlog()}),
                "GET /_local/sink": lambda _request: json_response(200, self.sink()),
                f"POST {SINK_PATH}/*": self._sink_request,
            },
            # The loopback names, and the address it was asked to listen on (when not every address).
            allowed_hosts=LOOPBACK_HOSTS | ({self._host} - {"0.0.0.0", "::", ""}),
        )
        if self._http_port is not None:
            try:
                self._http = GatewayServer(self.gateway, self._host, self._http_port)
            except OSError as exc:
                raise OSError(
                    exc.errno, f"{self._host}:{self._http_port} is already in use (set PORT to another port)"
                ) from exc
            self._http.start()
            self._serve_api_origin_here(self._http.url)
        if self._background:
            self.delivery.start()

    def _serve_api_origin_here(self, url: str) -> None:
        """A function variable holding the HTTP API's AWS origin (``API_BASE_URL``: the origin of the journeys'
        signed survey links when ``PublicBaseUrl`` is empty) names this runtime's address instead, so a link a
        function writes opens locally. ``PublicBaseUrl`` itself is left as configured (capture checks Twilio's
        signatures against it)."""
        for function_id, spec in list(self.functions.items()):
            moved = {name: url for name, value in spec.environment.items() if AWS_API_ORIGIN.fullmatch(value)}
            moved |= {
                name: url + value.removeprefix(RUNTIME_URL)
                for name, value in spec.environment.items()
                if value.startswith(RUNTIME_URL)
            }
            if moved:
                self.functions[function_id] = dataclasses.replace(spec, environment={**spec.environment, **moved})
                self.host.specs[function_id] = self.functions[function_id]

    def _start_moto_server(self) -> None:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer

        port = self._moto_port if self._moto_port is not None else int(os.environ.get("MOTO_PORT", DEFAULT_MOTO_PORT))
        if port:
            _ensure_free(self._host, port, "MOTO_PORT")  # ThreadedMotoServer would wait forever on a busy port
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per AWS call otherwise
        self._moto_server = ThreadedMotoServer(ip_address=self._host, port=port, verbose=False)
        self._moto_server.start()
        host, real_port = self._moto_server.get_host_and_port()
        self.moto_endpoint = f"http://{host}:{real_port}"
        _bypass_proxies_for(host)
        # The backends are process-wide: start from empty ones, as a fresh moto server would.
        reset = urllib.request.Request(f"{self.moto_endpoint}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(reset, timeout=10):  # noqa: S310 - our own local server
            pass

    def stop(self) -> None:
        """Stop delivering and serving and shut moto down. Safe to call twice."""
        if not self._started:
            return
        self._started = False
        if hasattr(self, "delivery"):
            self.delivery.stop()
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self._moto_server is not None:
            self._moto_server.stop()
            self._moto_server = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._moto_patches.close()
        self._clients.clear()
        _forget_powertools_clients()

    def __enter__(self) -> LocalRuntime:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ AWS side
    def client(self, service: str) -> Any:
        """A boto3 client bound to this runtime's moto (fake credentials, the runtime's region)."""
        with _SESSIONS_LOCK:
            if service not in self._clients:
                # In-process, never follow an AWS_ENDPOINT_URL from the shell past mock_aws.
                ignore = self.moto_endpoint is None
                # boto3 adds S3's transfer methods to the client class of each boto3 session it is given a botocore
                # session for: a shared botocore session would get them twice, so S3 gets a session of its own.
                core = (
                    _fresh_botocore_session(ignore)
                    if service == "s3"
                    else _botocore_session(ignore_configured_endpoints=ignore)
                )
                session = boto3.session.Session(
                    botocore_session=core, region_name=self.context.region, **FAKE_CREDENTIALS
                )
                self._clients[service] = session.client(  # type: ignore[call-overload]
                    service, endpoint_url=self.moto_endpoint, config=CLIENT_CONFIG
                )
            return self._clients[service]

    def resource_ref(self, logical_id: str) -> Any:
        """What ``!Ref logical_id`` resolves to (a table or bus name, a queue URL, a secret ARN ...)."""
        return self.stack.resources[logical_id].ref

    def resource_attribute(self, logical_id: str, attribute: str) -> Any:
        """What ``!GetAtt logical_id.attribute`` resolves to."""
        return self.stack.resources[logical_id].attributes[attribute]

    def table_name(self, logical_id: str) -> str:
        """The DynamoDB table name of a template table."""
        resource = self.stack.resources[logical_id]
        if resource.type not in ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable"):
            raise KeyError(f"{logical_id} is a {resource.type}, not a table")
        return str(resource.ref)

    def put_event(
        self, detail_type: str, detail: Mapping[str, Any], *, source: str = "local.test", bus: str | None = None
    ) -> str:
        """Put one event on the bus (the template's only EventBus by default); returns its EventBridge id."""
        if bus is None:
            buses = [res.ref for res in self.stack.resources.values() if res.type == "AWS::Events::EventBus"]
            bus = str(buses[0]) if len(buses) == 1 else "default"
        entry = {"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}
        answer = self.client("events").put_events(Entries=[entry])["Entries"][0]
        if "EventId" not in answer:
            raise RuntimeError(f"put_events refused the event: {answer}")
        return str(answer["EventId"])

    # ------------------------------------------------------------------ functions
    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
        query: Mapping[str, Any] | str | None = None,
        source_ip: str = "127.0.0.1",
    ) -> HttpResponse:
        """Send one HTTP request through the gateway in-process (no socket, same event building as the server).

        A dict or list ``body`` is sent as JSON. Returns an :class:`HttpResponse`, which unpacks as
        ``status, headers, body``.
        """
        header_list = list(headers.items()) if isinstance(headers, Mapping) else list(headers or [])
        names = {name.lower() for name, _ in header_list}
        if isinstance(body, (Mapping, list)):
            data = json.dumps(body).encode()
            if "content-type" not in names:
                header_list.append(("content-type", "application/json"))
        else:
            data = body.encode() if isinstance(body, str) else (body or b"")
        raw_path, _, raw_query = path.partition("?")
        if query is not None:
            raw_query = query if isinstance(query, str) else urlencode(query, doseq=True)
        if "host" not in names:
            header_list.insert(0, ("host", f"{self._host}:{self._http.server_address[1] if self._http else 3000}"))
        if data and "content-length" not in names:
            header_list.append(("content-length", str(len(data))))
        request = HttpRequest(method.upper(), raw_path or "/", raw_query, tuple(header_list), data, source_ip)
        return self.gateway.handle(request)

    def invoke(self, function_id: str, event: Any) -> Any:
        """Invoke a function directly with ``event`` (like ``sam local invoke -e``); raises HandlerError."""
        return self.host.invoke(function_id, event)

    @contextmanager
    def in_function(self, function_id: str) -> Iterator[FunctionSpec]:
        """Run a block as if inside ``function_id``: its environment, its ``sys.path`` and its modules."""
        with self.host.running(function_id) as spec:
            yield spec

    def function_module(self, function_id: str, module: str) -> ModuleType:
        """The function's own copy of ``module`` (e.g. to call ``capture.wiring.override`` on what it runs)."""
        return self.host.module(function_id, module)

    def drain(self, timeout: float = 10.0) -> list[Delivery]:
        """Deliver every pending bus event, queue message and retry now; returns what was delivered to whom."""
        return self.delivery.drain(timeout)

    def fire_schedule(self, function_id: str, event_name: str | None = None) -> list[Delivery]:
        """Fire a function's Schedule event now and deliver it."""
        return self.delivery.fire_schedule(function_id, event_name)

    def bus_log(self) -> list[dict[str, Any]]:
        """The last events that passed on the bus (oldest first; a bundle's events one by one)."""
        return self.delivery.bus_log()

    def sink(self) -> list[dict[str, Any]]:
        """What functions sent to the local sink (oldest first): see :meth:`_sink_request`."""
        return list(self._sink)

    def _sink_request(self, request: HttpRequest) -> HttpResponse:
        """A stand-in for a provider's send API (``POST /_local/sink/<name>/...``): a parameter of the development
        config written ``{runtime}/_local/sink/<name>`` (e.g. ``WhatsAppApiBaseUrl``) points a function here, so a
        message it sends is accepted instead of failing for want of a network. The request is kept (path and JSON
        body, never its headers: no token) for ``GET /_local/sink``, and answered with an id in the shapes send APIs
        use (``id``, and WhatsApp Cloud API's ``messages[0].id``)."""
        try:
            body: Any = json.loads(request.body or b"null")
        except ValueError:
            return json_response(400, {"message": "the body is not JSON"})
        message_id = f"local-{uuid.uuid4()}"
        self._sink.append({"id": message_id, "path": request.path.removeprefix(SINK_PATH), "body": body})
        return json_response(200, {"id": message_id, "messages": [{"id": message_id}]})

    def _dev_sign_in(self, request: HttpRequest) -> HttpResponse:
        """The console's "dev sign-in" (local only; never part of the template): a development token for a staff
        role. Body ``{"role": "agent"|"admin", "sub"?: "..."}``."""
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return json_response(400, {"code": "invalid_json", "message": "the body is not JSON"})
        role = body.get("role", "agent") if isinstance(body, dict) else None
        if role not in ("agent", "admin"):
            return json_response(400, {"code": "invalid_role", "message": "role: agent or admin", "field": "role"})
        sub = body.get("sub") if isinstance(body.get("sub"), str) and body["sub"] else f"dev-{role}"
        return json_response(200, {"token": self.dev_jwt.issue(role, sub=sub), "role": role, "sub": sub})

    def _fire_schedule_now(self, request: HttpRequest) -> HttpResponse:
        """Fire a function's schedule now instead of at its next tick (local only; the demo fires the cart
        abandonment sweep with it). Body ``{"function": "CartsAbandonmentFunction", "event"?: "EveryFiveMinutes",
        "settle"?: true}``; ``settle`` delivers everything pending first, so the function sees what was sent."""
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return json_response(400, {"code": "invalid_json", "message": "the body is not JSON"})
        function = body.get("function") if isinstance(body, dict) else None
        event = body.get("event") if isinstance(body, dict) else None
        if not isinstance(function, str):
            return json_response(
                400, {"code": "invalid_field", "message": "function: a function's logical id", "field": "function"}
            )
        if not isinstance(event, str | None):
            return json_response(
                400, {"code": "invalid_field", "message": "event: a Schedule event's name", "field": "event"}
            )
        if not self.delivery.schedules_of(function, event):
            return json_response(
                404,
                {"code": "no_schedule", "message": f"{function} has no such Schedule event", "field": "function"},
            )
        settled = self.drain(timeout=300) if isinstance(body, dict) and body.get("settle") is True else []
        deliveries = settled + self.fire_schedule(function, event)
        return json_response(
            200, {"deliveries": [{"trigger": item.trigger, "outcome": item.outcome} for item in deliveries]}
        )

    def token(
        self, role: str, *, sub: str | None = None, id_token: bool = False, claims: Mapping[str, Any] | None = None
    ) -> str:
        """A development JWT that the JWT-protected routes accept (an ID token with ``id_token=True``)."""
        return self.dev_jwt.issue(role, sub=sub, id_token=id_token, claims=claims)

    # ------------------------------------------------------------------ facts for people
    @property
    def routes(self) -> list[Route]:
        return list(self.gateway.routes)

    @property
    def base_url(self) -> str:
        """The HTTP API's URL (only when started with an ``http_port``)."""
        if self._http is None:
            raise RuntimeError("this runtime serves no HTTP port; start it with http_port=0 or a port number")
        return self._http.url

    def write_keys(self) -> list[str]:
        """The development write keys configured for the secrets (``write_keys`` of each)."""
        keys: list[str] = []
        for value in (self.config.get("secrets") or {}).values():
            if isinstance(value, dict):
                keys += list((value.get("write_keys") or {}).keys())
        return keys


_SESSIONS_LOCK = threading.Lock()
_SESSIONS: dict[bool, botocore.session.Session] = {}


def _botocore_session(*, ignore_configured_endpoints: bool) -> botocore.session.Session:
    """One botocore session per kind, shared by all runtimes: loading service models is most of a client's cost."""
    if ignore_configured_endpoints not in _SESSIONS:
        core = botocore.session.Session()
        if ignore_configured_endpoints:
            core.set_config_variable("ignore_configured_endpoint_urls", True)
        _SESSIONS[ignore_configured_endpoints] = core
    return _SESSIONS[ignore_configured_endpoints]


def _fresh_botocore_session(ignore_configured_endpoints: bool) -> botocore.session.Session:
    core = botocore.session.Session()
    if ignore_configured_endpoints:
        core.set_config_variable("ignore_configured_endpoint_urls", True)
    return core


def _ensure_free(host: str, port: int, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise OSError(exc.errno, f"{host}:{port} is already in use (set {variable} to another port)") from exc


def _bypass_proxies_for(host: str) -> None:
    """boto3 honours HTTP(S)_PROXY; the local moto server must be reached directly."""
    if not any(name in os.environ for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")):
        return
    for name in ("NO_PROXY", "no_proxy"):
        current = [part for part in os.environ.get(name, "").split(",") if part]
        os.environ[name] = ",".join([*current, *(item for item in (host, "localhost") if item not in current)])


def _forget_powertools_clients() -> None:
    """Powertools' parameters utility keeps boto3 clients and values process-wide; a new runtime (maybe on
    another moto port) must not inherit them."""
    module = sys.modules.get("aws_lambda_powertools.utilities.parameters.base")
    if module is not None:
        module.DEFAULT_PROVIDERS.clear()
