"""Export the JSON Schema of every v1 message into ``protocol/schema/`` (``python -m protocol.schema_export``).

The files are committed; a test regenerates them in memory and fails if they drifted from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from protocol.messages import MESSAGE_MODELS

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"


def schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind, model in MESSAGE_MODELS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://sitewatch.invalid/protocol/v1/{kind}.json"
        out[f"{kind}.v1.json"] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, schema in schemas().items():
        (SCHEMA_DIR / name).write_text(render(schema), encoding="utf-8")
        print(f"wrote {SCHEMA_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
