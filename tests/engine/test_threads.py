"""The engine's worker threads: parts run in parallel, results come back in order, nested calls
and forked children do not hang, and the quantizer gives the same result on one thread or two."""

import os
import threading

import numpy as np
import pytest
from PIL import Image

from compression.engine import threads
from compression.engine.kmeans import quantize


def test_split_makes_contiguous_parts_of_at_least_min_part(monkeypatch):
    monkeypatch.setattr(threads, "THREADS", 2)
    items = np.arange(10)
    parts = threads.split(items, 4)
    assert [p.tolist() for p in parts] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    assert [p.tolist() for p in threads.split(items, 6)] == [items.tolist()]  # too few for two parts
    monkeypatch.setattr(threads, "THREADS", 1)
    assert len(threads.split(np.arange(10_000), 1)) == 1


def test_run_parts_keeps_order_and_uses_a_second_thread(monkeypatch):
    monkeypatch.setattr(threads, "THREADS", 2)
    names = {}

    def work(part):
        names[part] = threading.current_thread().name
        return part * 10

    assert threads.run_parts(work, [1, 2]) == [10, 20]
    assert names[1] == threading.current_thread().name  # the caller runs the first part itself
    assert names[2].startswith("engine")


def test_nested_run_parts_runs_serially_instead_of_waiting_forever(monkeypatch):
    monkeypatch.setattr(threads, "THREADS", 2)
    result = []

    def outer(part):
        return threads.run_parts(lambda inner: inner + part, [100, 200])

    worker = threading.Thread(target=lambda: result.append(threads.run_parts(outer, [1, 2])))
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "nested run_parts deadlocked"
    assert result == [[[101, 201], [102, 202]]]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_gets_its_own_pool(monkeypatch):
    monkeypatch.setattr(threads, "THREADS", 2)
    assert threads.run_parts(lambda part: part + 1, [1, 2]) == [2, 3]  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # child: the parent's pool threads did not survive the fork
        ok = threads.run_parts(lambda part: part + 1, [1, 2]) == [2, 3]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("k", [16, 64])
def test_quantize_gives_the_same_result_on_one_thread_or_two(monkeypatch, corpus_image, k):
    with Image.open(corpus_image("photos/kodim23.png")) as im:
        # 1024 x 1024 from a photo: large enough that every split point is used.
        pixels = np.asarray(im.convert("RGB").resize((1024, 1024), Image.LANCZOS))
    monkeypatch.setattr(threads, "THREADS", 1)
    one = quantize(pixels, k)
    monkeypatch.setattr(threads, "THREADS", 2)
    two = quantize(pixels, k)
    assert np.array_equal(one.palette, two.palette)
    assert np.array_equal(one.indices, two.indices)
    assert one.inertia == two.inertia and one.history == two.history


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("3", 3), (" 2 ", 2)])
def test_engine_threads_comes_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("ENGINE_THREADS", value)
    assert threads._thread_count() == expected


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_engine_threads_value_is_refused_with_its_value(monkeypatch, value):
    monkeypatch.setenv("ENGINE_THREADS", value)
    with pytest.raises(ValueError, match=f"ENGINE_THREADS={value!r}"):
        threads._thread_count()


def test_engine_threads_defaults_to_two_at_most(monkeypatch):
    monkeypatch.delenv("ENGINE_THREADS", raising=False)
    assert threads._thread_count() == min(2, os.process_cpu_count() or 1)
