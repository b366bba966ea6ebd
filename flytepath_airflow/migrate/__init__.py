"""`flytepath convert`: existing Airflow DAGs become typed FlytePath specs.

Stages (docs/migration.md): `loader` imports each DAG file the way Airflow does (a real
DagBag, one child process per file, with a timeout); `extract` turns each loaded DAG into
a spec, the Python task modules it needs and report entries; `structure` reduces a DAG to
what the round trip compares; `rebuild` builds a DAG back from a converted spec;
`convert` writes the output folder and the report (`report`).

May import airflow (the whole package is the migration front-end); never imported by the
runtime, the SDK, the spec or the DAG builder.
"""
