"""Kubernetes resource quantities, checked when a task is compiled rather than when a pod fails.

The grammar is the one the Kubernetes API server accepts for `resources.requests/limits`:

    quantity ::= [sign] number [suffix]
    number   ::= digits | digits "." [digits] | "." digits
    suffix   ::= Ki | Mi | Gi | Ti | Pi | Ei          (binary: powers of 1024)
               | n | u | m | k | M | G | T | P | E    (decimal: powers of 1000; none = 1)
               | ("e" | "E") [sign] digits            (decimal exponent)

`n` (nano) and `u` (micro) are accepted as the Kubernetes client's `parse_quantity` does;
a test compares the two parsers on generated quantities.

On top of the grammar, a quantity is at most `MAX_QUANTITY` (2^63, what Kubernetes can hold,
about 9.2 exabytes of memory) so a huge exponent such as "1e99999999" is an error, not an
overflow. A task's resources must also be non-negative, GPUs whole numbers, memory
and storage whole bytes ("500m" of memory is half a byte, a classic slip for "500Mi"), and a
request may not exceed its limit. Every message names the task and the field and says how
to write it instead.

Pure: depends on the standard library and the error types only (no airflow, no kubernetes).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from flytepath_airflow.errors import CompileError

if TYPE_CHECKING:
    from flytepath_airflow.ir.models import ResourceList, ResourcesSpec

__all__ = [
    "MAX_QUANTITY",
    "RESOURCE_FIELDS",
    "QuantityError",
    "check_quantity",
    "check_resources",
    "parse_quantity",
]

_QUANTITY = re.compile(
    r"^(?P<sign>[+-])?"
    r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>[KMGTPE]i|[eE][+-]?[0-9]+|[numkMGTPE])?$"
)

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}

_TINY_SUFFIXES = {"n": "billionths", "u": "millionths"}
"""Suffixes that only make sense for CPU; named in the fraction-of-a-byte message."""

RESOURCE_FIELDS: dict[str, str] = {
    "cpu": "cpu",
    "mem": "memory",
    "gpu": "gpu",
    "ephemeral_storage": "ephemeral-storage",
}
"""Spec field of a ResourceList -> the resource it stands for."""

_EXAMPLES = {
    "cpu": 'a number of cores such as "2", "0.5" or "500m"',
    "mem": 'bytes with a suffix such as "512Mi", "8Gi" or "1G"',
    "gpu": 'a whole number of GPUs such as "1"',
    "ephemeral_storage": 'bytes with a suffix such as "10Gi"',
}


MAX_QUANTITY = Decimal(2) ** 63
"""The largest quantity FlytePath accepts (Kubernetes stores quantities in 64 bits)."""

_MAX_EXPONENT = 100  # far beyond MAX_QUANTITY, well within what Decimal can scale


class QuantityError(ValueError):
    """A value is not a Kubernetes quantity, or not one a task may ask for."""


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact value of a Kubernetes quantity ("500m" -> 0.5, "1Ki" -> 1024).

    :param value: the quantity; ints and floats are read as their decimal text.
    :raises QuantityError: when the text does not follow the Kubernetes grammar.
    """
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is a boolean, not a quantity")
    text = str(value) if isinstance(value, (int, float)) else value
    if not isinstance(text, str):
        raise QuantityError(f"{value!r} is a {type(value).__name__}, not a quantity")
    if len(text) > 64:
        raise QuantityError(f"{text[:20]!r}... has {len(text)} characters; a quantity is a "
                            "short number with a suffix")
    match = _QUANTITY.match(text)
    if match is None:
        raise QuantityError(_why_not(text))
    try:
        number = Decimal(match["number"])
    except InvalidOperation:  # the pattern makes this unreachable; be explicit anyway
        raise QuantityError(f"{text!r} has no valid number") from None
    if match["sign"] == "-":
        number = -number
    suffix = match["suffix"] or ""
    if suffix in _BINARY:
        return number * (Decimal(1024) ** _BINARY[suffix])
    exponent = _DECIMAL[suffix] if suffix in _DECIMAL else int(suffix[1:])
    if abs(exponent) > _MAX_EXPONENT:  # Decimal cannot scale by 1e99999999; nobody means it
        raise QuantityError(f"{text!r} is out of range: its exponent {exponent} is "
                            f"beyond ±{_MAX_EXPONENT}")
    return number.scaleb(exponent)


