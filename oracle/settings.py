"""How hard and how long to check: one record shared by the CLI, the API and the plugin."""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

#: Examples per property for each named profile when judging a target.  The
#: pytest profiles of our own suite live in conftest.py; these are the CLI's.
PROFILE_EXAMPLES = {"dev": 12, "default": 12, "ci": 40, "thorough": 300}


@dataclass
class Settings:
    profile: str = "default"
    max_examples: int | None = None  # overrides the profile's count
    seed: int = 0  # Hypothesis seed: the same seed replays the same inputs
    timeout: float = 60.0  # seconds per component before the worker is stopped
    memory_mb: int = 2048  # address-space limit of the worker process
    import_mode: bool = False  # True: import the target normally; False: defs-only
    mapping: dict[str, str] = field(default_factory=dict)  # book name -> target name
    components: list[str] | None = None  # restrict to these book names
    # "Component" or "Component::check" -> reason
    expected_failures: dict[str, str] = field(default_factory=dict)
    target: str = ""  # what the user named, for replay lines
    # custom components: class name -> how to build and drive it (oracle.custom.LayerConfig)
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom: bool = True  # also check the target's classes that are not the book's
    named: bool = False  # the components were named by the user: one the target lacks is an error
    reading: str = "auto"  # how a folder is read: auto | each | one (see oracle.targets)

    @property
    def examples(self) -> int:
        if self.max_examples is not None:
            return max(1, int(self.max_examples))
        return PROFILE_EXAMPLES.get(self.profile, PROFILE_EXAMPLES["default"])

    def replay(self, component: str, target: str | None = None) -> str:
        """The command line that runs this component's checks again exactly: every option
        that changes what is drawn or how the target is loaded and mapped."""
        parts = ["nnfs-oracle", "check", shlex.quote(target or self.target or "TARGET"),
                 "--component", component, "--seed", str(self.seed)]
        if self.profile not in ("default", "dev"):
            parts += ["--profile", self.profile]
        if self.max_examples is not None:
            parts += ["--max-examples", str(self.max_examples)]
        for book, theirs in self.mapping.items():
            parts += ["--map", shlex.quote(f"{book}={theirs}")]
        if self.import_mode:
            parts.append("--import")
        if self.reading == "one":
            parts.append("--one")
        if component in self.layers:
            items = ", ".join(f"{k}={v!r}" for k, v in self.layers[component].items())
            parts += ["--layer", shlex.quote(f"{component}: {items}")]
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Settings:
        return cls(**d)
