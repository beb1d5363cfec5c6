"""Running Lambda handlers in-process, each function in its own environment and its own module namespace.

On Lambda every function has its own execution environment: its own variables, its own imported modules and
their caches (``functools.cache`` settings, boto3 clients). Here all functions share one interpreter, so for the
length of an invocation the host

- sets ``os.environ`` to that function's variables (Globals merged with its own, plus the variables Lambda itself
  sets) and restores the previous values afterwards;
- puts the function's ``CodeUri`` and its layers first on ``sys.path`` (a layer built with ``BuildMethod:
  python3.x`` is importable by its package names, as from ``/opt/python``);
- swaps into ``sys.modules`` the modules that function imported before, keeping them apart from the modules other
  functions imported from the same folders (two functions can share a ``CodeUri`` but not its module state).

Invocations are serialised with one lock, because the environment and ``sys.modules`` belong to the process.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from local_runtime.resources import Resource, StackContext
from local_runtime.template import env_text

log = logging.getLogger("local_runtime")

PACKAGE_DIR = Path(__file__).resolve().parent
Handler = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class FunctionSpec:
    """What the runtime needs to run one ``AWS::Serverless::Function``."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    environment: Mapping[str, str]
    memory_mb: int = 128
    timeout_seconds: float = 3.0
    events: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def roots(self) -> tuple[Path, ...]:
        """The folders the function imports its own code from: code first, then layers (as on Lambda)."""
        return (self.code_dir, *self.layer_dirs)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.name}"


