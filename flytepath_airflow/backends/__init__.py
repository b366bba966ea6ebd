"""Backends turn a spec into something that runs: local (here) and Airflow (airflow/)."""
