"""`-o json` builds each result's dict once, for both the digest and the output, and still writes the
bytes of the whole document encoded at once."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
from audit_helpers import generated_dump
from conftest import POLICIES
from test_audit_parallel import _context, located, policy_set

from webhook.audit.evidence import seal
from webhook.audit.formats import json_report
from webhook.audit.run import ObjectResult, audit
from webhook.policy import load_policies


@pytest.mark.parametrize("signed", [False, True])
def test_each_result_is_built_once_and_the_bytes_are_the_whole_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signed: bool
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    policies = policy_set(tmp_path)
    old = load_policies(POLICIES / "no-root.yaml")
    result = audit(located(generated_dump(60)), policies, old_policies=old)
    key = Ed25519PrivateKey.generate() if signed else None
    context = _context(result, policies, signing_key=key)
    whole = orjson.dumps(seal(json_report.document(context), key), option=orjson.OPT_INDENT_2) + b"\n"

    built: list[str] = []
    as_dict = ObjectResult.as_dict

    def counting(self: ObjectResult, *args: Any) -> dict[str, Any]:
        built.append(self.ref)
        return as_dict(self, *args)

    monkeypatch.setattr(ObjectResult, "as_dict", counting)
    streamed = io.BytesIO()
    json_report.write(context, streamed)
    assert len(result.results) > 10
    assert sorted(built) == sorted(r.ref for r in result.results)  # each once
    assert streamed.getvalue() == whole
