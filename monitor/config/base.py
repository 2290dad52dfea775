"""The base every config section inherits: unknown keys are errors, values are checked on assignment."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A config section: typed, bounded, described, and closed to unknown keys."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
