"""POST /v1/ask fuzzed against its own OpenAPI document (schemathesis), on the real PostgreSQL: any body, valid or
not, gets a documented status and shape and never a 5xx; questions built from question words and values reach the
parser's every path (answers and refusals alike)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi

from outlay.settings import Settings
from services.gateway.app import create_app
from tests.fixtures.ask.phrasings import load
from tests.integration.gateway_fixtures import seed_scenario
from tests.integration.test_gateway_fuzz import CHECKS, FUZZ_SETTINGS

WORDS = sorted({w for case in load().cases for w in case.question.split()} | {"AmazonEC2", "us-east-1", "0", "999"})


@pytest.fixture
async def seeded(store_url: str) -> str:
    return await seed_scenario(store_url)


@pytest.fixture
def api_schema(seeded: str) -> Iterator[schemathesis.BaseSchema]:
    app: FastAPI = create_app(Settings(DATABASE_URL=seeded))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()  # the store engine is disposed while its database still exists


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_ask_conforms_to_its_openapi(api_schema: schemathesis.BaseSchema, mode: GenerationMode) -> None:
    operation = api_schema["/v1/ask"]["POST"]

    @given(case=operation.as_strategy(generation_mode=mode))
    @FUZZ_SETTINGS
    def fuzz(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    fuzz()


def test_questions_of_question_words(api_schema: schemathesis.BaseSchema) -> None:
    operation = api_schema["/v1/ask"]["POST"]
    questions = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)
    outcomes: list[bool] = []

    @given(case=questions.flatmap(lambda q: operation.as_strategy(body={"question": q})))
    @FUZZ_SETTINGS
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call_and_validate(checks=CHECKS)
        assert response.status_code == 200
        body = response.json()
        outcomes.append(body["answered"])
        if not body["answered"]:
            assert body["totals"] == [] and body["rows"] == [] and body["query"] is None
            assert body["unit_lines"] == [] and body["allocation"] == [] and body["correlation"] is None

    fuzz()
    assert True in outcomes and False in outcomes  # both answers and refusals were reached
