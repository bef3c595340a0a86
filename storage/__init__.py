"""Storage: models, the ticket state machine with guarded updates, and service functions."""
