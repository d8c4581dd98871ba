"""The currencyservice stand-in, its generated gRPC code and the loop both sides run on (no Envoy)."""

import asyncio

import pytest

from l7suite.grpc_loop import on_loop
from l7suite.protos import hipstershop_pb2
from l7suite.standins.currency_service import CURRENCIES, METHOD, CurrencyBackend
from l7suite.standins.registry import image_repository, standins
from l7suite.traffic.currency_calls import call_once, run_calls


def test_proto_keeps_the_upstream_names():
    service = hipstershop_pb2.DESCRIPTOR.services_by_name["CurrencyService"]
    assert service.full_name == "hipstershop.CurrencyService"
    method = service.methods_by_name["GetSupportedCurrencies"]
    assert f"/{service.full_name}/{method.name}" == METHOD
    assert method.input_type.full_name == "hipstershop.Empty"
    assert method.output_type.fields_by_name["currency_codes"].is_repeated


def test_lab_image_is_played_by_the_currency_standin():
    image = "gcr.io/google-samples/microservices-demo/currencyservice:v0.10.0"
    assert standins()[image_repository(image)] is CurrencyBackend


def test_standin_answers_the_labs_currency_list_and_names_itself():
    backend = CurrencyBackend("currencyservice-abc").start()
    try:
        answer = call_once(backend.address)
        assert (answer.code, answer.pod, answer.currencies) == ("OK", "currencyservice-abc", CURRENCIES)
        assert len(CURRENCIES) == 33 and CURRENCIES[:3] == ("EUR", "USD", "JPY") and CURRENCIES[-1] == "ZAR"
        result = run_calls(backend.address, 10, concurrency=2)
        assert dict(result.codes) == {"OK": 10} and dict(result.pods) == {"currencyservice-abc": 10}
        assert backend.requests == 11
    finally:
        backend.stop()


def test_a_step_on_the_grpc_loop_that_outlives_its_timeout_is_cancelled():
    tasks: list[asyncio.Task] = []

    async def step() -> None:
        tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        await asyncio.sleep(30)

    with pytest.raises(TimeoutError):
        on_loop(step(), timeout=0.05)
    assert on_loop(_cancelled(tasks[0])), "the step still runs on the loop after its timeout"


async def _cancelled(task: asyncio.Task) -> bool:
    for _ in range(100):  # the cancellation lands at the step's next turn on the loop
        if task.done():
            return task.cancelled()
        await asyncio.sleep(0.01)
    return False
