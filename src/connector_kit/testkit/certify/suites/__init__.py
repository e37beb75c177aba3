"""The built-in certification suites, one module each, found through the ``connector_kit.suites``
entry points that ``pyproject.toml`` declares (see :mod:`connector_kit.testkit.certify.registry`)."""
