"""The HTTP API: template routes served on 127.0.0.1, each request turned into an API Gateway HTTP API
payload 2.0 event, the handler's answer turned back into an HTTP response by the payload 2.0 rules.

:meth:`Gateway.handle` does the work without sockets (tests and ``LocalRuntime.request`` call it directly);
:class:`GatewayServer` is the thin ``ThreadingHTTPServer`` in front of it.

Hardened for a developer's machine: only requests whose ``Host`` is the loopback address or ``localhost`` are served
(a web page the developer opens cannot reach it through DNS rebinding: ``/_local/token`` mints tokens and
``/_local/bus`` shows personal data), ``Content-Length`` must be one plain number (``-1`` would hold the
connection), a body above API Gateway's 10 MB is a JSON 413, and every error the server itself answers is JSON
(never ``http.server``'s HTML page). A connection idle for ``IDLE_TIMEOUT_SECONDS`` is closed.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from local_runtime.auth import AuthError, DevJwt, api_gateway_claims, bearer_token, scopes_of
from local_runtime.functions import HandlerError
from local_runtime.resources import Resource, StackContext, api_id_for

log = logging.getLogger("local_runtime")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request size limit
IDLE_TIMEOUT_SECONDS = 30
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]"})
_HOST = re.compile(r"^(?P<name>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?$")
_DIGITS = re.compile(r"^[0-9]{1,12}$")
_HEX = re.compile(r"^[0-9a-fA-F]{1,12}$")
TEXT_MEDIA_TYPES = frozenset(
    {"application/json", "application/xml", "application/javascript", "application/ecmascript", "application/graphql"}
)
IMPLICIT_API = "ServerlessHttpApi"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Invoke = Callable[[str, Any], Any]
LocalRoute = Callable[["HttpRequest"], "HttpResponse"]


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as it reached the gateway."""

    method: str
    path: str  # raw (percent-encoded) path
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass
class HttpResponse:
    """An HTTP response. Unpacks as ``status, headers, body``; ``headers`` has lower-case names."""

    status: int
    header_list: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def headers(self) -> dict[str, str]:
        joined: dict[str, str] = {}
        for name, value in self.header_list:
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        return joined

    def json(self) -> Any:
        return json.loads(self.body)

    def __iter__(self) -> Any:
        return iter((self.status, self.headers, self.body))


def json_response(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json"), *headers], json.dumps(payload).encode())


def served_host(host: str | None, allowed: Iterable[str] = LOOPBACK_HOSTS) -> bool:
    """Whether a ``Host`` header names this machine's loopback (or another allowed name), with any port."""
    found = _HOST.match((host or "").strip())
    return found is not None and found["name"].lower() in {name.lower() for name in allowed}


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    identity_header: str = "authorization"
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...] = ("*",)
    allow_methods: tuple[str, ...] = ("*",)
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def origin(self, origin: str | None) -> str | None:
        """The ``access-control-allow-origin`` value for ``origin``, or None if it is not allowed."""
        if not origin:
            return None
        if "*" in self.allow_origins:
            return "*"
        return origin if origin in self.allow_origins else None


@dataclass(frozen=True)
class HttpApi:
    logical_id: str
    api_id: str
    cors: Cors | None = None
    authorizers: Mapping[str, JwtAuthorizer] = field(default_factory=dict)
    default_authorizer: str | None = None


