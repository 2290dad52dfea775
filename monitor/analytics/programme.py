"""1# through a run, as the stage detector needs it: when the programme starts holding at its peak (no stage
event happens in the hold) and when it starts cooling (crystals form only on cooling)."""

import math


class Programme:
    """Feed 1# frame by frame with `follow` (None where it was not read)."""

    def __init__(self) -> None:
        self._t1: list[float | None] = []
        self._times: list[float] = []
        self._max = -math.inf
        self._max_since = 0
        self.hold_from: int | None = None  # the frame 1# reached the value it then held
        self.cooling_from: int | None = None  # the last frame at the hold's temperature

    @property
    def cooling_start_s(self) -> float | None:
        """The last second at the hold's temperature."""
        return None if self.cooling_from is None else self._times[self.cooling_from]

    def follow(self, time_s: float, t1: float | None) -> None:
        self._t1.append(t1)
        self._times.append(time_s)
        if t1 is None:
            return
        n = len(self._t1)
        if t1 > self._max + 3.0:
            self._max_since = n - 1
            self.hold_from = None
        elif self.hold_from is None and n - 1 - self._max_since >= 5 and t1 >= self._max - 3.0:
            # Within 3 degC of its maximum for 5 frames: the programme holds.
            self.hold_from = self._max_since
        # The true maximum: the 3 degC above only keeps the last degrees of the ramp from restarting the hold.
        self._max = max(self._max, t1)
        cooled = all(v is not None and v < self._max - 3.0 for v in self._t1[-3:])
        if self.cooling_from is None and self.hold_from is not None and cooled:
            hot = (i for i, v in enumerate(self._t1) if v is not None and v >= self._max - 1.0)
            self.cooling_from = max(hot)
