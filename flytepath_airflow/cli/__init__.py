"""The `flytepath` command line (presentation only)."""
