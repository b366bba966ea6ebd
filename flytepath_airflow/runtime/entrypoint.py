"""`flytepath-execute`: the program that runs one node inside a worker or a pod.

    flytepath-execute --spec URI --node ID --run-id R --attempt N --root URI

Exit codes: 0 success; 10 user error (the task raised, or a bad input value: not retried);
11 system error (storage or infrastructure: retried); 2 bad arguments or spec; 12 skipped
(the node belongs to a conditional case that was not taken).

A map node runs one element with `--item N`; without it, and for conditional and
dynamic nodes, the whole node runs in this process (`runtime.node_runner`).
The last line written to stdout on success is the node's outputs.json pointer as JSON.

Must not import: airflow, kubernetes (a test runs it with Airflow hidden).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

# Module level: running any node imports the executor, the store and the metadata store
# anyway, so importing them lazily would only speed up --help.
from flytepath_airflow.errors import (
    FlytePathSystemError,
    FlytePathUserError,
    TaskExecutionError,
)
from flytepath_airflow.ir.spec_io import load_spec
from flytepath_airflow.runtime.control import guarded_out
from flytepath_airflow.runtime.executor import _failure, execute_node, user_traceback
from flytepath_airflow.runtime.progress import NodeEvent
from flytepath_airflow.runtime.run import attempt_key, prepare_run, read_pointer
from flytepath_airflow.stores.blob import BlobStore, default_root

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_USER_ERROR = 10
EXIT_SYSTEM_ERROR = 11
EXIT_SKIPPED = 12


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flytepath-execute", description="Execute one node of a FlytePath run."
    )
    parser.add_argument("--spec", required=True, help="URI of the compiled spec JSON")
    parser.add_argument("--node", required=True, help="id of the node to run")
    parser.add_argument("--run-id", required=True, help="id of the run")
    parser.add_argument("--attempt", type=int, default=1, help="attempt number, from 1")
    parser.add_argument("--item", type=int, default=None,
                        help="element of a map node to run, from 0")
    parser.add_argument("--root", default=None, help="blob store root URI")
    parser.add_argument("--prepare-inputs", default=None,
                        help="JSON object of workflow inputs; prepares the run if needed")
    parser.add_argument("--prepare-options", default=None,
                        help="JSON object of run options (e.g. overwrite_cache) used when "
                             "preparing the run")
    parser.add_argument("--backend", default="airflow",
                        help="backend recorded with a run this process prepares")
    return parser


def _run(spec: Any, args: argparse.Namespace, root: str) -> tuple[bool, dict[str, Any]]:
    """Run the node (or element); returns (skipped, published pointer)."""
    try:
        node = spec.node(args.node)
    except KeyError:
        node = None  # execute_node reports the unknown id with the known ones
    if node is not None and guarded_out(spec, node, args.run_id, root):
        return True, {}
    if node is None or node.kind == "task" or args.item is not None:
        return False, execute_node(spec, args.node, args.run_id, args.attempt, root,
                                   item=args.item)
    # Function-level: node_runner imports this module's exit codes (a cycle in the runtime).
    from flytepath_airflow.runtime.node_runner import NodeRunner

    runner = NodeRunner(spec, args.run_id, root, False, _log_event)
    failure = runner.run(node)
    if failure is not None:
        kind, message = failure[0], failure[1] or "failed"
        raise _failure(BlobStore(root), attempt_key(args.run_id, args.node, args.attempt),
                       args.node, kind, RuntimeError(message), message)
    return False, read_pointer(BlobStore(root), args.run_id, args.node)


def _log_event(event: NodeEvent) -> None:
    """A node this process runs whole reports its elements and steps in the task's log."""
    shown = event.node if event.element is None else f"{event.node}[{event.element}]"
    attempt = f" attempt {event.attempt}/{event.attempts}" if event.attempt else ""
    print(f"{shown}: {event.state}{attempt} {event.message}".rstrip(), file=sys.stderr)


def _report_failure(exc: TaskExecutionError, args: argparse.Namespace, root: str) -> None:
    """The user's traceback (their frames only), once, then where the full record is."""
    cause = exc.__cause__
    shown = user_traceback(cause) if cause is not None else None
    if shown:
        print(shown.rstrip("\n"), file=sys.stderr)
    record_id = args.node if args.item is None else f"{args.node}[{args.item}]"
    record = BlobStore(root).uri(f"{attempt_key(args.run_id, record_id, args.attempt)}"
                                 "/error.json")
    print(f"flytepath: {exc}\nflytepath: the full record of this attempt (with FlytePath's "
          f"own frames) is {record}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the node and return the process exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = args.root or default_root()
    try:
        spec = load_spec(args.spec)
        if args.prepare_inputs is not None:
            options = json.loads(args.prepare_options) if args.prepare_options else None
            prepare_run(spec, json.loads(args.prepare_inputs), root, args.run_id,
                        options=options, backend=args.backend)
        skipped, pointer = _run(spec, args, root)
        if skipped:
            print(f"flytepath: node {args.node!r} skipped: its conditional case was not "
                  "taken", file=sys.stderr)
            return EXIT_SKIPPED
    except TaskExecutionError as exc:
        _report_failure(exc, args, root)
        return EXIT_USER_ERROR if exc.kind == "user" else EXIT_SYSTEM_ERROR
    except FlytePathUserError as exc:
        print(f"flytepath: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, FlytePathSystemError) as exc:
        print(f"flytepath: system error: {exc}", file=sys.stderr)
        return EXIT_SYSTEM_ERROR
    sys.stdout.flush()
    print(json.dumps(pointer, sort_keys=True))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
