"""The e2e `local_stack` fixture (a throwaway HELIXFLOW_HOME on free ports), shared with tests/e2e."""

from tests.e2e.conftest import local_stack  # noqa: F401  (a fixture, used by name)
