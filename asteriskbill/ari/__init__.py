"""ARI side of billing: parse events (events), correlate calls (tracker), talk to Asterisk (client, listener)."""
