"""Graph algorithms over a workflow spec: execution order, cycles, levels, and node outputs.

Every stage that walks a graph uses these (the checks, the local runner, dynamic levels on
Airflow, the dynamic-depth limit), so they all agree on one order. Everything here is
deterministic: among nodes that are ready at the same time, the one declared first wins.

Must not import: any FlytePath module above `ir` (types, stores, runtime, ...), airflow,
kubernetes.
"""

from __future__ import annotations

import heapq

from flytepath_airflow.errors import CompileError
from flytepath_airflow.ir.models import (
    ListType,
    LiteralType,
    NodeSpec,
    SimpleType,
    TaskSpec,
    UnionType,
    Variable,
    WorkflowSpec,
)
from flytepath_airflow.utils.suggest import did_you_mean

_NONE = SimpleType(name="none")


def chain_text(ids: list[str]) -> str:
    """`a -> b -> c`: a path of node ids as messages show it, shortened in the middle when long.

    :param ids: the node ids along the path.
    """
    if len(ids) > 12:
        return " -> ".join([*ids[:5], f"... ({len(ids) - 10} more)", *ids[-5:]])
    return " -> ".join(ids)


def find_cycle(spec: WorkflowSpec) -> list[str] | None:
    """A dependency cycle as node ids in data-flow order, first id repeated at the end.

    Deterministic: nodes and their dependencies are visited in declaration order. References
    to unknown nodes are ignored here (`check_workflow` reports them first).

    :param spec: the workflow to search.
    """
    by_id = {n.id: n for n in reversed(spec.nodes)}  # the first of duplicate ids wins
    done: set[str] = set()
    for start in spec.nodes:
        if start.id in done:
            continue
        # Iterative depth-first search (long chains must not hit the recursion limit).
        path: list[str] = [start.id]
        on_path = {start.id}
        pending: list[list[str]] = [[d for d in start.dependencies() if d in by_id]]
        while path:
            if not pending[-1]:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                pending.pop()
                continue
            dep = pending[-1].pop(0)
            if dep in done:
                continue
            if dep in on_path:
                # The path runs against the data flow (node -> what it needs); reverse it.
                loop = path[path.index(dep):]
                return [dep, *reversed(loop[1:]), dep]
            path.append(dep)
            on_path.add(dep)
            pending.append([d for d in by_id[dep].dependencies() if d in by_id])
    return None


def topological_order(spec: WorkflowSpec) -> list[str]:
    """Node ids so that every node comes after all nodes it depends on.

    Stable: among nodes that are ready at the same time, the one declared first comes
    first, so the same spec always gives the same order.

    :param spec: the workflow to order.
    :raises CompileError: duplicate ids, a dependency on an unknown node, or a cycle.
    """
    position: dict[str, int] = {}
    for index, node in enumerate(spec.nodes):
        if node.id in position:
            raise CompileError(f"Node id '{node.id}' is used twice in workflow "
                               f"'{spec.name}'. Give every node its own id.")
        position[node.id] = index
    needs: dict[str, set[str]] = {}
    users: dict[str, list[str]] = {n.id: [] for n in spec.nodes}
    for node in spec.nodes:
        deps = node.dependencies()
        for dep in deps:
            if dep not in position:
                raise CompileError(
                    f"Node '{node.id}' depends on node '{dep}', which does not exist in "
                    f"workflow '{spec.name}'.{did_you_mean(dep, position)} "
                    "Correct the id or remove the dependency."
                )
            users[dep].append(node.id)
        needs[node.id] = set(deps)
    ready = [position[n] for n, deps in needs.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        node_id = spec.nodes[heapq.heappop(ready)].id
        order.append(node_id)
        for user in users[node_id]:
            needs[user].discard(node_id)
            if not needs[user]:
                heapq.heappush(ready, position[user])
    if len(order) < len(spec.nodes):
        cycle = find_cycle(spec) or sorted(set(position) - set(order))
        raise CompileError(
            f"Nodes of workflow '{spec.name}' form a cycle: {chain_text(cycle)}. "
            "Remove one of these dependencies."
        )
    return order


def levels_of(spec: WorkflowSpec) -> list[list[str]]:
    """Node ids grouped by depth: level k holds the nodes whose longest upstream path is k.

    Within a level, nodes keep their declaration order.

    :param spec: the workflow to group.
    :raises CompileError: as `topological_order`.
    """
    depth: dict[str, int] = {}
    for node_id in topological_order(spec):
        deps = spec.node(node_id).dependencies()
        depth[node_id] = 1 + max((depth[d] for d in deps), default=-1)
    levels: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in spec.nodes:
        levels[depth[node.id]].append(node.id)
    return levels


def graph_depth(spec: WorkflowSpec) -> int:
    """The longest chain of nodes in the graph (a single node is depth 1; empty is 0).

    :param spec: the workflow to measure.
    """
    return len(levels_of(spec))


def optional_of(lt: LiteralType) -> LiteralType:
    """`Optional[lt]` (unchanged when `lt` already admits None).

    :param lt: the type to widen.
    """
    if lt == _NONE or (isinstance(lt, UnionType) and _NONE in lt.variants):
        return lt
    return UnionType(variants=(lt, _NONE))


def map_outputs(task: TaskSpec, min_success_ratio: float) -> tuple[Variable, ...]:
    """A map node's outputs: `list[O]` per task output, `list[Optional[O]]` below ratio 1.

    :param task: the mapped task.
    :param min_success_ratio: the share of elements that must succeed (1 means all).
    """
    return tuple(
        Variable(name=v.name, type=ListType(
            item=optional_of(v.type) if min_success_ratio < 1 else v.type))
        for v in task.interface.outputs
    )


def node_outputs(spec: WorkflowSpec, node: NodeSpec) -> tuple[Variable, ...] | None:
    """The outputs other nodes can read from `node`, or None when its task is unknown.

    Task and dynamic nodes: their task's outputs. Map nodes: a list per task output (of
    optionals when min_success_ratio < 1). Merge nodes: `node.outputs`. Branch nodes: none.

    :param spec: the workflow `node` belongs to.
    :param node: the node whose outputs are wanted.
    """
    if node.kind == "merge":
        return node.outputs
    if node.kind == "branch":
        return ()
    if node.task is None or node.task not in spec.tasks:
        return None
    task = spec.tasks[node.task]
    if node.kind == "map" and node.map is not None:
        return map_outputs(task, node.map.min_success_ratio)
    return task.interface.outputs


__all__ = [
    "chain_text",
    "find_cycle",
    "graph_depth",
    "levels_of",
    "map_outputs",
    "node_outputs",
    "optional_of",
    "topological_order",
]
