"""The e2e tier's throwaway local stack, for the backup tests that bring one up."""

from tests.e2e.conftest import local_stack  # noqa: F401 (a fixture, found by name)
