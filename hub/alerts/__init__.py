"""The alert lifecycle, pure: no database, no clock, no network.

* :mod:`hub.alerts.model` — labels, severities, the per-kind policy (``for`` duration, flapping);
* :mod:`hub.alerts.lifecycle` — pending → firing → acknowledged → resolved for one fingerprint, with
  occurrence counts and flapping that holds an alert open instead of re-notifying;
* :mod:`hub.alerts.mute` — silences (label matchers, time-boxed, with author and reason) and inhibition
  (an offline agent mutes its devices' alerts, an offline site its agents'), behind one ``mute()``;
* :mod:`hub.alerts.escalation` — who is told what and when: the city desk at once, the province at once
  for critical alerts or after N s unacknowledged, re-notification every M s, resolution too;
* :mod:`hub.alerts.duty` — the duty desk's check-in on exam days (the dead-man switch for people, rule O3).

The store (:mod:`hub.store.alerts`, :mod:`hub.store.escalation`) feeds these functions rows and writes
back what they decide; :mod:`hub.notify` delivers.
"""
