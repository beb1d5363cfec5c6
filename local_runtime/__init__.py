"""The Docker-free local runtime: ``template.yaml`` served on 127.0.0.1 with moto as AWS.

``python -m local_runtime serve`` for people; :class:`LocalRuntime` for tests.
"""

from local_runtime.deliveries import Delivery
from local_runtime.functions import HandlerError
from local_runtime.http_gateway import HttpResponse
from local_runtime.runtime import LocalRuntime

__all__ = ["Delivery", "HandlerError", "HttpResponse", "LocalRuntime"]
