"""Integrations with optional libraries, one module per library, each behind its extra.

A module here imports its library inside the functions that use it, so importing the
module (a workflow file does) costs nothing and a missing library is a user error with
the `pip install` line.

Must not import: airflow, kubernetes.
"""
