"""``/help`` text, generated from the specs so it can never drift from the parser."""

from __future__ import annotations

from fluent_ai.chat.commands_registry import CommandRegistry
from fluent_ai.chat.commands_spec import CommandSpec, Param

__all__ = ["command_help", "command_list"]


def command_list(registry: CommandRegistry) -> str:
    """One line per command: name, aliases, summary."""
    specs = registry.specs()
    heads = [
        f"/{spec.name}" + (f" ({', '.join('/' + a for a in spec.aliases)})" if spec.aliases else "")
        for spec in specs
    ]
    width = max((len(head) for head in heads), default=0)
    lines = [
        f"{head.ljust(width)}  {spec.summary}" for head, spec in zip(heads, specs, strict=True)
    ]
    lines.append("")
    lines.append("/help COMMAND explains one; Tab completes names and arguments.")
    return "\n".join(lines)


def _param_line(param: Param) -> str:
    if param.option:
        short = f"-{param.short}, " if param.short else ""
        head = f"{short}{param.flag_name}" + ("" if param.type == "bool" else f" {param.label}")
    else:
        head = param.label
    notes: list[str] = []
    if param.type == "choice" and param.metavar:
        notes.append("one of " + ", ".join(param.choices))
    if param.default not in (None, False, ()):
        notes.append(f"default {param.default}")
    if param.minimum is not None or param.maximum is not None:
        low = "" if param.minimum is None else f"{param.minimum:g}"
        high = "" if param.maximum is None else f"{param.maximum:g}"
        notes.append(f"{low}..{high}")
    words = [param.help] if param.help else []
    if notes:
        words.append(f"({'; '.join(notes)})")
    return f"  {head}  {' '.join(words)}".rstrip()


def command_help(spec: CommandSpec) -> str:
    """Usage line, summary, description, then each subcommand and parameter."""
    lines = [f"usage: {spec.usage()}", "", spec.summary]
    if spec.help:
        lines += ["", spec.help]
    if spec.aliases:
        lines += ["", "aliases: " + ", ".join(f"/{alias}" for alias in spec.aliases)]
    if spec.params:
        lines += ["", "arguments:"] + [_param_line(param) for param in spec.params]
    for sub in spec.subcommands:
        default = " (default)" if sub.name == spec.default else ""
        lines += ["", f"/{spec.name} {sub.usage()}{default}", f"  {sub.summary}"]
        lines += [_param_line(param) for param in sub.params]
    return "\n".join(lines)
