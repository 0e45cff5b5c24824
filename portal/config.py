"""Settings from the environment, with the embedded defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=Path(os.environ.get("PORTAL_DATA_DIR", "var")).resolve(),
            database_url=os.environ.get("PORTAL_DATABASE_URL") or None,
        )
