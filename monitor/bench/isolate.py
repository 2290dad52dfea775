"""Run one bench phase in a fresh process: its peak memory is its own, and the thread settings and warm
caches of one phase (torch, onnxruntime, PaddleOCR) cannot help or hurt the next."""

import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from monitor.bench.machine import peak_rss_mb
from monitor.logs import setup_logging


def _child(level: int, fn: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> dict[str, Any]:
    setup_logging(logging.getLevelName(level))
    result = fn(*args)
    return {**result, "process_peak_rss_mb": peak_rss_mb()}


def run_isolated(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """fn(*args) in a spawned process (a fork would inherit this process's memory and threads); its
    result gains `process_peak_rss_mb`, the child's VmHWM."""
    level = logging.getLogger().getEffectiveLevel()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_child, level, fn, args).result()
