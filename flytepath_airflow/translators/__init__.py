"""Front-ends that turn Python, YAML or Airflow DAGs into specs."""
