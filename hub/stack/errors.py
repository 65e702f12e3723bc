"""The one error the dev stack raises.

Its message says what went wrong and what to do about it (which package to install, which port is taken,
the tail of the service's log), because the person reading it is usually at a terminal, not in a debugger.
"""

from __future__ import annotations


class StackError(Exception):
    """A service of the dev stack could not be installed, started, stopped or reached."""
