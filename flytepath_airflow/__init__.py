"""FlytePath."""
