"""The words of a notification, in Chinese and English (the desk reads Chinese; the log and the
province's tools may not).  Pure."""

from __future__ import annotations

from typing import Any, Final

EVENTS: Final = {
    "firing": ("告警", "alert"),
    "flapping": ("告警反复出现", "alert flapping"),
    "renotify": ("告警仍未确认", "alert still unacknowledged"),
    "escalated": ("告警上报", "alert escalated"),
    "resolved": ("告警已恢复", "alert resolved"),
    "acknowledged": ("告警已确认", "alert acknowledged"),
}
SEVERITIES: Final = {"critical": "严重", "warning": "警告", "info": "提示"}


def subject(payload: dict[str, Any]) -> str:
    a = payload["alert"]
    zh, en = EVENTS.get(payload["event"], (payload["event"], payload["event"]))
    sev = a["severity"]
    return f"[SiteWatch] {zh} / {en} · {SEVERITIES.get(sev, sev)} {sev} · {a['city']}/{a['site']} · {a['summary']}"


def body(payload: dict[str, Any]) -> str:
    a = payload["alert"]
    zh, en = EVENTS.get(payload["event"], (payload["event"], payload["event"]))
    lines = [
        f"{zh} / {en}",
        "",
        f"级别 / severity:   {SEVERITIES.get(a['severity'], a['severity'])} / {a['severity']}",
        f"考点 / site:       {a['city']}/{a['site']}",
        f"设备 / device:     {a['agent_id']}{' · ' + a['device_id'] if a.get('device_id') else ''}",
        f"类型 / kind:       {a['kind']}",
        f"摘要 / summary:    {a['summary']}",
        f"开始 / since:      {a.get('fired_at') or a['opened_at']}",
        f"次数 / occurrences: {a.get('occurrences', 1)}{' (反复 / flapping)' if a.get('flapping') else ''}",
    ]
    if a.get("acknowledged_at"):
        lines.append(f"确认 / acknowledged: {a['acknowledged_at']} {a.get('acknowledged_by') or ''}")
    if a.get("closed_at"):
        lines.append(f"恢复 / resolved:   {a['closed_at']}")
    lines += ["", f"hub {payload.get('hub', '')} · alert {a['id']}"]
    return "\n".join(lines) + "\n"
