"""Who may see and do what on the dashboard: roles and scope, passwords, session tokens and their
timeouts, CSRF and origin checks, and the sign-in rate limit.  Pure except :mod:`hub.auth.passwords`
(the only module importing argon2); the web wires these to the store."""
