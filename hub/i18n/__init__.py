"""Language catalogues for the dashboard: Simplified Chinese (the default) and English.

Every string a page shows comes from ``catalogues/<lang>.json`` (flat keys; ``{name}`` placeholders).
The browser formats dates and numbers itself with ``Intl`` for the catalogue's ``_meta.locale``, always in
Beijing time (``_meta.time_zone``), so Python only loads, checks and chooses catalogues.
"""

from hub.i18n.catalogue import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Catalogues,
    Language,
    as_language,
    catalogue_problems,
    negotiate,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Catalogues",
    "Language",
    "as_language",
    "catalogue_problems",
    "negotiate",
]
