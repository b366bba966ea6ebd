"""Small helpers every layer shares: one of each, reused instead of rewritten.

- `suggest`: "did you mean" for a misspelled name;
- `atomic`: write a file so readers see the old content or the new one, never a part;
- `durations`: the one grammar for durations written as text (`90s`, `1h30m`, `7d`).

Must not import: any other FlytePath module but `errors`, airflow, kubernetes.
"""
