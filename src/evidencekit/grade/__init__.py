"""grade: see docs/architecture.md."""
