"""The built-in certification suites; each module registers its suite when imported."""
