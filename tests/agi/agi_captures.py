"""Where the real Asterisk captures live: shared/ beside the checkout (so also in CI's fresh clone)."""

from pathlib import Path

CAPTURES = Path(__file__).resolve().parents[3] / "shared" / "asterisk"
AGI = CAPTURES / "agi"
