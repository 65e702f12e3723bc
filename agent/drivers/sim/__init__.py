"""Simulated drivers, one module per kind, behind the same interface as the real ones.

Every value is a pure function of the config's ``seed``, the device id and the ``now`` handed to
``poll`` (see :mod:`agent.drivers.sim.common`), so a test that passes the same times gets the same
readings, and several simulated sites started with different seeds do not move in lockstep.
"""
