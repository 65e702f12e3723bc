"""Loading, checking and choosing catalogues."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Final, Literal, get_args

Language = Literal["zh-CN", "en"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)
DEFAULT_LANGUAGE: Final[Language] = "zh-CN"
TIME_ZONE: Final = "Asia/Shanghai"

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def as_language(value: str | None) -> Language | None:
    if value is None:
        return None
    return next((lang for lang in LANGUAGES if lang.lower() == value.strip().lower()), None)


def negotiate(cookie: str | None, accept_language: str | None, default: Language = DEFAULT_LANGUAGE) -> Language:
    """The person's explicit choice (cookie) first, then the browser's first language we have, then ``default``."""
    chosen = as_language(cookie)
    if chosen is not None:
        return chosen
    for part in (accept_language or "").split(","):
        tag = part.split(";", 1)[0].strip().lower()
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default


def _load(lang: Language) -> dict[str, str]:
    text = (resources.files("hub.i18n") / "catalogues" / f"{lang}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ValueError(f"catalogue {lang}: must be one JSON object of strings")
    return data


def catalogue_problems(catalogues: Mapping[Language, Mapping[str, str]] | Mapping[str, Mapping[str, str]]) -> list[str]:
    """Keys missing from a language, and placeholders that differ between languages."""
    problems = []
    keys = set().union(*(c.keys() for c in catalogues.values()))
    for lang, entries in catalogues.items():
        for key in sorted(keys - entries.keys()):
            problems.append(f"{lang}: missing {key}")
    for key in sorted(keys):
        shapes = {lang: set(_PLACEHOLDER.findall(c[key])) for lang, c in catalogues.items() if key in c}
        if len({frozenset(s) for s in shapes.values()}) > 1:
            problems.append(f"{key}: placeholders differ: {shapes}")
    return problems


class Catalogues:
    """Every catalogue, loaded and checked once at start-up."""

    def __init__(self) -> None:
        self._by_lang: dict[Language, dict[str, str]] = {lang: _load(lang) for lang in LANGUAGES}
        problems = catalogue_problems(self._by_lang)
        if problems:
            raise ValueError("language catalogues disagree: " + "; ".join(problems))

    def get(self, lang: Language) -> Mapping[str, str]:
        return self._by_lang[lang]

    def text(self, lang: Language, key: str, **params: object) -> str:
        template = self._by_lang[lang].get(key, key)
        return _PLACEHOLDER.sub(lambda m: str(params.get(m.group(1), m.group(0))), template)
