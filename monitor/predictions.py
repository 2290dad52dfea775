"""What the learned models say about a frame, as records the sinks can write without knowing the models.

Each model head declares its outputs once, in its own module (`SPEC = HeadSpec(...)`, see
monitor/nets/heads/). The spec travels with every output, so the frame JSON, the InfluxDB fields and the
store are written from it by name: a new head needs no change here or in the sinks.
"""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutputField:
    """One number a head puts out per frame."""

    name: str
    digits: int | None = None  # rounding in the frame JSON and the store; None = as computed


@dataclass(frozen=True, slots=True)
class HeadSpec:
    """A head's name (its module's, its switch `models.heads.<name>`, its key in the frame JSON) and outputs.

    `flat` keeps the first model's layout: its fields sit at the top of the frame JSON and in InfluxDB under
    their own names. Any other head is nested: `{"<name>": {field: value, ...}}` in the JSON (null when it
    has nothing for the frame) and `<name>_<field>` in InfluxDB. `image`: the head may save a picture per
    frame, and its path goes in the JSON as `image`."""

    name: str
    fields: tuple[OutputField, ...]
    flat: bool = False
    image: bool = False

    def output(self, *values: float | None, image: str | None = None) -> "HeadOutput":
        """A frame's output, the values in the order of `fields`."""
        if len(values) != len(self.fields):
            raise ValueError(f"{self.name}: {len(values)} values for {len(self.fields)} fields")
        return HeadOutput(self, tuple(None if v is None else float(v) for v in values), image)

    def missing(self) -> "HeadOutput":
        """The output of a frame the head failed on: every field None."""
        return HeadOutput(self, (None,) * len(self.fields))


@dataclass(frozen=True, slots=True)
class HeadOutput:
    """One head's numbers for one frame (None: not computed for this frame)."""

    spec: HeadSpec
    values: tuple[float | None, ...]
    image: str | None = None

    @property
    def empty(self) -> bool:
        return self.image is None and all(v is None for v in self.values)

    def value(self, field: str) -> float | None:
        for f, v in zip(self.spec.fields, self.values, strict=True):
            if f.name == field:
                return v
        raise KeyError(f"{self.spec.name} has no field {field!r}")

    def rounded(self) -> dict[str, float | str | None]:
        """Field name -> value, rounded as declared, plus `image` for a head that saves one."""
        doc: dict[str, float | str | None] = {
            f.name: v if v is None or f.digits is None else round(v, f.digits)
            for f, v in zip(self.spec.fields, self.values, strict=True)
        }
        if self.spec.image:
            doc["image"] = self.image
        return doc


@dataclass(frozen=True, slots=True)
class Forecast:
    """The forecast frame `horizon_s` ahead, summed up over the sample region."""

    horizon_s: float
    mean: float  # mean of all channels over the sample region of the forecast frame, 0..255
    change: float  # mean absolute difference from the current frame there, 0..255
    image: str | None = None  # where the forecast frame was saved, when it is


@dataclass(frozen=True, slots=True)
class Prediction:
    """What the loaded model heads say about one frame, one output per head in the order they ran."""

    outputs: tuple[HeadOutput, ...]

    def output(self, head: str) -> HeadOutput | None:
        return next((o for o in self.outputs if o.spec.name == head), None)

    def value(self, head: str, field: str) -> float | None:
        """A head's field for this frame; None when the head is not loaded or failed on the frame."""
        out = self.output(head)
        return None if out is None else out.value(field)

    # The first two heads' outputs by their old names, for the code written before heads (evaluation,
    # the live page, the analysis table).
    @property
    def t1_image_c(self) -> float | None:
        return self.value("temperature_progress", "t1_image_c")

    @property
    def progress_image_pct(self) -> float | None:
        return self.value("temperature_progress", "progress_image_pct")

    @property
    def forecast(self) -> Forecast | None:
        out = self.output("forecast")
        if out is None or out.empty:
            return None
        horizon, mean, change = (out.value(f) for f in ("horizon_s", "mean", "change"))
        if horizon is None or mean is None or change is None:
            return None
        return Forecast(horizon_s=horizon, mean=mean, change=change, image=out.image)
