"""Templates: the sandbox, variables, filters, the store and /template."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluent_ai.chat.commands import CommandFailedError, CommandProcessor, SendMessage
from fluent_ai.chat.templates import (
    TemplateError,
    TemplateNotFoundError,
    TemplateRenderError,
    TemplateStore,
    render,
    template_variables,
)
from tests.chat.command_context_fake import FakeContext


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ x.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ 'a' * 10000000 }}",
        "{{ 10 ** 1000000 }}",
    ],
)
def test_sandbox_refuses_escapes_and_giant_values(source: str) -> None:
    with pytest.raises(
        TemplateRenderError, match=r"refused by the sandbox|undefined|cannot render"
    ):
        render(source, {"x": 1, "cycler": 2})


def test_range_bomb_and_huge_output_are_refused() -> None:
    with pytest.raises(TemplateRenderError):
        render("{% for i in range(10**7) %}x{% endfor %}", {})
    with pytest.raises(TemplateRenderError, match="over"):
        render("{% for i in range(99999) %}{{ s }}{% endfor %}", {"s": "y" * 100})


def test_missing_variables_are_named() -> None:
    with pytest.raises(TemplateRenderError) as caught:
        render("{{ greeting }}, {{ name }}! {{ greeting }}", {})
    assert caught.value.missing == ("greeting", "name")
    assert "greeting=... name=..." in str(caught.value)


def test_variables_filters_and_syntax_errors() -> None:
    source = "{{ items | bullets }}\n{{ items | numbered }}\n{{ t | quote }}\n{{ c | code('py') }}"
    assert template_variables(source) == {"items", "t", "c"}
    out = render(source, {"items": ["a", "b"], "t": "x\ny", "c": "pass"})
    assert out == "- a\n- b\n1. a\n2. b\n> x\n> y\n```py\npass\n```"
    assert render("{{ name | upper }}", {"name": "ann"}) == "ANN"
    with pytest.raises(TemplateError, match="line 1"):
        template_variables("{{ oops ")
    with pytest.raises(TemplateError, match="100,000"):
        template_variables("x" * 100_001)


def test_store_roundtrip_metadata_and_names(tmp_path: Path) -> None:
    store = TemplateStore(tmp_path / "templates")
    assert store.names() == []
    saved = store.save("Greet", "Hello {{ name }}", description="a greeting")
    assert saved.name == "greet"
    again = store.save("greet", "Hi {{ name }}")
    assert again.created_at == saved.created_at
    assert again.updated_at >= saved.updated_at
    loaded = store.get("greet")
    assert loaded.source == "Hi {{ name }}"
    assert loaded.variables == {"name"}
    assert store.render("greet", {"name": "Bo"}) == "Hi Bo"
    (tmp_path / "templates" / "plain.j2").write_text("Dear {{ who }}", "utf-8")
    assert [t.name for t in store.list_all()] == ["greet", "plain"]
    assert store.get("plain").source == "Dear {{ who }}"
    assert not list((tmp_path / "templates").glob(".*"))  # no temp files left
    with pytest.raises(TemplateNotFoundError, match="did you mean 'greet'"):
        store.get("gret")
    store.delete("greet")
    with pytest.raises(TemplateNotFoundError):
        store.delete("greet")
    for bad in ("../etc/passwd", "a/b", ".hidden", "", "x" * 65, "sp ace"):
        with pytest.raises(TemplateError, match="name"):
            store.save(bad, "x")
    with pytest.raises(TemplateError, match="line"):
        store.save("broken", "{% if %}")
    assert store.names() == ["plain"]


def test_malformed_metadata_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.j2").write_text('{#- fluent-ai {"created_at": 5} -#}\nx', "utf-8")
    with pytest.raises(TemplateError, match="malformed metadata"):
        TemplateStore(tmp_path).get("bad")


async def test_template_commands(tmp_path: Path) -> None:
    processor, ctx = CommandProcessor(), FakeContext(tmp_path)
    saved = await processor.run(
        "/tpl save trip -d 'plans' Plan {{ days }} days in {{ city | title }}, it's fun", ctx
    )
    assert saved.text == "saved template trip"
    assert ctx.templates.get("trip").description == "plans"
    used = await processor.run("/template use trip days=3 city='new york'", ctx)
    assert used.actions == (SendMessage("Plan 3 days in New York, it's fun"),)
    rendered = await processor.run("/template render trip days=2 city=rome", ctx)
    assert rendered.actions == ()
    assert rendered.text.startswith("Plan 2 days in Rome")
    assert "trip  plans  (needs city, days)" in (await processor.run("/tpl", ctx)).text
    assert "{{ days }}" in (await processor.run("/tpl show trip", ctx)).text
    with pytest.raises(CommandFailedError, match="needs city"):
        await processor.run("/template use trip days=1", ctx)
    await processor.run("/tpl save evil {{ ''.__class__ }}", ctx)
    with pytest.raises(CommandFailedError, match="sandbox"):
        await processor.run("/tpl use evil", ctx)
    await processor.run("/template delete trip", ctx)
    with pytest.raises(CommandFailedError, match="no template named 'trip'"):
        await processor.run("/tpl use trip", ctx)
