"""Where served tools come from: ``module:attr`` and ``file.py:attr`` specs, plugins
(real entry points of a distribution put on ``sys.path``), settings and built-ins."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fluent_ai.config import Settings
from fluent_ai.errors import InvalidParameterError
from fluent_ai.tools.registry import (
    ToolSpecError,
    builtin_toolset,
    find_tools,
    load_spec,
    plugin_toolsets,
    toolset_from,
)
from fluent_ai.tools.tool import Tool, Toolset
from tests.tools.served_tools import TOOLS, add

SERVED = "tests.tools.served_tools"
SERVED_FILE = Path(__file__).with_name("served_tools.py")


def names(toolset: Toolset) -> list[str]:
    return [each.name for each in toolset.tools]


def write_plugin(root: Path, module: str, value: str, body: str = "") -> None:
    """A distribution on ``root`` whose entry point ``fluent_ai.tools`` names ``value``."""
    (root / f"{module}.py").write_text(
        f"from fluent_ai import tool\n\n@tool\ndef {module}_ping() -> str:\n"
        f'    """Pong."""\n    return "pong"\n\n{body}\n'
    )
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[fluent_ai.tools]\n{module} = {value}\n")


# --- specs -----------------------------------------------------------------------------------


def test_a_module_attr_may_be_a_list_a_toolset_a_tool_or_a_plain_function() -> None:
    assert names(load_spec(f"{SERVED}:TOOLS")) == [each.name for each in TOOLS]
    assert names(load_spec(f"{SERVED}:MATH")) == ["add"]
    assert load_spec(f"{SERVED}:add").tools == (add,)
    plain = load_spec(f"{SERVED}:PLAIN")
    assert names(plain) == ["add"]
    assert plain.tools[0].parameters == add.parameters
    assert load_spec(f"{SERVED}:MATH.tools").name == f"{SERVED}:MATH.tools"


def test_a_file_path_spec_imports_the_file(tmp_path: Path) -> None:
    script = tmp_path / "my-tools.py"
    script.write_text(
        "from pydantic import BaseModel\n\n"
        "class Out(BaseModel):\n    n: int\n\n"
        "def count(text: str) -> Out:\n    '''Count characters.'''\n"
        "    return Out(n=len(text))\n"
    )
    toolset = load_spec(f"{script}:count")
    assert names(toolset) == ["count"]
    assert load_spec(f"{script}:count").tools[0].function is toolset.tools[0].function
    assert names(load_spec(f"{SERVED_FILE}:TOOLS")) == [each.name for each in TOOLS]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("no_colon_here", "expected MODULE:ATTR"),
        (f"{SERVED}:", "expected MODULE:ATTR"),
        (":TOOLS", "expected MODULE:ATTR"),
        ("fluent_ai_no_such_module:x", "no module named 'fluent_ai_no_such_module'"),
        ("fluent_ai.no_such:x", "no module named 'fluent_ai.no_such'"),
        (f"{SERVED}:MISSING", f"{SERVED} has no attribute 'MISSING'"),
        (f"{SERVED}:NOT_A_TOOL", "expected a Tool, a function, a Toolset, or a list/tuple"),
        (f"{SERVED}:Point", "got the class Point"),
        ("/no/such/dir/tools.py:x", "no such file: /no/such/dir/tools.py"),
    ],
)
def test_bad_specs_are_typed_errors_that_name_the_spec(spec: str, problem: str) -> None:
    with pytest.raises(ToolSpecError) as caught:
        load_spec(spec)
    assert isinstance(caught.value, InvalidParameterError)
    assert caught.value.spec == spec
    assert str(caught.value).startswith(f"--tools: {spec!r}: ")
    assert problem in str(caught.value)


def test_a_module_that_fails_to_import_is_reported_with_its_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('no config')\n")
    with pytest.raises(
        ToolSpecError, match=r"importing .*broken\.py failed: RuntimeError: no config"
    ):
        load_spec(f"{broken}:x")
    needs = tmp_path / "needs_dep.py"
    needs.write_text("import fluent_ai_missing_dependency\n")
    with pytest.raises(ToolSpecError, match="No module named 'fluent_ai_missing_dependency'"):
        load_spec(f"{needs}:x")
    syntax = tmp_path / "syntax.py"
    syntax.write_text("def (:\n")
    with pytest.raises(ToolSpecError, match="SyntaxError"):
        load_spec(f"{syntax}:x")


def test_shapes_that_hold_no_tool_or_a_bad_function_are_refused() -> None:
    with pytest.raises(ToolSpecError, match="holds no tools"):
        toolset_from([], "empty")
    with pytest.raises(ToolSpecError, match="got list"):
        toolset_from([[add]], "nested")

    def spread(*values: int) -> int:
        return sum(values)

    with pytest.raises(ToolSpecError, match=r"\*values cannot be described"):
        toolset_from(spread, "spread")


# --- built-ins -------------------------------------------------------------------------------


def test_builtins_are_sandboxed_python_and_named_commands() -> None:
    [python] = builtin_toolset("python").tools
    assert python.name == "run_python"
    [grep] = builtin_toolset("grep=grep -rn").tools
    assert grep.name == "grep"
    assert "grep -rn" in grep.description


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("ruby", "expected 'python' or NAME=COMMAND"),
        ("empty=", "the command after '=' is empty"),
        ("quote='unbalanced", "cannot split the command"),
        ("bad name=ls", "tool name 'bad name'"),
    ],
)
def test_bad_builtins_are_typed_errors(spec: str, problem: str) -> None:
    with pytest.raises(ToolSpecError, match=r"^--builtin: ") as caught:
        builtin_toolset(spec)
    assert problem in str(caught.value)


# --- plugins, settings, everything together --------------------------------------------------


def test_plugins_are_entry_points_of_installed_distributions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_plugin(tmp_path, "fa_plugin_one", "fa_plugin_one:fa_plugin_one_ping")
    monkeypatch.syspath_prepend(str(tmp_path))
    [found] = [each for each in plugin_toolsets() if each.name == "plugin fa_plugin_one"]
    assert names(found) == ["fa_plugin_one_ping"]
    assert "fa_plugin_one_ping" in [each.name for each in find_tools()]
    assert "fa_plugin_one_ping" not in [
        each.name for each in find_tools(builtins=["python"], plugins=False)
    ]
    monkeypatch.delitem(sys.modules, "fa_plugin_one")


def test_a_broken_plugin_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_plugin(tmp_path, "fa_plugin_two", "fa_plugin_two:GONE")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ToolSpecError) as caught:
        plugin_toolsets()
    message = str(caught.value)
    assert message.startswith("entry point fluent_ai.tools: 'fa_plugin_two = fa_plugin_two:GONE'")
    assert "cannot load: AttributeError" in message
    monkeypatch.delitem(sys.modules, "fa_plugin_two")


def test_settings_specs_come_first_and_a_clash_names_both_sources(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLUENT_AI_TOOLS", f'["{SERVED}:MATH"]')
    configured = Settings().tools
    assert configured == [f"{SERVED}:MATH"]
    found = find_tools(builtins=["python"], configured=configured, plugins=False)
    assert [each.name for each in found] == ["add", "run_python"]
    with pytest.raises(InvalidParameterError) as caught:
        find_tools([f"{SERVED}:add"], configured=configured, plugins=False)
    assert "two tools are named 'add'" in str(caught.value)
    assert f"toolset '{SERVED}:MATH' and toolset '{SERVED}:add'" in str(caught.value)
    with pytest.raises(ToolSpecError, match=r"^settings tools: 'nope'"):
        find_tools(configured=["nope"], plugins=False)


def test_the_served_tools_are_tools() -> None:
    assert all(isinstance(each, Tool) for each in TOOLS)
