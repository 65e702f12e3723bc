"""Export the JSON Schema of every v1 message into ``protocol/schema/`` and the examples into the README.

Run ``python -m protocol.schema_export``.  The files are committed; tests regenerate them in memory and
fail if they drifted from the models.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from protocol.codec import encode
from protocol.examples import examples
from protocol.messages import MESSAGE_MODELS
from protocol.topics import AgentPath, topic_for
from protocol.validation import schema_pattern

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
README = SCHEMA_DIR.parent / "README.md"
EXAMPLES_HEADING = "## Examples\n"


def schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind, model in MESSAGE_MODELS.items():
        (_ref,), components = msgspec.json.schema_components([model], ref_template="#/$defs/{name}")
        # The message itself at the top, the models it holds under $defs (as a validator expects a document).
        schema: dict[str, Any] = _ecma(components.pop(model.__name__))
        if components:
            schema["$defs"] = _ecma(components)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://sitewatch.invalid/protocol/v1/{kind}.json"
        out[f"{kind}.v1.json"] = schema
    return out


def _ecma(node: Any) -> Any:
    """``node`` with every pattern in its JSON Schema form (``\\Z`` is Python's; ECMA-262 ends with ``$``)
    and every description without its docstring indentation (msgspec keeps it on Python 3.11)."""
    if isinstance(node, dict):
        return {key: _tidy(key, value) for key, value in node.items()}
    if isinstance(node, list):
        return [_ecma(item) for item in node]
    return node


def _tidy(key: str, value: Any) -> Any:
    if key == "pattern" and isinstance(value, str):
        return schema_pattern(value)
    if key == "description" and isinstance(value, str):
        return inspect.cleandoc(value)
    return _ecma(value)


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def examples_section() -> str:
    """The README's examples, generated from :mod:`protocol.examples` so the docs cannot drift."""
    path = AgentPath("jinan", "s01", "a1")
    parts = [EXAMPLES_HEADING + "\n"]
    for kind, message in examples().items():
        doc = json.dumps(json.loads(encode(message)), indent=2, ensure_ascii=False)
        topic = topic_for(path, message.type)
        parts.append(f"### {kind}\n\nTopic `{topic}`\n\n```json\n{doc}\n```\n")
    return "\n".join(parts)


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, schema in schemas().items():
        (SCHEMA_DIR / name).write_text(render(schema), encoding="utf-8")
        print(f"wrote {SCHEMA_DIR / name}")
    readme = README.read_text(encoding="utf-8")
    head = readme.split(EXAMPLES_HEADING)[0]
    README.write_text(head + examples_section(), encoding="utf-8")
    print(f"wrote the examples in {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
