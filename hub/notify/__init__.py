"""Telling people: the dispatcher decides (from :mod:`hub.alerts`) and queues notifications in the outbox;
senders deliver them through a chain of stages — dedup (a delivered row is never sent again), retry with
backoff (only errors a notifier calls retryable), record (receipt or failure, in the audit log too).

Notifiers: a signed webhook (:mod:`.webhook`), e-mail over SMTP (:mod:`.mail`), and the other hub
(:mod:`.federation`: city → province escalations, province → city acknowledgements).
"""
