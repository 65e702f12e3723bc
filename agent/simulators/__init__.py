"""Stand-ins for hardware, for tests and demos: each behaves like the device on the wire it is read through."""
