"""An audit link's hash is over its entry in canonical JSON. Links were first hashed with the
standard library's encoder; audit.canonical (orjson) must give the same bytes for every entry,
or old links would no longer verify and new ones would not verify elsewhere."""

import json
import sys

from services.common.access import entry
from services.common.audit import canonical
from services.common.auth import Caller, Role


def stdlib(value: dict[str, object]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_every_code_point_is_encoded_as_the_standard_library_encodes_it() -> None:
    differing = []
    for first in range(0, sys.maxunicode + 1, 256):  # 256 code points a string
        # lone surrogates have no UTF-8 for either encoder
        text = "".join(chr(c) for c in range(first, first + 256) if not 0xD800 <= c <= 0xDFFF)
        value = {"user": f"a{text}b", "client_id": None, "at": text}
        if canonical(value) != stdlib(value):
            differing.append(hex(first))
    assert differing == []


def test_a_whole_entry_is_encoded_as_the_standard_library_encodes_it() -> None:
    caller = Caller('o\'brien "the" \\ keyworker\n\t\u2028 ł 😀', "ORG01", Role.PROVIDER)
    value = entry(caller, None, "worklist-row", "e-1", None, "granted")
    assert canonical(value) == stdlib(value)
