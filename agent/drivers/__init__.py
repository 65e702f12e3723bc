"""Device drivers: one package per kind of device, all behind :class:`agent.drivers.base.Driver`.

A driver's config class carries a ``Literal`` ``driver`` tag; :mod:`agent.drivers.registry` maps each
tag to its config and driver class and forms the discriminated union the config file is validated
against.  Hardware libraries are imported inside the driver that needs them, so the agent imports on
any machine.
"""
