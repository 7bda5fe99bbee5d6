"""training layer (see docs/ARCHITECTURE.md)."""
