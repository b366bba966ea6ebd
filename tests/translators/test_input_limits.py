"""Malformed YAML specs and type expressions found by fuzzing: each is a SpecError with its
place (file:line, field path or column), never a traceback (issue 13, docs/reliability.md)."""

from __future__ import annotations

import pytest

from flytepath_airflow.errors import SpecError
from flytepath_airflow.translators.yaml import TypeExpressionError, compile_yaml_text, parse_type

BASE = """\
name: scoring
inputs:
  n: int
tasks:
  prep:
    inputs:
      n: int
    outputs:
      rows: int
    script: echo 1 > "$FLYTEPATH_OUTPUT_DIR/rows"
nodes:
  - id: prep
    inputs:
      n: ${{ inputs.n }}
"""


def with_line(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def compile_error(text: str) -> str:
    with pytest.raises(SpecError) as info:
        compile_yaml_text(text, "p.yaml")
    return str(info.value)


def test_the_base_compiles() -> None:
    assert compile_yaml_text(BASE, "p.yaml").tasks["prep"].script


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f", "\x80", "\x9f", "\uffff"])
def test_a_control_character_is_refused_with_its_line_and_column(char: str) -> None:
    # Before: yaml.reader.ReaderError escaped with a traceback.
    message = compile_error(with_line("name: scoring", f"name: sc{char}oring"))
    assert message.startswith(f"p.yaml:1: column 9 holds U+{ord(char):04X} (a "), message
    assert "control character" in message or "non-character" in message


def test_a_lone_surrogate_in_the_text_is_refused_with_its_line() -> None:
    message = compile_error(with_line("      n: int\n    outputs", "      n: int\n"
                                      "    description: a\udfffb\n    outputs"))
    assert message.startswith("p.yaml:8: column 19 holds U+DFFF (a lone surrogate)"), message


def test_an_escaped_lone_surrogate_is_refused_with_its_field() -> None:
    # Before: the spec compiled, then hashing it raised UnicodeEncodeError.
    message = compile_error(with_line("name: scoring", 'name: scoring\nlabels: {team: "\\ud800"}'))
    assert message.startswith("p.yaml:2: labels.team: the text '\\ud800' holds U+D800"), message


def test_an_escaped_control_character_is_refused_with_its_field() -> None:
    message = compile_error(with_line("name: scoring", 'name: scoring\nlabels: {team: "a\\x00"}'))
    assert "p.yaml:2: labels.team:" in message and "U+0000" in message


@pytest.mark.parametrize("deep", ["[" * 2000 + "]" * 2000, "{a: " * 1500 + "1" + "}" * 1500])
def test_deep_flow_nesting_is_refused(deep: str) -> None:
    # Before: RecursionError from PyYAML's composer.
    message = compile_error(with_line("name: scoring", f"name: scoring\nlabels: {deep}"))
    assert "nest more than 50 levels" in message and message.startswith("p.yaml:2:")


def test_deep_block_nesting_is_refused() -> None:
    deep = "".join(f"{'  ' * i}k{i}:\n" for i in range(1, 1200)) + "  " * 1200 + "v"
    message = compile_error(with_line("name: scoring", f"name: scoring\nlabels:\n{deep}"))
    assert "nest more than 50 levels" in message


def test_aliases_cannot_nest_past_the_bound() -> None:
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [[[[[[[[[[*a{i - 1}]]]]]]]]]]\n"
                                      for i in range(1, 150))
    message = compile_error(f"{chain}name: x\ntasks: {{}}\nnodes: []\n")
    assert "nest more than 50 levels" in message and "aliases" in message


def test_a_huge_integer_is_refused_with_its_field() -> None:
    message = compile_error(with_line("  n: int", "  n:\n    type: int\n    default: "
                                      + "9" * 5000))
    assert message.startswith("p.yaml:5: inputs.n.default:") and "64 bits" in message


def test_an_integer_past_64_bits_is_refused() -> None:
    # Before: 2**63 compiled, and readers that hold integers in 64 bits broke on it.
    message = compile_error(with_line("  n: int", "  n:\n    type: int\n    default: "
                                      f"{2 ** 63}"))
    assert "inputs.n.default" in message and "out of range" in message


@pytest.mark.parametrize("number", ["1e400", "-1e400", "1e99999999"])
def test_a_number_that_would_be_infinite_is_refused(number: str) -> None:
    # Before: 1e400 became inf, was dumped as null, and a reload failed; a spec with inf and
    # one with null got the same version.
    message = compile_error(with_line("  n: int", "  n:\n    type: float\n    default: "
                                      + number))
    assert message.startswith("p.yaml:5: inputs.n.default:") and "infinity" in message


@pytest.mark.parametrize("timeout", ["1e300", "8.64e+24", "366d", "400d", "99999999999d"])
def test_a_task_timeout_over_365_days_is_refused(timeout: str) -> None:
    # Before: timeout 1e300 compiled; timedelta() overflowed when Airflow parsed the DAG,
    # and the DAG silently disappeared.
    message = compile_error(with_line("    script:", f"    timeout: {timeout}\n    script:"))
    assert message.startswith("p.yaml:10: tasks.prep.timeout:"), message
    assert "365" in message or "not a valid duration" in message


def test_a_retry_delay_over_365_days_is_refused() -> None:
    message = compile_error(with_line("    script:", "    retry_delay: 1e300\n    script:"))
    assert "tasks.prep.retry_delay" in message


def test_365_days_is_the_longest_timeout() -> None:
    spec = compile_yaml_text(with_line("    script:", "    timeout: 365d\n    script:"))
    assert spec.tasks["prep"].timeout == 365 * 86400


@pytest.mark.parametrize("mem", ["1e99999999", "1e400", "9Ei", "1e40"])
def test_an_out_of_range_quantity_is_refused(mem: str) -> None:
    # Before: mem "1e99999999" raised decimal.InvalidOperation.
    message = compile_error(with_line("    script:", f"    resources: {{requests: {{mem: "
                                      f"'{mem}'}}}}\n    script:"))
    assert "tasks.prep.resources.requests.mem" in message and "out of range" in message


def test_a_file_over_the_size_bound_is_refused() -> None:
    message = compile_error(BASE + "#" + "x" * 10_000_001 + "\n")
    assert "more than the 10000000" in message


# ---------------------------------------------------------------- type expressions


@pytest.mark.parametrize("text", ["list[" * 5000 + "int" + "]" * 5000,
                                  "Optional[" * 40 + "int" + "]" * 40,
                                  "dict[str, " * 100 + "int" + "]" * 100])
def test_a_deeply_nested_type_is_refused(text: str) -> None:
    # Before: RecursionError from the type parser.
    with pytest.raises(TypeExpressionError, match=r"nest more than 32 levels|characters"):
        parse_type(text)


def test_32_levels_of_type_arguments_parse() -> None:
    parse_type("list[" * 32 + "int" + "]" * 32)


def test_a_very_long_type_is_refused_before_it_is_tokenized() -> None:
    # Before: tokenizing copied the rest of the text per token, so a long expression hung.
    with pytest.raises(TypeExpressionError, match="more than the 10000 allowed"):
        parse_type("int | " * 100_000 + "str")

