"""The io tests read back the export tests' two-class scene."""

from tests.export.conftest import scene  # noqa: F401 (fixture)
