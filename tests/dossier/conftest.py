"""The demo case fixture, for every dossier test module (defined with the dossier build tests)."""

from test_build_dossier import demo  # noqa: F401 - a fixture, registered by being here