@dataclass(frozen=True)
class Route:
    """One ``Type: HttpApi`` event of a function. ``path`` None is the ``$default`` route."""

    api: str
    method: str
    path: str | None
    function: str
    event: str
    authorizer: str | None = None
    scopes: tuple[str, ...] = ()

    @property
    def route_key(self) -> str:
        return "$default" if self.path is None else f"{self.method} {self.path}"

    @property
    def segments(self) -> list[str]:
        return [] if self.path is None else self.path.split("/")[1:]

    def specificity(self) -> tuple[Any, ...]:
        """Sort key: literal segments beat {params}, which beat {greedy+}; a method beats ANY; $default is last."""
        if self.path is None:
            return ((3,), 1)
        ranks = tuple(2 if part.endswith("+}") else 1 if part.startswith("{") else 0 for part in self.segments)
        return (ranks, 1 if self.method == "ANY" else 0)

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters if this route takes ``method path``, else None."""
        if self.method not in ("ANY", method):
            return None
        if self.path is None:
            return {}
        wanted, given = self.segments, path.split("/")[1:]
        params: dict[str, str] = {}
        for index, part in enumerate(wanted):
            if part.startswith("{") and part.endswith("+}"):
                rest = given[index:]
                if not rest or rest == [""]:
                    return None
                params[part[1:-2]] = unquote("/".join(rest))
                return params
            if index >= len(given):
                return None
            if part.startswith("{") and part.endswith("}"):
                if not given[index]:
                    return None
                params[part[1:-1]] = unquote(given[index])
            elif unquote(given[index]) != part:
                return None
        return params if len(given) == len(wanted) else None


def http_apis(resources: Mapping[str, Resource], implicit_props: Mapping[str, Any]) -> dict[str, HttpApi]:
    """The template's HttpApi resources (and SAM's implicit one) with their CORS and JWT authorizers."""
    apis: dict[str, HttpApi] = {}
    candidates = {rid: res.properties for rid, res in resources.items() if res.type == "AWS::Serverless::HttpApi"}
    candidates.setdefault(IMPLICIT_API, dict(implicit_props))
    for logical_id, props in candidates.items():
        if props.get("DefinitionBody") or props.get("DefinitionUri"):
            log.warning(
                "%s: routes from an OpenAPI definition are not served locally, only function events", logical_id
            )
        auth = props.get("Auth") or {}
        authorizers: dict[str, JwtAuthorizer] = {}
        for name, spec in (auth.get("Authorizers") or {}).items():
            if "JwtConfiguration" not in spec:
                log.warning("%s: authorizer %s is not a JWT authorizer; its routes are open locally", logical_id, name)
                continue
            source = str(spec.get("IdentitySource", "$request.header.Authorization"))
            header = source.removeprefix("$request.header.").lower()
            authorizers[name] = JwtAuthorizer(name, header, tuple(spec.get("AuthorizationScopes") or ()))
        apis[logical_id] = HttpApi(
            logical_id=logical_id,
            api_id=str(resources[logical_id].ref) if logical_id in resources else api_id_for(logical_id),
            cors=_cors(props.get("CorsConfiguration")),
            authorizers=authorizers,
            default_authorizer=auth.get("DefaultAuthorizer"),
        )
    return apis


def _cors(config: Any) -> Cors | None:
    if not config:
        return None
    if config is True or isinstance(config, str):
        origins = ("*",) if config is True else (config.strip("'"),)
        return Cors(allow_origins=origins, allow_headers=("*",))
    return Cors(
        allow_origins=tuple(config.get("AllowOrigins") or ()),
        allow_methods=tuple(method.upper() for method in config.get("AllowMethods") or ()),
        allow_headers=tuple(config.get("AllowHeaders") or ()),
        expose_headers=tuple(config.get("ExposeHeaders") or ()),
        max_age=int(config["MaxAge"]) if "MaxAge" in config else None,
        allow_credentials=bool(config.get("AllowCredentials")),
    )


def function_routes(events_by_function: Mapping[str, Mapping[str, Any]], apis: Mapping[str, HttpApi]) -> list[Route]:
    """Every ``Type: HttpApi`` event, most specific first."""
    api_by_ref = {api.api_id: api for api in apis.values()}
    routes: list[Route] = []
    for function_id, events in events_by_function.items():
        for event_name, event in events.items():
            if event.get("Type") != "HttpApi":
                continue
            props = event.get("Properties") or {}
            api = api_by_ref.get(str(props.get("ApiId"))) if props.get("ApiId") else apis[IMPLICIT_API]
            if api is None:
                log.warning(
                    "%s.%s: ApiId %s is not an HttpApi of the template", function_id, event_name, props["ApiId"]
                )
                continue
            if str(props.get("PayloadFormatVersion", "2.0")) != "2.0":
                log.warning("%s.%s: only payload format 2.0 is emulated; it gets 2.0 events", function_id, event_name)
            path = props.get("Path")
            method = str(props.get("Method") or "ANY").upper()
            method = "ANY" if method in ("X-AMAZON-APIGATEWAY-ANY-METHOD", "*") else method
            route_auth = props.get("Auth") or {}
            authorizer = route_auth.get("Authorizer") or api.default_authorizer
            if authorizer == "NONE" or (authorizer and authorizer not in api.authorizers):
                authorizer = None
            scopes = tuple(route_auth.get("AuthorizationScopes") or ())
            if authorizer and not scopes:
                scopes = api.authorizers[authorizer].scopes
            route = Route(api.logical_id, method, path, function_id, event_name, authorizer, scopes)
            if any(other.route_key == route.route_key for other in routes):
                log.warning("route %s is declared twice; %s.%s ignored", route.route_key, function_id, event_name)
                continue
            routes.append(route)
    return sorted(routes, key=Route.specificity)


class Gateway:
    """Routes requests to functions like API Gateway HTTP APIs do, without any socket."""

    def __init__(
        self,
        *,
        apis: Mapping[str, HttpApi],
        routes: list[Route],
        invoke: Invoke,
        context: StackContext,
        dev_jwt: DevJwt,
        local_routes: Mapping[str, LocalRoute] | None = None,
        allowed_hosts: Iterable[str] = LOOPBACK_HOSTS,
    ) -> None:
        self.allowed_hosts = frozenset(allowed_hosts)
        self.apis = dict(apis)
        self.routes = sorted(routes, key=Route.specificity)
        self._invoke = invoke
        self._context = context
        self._jwt = dev_jwt
        self._local_routes = dict(local_routes or {})

    def handle(self, request: HttpRequest) -> HttpResponse:
        """Answer one request: local routes, CORS preflight, route match, authorizer, invocation, response."""
        started = time.monotonic()
        if not served_host(request.header("host"), self.allowed_hosts):
            log.warning(
                "%s %s refused: Host %r is not this machine", request.method, request.path, request.header("host")
            )
            return json_response(421, {"message": "Misdirected Request: only 127.0.0.1 and localhost are served"})
        local = self._local_routes.get(f"{request.method} {request.path}") or next(
            (
                route
                for key, route in self._local_routes.items()
                if key.endswith("*") and f"{request.method} {request.path}".startswith(key[:-1])
            ),
            None,
        )
        if local is not None:
            return local(request)
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return json_response(413, {"message": "Request Entity Too Large"})  # API Gateway's own words
        preflight = self._preflight(request)
        if preflight is not None:
            return preflight
        route, params = self.match(request.method, request.path)
        if route is None:
            response = json_response(404, {"message": "Not Found"})
            log.info("%s %s → no route, 404", request.method, request.path)
            return response
        api = self.apis[route.api]
        authorizer_context, refusal = self._authorize(route, api, request)
        if refusal is not None:
            response = refusal
        else:
            event = http_api_event(request, route, params or {}, api, self._context, authorizer_context)
            try:
                result = self._invoke(route.function, event)
                response = api_gateway_response(result)
            except HandlerError as exc:
                log.error("%s failed:\n%s", route.function, exc.traceback)
                response = json_response(500, {"message": "Internal Server Error"})
            except (TypeError, ValueError) as exc:
                log.error("%s answered something API Gateway cannot use: %s", route.function, exc)
                response = json_response(500, {"message": "Internal Server Error"})
        self._add_cors(api, request, response)
        log.info(
            "%s %s → %s %d (%.0f ms)",
            request.method,
            request.path,
            route.function,
            response.status,
            (time.monotonic() - started) * 1000,
        )
        return response

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str] | None]:
        """The most specific route taking ``method path`` and its path parameters."""
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                return route, params
        return None, None

    def _authorize(
        self, route: Route, api: HttpApi, request: HttpRequest
    ) -> tuple[dict[str, Any] | None, HttpResponse | None]:
        if route.authorizer is None:
            return None, None
        authorizer = api.authorizers[route.authorizer]
        token = bearer_token(request.header(authorizer.identity_header))
        try:
            if token is None:
                raise AuthError("no token")
            claims = self._jwt.verify(token)
        except AuthError as exc:
            log.info("%s %s refused: %s", request.method, request.path, exc)
            return None, json_response(401, {"message": "Unauthorized"}, [("www-authenticate", "Bearer")])
        scopes = scopes_of(claims)
        if route.scopes and not set(route.scopes) & set(scopes):
            log.info("%s %s refused: needs one of the scopes %s", request.method, request.path, ", ".join(route.scopes))
            return None, json_response(403, {"message": "Forbidden"})
        return {"jwt": {"claims": api_gateway_claims(claims), "scopes": scopes or None}}, None

    def _cors_api(self, request: HttpRequest) -> HttpApi | None:
        requested = (request.header("access-control-request-method") or request.method).upper()
        route, _ = self.match(requested, request.path)
        if route is not None:
            return self.apis[route.api]
        return next((api for api in self.apis.values() if api.cors), None)

    def _preflight(self, request: HttpRequest) -> HttpResponse | None:
        if request.method != "OPTIONS" or not request.header("origin"):
            return None
        if not request.header("access-control-request-method"):
            return None
        api = self._cors_api(request)
        if api is None or api.cors is None:
            return None
        cors = api.cors
        response = HttpResponse(204)
        allowed = cors.origin(request.header("origin"))
        if allowed:
            response.header_list += [
                ("access-control-allow-origin", allowed),
                ("access-control-allow-methods", ",".join(cors.allow_methods)),
            ]
            if cors.allow_headers:
                response.header_list.append(("access-control-allow-headers", ",".join(cors.allow_headers).lower()))
            if cors.max_age is not None:
                response.header_list.append(("access-control-max-age", str(cors.max_age)))
            if cors.allow_credentials:
                response.header_list.append(("access-control-allow-credentials", "true"))
        return response

    @staticmethod
    def _add_cors(api: HttpApi, request: HttpRequest, response: HttpResponse) -> None:
        if api.cors is None:
            return
        allowed = api.cors.origin(request.header("origin"))
        if not allowed:
            return
        # With CORS configured, API Gateway replaces whatever CORS headers the integration sent.
        response.header_list = [(k, v) for k, v in response.header_list if not k.lower().startswith("access-control-")]
        response.header_list.append(("access-control-allow-origin", allowed))
        if api.cors.expose_headers:
            response.header_list.append(("access-control-expose-headers", ",".join(api.cors.expose_headers).lower()))
        if api.cors.allow_credentials:
            response.header_list.append(("access-control-allow-credentials", "true"))


def is_text(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this media type as text (else it base64-encodes it)."""
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in TEXT_MEDIA_TYPES or media.endswith(("+json", "+xml"))


