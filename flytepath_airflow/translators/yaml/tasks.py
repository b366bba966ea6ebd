"""Tasks in a YAML document: kind, command, interface, and the options a task may set.

A task is a shell script, a container command or a python function ("module:qualname",
never imported here). Its options (retries, retry_delay, timeout, interruptible, resources,
env) fall back to the document's `defaults`; cache, checkpoint, secrets and pod_overrides are
per task.
Shell and container tasks get their inputs as env vars and `{{ inputs.x }}` templates, so a
template naming no input is an error at its own line, even inside a block script, and so is a
template in a script where no variable reference is safe (`runtime.shell_template`).

Must not import: airflow, kubernetes, the sdk, user code, or the node and workflow readers.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from flytepath_airflow.errors import CompileError, SpecError
from flytepath_airflow.ir.models import (
    PLATFORM_ENV_PREFIX,
    PodOverridesSpec,
    ResourcesSpec,
    SecretRef,
)
from flytepath_airflow.ir.quantities import QuantityError, check_quantity, check_resources
from flytepath_airflow.runtime.shell_template import (
    TEMPLATE,
    find_placeholders,
    safe_form_message,
)
from flytepath_airflow.translators.checks import FieldPath
from flytepath_airflow.translators.yaml.interface import InterfaceReader
from flytepath_airflow.translators.yaml.loader import YamlPath, format_path
from flytepath_airflow.translators.yaml.names import FN, IDENT, TASK_NAME
from flytepath_airflow.translators.yaml.reader import describe
from flytepath_airflow.utils.suggest import did_you_mean

_QUANTITY_EXAMPLES = {"cpu": "cores such as 2, 0.5 or 500m", "mem": "bytes such as 512Mi or 8Gi",
                      "gpu": "a whole number such as 1",
                      "ephemeral_storage": "bytes such as 10Gi"}
_TASK_KEYS = ("kind", "description", "inputs", "outputs", "script", "image", "command",
              "args", "fn", "retries", "retry_delay", "timeout", "interruptible", "resources",
              "cache", "checkpoint", "env", "secrets", "pod_overrides")
_KINDS = ("shell", "container", "python")
_KIND_KEYS = {"shell": ("script",), "container": ("command", "args"), "python": ("fn",)}


class TaskReader(InterfaceReader):
    """Reads `tasks.<name>` entries into TaskSpec documents, applying `defaults`."""

    def task_value(self, raw: dict[str, Any], path: YamlPath, defaults: dict[str, Any],
                   key: str) -> tuple[Any, YamlPath] | None:
        if key in raw:
            return raw[key], (*path, key)
        if key in defaults:
            return defaults[key], ("defaults", key)
        return None

    def task(self, name: str, raw: Any, defaults: dict[str, Any]) -> dict[str, Any]:
        path: YamlPath = ("tasks", name)
        spath: FieldPath = ("tasks", name)
        self.name(name, path, TASK_NAME, "the task name",
                  "letters, digits, _, - and . (never '..'), at most 120 characters")
        self.link(spath, path)
        raw = self.mapping(raw, path, _TASK_KEYS, what="a task")
        kind = self.task_kind(raw, path)
        task: dict[str, Any] = {"name": name, "kind": kind}

        def put(field: str, value: Any, where: YamlPath) -> None:
            task[field] = value
            self.link((*spath, field), where)

        inputs = self.variables(raw.get("inputs"), (*path, "inputs"),
                                (*spath, "interface", "inputs"), outputs=False)
        outputs = self.variables(raw.get("outputs"), (*path, "outputs"),
                                 (*spath, "interface", "outputs"), outputs=True)
        task["interface"] = {"inputs": inputs, "outputs": outputs}
        self.link((*spath, "interface"), path)
        if "description" in raw:
            put("docs", raw["description"], (*path, "description"))

        image = self.task_value(raw, path, defaults, "image")
        image_text = self.text(image[0], image[1], "image") if image else None
        if kind == "shell":
            put("script", self.text(raw["script"], (*path, "script"), "script"),
                (*path, "script"))
            if image is not None:
                put("image", image_text, image[1])
        elif kind == "container":
            if "command" not in raw:
                raise self.error(path, "a container task needs 'command' (a list of words); "
                                 "add e.g. command: [python, -m, mypkg.train].")
            container = {"image": image_text,
                         "command": self.words(raw["command"], (*path, "command"), "command"),
                         "args": self.words(raw.get("args", []), (*path, "args"), "args")}
            put("container", container, path)
            self.link((*spath, "container", "command"), (*path, "command"))
            self.link((*spath, "container", "args"), (*path, "args"))
            if image is not None:
                self.link((*spath, "container", "image"), image[1])
        else:
            put("fn", self.name(raw["fn"], (*path, "fn"), FN, "fn", '"module:qualname", '
                                "e.g. mypkg.train:fit"), (*path, "fn"))
            if image is not None:
                put("image", image_text, image[1])

        if kind in ("shell", "container"):
            self.check_process_inputs(name, raw, path, [v["name"] for v in inputs])
        found = self.task_value(raw, path, defaults, "retries")
        if found is not None:
            if isinstance(found[0], bool):
                raise self.error(found[1], "retries must be a whole number.")
            put("retries", found[0], found[1])  # pydantic checks the number (>= 0)
        for key, allow_zero in (("retry_delay", True), ("timeout", False)):
            found = self.task_value(raw, path, defaults, key)
            if found is not None:
                put(key, self.duration(found[0], found[1], allow_zero), found[1])
        found = self.task_value(raw, path, defaults, "interruptible")
        if found is not None:
            put("interruptible", self.boolean(found[0], found[1]), found[1])
        found = self.task_value(raw, path, defaults, "resources")
        if found is not None:
            put("resources", self.resources(found[0], found[1], name), found[1])
        env = self.env(defaults.get("env"), ("defaults", "env"), spath)
        env.update(self.env(raw.get("env"), (*path, "env"), spath))
        if env:
            task["env"] = env
            self.link((*spath, "env"), (*path, "env") if "env" in raw else ("defaults", "env"))
        if "cache" in raw:
            cache = self.cache(raw["cache"], (*path, "cache"), [v["name"] for v in inputs])
            if cache is not None:
                put("cache", cache, (*path, "cache"))
        if "checkpoint" in raw:
            policy = self.checkpoint(raw["checkpoint"], (*path, "checkpoint"))
            if policy is not None:
                put("checkpoint", policy, (*path, "checkpoint"))
        if "secrets" in raw:
            put("secrets", self.secrets(raw["secrets"], (*path, "secrets")),
                (*path, "secrets"))
        if "pod_overrides" in raw:
            where = (*path, "pod_overrides")
            if isinstance(raw["pod_overrides"], dict):
                for key in raw["pod_overrides"]:
                    if key not in PodOverridesSpec.model_fields:
                        allowed = list(PodOverridesSpec.model_fields)
                        raise self.error((*where, key), f"'{key}' is not a pod setting a task "
                                         f"may choose.{did_you_mean(key, allowed)} Allowed: "
                                         f"{', '.join(allowed)}; everything else is decided "
                                         "by the platform's settings.")
            try:
                overrides = PodOverridesSpec.from_options(raw["pod_overrides"], name,
                                                          self.where(where))
            except CompileError as exc:
                raise SpecError(str(exc)) from None
            put("pod_overrides", overrides, where)
        return task

    def task_kind(self, raw: dict[str, Any], path: YamlPath) -> str:
        present = [k for k, keys in _KIND_KEYS.items() if any(key in raw for key in keys)]
        if "kind" in raw:
            kind = raw["kind"]
            if kind not in _KINDS:
                raise self.error((*path, "kind"), f"unknown kind {kind!r}."
                                 f"{did_you_mean(str(kind), _KINDS)} Kinds: shell, "
                                 "container, python.")
        elif len(present) == 1:
            kind = present[0]
        elif present:
            keys = [next(k for k in _KIND_KEYS[kind] if k in raw) for kind in present]
            raise self.error(path, f"this task has {' and '.join(repr(k) for k in keys)}, but a "
                             "task runs one thing: a shell script, a container command or a "
                             "python function. Keep one of them.")
        else:
            raise self.error(path, "say what the task runs: 'script' (a shell task), "
                             "'command' (a container task) or 'fn' (a python task).")
        for other in present:
            if other != kind:
                key = next(k for k in _KIND_KEYS[other] if k in raw)
                raise self.error((*path, key), f"'{key}' belongs to {other} tasks, but this "
                                 f"task is a {kind} task. Remove it, or split the task in two.")
        required = {"shell": "script", "python": "fn"}.get(kind)
        if required is not None and required not in raw:
            raise self.error(path, f"a {kind} task needs '{required}'.")
        return str(kind)

    def check_process_inputs(self, task: str, raw: dict[str, Any], path: YamlPath,
                             inputs: list[str]) -> None:
        """Inputs reach shell/container processes as env vars and {{inputs.x}} templates."""
        seen: dict[str, str] = {}
        for name in inputs:
            env_name = f"FLYTEPATH_INPUT_{name.upper()}"
            if env_name in seen:
                raise self.error((*path, "inputs", name), f"inputs '{seen[env_name]}' and "
                                 f"'{name}' would both be passed as ${env_name}. Rename one.")
            seen[env_name] = name
        places: list[tuple[str, YamlPath]] = []
        if isinstance(raw.get("script"), str):
            places.append((raw["script"], (*path, "script")))
        for key in ("command", "args"):
            for i, word in enumerate(raw.get(key) or []):
                if isinstance(word, str):
                    places.append((word, (*path, key, i)))
        for text, where in places:
            for match in TEMPLATE.finditer(text):
                if match.group(1) in inputs:
                    continue
                hint = did_you_mean(match.group(1), inputs)
                raise SpecError(
                    f"{self.source}:{self.text_line(where, text, match.start())}: "
                    f"{format_path(where)}: {match.group(0)} names no "
                    f"input of task '{task}'.{hint} Its inputs: "
                    f"{', '.join(inputs) or 'none'}. Declare the input or fix the name."
                )
        if isinstance(raw.get("script"), str):
            for ph in find_placeholders(raw["script"]):
                if ph.context is None:
                    where = (*path, "script")
                    raise SpecError(f"{self.source}:"
                                    f"{self.text_line(where, raw['script'], ph.start)}: "
                                    f"{format_path(where)}: {safe_form_message(ph)}")

    def text_line(self, where: YamlPath, text: str, offset: int) -> int:
        """The line of `offset` in the text at `where` (inside a block script, its own line)."""
        line = self.line(where)
        if where in self.doc.block_scalars:
            line += 1 + text.count("\n", 0, offset)
        return line

    def resources(self, value: Any, path: YamlPath, task: str) -> dict[str, Any]:
        value = self.mapping(value, path, ("requests", "limits"), what="resources")
        result = {}
        for side in ("requests", "limits"):
            if side not in value:
                continue
            spath = (*path, side)
            quantities = self.mapping(value[side], spath, ("cpu", "mem", "gpu",
                                                           "ephemeral_storage"))
            entry = {}
            for key, amount in quantities.items():
                try:
                    check_quantity(amount, key)
                except QuantityError as exc:
                    raise self.error((*spath, key), f"{exc}. Write {_QUANTITY_EXAMPLES[key]}."
                                     ) from None
                entry[key] = str(amount)
            result[side] = entry
        try:  # requests within limits, GPUs equal: the same rules as the Airflow backend
            check_resources(ResourcesSpec.model_validate(result), task, self.where(path))
        except CompileError as exc:
            raise SpecError(str(exc)) from None
        return result

    def env(self, value: Any, path: YamlPath, spath: FieldPath) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(path, f"env must be a mapping of names to values; found "
                             f"{describe(value)}.")
        result = {}
        for key, item in value.items():
            self.name(key, (*path, key), IDENT, "the variable name", "letters, digits and _")
            if key.startswith("FLYTEPATH_"):
                raise self.error((*path, key), "names starting with FLYTEPATH_ are reserved "
                                 "for the platform (inputs, outputs, settings). Rename the "
                                 "variable.")
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise self.error((*path, key), f"expected text; found {describe(item)}. "
                                 "Quote the value.")
            result[key] = str(item)
        return result

    def cache(self, value: Any, path: YamlPath, inputs: list[str]) -> dict[str, Any] | None:
        if value is False or value is None:
            return None
        if value is True:
            raise self.error(path, "caching needs a version you bump when the task's "
                             "behaviour changes: write cache: {version: \"1\"}.")
        value = self.mapping(value, path, ("version", "ignore_inputs", "serialize", "scope"),
                             required=("version",), what="cache")
        version = value["version"]
        if isinstance(version, bool) or not isinstance(version, (str, int, float)) or \
                str(version) == "":
            raise self.error((*path, "version"), "the cache version must be text, e.g. \"1\".")
        cache: dict[str, Any] = {"version": str(version)}
        ignored = value.get("ignore_inputs", [])
        if not isinstance(ignored, list):
            raise self.error((*path, "ignore_inputs"), "expected a list of input names.")
        for i, name in enumerate(ignored):
            if name not in inputs:
                raise self.error((*path, "ignore_inputs", i), f"{name!r} is not an input of "
                                 f"this task.{did_you_mean(str(name), inputs)} Inputs: "
                                 f"{', '.join(inputs) or 'none'}.")
        if ignored:
            cache["ignore_inputs"] = ignored
        if "serialize" in value:
            cache["serialize"] = self.boolean(value["serialize"], (*path, "serialize"))
        if "scope" in value:
            if value["scope"] not in ("tenant", "global"):
                raise self.error((*path, "scope"), "scope is tenant (the default) or global.")
            cache["scope"] = value["scope"]
        return cache

    def checkpoint(self, value: Any, path: YamlPath) -> dict[str, Any] | None:
        """`checkpoint: true | false | {keep: N, load: resume|fresh}` (true: the defaults)."""
        if value is True or value is None:
            return None
        if value is False:
            return {"enabled": False}
        value = self.mapping(value, path, ("keep", "load"), required=(), what="checkpoint")
        policy: dict[str, Any] = {}
        if "keep" in value:
            keep = value["keep"]
            if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= 1000:
                raise self.error((*path, "keep"), "keep is how many attempts' checkpoints "
                                 "stay, a whole number from 1 to 1000, e.g. keep: 2.")
            policy["keep"] = keep
        if "load" in value:
            if value["load"] not in ("resume", "fresh"):
                raise self.error((*path, "load"), "load is resume (the default: a retry "
                                 "starts from the newest checkpoint) or fresh.")
            policy["load"] = value["load"]
        return policy

    def secrets(self, value: Any, path: YamlPath) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            raise self.error(path, "secrets is a list of \"group\", \"group/key\" or "
                             "{group, key, mount, env_var} entries.")
        result = []
        for i, item in enumerate(value):
            ipath = (*path, i)
            if isinstance(item, str):
                group, _, key = item.partition("/")
                if not group or "/" in key:
                    raise self.error(ipath, f"{item!r} is not \"group\" or \"group/key\".")
                entry = {"group": group, **({"key": key} if key else {})}
                self.check_secret_variable(entry, ipath)
                result.append(entry)
                continue
            item = self.mapping(item, ipath, ("group", "key", "mount", "env_var"),
                                required=("group",), what="a secret")
            if "mount" in item and item["mount"] not in ("env", "file"):
                raise self.error((*ipath, "mount"), "mount is env or file.")
            env_var = item.get("env_var")
            if isinstance(env_var, str) and env_var.startswith("FLYTEPATH_"):
                raise self.error((*ipath, "env_var"), f"{env_var}: names starting with "
                                 "FLYTEPATH_ are reserved for the platform. Choose another "
                                 "variable for this secret.")
            self.check_secret_variable(item, ipath)
            result.append(dict(item))
        return result

    def check_secret_variable(self, entry: dict[str, Any], path: YamlPath) -> None:
        """Refuse a secret whose variable (GROUP_KEY without env_var) is a platform one."""
        if entry.get("mount", "env") != "env":
            return
        try:
            name = SecretRef.model_validate(entry).env_name()
        except ValidationError:
            return  # the spec model reports the bad field with its path
        if name.startswith(PLATFORM_ENV_PREFIX):
            shown = f"{entry['group']}/{entry['key']}" if entry.get("key") else entry["group"]
            raise self.error(path, f"secret {shown} would be the variable {name}, but names "
                             "starting with FLYTEPATH_ are reserved for the platform (store "
                             "root, metadata database, settings). Give it another variable "
                             "with env_var.")


__all__ = ["TaskReader"]
