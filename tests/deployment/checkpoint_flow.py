"""A long task in Flyte's checkpoint style, for the deployment test that kills its process.

`steps` steps of `pause` seconds; each step appends "step attempt pid" to `work_log` and
saves the next step as the checkpoint, and every attempt starts from the newest one.
"""

from __future__ import annotations

import os
import time

from flytepath_airflow import current_context, task, workflow


@task(retries=2)
def long_count(steps: int, pause: float, work_log: str) -> int:
    ctx = current_context()
    state = ctx.checkpoint.load_state({"step": 0, "total": 0})  # type: ignore[union-attr]
    for step in range(state["step"], steps):
        time.sleep(pause)
        state = {"step": step + 1, "total": state["total"] + step}
        with open(work_log, "a", encoding="utf-8") as fh:
            fh.write(f"{step} {ctx.attempt} {os.getpid()}\n")
        ctx.checkpoint.save_state(state)  # type: ignore[union-attr]
    return int(state["total"])


@workflow
def long_job(steps: int, pause: float, work_log: str) -> int:
    return long_count(steps=steps, pause=pause, work_log=work_log)
