"""Property-based run of the published OpenAPI schema against a served sandbox.

Every operation gets positive and negative cases (bounded), once with generated path
parameters and once aimed at a real character, and every response must be a non-5xx
that matches the schema: documented status, content type and body shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from animus_prep.sandbox import serve_in_thread

from .support import KEY, api_client, make_character

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 6


def test_api_conforms_to_its_schema(tmp_path: Path) -> None:
    failures: list[str] = []
    calls = 0
    with serve_in_thread(data_dir=tmp_path, api_keys={KEY: 10_000}, time_scale=1000) as url:
        root = url.removesuffix("/v2")
        with api_client(url) as c:
            cid = make_character(c, faces=1, bodies=1)
        schema = schemathesis.openapi.from_url(f"{root}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        # Deleting the real character last keeps the other operations aimed at it.
        operations.sort(key=lambda op: op.method.upper() == "DELETE")
        assert len(operations) >= 25
        for op in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fixed = {"character_id": cid} if "{character_id}" in op.path else None
                for path_parameters in (None, fixed) if fixed else (None,):
                    strategy = op.as_strategy(mode, path_parameters=path_parameters)

                    @settings(
                        max_examples=EXAMPLES,
                        deadline=None,
                        database=None,
                        derandomize=True,
                        phases=[Phase.explicit, Phase.generate],
                        suppress_health_check=list(HealthCheck),
                    )
                    @given(case=strategy)
                    def run(case: Any) -> None:
                        nonlocal calls
                        calls += 1
                        case.call_and_validate(
                            base_url=root,
                            headers={"Authorization": f"Bearer {KEY}"},
                            checks=CHECKS,
                        )

                    try:
                        run()
                    except (Exception, BaseExceptionGroup) as exc:  # report them all
                        failures.append(f"{op.method.upper()} {op.path} [{mode.value}]: {exc}")
    assert calls > 200
    if failures:
        pytest.fail("\n\n".join(failures))
