"""export layer (see docs/ARCHITECTURE.md)."""
