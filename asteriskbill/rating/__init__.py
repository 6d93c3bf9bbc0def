"""Pure rating: tariffs, rates, interval groups; cost and maximum duration. No I/O in this package."""
