"""Where the real Asterisk captures live: tests/fixtures/asterisk/, inside the repository."""

from tests.helpers import ASTERISK

CAPTURES = ASTERISK
AGI = CAPTURES / "agi"
