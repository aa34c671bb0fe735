"""Peak memory of this process and its children, sampled in the background."""

from __future__ import annotations

import threading
from types import TracebackType

import psutil


class PeakMemory:
    """Context manager that records the peak RSS of the process (and of it plus its children)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak_main = 0
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._process = psutil.Process()

    def _sample(self) -> None:
        main = self._process.memory_info().rss
        total = main
        for child in self._process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        self.peak_main = max(self.peak_main, main)
        self.peak_total = max(self.peak_total, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> PeakMemory:
        self._sample()
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
