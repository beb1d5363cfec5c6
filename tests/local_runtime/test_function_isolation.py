"""Each function runs in its own environment and module namespace, as in its own Lambda execution environment."""

from __future__ import annotations

import os
import sys

from local_runtime import LocalRuntime
from tests.local_runtime.support import FIXTURES, echoed


def test_functions_sharing_code_see_their_own_environment_and_module_state(runtime: LocalRuntime) -> None:
    # Given EchoFunction and TwinFunction share a CodeUri but set SERVICE differently, and the module caches
    # settings and reads SERVICE at import time
    # When they are called alternately
    answers = [echoed(runtime.request("GET", path).body) for path in ("/twin/env", "/items/1", "/twin/env", "/items/2")]
    # Then each sees its own variables, its own import-time value and its own cached settings, every time
    assert [answer["env"]["SERVICE"] for answer in answers] == ["twin", "echo", "twin", "echo"]
    assert [answer["import_service"] for answer in answers] == ["twin", "echo", "twin", "echo"]
    assert [answer["settings"]["service"] for answer in answers] == ["twin", "echo", "twin", "echo"]
    # And variables only the echo function has are not leaked into the twin
    assert "GREETING" not in answers[0]["env"]
    assert answers[1]["env"]["GREETING"] == "hi from omnichannel-local in eu-west-1"


def test_the_environment_and_sys_modules_are_restored_after_an_invocation(runtime: LocalRuntime) -> None:
    # Given the process before any invocation
    before_path = list(sys.path)
    # When a function runs
    runtime.request("GET", "/items/1")
    # Then its variables, its modules and its sys.path entries are gone again
    assert "SERVICE" not in os.environ
    assert "AWS_LAMBDA_FUNCTION_NAME" not in os.environ
    assert "echo_app.handler" not in sys.modules
    assert sys.path == before_path


def test_each_function_has_its_own_copy_of_shared_modules(runtime: LocalRuntime) -> None:
    # Given two functions importing the same module from the same folder
    # When each one's copy is asked for
    echo_module = runtime.function_module("EchoFunction", "echo_app.handler")
    twin_module = runtime.function_module("TwinFunction", "echo_app.handler")
    # Then they are distinct modules, each imported under its function's environment
    assert echo_module is not twin_module
    assert echo_module.IMPORT_SERVICE == "echo"
    assert twin_module.IMPORT_SERVICE == "twin"
    # And the same function gets the same copy again (a warm execution environment)
    assert runtime.function_module("EchoFunction", "echo_app.handler") is echo_module


def test_the_layer_is_importable_by_its_package_name_as_from_opt_python(runtime: LocalRuntime) -> None:
    # Given the fixture layer (ContentUri layer/, BuildMethod python3.13) holds the package fixture_shared
    # When the echo function, which imports it, runs
    answer = echoed(runtime.request("GET", "/items/1").body)
    # Then the import worked from the layer folder itself
    assert answer["layer"] == "layer says hello to echo"
    assert answer["layer_dir"] == str(FIXTURES / "layer")


def test_invoke_calls_a_function_directly_with_any_event(runtime: LocalRuntime) -> None:
    # Given a hand-written EventBridge event, as in events/*.json
    event = {"detail-type": "Order Completed", "source": "fixture.shop", "detail": {"event_id": "d-1"}}
    # When the recorder is invoked with it, like `sam local invoke -e`
    answer = runtime.invoke("RecorderFunction", event)
    # Then the handler's JSON answer comes back
    assert answer == {"recorded": "orders"}


def test_in_function_shows_the_process_as_the_function_sees_it(runtime: LocalRuntime) -> None:
    # Given the in_function block a test can use to call into a function's own modules
    # When code runs inside it
    with runtime.in_function("TwinFunction") as spec:
        inside = os.environ["SERVICE"]
        path_head = sys.path[0]
    # Then the environment and sys.path are the function's, and only inside
    assert inside == "twin"
    assert path_head == str(spec.code_dir)
    assert "SERVICE" not in os.environ
