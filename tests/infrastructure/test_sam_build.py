"""What `sam validate --lint` and `sam build` say about template.yaml, and what the build really contains."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.infrastructure.cfn_template import REPO_ROOT, Resource, functions, load_template, load_yaml
from tests.infrastructure.sam_cli import SamBuild, SamCli

pytestmark = pytest.mark.sam

# Lambda's quota: function code plus all its layers, unzipped (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
LAMBDA_UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024
LAYER_PACKAGES = ("omnichannel", "pydantic", "pydantic_core", "phonenumbers", "aws_lambda_powertools")
ELF_MACHINE_AARCH64 = 183  # e_machine of an ELF file built for arm64 (EM_AARCH64)
LINT_FINDING = re.compile(r"\[\[?[EWI]\d{4}")


def _unzipped_bytes(folder: Path) -> int:
    """What the folder weighs once Lambda has unzipped it: the sum of the files' sizes."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def _elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[:4] == b"\x7fELF", f"{path.name} is not an ELF shared object"
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def test_sam_validate_lint_is_clean(sam: SamCli) -> None:
    # Given the repository's template and the SAM CLI
    # When it is validated with cfn-lint's rules
    result = sam.run("validate", "--lint")

    # Then SAM accepts it without a single lint finding, not even a warning
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "is a valid SAM Template" in result.stdout
    assert not LINT_FINDING.search(output), output


def test_sam_build_applies_samconfig_and_leaves_the_repository_alone(sam_build: SamBuild) -> None:
    # Given the session's build (run from a temporary folder with the repository's template)
    # Then SAM read samconfig.toml's [default.build] section
    assert re.search(r"Configuration values are: \{[^}]*'cached': True", sam_build.output), sam_build.output[-3000:]
    assert re.search(r"Configuration values are: \{[^}]*'parallel': True", sam_build.output)
    # And its build, cache and dependency folders went to the temporary folder, not into the repository
    if not sam_build.repo_had_aws_sam_dir:
        assert not (REPO_ROOT / ".aws-sam").exists()
    assert (sam_build.build_dir / "template.yaml").is_file()


def test_built_template_points_every_function_at_its_own_artefact(sam_build: SamBuild) -> None:
    # Given the template SAM wrote next to the artefacts
    built = load_yaml((sam_build.build_dir / "template.yaml").read_text(encoding="utf-8"))

    # Then every function's code and the layer's content are folders of the build
    for function in functions(load_template()):
        code_uri = built["Resources"][function.logical_id]["Properties"]["CodeUri"]
        assert code_uri == function.logical_id
        assert sam_build.artefact(code_uri).is_dir()
    assert built["Resources"]["SharedLayer"]["Properties"]["ContentUri"] == "SharedLayer"


def test_shared_layer_holds_the_shared_code_and_the_dependencies(sam_build: SamBuild) -> None:
    # Given the built layer: Lambda mounts it at /opt, and /opt/python is on sys.path
    python = sam_build.artefact("SharedLayer") / "python"

    # Then the shared package and every third-party runtime dependency are there, importable by name
    for package in LAYER_PACKAGES:
        assert (python / package / "__init__.py").is_file(), f"{package} is missing from the layer"
    assert (python / "omnichannel" / "canonical_event.py").is_file()


def test_layer_native_code_is_built_for_arm64(sam_build: SamBuild) -> None:
    # Given pydantic's compiled core in the built layer
    compiled = sorted((sam_build.artefact("SharedLayer") / "python" / "pydantic_core").glob("_pydantic_core*.so"))

    # Then it is the wheel for CPython 3.13 on Linux arm64 (the functions' Runtime and Architectures) ...
    assert [path.name for path in compiled] == ["_pydantic_core.cpython-313-aarch64-linux-gnu.so"]
    # ... and the binary itself says so, whatever its name
    assert _elf_machine(compiled[0]) == ELF_MACHINE_AARCH64
    # And no other native module in the layer was built for another machine
    for shared_object in (sam_build.artefact("SharedLayer") / "python").rglob("*.so"):
        assert "x86_64" not in shared_object.name
        assert _elf_machine(shared_object) == ELF_MACHINE_AARCH64, shared_object


def _handler_module(function: Resource) -> tuple[str, str]:
    """``capture.handlers.api.lambda_handler`` -> (``capture/handlers/api.py``, ``lambda_handler``)."""
    module, _, name = str(function.properties["Handler"]).rpartition(".")
    return module.replace(".", "/") + ".py", name


