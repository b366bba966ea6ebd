"""`{{inputs.x}}` placeholders in a shell task's script become variable references.

An input's text is never spliced into the program `bash -c` runs. A placeholder where a shell
word may stand becomes `"$FLYTEPATH_INPUT_X"`, and one inside plain double quotes becomes
`${FLYTEPATH_INPUT_X}` (the same inside `$(...)`, which starts a fresh context): the shell
expands the variable, and an expansion is never parsed again as code. Everywhere else
(single quotes, `$'...'`, comments, here-documents, backticks, `${...}`, arithmetic and
`[[ ... ]]`, whose operands bash evaluates) a placeholder is refused with the safe form to
write instead. `find_placeholders()` is the one scanner: the
YAML front-end calls it at compile time, the runtime again before it runs a script.

The scanner is a small lexer, not a full shell parser: a construct it misreads can only
make it refuse a placeholder or place a reference where it expands to the wrong text, never
put an input's text into the program.

Must not import: airflow, kubernetes, the sdk, translators.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from flytepath_airflow.errors import FlytePathUserError

TEMPLATE = re.compile(r"\{\{\s*inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
"""A `{{inputs.name}}` placeholder (spaces inside the braces allowed)."""

_ANSI_C_BODY = re.compile(r"(?:[^'\\]|\\.)*'", re.S)
_HEREDOC = re.compile(r"<<(-?)[ \t]*(['\"]?)([A-Za-z0-9_.-]+)\2")
# Contexts an unquoted frame closes on; "(" frames count nested parentheses.
_FRAMES = {"$((": "arith", "((": "arith", "$(": "sub", "${": "brace", "`": "backtick",
           "[[": "test"}
_WHERE = {"arith": "inside arithmetic, which bash evaluates as code", "brace": "inside ${...}",
          "backtick": "inside a backtick command substitution",
          "test": "inside [[ ... ]], whose operands bash may evaluate as arithmetic"}


@dataclass(frozen=True)
class Placeholder:
    """One `{{inputs.x}}` in a script and how it may be replaced.

    :param name: the input it names.
    :param start: offset of the placeholder in the script.
    :param end: offset just after it.
    :param context: "word" (unquoted), "double" (inside plain double quotes), or None.
    :param unsafe: when context is None, where the placeholder stands (for the message).
    """

    name: str
    start: int
    end: int
    context: str | None
    unsafe: str = ""

    @property
    def text(self) -> str:
        """The placeholder as written."""
        return f"{{{{inputs.{self.name}}}}}"


def input_env_name(name: str) -> str:
    """The environment variable that carries input `name` into a shell or container task.

    :param name: the input's name.
    """
    return f"FLYTEPATH_INPUT_{name.upper()}"


def safe_form_message(placeholder: Placeholder) -> str:
    """Why a placeholder is refused and what to write instead.

    :param placeholder: a placeholder whose context is None.
    """
    var = input_env_name(placeholder.name)
    return (f"{placeholder.text} stands {placeholder.unsafe}, where FlytePath cannot pass an "
            f"input safely (an input's text is never put into shell code). Refer to the "
            f"environment variable yourself: \"${var}\" as a word, or ${{{var}}} inside "
            f"double quotes (e.g. psql -v {placeholder.name}=\"${var}\" with "
            f":'{placeholder.name}' in the SQL, rather than '{placeholder.text}').")


def find_placeholders(script: str) -> list[Placeholder]:
    """Every placeholder in a shell script, with the context it stands in.

    :param script: the script `bash -c` will run.
    """
    found: list[Placeholder] = []
    stack: list[list[str | int]] = []  # [kind, open parentheses] frames, innermost last
    heredocs: list[str] = []  # delimiters whose bodies start at the next newline
    i, n = 0, len(script)

    def skip_region(end: int, where: str) -> int:
        for m in TEMPLATE.finditer(script, i, end):
            found.append(Placeholder(m.group(1), m.start(), m.end(), None, where))
        return end

    while i < n:
        m = TEMPLATE.match(script, i)
        kind = str(stack[-1][0]) if stack else "top"
        if m:
            found.append(_classify(m, stack))
            i = m.end()
            continue
        c = script[i]
        if c == "\\":
            i += 2
            continue
        if kind == "double":
            if c == '"':
                stack.pop()
                i += 1
            elif script.startswith(("$((", "$(", "${"), i) or c == "`":
                i = _open(script, i, stack)
            else:
                i += 1
            continue
        # An unquoted context: the top level or inside a substitution, ${...}, (( )) or [[ ]].
        if c == "'":
            end = script.find("'", i + 1)
            i = skip_region(n if end < 0 else end + 1, "inside single quotes")
        elif script.startswith("$'", i):
            quoted = _ANSI_C_BODY.match(script, i + 2)
            i = skip_region(quoted.end() if quoted else n, "inside $'...' quotes")
        elif c == '"':
            stack.append(["double", 0])
            i += 1
        elif c == "#" and (i == 0 or script[i - 1] in " \t\n;&|()") and kind != "brace":
            end = script.find("\n", i)
            i = skip_region(n if end < 0 else end, "in a comment")
        elif script.startswith("<<", i) and not script.startswith("<<<", i) and \
                kind != "arith":
            hd = _HEREDOC.match(script, i)
            if hd:
                heredocs.append(hd.group(3))
                i = hd.end()
            else:
                i += 2
        elif c == "\n" and heredocs:
            i += 1
            for delimiter in heredocs:
                body_end = re.compile(rf"^\t*{re.escape(delimiter)}$", re.M).search(script, i)
                i = skip_region(body_end.end() if body_end else n, "in a here-document")
            heredocs.clear()
        elif kind == "backtick" and c == "`":
            stack.pop()
            i += 1
        elif kind == "brace" and c == "}":
            stack.pop()
            i += 1
        elif kind == "test" and script.startswith("]]", i):
            stack.pop()
            i += 2
        elif kind in ("sub", "arith") and c in "()":
            stack[-1][1] = int(stack[-1][1]) + (1 if c == "(" else -1)
            if stack[-1][1] == 0:
                stack.pop()
            i += 1
        elif script.startswith(("$((", "$(", "${"), i) or c == "`" or (
                script.startswith(("((", "[["), i) and (i == 0 or script[i - 1] in " \t\n;&|(")):
            i = _open(script, i, stack)
        else:
            i += 1
    return found


def _classify(m: re.Match[str], stack: list[list[str | int]]) -> Placeholder:
    # $(...) starts a fresh shell context, so only the frames after the innermost one count.
    subs = [k for k, frame in enumerate(stack) if frame[0] == "sub"]
    rest = [str(frame[0]) for frame in stack[subs[-1] + 1 if subs else 0:]]
    if not rest:
        return Placeholder(m.group(1), m.start(), m.end(), "word")
    if rest == ["double"]:
        return Placeholder(m.group(1), m.start(), m.end(), "double")
    where = _WHERE[next(k for k in reversed(rest) if k in _WHERE)]
    return Placeholder(m.group(1), m.start(), m.end(), None, where)


def _open(script: str, i: int, stack: list[list[str | int]]) -> int:
    opener = next(o for o in _FRAMES if script.startswith(o, i))
    stack.append([_FRAMES[opener], opener.count("(")])
    return i + len(opener)


def render_shell_script(script: str, inputs: Iterable[str], node_id: str) -> str:
    """The script with each placeholder replaced by a reference to its input's variable.

    :param script: the task's script.
    :param inputs: the names of the task's inputs.
    :param node_id: the node being run, for messages.
    :raises FlytePathUserError: a placeholder names no input or stands where no reference
        is safe.
    """
    names = set(inputs)
    out: list[str] = []
    last = 0
    for ph in find_placeholders(script):
        if ph.name not in names:
            raise FlytePathUserError(
                f"node '{node_id}' refers to {ph.text}, which is not an input of its task "
                f"(inputs: {', '.join(sorted(names)) or 'none'}).")
        if ph.context is None:
            raise FlytePathUserError(f"node '{node_id}': {safe_form_message(ph)}")
        var = input_env_name(ph.name)
        out.append(script[last:ph.start])
        out.append(f'"${var}"' if ph.context == "word" else f"${{{var}}}")
        last = ph.end
    out.append(script[last:])
    return "".join(out)


__all__ = ["TEMPLATE", "Placeholder", "find_placeholders", "input_env_name",
           "render_shell_script", "safe_form_message"]