def http_api_event(
    request: HttpRequest,
    route: Route,
    path_parameters: Mapping[str, str],
    api: HttpApi,
    context: StackContext,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event for ``request``."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies += [cookie.strip() for cookie in value.split(";") if cookie.strip()]
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    request_id = base64.b64encode(secrets.token_bytes(11)).decode()
    host = headers.get("host", "127.0.0.1")
    port = host.rsplit(":", 1)[1] if ":" in host else "80"
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-port", port)
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}")
    now = datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.query:
        query: dict[str, str] = {}
        for name, value in parse_qsl(request.query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": context.account_id,
        "apiId": api.api_id,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": "$default",
        "time": f"{now:%d}/{_MONTHS[now.month - 1]}/{now:%Y:%H:%M:%S} +0000",
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    encoded = bool(headers.get("content-encoding", "").strip()) or not is_text(headers.get("content-type"))
    if request.body:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            encoded = True
        if encoded:
            event["body"] = base64.b64encode(request.body).decode()
        else:
            event["body"] = text
    event["isBase64Encoded"] = bool(request.body) and encoded
    return event


def api_gateway_response(result: Any) -> HttpResponse:
    """A handler's answer as API Gateway turns it into HTTP (payload format 2.0)."""
    if not (isinstance(result, dict) and "statusCode" in result):
        # No statusCode: API Gateway assumes 200, JSON, and the answer itself as the body.
        text = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("content-type", "application/json")], text.encode())
    status = result["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int | str) or not str(status).isdigit():
        raise ValueError(f"statusCode {status!r} is not an integer")
    response = HttpResponse(int(status))
    for name, value in (result.get("headers") or {}).items():
        response.header_list.append((str(name), _header_text(value)))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values if isinstance(values, list) else [values]:
            response.header_list.append((str(name), _header_text(value)))
    for cookie in result.get("cookies") or []:
        response.header_list.append(("set-cookie", str(cookie)))
    body = result.get("body")
    if body is None:
        response.body = b""
    elif result.get("isBase64Encoded"):
        response.body = base64.b64decode(str(body))
    else:
        response.body = (body if isinstance(body, str) else json.dumps(body)).encode()
    return response


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class BadRequest(ValueError):
    """A request the server refuses before it reaches the gateway, with the status it gets."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _RequestHandler(BaseHTTPRequestHandler):
    server: GatewayServer
    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT_SECONDS  # a connection that sends nothing is closed

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except BadRequest as refused:
            self.close_connection = True  # what is left of the body is not read
            self._send(json_response(refused.status, {"message": str(refused)}))
            return
        target = self.path
        path, _, query = target.partition("?")
        request = HttpRequest(
            method=self.command,
            path=path or "/",
            query=query,
            headers=tuple((name, value) for name, value in self.headers.items() if name.lower() != "transfer-encoding"),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        self._send(self.server.gateway.handle(request))

    def _send(self, response: HttpResponse) -> None:
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.header_list}
        for name, value in response.header_list:
            if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                self.send_header(name, value)
        if "apigw-requestid" not in names:
            self.send_header("apigw-requestid", base64.b64encode(secrets.token_bytes(11)).decode())
        if self.close_connection:
            self.send_header("connection", "close")
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """``http.server``'s own refusals (a malformed request line, headers too long ...) as JSON, not HTML."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # the request line was not understood: answer as HTTP/1.1
            self.request_version = self.protocol_version
        reason = message or self.responses.get(code, ("Error",))[0]
        self._send(json_response(code, {"message": reason}))

    def _read_body(self) -> bytes:
        lengths = self.headers.get_all("content-length") or []
        chunked = "chunked" in (self.headers.get("transfer-encoding") or "").lower()
        if chunked and lengths:
            raise BadRequest(400, "Bad Request: both Content-Length and Transfer-Encoding")
        if chunked:
            return self._read_chunks()
        if len(set(lengths)) > 1 or any(not _DIGITS.match(value.strip()) for value in lengths):
            raise BadRequest(400, "Bad Request: Content-Length must be one number of bytes")
        length = int(lengths[0]) if lengths else 0
        if length > MAX_PAYLOAD_BYTES:
            raise BadRequest(413, "Request Entity Too Large")
        return self.rfile.read(length) if length else b""

    def _read_chunks(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_text = self.rfile.readline(64).split(b";", 1)[0].strip().decode("latin-1")
            if not _HEX.match(size_text):
                raise BadRequest(400, "Bad Request: malformed chunk size")
            size = int(size_text, 16)
            if size == 0:
                while self.rfile.readline(65537).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_PAYLOAD_BYTES:  # API Gateway's limit holds for chunked bodies too
                raise BadRequest(413, "Request Entity Too Large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(64)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def version_string(self) -> str:
        return "local_runtime"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


class GatewayServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` serving a :class:`Gateway` from a background thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, gateway: Gateway, host: str, port: int) -> None:
        super().__init__((host, port), _RequestHandler)
        self.gateway = gateway
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.2}, name="local-runtime-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (closed a kept-alive connection, gave up waiting) is no error of ours: one debug
        line, not socketserver's traceback on stderr. Anything else keeps the traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("http: %s went away (%s)", client_address[0] if client_address else "a client", error)
            return
        super().handle_error(request, client_address)