def _own_requirements(function: Resource) -> set[str]:
    """The packages ``functions/<name>/requirements.txt`` pins (``name==version`` lines)."""
    path = REPO_ROOT / str(function.properties["CodeUri"]) / "requirements.txt"
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    return {
        line.split("==")[0].strip().lower().replace("-", "_")
        for line in lines
        if "==" in line and not line.lstrip().startswith("#")
    }


@pytest.mark.parametrize("function", functions(load_template()), ids=lambda function: function.logical_id)
def test_function_artefact_holds_its_code_and_not_the_layer(sam_build: SamBuild, function: Resource) -> None:
    # Given a built function
    artefact = sam_build.artefact(function.logical_id)
    module, handler = _handler_module(function)

    # Then its handler is there
    assert (artefact / module).is_file(), f"{function.logical_id}: {module} is not in the artefact"
    assert f"def {handler}(" in (artefact / module).read_text(encoding="utf-8")
    # And what the layer provides is not packaged a second time (nor Python's caches)
    for package in LAYER_PACKAGES:
        assert not (artefact / package).exists(), f"{function.logical_id} bundles {package}, which the layer provides"
    # A function bundles only the third-party packages its own requirements.txt pins (the KPI function's scipy)
    bundled = {path.name.split("-")[0].lower() for path in artefact.rglob("*.dist-info")}
    assert bundled == _own_requirements(function), f"{function.logical_id} bundles {sorted(bundled)}"
    assert not list(artefact.rglob("__pycache__"))


def test_function_and_layer_fit_in_lambdas_unzipped_size_limit(
    sam_build: SamBuild, record_property: Callable[[str, object], None]
) -> None:
    # Given the capture API's code and the layer it runs with
    function_bytes = _unzipped_bytes(sam_build.artefact("CaptureApiFunction"))
    layer_bytes = _unzipped_bytes(sam_build.artefact("SharedLayer"))

    # When they are added up, as Lambda counts them
    total = function_bytes + layer_bytes
    figures = (
        f"CaptureApiFunction {function_bytes} B ({_mib(function_bytes)}) + SharedLayer {layer_bytes} B "
        f"({_mib(layer_bytes)}) = {total} B ({_mib(total)}) unzipped, of {_mib(LAMBDA_UNZIPPED_LIMIT_BYTES)}"
    )
    print(figures)
    record_property("unzipped_bytes", figures)
    record_property("sam_build_seconds", f"{sam_build.seconds:.1f}")

    # Then they stay under Lambda's 250 MB limit, and so does every other function with the layer
    assert 0 < function_bytes < layer_bytes
    assert total < LAMBDA_UNZIPPED_LIMIT_BYTES, figures
    for function in functions(load_template()):
        assert _unzipped_bytes(sam_build.artefact(function.logical_id)) + layer_bytes < LAMBDA_UNZIPPED_LIMIT_BYTES


KPI_FUNCTIONS = ("KpisApiFunction", "KpisRollupFunction", "KpisLifecycleReviewFunction", "KpisClvFitFunction")


def test_kpi_functions_carry_scipy_but_no_pandas_and_fit_lambdas_limit(
    sam_build: SamBuild, record_property: Callable[[str, object], None]
) -> None:
    # Given the KPI functions' artefacts (one CodeUri: the CLV fit needs numpy and scipy; the others never import
    # them, but carry them on disk) and the layer they run with
    layer_bytes = _unzipped_bytes(sam_build.artefact("SharedLayer"))
    for logical_id in KPI_FUNCTIONS:
        artefact = sam_build.artefact(logical_id)
        function_bytes = _unzipped_bytes(artefact)
        total = function_bytes + layer_bytes
        figures = f"{logical_id} {_mib(function_bytes)} + SharedLayer {_mib(layer_bytes)} = {_mib(total)} unzipped"
        print(figures)
        record_property(f"{logical_id}_unzipped", figures)

        # Then the fit's dependencies are there, built for arm64, and pandas is not
        assert (artefact / "scipy" / "__init__.py").is_file()
        assert (artefact / "numpy" / "__init__.py").is_file()
        assert not (artefact / "pandas").exists()
        # And code plus layer stay under Lambda's 250 MB unzipped
        assert total < LAMBDA_UNZIPPED_LIMIT_BYTES, figures
