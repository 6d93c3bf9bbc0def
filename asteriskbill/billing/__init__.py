"""Pure billing decisions: accounts, cards, numbers, authorization. No I/O, no store, no click."""
