"""The CLI's check of options that become names: `--project`, `--domain`, `--version`,
`--run-id` and run ids given as arguments.

Each is checked by the naming rules (`ir.names`, ADR 0033) before a command compiles,
stores or records anything, so a bad value is one message naming the option, the rule and
a valid example (exit 2), never a half-done registration.

Must not import: airflow, kubernetes, the runtime or the stores (compile uses it too).
"""

from __future__ import annotations

from flytepath_airflow.ir.names import check_name

_KINDS = {"project": "project", "domain": "domain", "version": "version", "run_id": "run_id"}


def check_name_options(**options: str | None) -> None:
    """Refuse an option value that breaks its naming rule; None means not given.

    :param options: option values by name: project, domain, version, run_id.
    :raises InvalidNameError: a value breaks its rule; the message names `--option`.
    """
    for option, value in options.items():
        if value is not None:
            check_name(value, _KINDS[option], where=f"--{option.replace('_', '-')}")