def _why_not(text: str) -> str:
    if not text.strip():
        return "the quantity is empty"
    if text != text.strip() or " " in text:
        return f"{text!r} contains spaces; write the number and suffix together"
    if re.match(r"^[+-]?[0-9.]+[a-zA-Z]+$", text):
        unit = re.sub(r"^[+-]?[0-9.]+", "", text)
        return (f"{text!r} has the unknown suffix {unit!r}; Kubernetes knows "
                "Ki Mi Gi Ti Pi Ei (powers of 1024), n u m k M G T P E (powers of 1000) and "
                "e<exponent>")
    return f"{text!r} is not a number with an optional Kubernetes suffix"


def check_quantity(value: str | int | float, field: str) -> Decimal:
    """Check one resource quantity of a task and return its value.

    :param value: the quantity as written by the user.
    :param field: the ResourceList field it belongs to: cpu, mem, gpu or ephemeral_storage.
    :raises QuantityError: when Kubernetes would reject it or it cannot mean what was meant.
    """
    amount = parse_quantity(value)
    if amount > MAX_QUANTITY:
        raise QuantityError(f"{value!r} is out of range: a quantity is at most 2^63 "
                            "(Kubernetes stores it in 64 bits)")
    if amount < 0:
        raise QuantityError(f"{value!r} is negative; resources cannot be negative")
    if field == "gpu" and amount != amount.to_integral_value():
        raise QuantityError(f"{value!r} is not a whole number; GPUs cannot be shared "
                            "between pods")
    if field in ("mem", "ephemeral_storage") and amount != amount.to_integral_value():
        unit = str(value)[-1:]
        if unit in _TINY_SUFFIXES:
            raise QuantityError(f"{value!r} is a fraction of a byte (the {unit!r} suffix means "
                                f"{_TINY_SUFFIXES[unit]}); write whole bytes such as '512Mi'")
        raise QuantityError(f"{value!r} is a fraction of a byte (the 'm' suffix means "
                            "thousandths); did you mean 'Mi'?")
    return amount


def _checked(resources: ResourceList, label: str, task: str, where: str) -> dict[str, Decimal]:
    values: dict[str, Decimal] = {}
    for field in RESOURCE_FIELDS:
        raw = getattr(resources, field)
        if raw is None:
            continue
        try:
            values[field] = check_quantity(raw, field)
        except QuantityError as exc:
            raise CompileError(
                f"task '{task}'{where}: {label}.{field} {exc}. Write {_EXAMPLES[field]}."
            ) from None
    return values


def check_resources(resources: ResourcesSpec, task: str, where: str = "") -> None:
    """Check a task's requests and limits as the Kubernetes API server would, and more.

    :param resources: the task's ResourcesSpec.
    :param task: the task's name, for the message.
    :param where: where the task is defined ("pipeline.py:12"), for the message.
    :raises CompileError: naming the task and the field (`requests.cpu`, `limits.mem`...).
    """
    at = f" ({where})" if where else ""
    requests = _checked(resources.requests, "requests", task, at)
    limits = _checked(resources.limits, "limits", task, at)
    for field, request in requests.items():
        limit = limits.get(field)
        if limit is None:
            continue
        if field == "gpu" and request != limit:
            raise CompileError(
                f"task '{task}'{at}: requests.gpu ({resources.requests.gpu}) differs from "
                f"limits.gpu ({resources.limits.gpu}); Kubernetes needs them equal for GPUs. "
                "Set only requests.gpu."
            )
        if request > limit:
            raise CompileError(
                f"task '{task}'{at}: requests.{field} ({getattr(resources.requests, field)}) "
                f"is more than limits.{field} ({getattr(resources.limits, field)}); a request "
                "may not exceed its limit. Raise the limit or lower the request."
            )
