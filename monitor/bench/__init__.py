"""`furnace-monitor bench`: end-to-end latency through the daemon, batch throughput, memory, and the same
work done the naive way, measured in one run on the same synthetic frames."""

from monitor.bench.document import BenchDocument
from monitor.bench.report import format_table, write_document
from monitor.bench.runner import BenchOptions, run_bench

__all__ = ["BenchDocument", "BenchOptions", "format_table", "run_bench", "write_document"]
