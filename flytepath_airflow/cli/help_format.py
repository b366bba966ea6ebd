"""How `flytepath --help` and `flytepath CMD --help` show arguments and options.

Typer's own help speaks Python: `--local <bool>` (which reads as if `--local true` were
expected), `--input <list[str]>`, a usage line with `{target}`. A command-line user expects
the conventions of other tools, which `ConventionalGroup` applies to every command of the
app it builds:

- a flag shows no value: `--local`;
- an option shows its metavar, else its name in capitals: `--input NAME=VALUE`,
  `--project PROJECT`;
- an argument shows its metavar, else its name in capitals, bare when required and in
  brackets when not: `flytepath run [OPTIONS] TARGET`.

Must not import: any other FlytePath module, airflow, kubernetes (`flytepath --help` loads it).
"""

from __future__ import annotations

from typing import Any

# typer carries its own copy of click (`typer._click`); its parameters and commands are
# of those classes, not of the `click` package's.
from typer._click import Command, Context, Parameter
from typer.core import TyperArgument, TyperGroup, TyperOption


class _Argument(TyperArgument):
    """An argument named by its metavar (or its name in capitals), with no type shown."""

    @property
    def display_name_raw(self) -> str:
        return self.metavar or (self.name or "").upper()

    def display_type_rich(self, ctx: Context) -> str | None:
        return None

    def get_usage_pieces(self, ctx: Context) -> list[str]:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return [name + ("..." if self.nargs != 1 else "")]


class _Option(TyperOption):
    """A flag with no value shown; any other option with its metavar, not its type."""

    def display_type_rich(self, ctx: Context) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is None and self.type_descriptor.is_choice:
            return super().display_type_rich(ctx)  # the choices are worth showing
        return self.metavar or (self.name or "").upper()


def conventional(param: Parameter) -> None:
    """Make one of typer's parameters show itself by the conventions above.

    Typer builds the parameters itself and has no hook for their class, so the class of
    each built parameter is switched to a subclass that only changes how it is shown.

    :param param: a parameter of a command typer built.
    """
    if type(param) is TyperArgument:
        param.__class__ = _Argument
    elif type(param) is TyperOption:
        param.__class__ = _Option


class ConventionalGroup(TyperGroup):
    """The app's group: shows its own options and every command's by the conventions above.

    :param attrs: what typer passes to `TyperGroup`.
    """

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        _conventional_tree(self)


def _conventional_tree(command: Command) -> None:
    for param in command.params:
        conventional(param)
    # The --help option is made when help is first asked for and then kept; made now, it
    # shows as a flag too.
    help_option = command.get_help_option(Context(command))
    if help_option is not None:
        conventional(help_option)
    for sub in getattr(command, "commands", {}).values():  # a group such as `cache`
        _conventional_tree(sub)


__all__ = ["ConventionalGroup", "conventional"]
