"""Service functions: the only code that changes a case. Each takes an open session in a transaction."""
