"""The lineup of ``eval -n N`` samples (assistant/mtpb/lineup.py): rounds form from how far
each sample got, never from timing; a sample that leaves is not waited for; errors and the
end of the run reach every waiting sample."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from assistant.models.base import Cancelled, Completion, GenStats, ModelError, Request
from assistant.mtpb.lineup import Lineup


class Echo:
    """A backend whose answer to each ask is its prompt and seed; records its rounds."""

    name = "echo"
    parallel = 8

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.calls: list[list[str]] = []

    def generate_many(self, asks: list[Any]) -> list[Completion]:
        self.calls.append([a.request.prompt for a in asks])
        if self.fail:
            raise ModelError("the backend broke")
        return [Completion(f"{a.request.prompt}:{a.seed}", [], "stop", GenStats()) for a in asks]

    def describe(self) -> dict[str, Any]:
        return {"backend": "echo"}


def _in_thread(fn: Any) -> tuple[threading.Thread, list[Any]]:
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(fn())
        except BaseException as exc:
            box.append(exc)

    t = threading.Thread(target=run)
    t.start()
    return t, box


def test_a_round_waits_for_every_running_sample() -> None:
    backend = Echo()
    lineup = Lineup(backend, 3)
    members = [lineup.member() for _ in range(3)]
    started = [
        _in_thread(lambda m=m, i=i: m.generate(Request(prompt=f"p{i}", seed=10 * i)))
        for i, m in enumerate(members)
    ]
    for t, _ in started:
        t.join()
    lineup.close()
    assert [box[0].text for _, box in started] == ["p0:0", "p1:10", "p2:20"]
    assert lineup.rounds == [3] and sorted(backend.calls[0]) == ["p0", "p1", "p2"]


def test_a_sample_that_left_is_not_waited_for_and_candidates_share_a_round() -> None:
    backend = Echo()
    lineup = Lineup(backend, 3)
    a, b = lineup.member(), lineup.member()
    ta, box_a = _in_thread(lambda: a.sample(Request(prompt="a", seed=1), 2))
    tb, box_b = _in_thread(lambda: b.generate(Request(prompt="b", seed=5)))
    lineup.leave()  # the third sample finished (or failed) before asking
    ta.join()
    tb.join()
    lineup.close()
    assert [c.text for c in box_a[0]] == ["a:1", "a:2"]  # seeds base + i, as alone
    assert box_b[0].text == "b:5"
    assert lineup.rounds == [3]  # two candidates of a, one of b: one round


def test_backend_errors_reach_every_waiting_sample() -> None:
    lineup = Lineup(Echo(fail=True), 2)
    members = [lineup.member() for _ in "ab"]
    started = [_in_thread(lambda m=m: m.generate(Request(prompt="x"))) for m in members]
    for t, _ in started:
        t.join()
    lineup.close()
    assert all(isinstance(box[0], ModelError) for _, box in started)


def test_the_end_of_the_run_cancels_a_waiting_sample() -> None:
    lineup = Lineup(Echo(), 2)  # the second sample never asks
    t, box = _in_thread(lambda: lineup.member().generate(Request(prompt="x")))
    lineup.close()
    t.join()
    assert isinstance(box[0], Cancelled)
    with pytest.raises(Cancelled):
        lineup.ask([])
