"""Use cases: they wire the pure core (money, rating, billing) to the store. The CLI, AGI and ARI call these."""
