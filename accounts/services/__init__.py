"""Writes to accounts: keys, credits, prices and the audit trail. Callers use these only."""