class LambdaContext:
    """The context object Lambda passes to a Python handler (the attributes Powertools and handlers read)."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = spec.arn
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = spec.log_group_name
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity: Any = None
        self.client_context: Any = None
        self.tenant_id: str | None = None
        self._deadline = time.monotonic() + spec.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class HandlerError(Exception):
    """The handler raised (or could not be imported, or answered something that is not JSON)."""

    def __init__(self, function_id: str, error: BaseException) -> None:
        super().__init__(f"{function_id}: {type(error).__name__}: {error}")
        self.function_id = function_id
        self.error = error
        self.traceback = "".join(traceback.format_exception(error))


def lambda_environment(
    spec_name: str,
    *,
    handler: str,
    code_dir: Path,
    memory_mb: int,
    template_variables: Mapping[str, Any],
    context: StackContext,
    endpoint_url: str | None,
) -> dict[str, str]:
    """The function's variables: the template's (Globals merged), then the ones Lambda sets itself, which win."""
    environment = {name: env_text(value) for name, value in template_variables.items()}
    environment |= {
        "AWS_REGION": context.region,
        "AWS_DEFAULT_REGION": context.region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_LAMBDA_FUNCTION_NAME": spec_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec_name}",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "LAMBDA_TASK_ROOT": str(code_dir),
        "_HANDLER": handler,
        # Locally there is no X-Ray daemon; SAM CLI sets the same marker.
        "AWS_SAM_LOCAL": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        # moto does not know botocore's account-based endpoints (<account>.ddb.<region>.amazonaws.com ...).
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }
    if endpoint_url:
        environment["AWS_ENDPOINT_URL"] = endpoint_url
    return environment


def layer_dir(layer: Resource, base_dir: Path) -> Path:
    """Where a layer's Python code is importable from: the ContentUri itself when SAM builds it with
    ``BuildMethod: python3.x`` (it lands in /opt/python), else its ``python/`` subfolder as in a prebuilt zip."""
    content = (base_dir / str(layer.properties.get("ContentUri", "."))).resolve()
    build_method = str((layer.metadata or {}).get("BuildMethod", ""))
    if not build_method.startswith("python") and (content / "python").is_dir():
        return content / "python"
    return content


def function_specs(
    resources: Mapping[str, Resource], *, base_dir: Path, context: StackContext, endpoint_url: str | None
) -> dict[str, FunctionSpec]:
    """A spec for every Python zip function of the template; the others are reported and skipped."""
    layers_by_arn = {
        layer.ref: layer_dir(layer, base_dir)
        for layer in resources.values()
        if layer.type == "AWS::Serverless::LayerVersion"
    }
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in resources.items():
        if resource.type != "AWS::Serverless::Function":
            continue
        props = resource.properties
        runtime = str(props.get("Runtime", ""))
        if props.get("PackageType") == "Image" or not runtime.startswith("python") or "InlineCode" in props:
            log.warning("%s: only Python zip functions with a CodeUri run locally; skipped", logical_id)
            continue
        code_uri = props.get("CodeUri")
        if not isinstance(code_uri, str):
            log.warning("%s: CodeUri must be a local folder to run locally; skipped", logical_id)
            continue
        layer_dirs: list[Path] = []
        for layer_arn in props.get("Layers") or []:
            if layer_arn in layers_by_arn:
                layer_dirs.append(layers_by_arn[layer_arn])
            else:
                log.warning(
                    "%s: layer %s is not in the template; its packages must be in the venv", logical_id, layer_arn
                )
        code_dir = (base_dir / code_uri).resolve()
        handler = str(props["Handler"])
        memory_mb = int(props.get("MemorySize", 128))
        variables = (props.get("Environment") or {}).get("Variables") or {}
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=str(resource.ref),
            arn=str(resource.attributes["Arn"]),
            handler=handler,
            code_dir=code_dir,
            layer_dirs=tuple(layer_dirs),
            environment=lambda_environment(
                str(resource.ref),
                handler=handler,
                code_dir=code_dir,
                memory_mb=memory_mb,
                template_variables=variables,
                context=context,
                endpoint_url=endpoint_url,
            ),
            memory_mb=memory_mb,
            timeout_seconds=float(props.get("Timeout", 3)),
            events=props.get("Events") or {},
        )
    return specs


class FunctionHost:
    """Imports and invokes handlers; see the module docstring for how functions are kept apart."""

    def __init__(self, specs: Mapping[str, FunctionSpec], *, unset_variables: tuple[str, ...] = ()) -> None:
        self.specs = dict(specs)
        self._unset = unset_variables
        self._lock = threading.RLock()
        self._modules: dict[str, dict[str, ModuleType]] = {function_id: {} for function_id in self.specs}
        self._handlers: dict[str, Handler] = {}
        roots = {str(root) for spec in self.specs.values() for root in spec.roots}
        self._roots = tuple(root.rstrip(os.sep) + os.sep for root in sorted(roots))
        self._owned: dict[str, bool] = {}

    @contextmanager
    def running(self, function_id: str) -> Iterator[FunctionSpec]:
        """Within this block the process looks like ``function_id``'s execution environment."""
        spec = self.specs[function_id]
        with self._lock:
            saved_env = self._apply_environment(spec)
            saved_path = list(sys.path)
            sys.path[:0] = [str(root) for root in spec.roots]
            outer = self._take_owned_modules()
            sys.modules.update(self._modules[function_id])
            try:
                yield spec
            finally:
                self._modules[function_id] = self._take_owned_modules()
                sys.modules.update(outer)
                sys.path[:] = saved_path
                self._restore_environment(saved_env)

    def module(self, function_id: str, name: str) -> ModuleType:
        """``name`` as ``function_id`` sees it (imported under its environment on first use)."""
        with self.running(function_id):
            return importlib.import_module(name)

    def invoke(self, function_id: str, event: Any) -> Any:
        """Call the handler with a JSON copy of ``event``; return its JSON answer or raise :class:`HandlerError`."""
        payload = json.loads(json.dumps(event))
        with self.running(function_id) as spec:
            context = LambdaContext(spec)
            started = time.monotonic()
            try:
                handler = self._handler(spec)
                result = handler(payload, context)
                return json.loads(json.dumps(result))
            except (Exception, SystemExit) as exc:
                raise HandlerError(function_id, exc) from exc
            finally:
                elapsed = time.monotonic() - started
                if elapsed > spec.timeout_seconds:
                    log.warning(
                        "%s ran %.1f s, longer than its Timeout of %.0f s: Lambda would have stopped it",
                        function_id,
                        elapsed,
                        spec.timeout_seconds,
                    )

    def _handler(self, spec: FunctionSpec) -> Handler:
        if spec.logical_id not in self._handlers:
            module_name, _, attribute = spec.handler.replace("/", ".").rpartition(".")
            started = time.monotonic()
            module = importlib.import_module(module_name)
            self._handlers[spec.logical_id] = getattr(module, attribute)
            log.info(
                "%s: cold start, imported %s in %.0f ms",
                spec.logical_id,
                module_name,
                (time.monotonic() - started) * 1000,
            )
        return self._handlers[spec.logical_id]

    # ------------------------------------------------------------------ environment and modules
    def _apply_environment(self, spec: FunctionSpec) -> dict[str, str | None]:
        saved: dict[str, str | None] = {}
        for name, value in spec.environment.items():
            saved[name] = os.environ.get(name)
            os.environ[name] = value
        for name in self._unset:
            if name not in saved:
                saved[name] = os.environ.pop(name, None)
        return saved

    @staticmethod
    def _restore_environment(saved: Mapping[str, str | None]) -> None:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def _take_owned_modules(self) -> dict[str, ModuleType]:
        owned = {name: module for name, module in list(sys.modules.items()) if self._owns(module)}
        for name in owned:
            sys.modules.pop(name, None)
        return owned

    def _owns(self, module: Any) -> bool:
        location = getattr(module, "__file__", None)
        locations = [location] if location else [str(path) for path in (getattr(module, "__path__", None) or [])]
        if not locations:
            return False
        key = "\x00".join(locations)
        if key not in self._owned:
            self._owned[key] = any(self._under_roots(path) for path in locations)
        return self._owned[key]

    def _under_roots(self, location: str) -> bool:
        path = os.path.realpath(location)
        if "site-packages" in path or path.startswith(str(PACKAGE_DIR) + os.sep):
            return False
        return path.startswith(self._roots)
