"""`python -m flytepath_airflow.ir.schema`: regenerate the committed spec JSON Schema."""

from __future__ import annotations

import sys

from flytepath_airflow.ir.schema import SCHEMA_PATH, write_schema


def main() -> int:
    """Write the schema file and say whether it changed."""
    changed = write_schema()
    print(f"{'updated' if changed else 'unchanged'}: {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
