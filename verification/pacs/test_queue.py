"""The service's job queue (:mod:`corridor.pacs.queue`): states, the idempotency key, retries,
resumption and the one-service lock, on a real SQLite file.

Oracle: the transitions the module's documentation states, driven step by step.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corridor.pacs.queue import JobState, QueueBusyError, open_queue


def test_a_study_and_signature_is_received_once(tmp_path: Path) -> None:
    with open_queue(tmp_path) as queue:
        first = queue.receive("1.2.3", "CT:1.2.3.4=10", now=5.0)
        assert first is not None
        assert first.state is JobState.RECEIVED
        assert queue.receive("1.2.3", "CT:1.2.3.4=10") is None
        changed = queue.receive("1.2.3", "CT:1.2.3.4=11")
        assert changed is not None
        assert changed.id == first.id + 1


def test_an_input_planned_is_the_key_for_later_jobs(tmp_path: Path) -> None:
    with open_queue(tmp_path) as queue:
        queue.receive("1.2.3", "a")
        queue.receive("1.2.3", "b")
        queue.receive("1.2.9", "a")
        first = queue.claim()
        assert first is not None
        assert queue.record_input(first.id, "1.2.3", "f" * 64) is None
        queue.finish(first, {"verdict": "safe", "outputs": []})
        second = queue.claim()
        assert second is not None
        assert queue.record_input(second.id, "1.2.3", "f" * 64) == first.id
        other_study = queue.claim()
        assert other_study is not None
        assert queue.record_input(other_study.id, "1.2.9", "f" * 64) is None


def test_a_duplicate_does_not_become_the_key(tmp_path: Path) -> None:
    with open_queue(tmp_path) as queue:
        for signature in ("a", "b", "c"):
            queue.receive("1.2.3", signature)
        jobs = [queue.claim() for _ in range(3)]
        assert all(job is not None for job in jobs)
        one, two, three = (job for job in jobs if job is not None)
        queue.record_input(one.id, "1.2.3", "e" * 64)
        queue.finish(one, {"outputs": []})
        assert queue.record_input(two.id, "1.2.3", "e" * 64) == one.id
        queue.finish(two, {"duplicate_of": one.id, "outputs": []})
        assert queue.record_input(three.id, "1.2.3", "e" * 64) == one.id


def test_a_retryable_failure_waits_then_fails_when_attempts_run_out(tmp_path: Path) -> None:
    with open_queue(tmp_path) as queue:
        queue.receive("1.2.3", "a")
        for attempt in (1, 2):
            job = queue.claim()
            assert job is not None
            assert job.attempts == attempt
            failed = queue.fail(job.id, "PACS: down", retryable=True, retry_after_s=3600,
                                max_attempts=2)
            if attempt == 1:
                assert failed.state is JobState.RECEIVED
                assert failed.retryable
                assert queue.claim() is None  # not due for an hour
                queue.resume(max_attempts=2)  # a restart makes it due at once
        assert failed.state is JobState.FAILED
        assert failed.reason == "PACS: down"
        assert queue.pending() == 0


def test_a_failure_that_is_not_retryable_fails_at_once(tmp_path: Path) -> None:
    with open_queue(tmp_path) as queue:
        queue.receive("1.2.3", "a")
        job = queue.claim()
        assert job is not None
        failed = queue.fail(job.id, "no CT series in the study", retryable=False,
                            retry_after_s=0, max_attempts=5)
        assert failed.state is JobState.FAILED
        assert not failed.retryable


def test_a_job_left_running_is_resumed_until_its_attempts_run_out(tmp_path: Path) -> None:
    with open_queue(tmp_path) as queue:
        queue.receive("1.2.3", "a")
        assert queue.claim() is not None
    for _ in range(2):  # the service died twice during the job
        with open_queue(tmp_path) as queue:
            assert len(queue.resume(max_attempts=3)) == 1
            assert queue.jobs()[0].state is JobState.RECEIVED
            assert queue.claim() is not None
    with open_queue(tmp_path) as queue:
        queue.resume(max_attempts=3)
        (job,) = queue.jobs()
        assert job.state is JobState.FAILED
        assert job.attempts == 3
        assert "stopped during each" in (job.reason or "")


def test_a_released_job_keeps_its_attempts(tmp_path: Path) -> None:
    with open_queue(tmp_path) as queue:
        queue.receive("1.2.3", "a")
        job = queue.claim()
        assert job is not None
        queue.release(job.id)
        (again,) = queue.jobs()
        assert again.state is JobState.RECEIVED
        assert again.attempts == 0


def test_one_service_per_state_folder(tmp_path: Path) -> None:
    with (open_queue(tmp_path),
          pytest.raises(QueueBusyError, match="another corridor serve"),
          open_queue(tmp_path)):
        pass
