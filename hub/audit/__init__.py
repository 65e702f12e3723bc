"""The tamper-evident audit record: alerts, acknowledgements, silences, sign-ins and configuration
changes, each row chained to the one before by a SHA-256 hash (:mod:`hub.audit.chain`, pure), stored by
:mod:`hub.store.audit_log`, checked by ``sitewatch hub audit verify`` (:mod:`hub.audit.cli`)."""
