"""`@task`: a typed unit of work, written like flytekit.

Inside a `@workflow` body a task call records a node and returns promises; outside one it
runs the task locally through the same serialization path as a real run.

Must not import: airflow, kubernetes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, TypeVar, overload

from pydantic import ValidationError
from typing_extensions import TypedDict, Unpack

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.models import (
    CacheSpec,
    CheckpointSpec,
    PodOverridesSpec,
    ResourceList,
    ResourcesSpec,
    SecretRef,
    TaskSpec,
)
from flytepath_airflow.ir.quantities import check_resources
from flytepath_airflow.runtime.code import code_digest
from flytepath_airflow.sdk.decorated import DecoratedFunction
from flytepath_airflow.sdk.promise import active_trace
from flytepath_airflow.types.signatures import parse_docstring
from flytepath_airflow.utils.suggest import closest

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Resources:
    """Kubernetes-style resource quantities for a task's requests or limits.

    Args:
        cpu: CPU cores, e.g. "500m" or "2".
        mem: memory, e.g. "512Mi" or "8Gi".
        gpu: number of GPUs, e.g. "1".
        ephemeral_storage: scratch disk, e.g. "10Gi".
    """

    cpu: str | int | float | None = None
    mem: str | None = None
    gpu: str | int | None = None
    ephemeral_storage: str | None = None

    def to_spec(self) -> ResourceList:
        """The spec form (every quantity a string)."""
        def s(v: Any) -> str | None:
            return None if v is None else str(v)

        return ResourceList(cpu=s(self.cpu), mem=s(self.mem), gpu=s(self.gpu),
                            ephemeral_storage=s(self.ephemeral_storage))


@dataclass(frozen=True)
class CheckpointPolicy:
    """How a task's checkpoints are kept and loaded (`@task(checkpoint=...)`).

    Args:
        keep: checkpoints of this many most recent attempts stay in the store (1-1000).
        load: "resume" (a retry reads the newest valid earlier checkpoint) or "fresh"
            (every attempt starts over but still saves, e.g. while debugging a resume).
    """

    keep: int = 3
    load: Literal["resume", "fresh"] = "resume"

    def to_spec(self) -> CheckpointSpec:
        """The spec form."""
        return CheckpointSpec(keep=self.keep, load=self.load)


def checkpoint_spec(value: Any, task_name: str, where: str) -> CheckpointSpec | None:
    """The spec of a `checkpoint=` option: True (default policy), False, or a policy."""
    if value is True:
        return None
    if value is False:
        return CheckpointSpec(enabled=False)
    if isinstance(value, CheckpointPolicy):
        try:
            return value.to_spec()
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                 for e in exc.errors())
            raise CompileError(f"task '{task_name}' ({where}): checkpoint policy {value!r} "
                               f"is invalid: {problems}.") from None
    raise CompileError(
        f"task '{task_name}' ({where}): checkpoint must be True, False or "
        f"CheckpointPolicy(keep=..., load=\"resume\"|\"fresh\"), got {value!r}.")


@dataclass(frozen=True)
class Secret:
    """A reference to a secret the platform mounts into the task (never its value).

    Args:
        group: the secret's name (a Kubernetes Secret in production).
        key: the key within the secret.
        mount: "env" (an environment variable) or "file".
        env_var: the variable name for mount="env" (default: GROUP_KEY upper-cased).
    """

    group: str
    key: str | None = None
    mount: str = "env"
    env_var: str | None = None


class TaskOptions(TypedDict, total=False):
    """The options of `@task`, typed so editors complete them and mypy checks them.

    Each is documented on `task`.
    """

    cache: bool | Literal["auto"]
    cache_version: str
    cache_serialize: bool
    cache_ignore_input_vars: Sequence[str]
    retries: int
    timeout: float | timedelta
    interruptible: bool
    checkpoint: bool | CheckpointPolicy
    requests: Resources
    limits: Resources
    container_image: str
    environment: Mapping[str, str]
    secret_requests: Sequence[Secret]
    docs: str
    pod_overrides: Mapping[str, Any]
    enable_deck: bool


TASK_OPTIONS = tuple(TaskOptions.__annotations__)
"""The option names `@task` accepts, in documentation order."""


def check_options(decorator: str, options: Mapping[str, Any], valid: Sequence[str]) -> None:
    """Refuse options a decorator does not know, suggesting the closest valid name.

    Type checkers already flag them in the editor; this catches untyped callers.

    :param decorator: the decorator, as messages show it ("@task").
    :param options: the options given.
    :param valid: the option names the decorator accepts.
    :raises CompileError: an option is unknown.
    """
    unknown = [k for k in options if k not in valid]
    if unknown:
        hints = []
        for name in unknown:
            close = closest(name, valid)
            hints.append(f"'{name}'" + (f" (did you mean '{close}'?)" if close else ""))
        raise CompileError(
            f"{decorator} got unknown option {', '.join(hints)}. "
            f"Valid options: {', '.join(valid)}."
        )


def _seconds(value: Any, name: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise CompileError(
        f"task '{name}' ({where}): timeout must be a positive number of seconds or a "
        f"datetime.timedelta, got {value!r}."
    )


def _flag(value: Any, option: str, name: str, where: str) -> bool:
    if not isinstance(value, bool):
        raise CompileError(f"task '{name}' ({where}): {option} must be True or False, got "
                           f"{value!r}.")
    return value


class PythonTask(DecoratedFunction):
    """A Python function decorated with `@task`."""

    KIND = "task"
    __flytepath_task__ = True

    def __init__(self, fn: Callable[..., Any], options: dict[str, Any]) -> None:
        super().__init__(fn)
        self.__flytepath_fn__ = fn
        self.options = options

    def to_spec(self) -> TaskSpec:
        """Compile the task into its spec (validating every option)."""
        opts = self.options
        where = self.location
        if "<locals>" in self.fn.__qualname__:
            raise CompileError(
                f"task '{self.fn.__qualname__}' ({where}) is defined inside a function; "
                "define tasks at module level so workers can import them."
            )
        if self.fn.__module__ == "__main__":
            raise CompileError(
                f"task '{self.fn.__qualname__}' ({where}) is defined in __main__; workers "
                "cannot import it. Put it in a module and run `flytepath run FILE.py:WF`."
            )
        cache = opts.get("cache", False)
        cache_spec = None
        if cache:
            version = opts.get("cache_version")
            if cache == "auto":
                version = version or f"auto-{code_digest(self.fn)[:16]}"
            elif cache is not True:
                raise CompileError(
                    f"task '{self.name}' ({where}): cache must be True, False or \"auto\", "
                    f"got {cache!r}."
                )
            if not version:
                raise CompileError(
                    f"task '{self.name}' ({where}): cache=True needs cache_version, the "
                    "version of this task's behaviour (bump it when the results would "
                    "change). Add cache_version=\"1\", or use cache=\"auto\" to hash the "
                    "source (fragile: any edit invalidates the cache)."
                )
            ignored = tuple(opts.get("cache_ignore_input_vars") or ())
            unknown = [i for i in ignored if i not in self.python_interface.inputs]
            if unknown:
                raise CompileError(
                    f"task '{self.name}' ({where}): cache_ignore_input_vars names "
                    f"{unknown}, which are not inputs of the task."
                )
            cache_spec = CacheSpec(version=str(version), ignore_inputs=ignored,
                                   serialize=bool(opts.get("cache_serialize", False)))
        elif opts.get("cache_serialize") or opts.get("cache_version"):
            raise CompileError(
                f"task '{self.name}' ({where}): cache_version and cache_serialize only "
                "apply with cache=True."
            )
        retries = opts.get("retries", 0)
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise CompileError(
                f"task '{self.name}' ({where}): retries must be a non-negative int, "
                f"got {retries!r}."
            )
        docs, _ = parse_docstring(self.fn.__doc__)
        secrets = tuple(
            SecretRef(group=s.group, key=s.key, mount=s.mount,  # type: ignore[arg-type]
                      env_var=s.env_var) if isinstance(s, Secret) else SecretRef(group=str(s))
            for s in opts.get("secret_requests") or ()
        )
        env = {str(k): str(v) for k, v in (opts.get("environment") or {}).items()}
        for name in (*env, *(s.env_name() for s in secrets if s.mount == "env")):
            if name.startswith("FLYTEPATH_"):
                raise CompileError(
                    f"task '{self.name}' ({where}): {name} is set by its environment or "
                    "secret_requests, but FLYTEPATH_* variables belong to the platform "
                    "(inputs, outputs, settings). Rename the variable.")
        requests, limits = opts.get("requests"), opts.get("limits")
        for label, res in (("requests", requests), ("limits", limits)):
            if res is not None and not isinstance(res, Resources):
                raise CompileError(
                    f"task '{self.name}' ({where}): {label} must be Resources(...), "
                    f"got {res!r}."
                )
        resources = ResourcesSpec(
            requests=requests.to_spec() if requests else ResourceList(),
            limits=limits.to_spec() if limits else ResourceList(),
        )
        check_resources(resources, self.name, where)
        overrides = opts.get("pod_overrides")
        return TaskSpec(
            name=self.name,
            kind="python",
            fn=f"{self.fn.__module__}:{self.fn.__qualname__}",
            interface=self.interface,
            resources=resources,
            retries=retries,
            timeout=_seconds(opts.get("timeout"), self.name, where),
            interruptible=bool(opts.get("interruptible", False)),
            cache=cache_spec,
            checkpoint=checkpoint_spec(opts.get("checkpoint", True), self.name, where),
            image=opts.get("container_image"),
            env=env,
            secrets=secrets,
            docs=opts.get("docs") or docs,
            code_digest=code_digest(self.fn),
            pod_overrides=(PodOverridesSpec.from_options(overrides, self.name, where)
                           if overrides is not None else None),
            enable_deck=_flag(opts.get("enable_deck", False), "enable_deck", self.name, where),
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        trace = active_trace()
        if trace is not None:
            return trace.call_task(self, args, kwargs)
        if args:
            raise CompileError(
                f"task '{self.name}' was called with positional arguments; call it with "
                f"keyword arguments, e.g. {self.fn.__name__}("
                f"{', '.join(f'{n}=...' for n in self.python_interface.inputs)})."
            )
        # Function-level: local calls compile through the compiler, which imports this module.
        from flytepath_airflow.sdk.local import run_task_locally
        return run_task_locally(self, kwargs)


@overload
def task(_fn: F) -> PythonTask: ...


@overload
def task(_fn: None = None, **options: Unpack[TaskOptions]) -> Callable[[F], PythonTask]: ...


def task(_fn: Any = None, **options: Unpack[TaskOptions]) -> Any:
    """Declare a typed task.

    Args:
        cache: True to memoize outputs by inputs (needs cache_version), or "auto".
        cache_version: the version of the task's behaviour; bump it to invalidate.
        cache_serialize: concurrent identical executions compute once.
        cache_ignore_input_vars: inputs left out of the cache key.
        retries: retries for system errors (and for tasks raising RecoverableError).
        timeout: seconds or a timedelta; the execution timeout of one attempt.
        interruptible: may run on spot capacity (the last attempt runs on regular nodes).
        checkpoint: True (default: `current_context().checkpoint` saves, retries resume),
            False (every attempt starts over; using the checkpoint is an error), or
            CheckpointPolicy(keep=N, load="resume"|"fresh"); see docs/checkpoints.md.
        requests: Resources requested for the pod.
        limits: Resources limits for the pod.
        container_image: the image the task runs in on Kubernetes.
        environment: extra environment variables.
        secret_requests: Secret references to mount.
        docs: a description (defaults to the docstring).
        pod_overrides: allow-listed per-task pod settings on Kubernetes (node selector,
            tolerations, accelerator, ...; see docs/kubernetes.md); anything else is a
            compile error naming the field.
        enable_deck: attach "Inputs" and "Outputs" decks summarizing the values (tables;
            a DataFrame shows its first rows), beside any Deck the task adds.
    """
    check_options("@task", options, TASK_OPTIONS)

    def wrap(fn: Callable[..., Any]) -> PythonTask:
        if not callable(fn):
            raise CompileError(f"@task decorates a function, got {fn!r}")
        return PythonTask(fn, dict(options))

    if _fn is not None:
        return wrap(_fn)
    return wrap
