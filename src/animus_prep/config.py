"""Which policy applies to a folder, and where each of its values came from.

Without an explicit file (`--config`), the policy is looked for next to the photos, the
way linters find their settings:

1. ``animus-prep.toml`` in the folder being checked (the character folder);
2. else the ``[tool.animus-prep]`` table of the nearest ``pyproject.toml``, looking in
   that folder, then in each folder above it (a ``pyproject.toml`` without the table is
   passed over, so a project's own settings file does not hide one further up);
3. else the defaults.

Both files take the same settings as a `--config` file: top-level keys, or a ``policy``
table (``[policy]``, or ``[tool.animus-prep.policy]``), not both.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

# The file names live in `policy`, where discovery (which may not import this) reads them.
from .policy import FOLDER_FILE, PYPROJECT, Policy, PolicyError, read_settings, settings_in

TOOL_TABLE = "animus-prep"
"""The ``[tool.*]`` table of a pyproject.toml that holds the policy."""
DEFAULT = "default"
"""The origin of a value nothing set."""


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """The policy that applies, the file it came from, and the origin of every value."""

    policy: Policy
    file: Path | None
    """The policy file used (absolute), or None when only defaults and flags apply."""
    origins: Mapping[str, str]
    """Each setting -> where its value came from: a file (``path`` or ``path
    [tool.animus-prep]``), a command-line flag, or ``default``."""

    @property
    def is_default(self) -> bool:
        """Whether every value is a default (no file, no flag changed anything)."""
        return all(o == DEFAULT for o in self.origins.values())

    @property
    def source(self) -> str:
        """Where the policy came from, in a few words (for reports)."""
        named = {o for o in self.origins.values() if o != DEFAULT}
        return ", ".join(sorted(named)) if named else "the defaults"

    def to_json(self) -> dict[str, Any]:
        """The `animus-prep config --json` document: each setting, its value and where
        it came from."""
        return {
            "schema": "animus-prep.config/1",
            "file": None if self.file is None else str(self.file),
            "policy": self.policy.to_json(),
            "origins": dict(self.origins),
        }


def find_policy_file(folder: str | Path) -> tuple[Path, str] | None:
    """The policy file that applies to ``folder`` without ``--config`` (see the module
    docstring), with the label its values are credited to; None when there is none.

    Raises PolicyError when a folder on the way cannot be looked into (a policy file
    there could not be seen, so the policy would be a guess).
    """
    start = Path(folder).resolve()
    if _is_file(start):
        start = start.parent
    own = start / FOLDER_FILE
    if _is_file(own):
        return own, str(own)
    for place in (start, *start.parents):
        candidate = place / PYPROJECT
        if _is_file(candidate) and _tool_table(candidate) is not None:
            return candidate, f"{candidate} [tool.{TOOL_TABLE}]"
    return None


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError as exc:
        raise PolicyError(
            f"cannot look for a policy file in {path.parent}: {exc.strerror or exc}"
        ) from None


def effective_policy(
    folder: str | Path | None = None,
    *,
    config: str | Path | None = None,
    flags: Mapping[str, tuple[str, Any]] | None = None,
) -> EffectivePolicy:
    """The policy for ``folder``: from ``config`` when given, else the file found for the
    folder, else the defaults; then ``flags`` (setting -> (flag, value)) on top.

    Raises PolicyError for a file that cannot be read or holds bad settings.
    """
    origins = {f.name: DEFAULT for f in fields(Policy)}
    settings: dict[str, Any] = {}
    file: Path | None = None
    if config is not None:
        file = Path(config).resolve()
        settings = read_settings(config)
        label = str(file)
    elif folder is not None and (found := find_policy_file(folder)) is not None:
        file, label = found
        settings = read_settings(file) if file.name == FOLDER_FILE else _pyproject(file, label)
    policy = Policy().with_overrides(settings)
    for name in settings:
        origins[name] = label
    for name, (flag, value) in (flags or {}).items():
        policy = policy.with_overrides({name: value})
        origins[name] = flag
    return EffectivePolicy(policy, file, origins)


def _pyproject(path: Path, label: str) -> dict[str, Any]:
    table = _tool_table(path)
    return settings_in(table if table is not None else {}, label)


def _tool_table(path: Path) -> Any:
    """The ``[tool.animus-prep]`` table of a pyproject.toml, or None when it has none."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read {path} (looking for [tool.{TOOL_TABLE}]): {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise PolicyError(
            f"cannot parse {path} (looking for [tool.{TOOL_TABLE}]): {exc}; fix it, or "
            "name a policy file with --config"
        ) from exc
    tool = data.get("tool")
    return tool.get(TOOL_TABLE) if isinstance(tool, dict) else None


__all__ = [
    "DEFAULT",
    "FOLDER_FILE",
    "EffectivePolicy",
    "effective_policy",
    "find_policy_file",
]
