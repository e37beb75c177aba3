"""connector-kit: connectors between data-generation pipelines and outside services.

The package root stays import-light on purpose: ``import connector_kit`` pulls in
nothing heavier than the standard library. Use the subpackages:

- :mod:`connector_kit.connectors` -- the connector system (agent and code-interpreter connectors);
- :mod:`connector_kit.blocks` and :mod:`connector_kit.flow` -- pipeline blocks over pandas;
- :mod:`connector_kit.testkit` -- record, replay, fuzz, fault-inject, benchmark and certify.
"""

__version__ = "0.1.0"
