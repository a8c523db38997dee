"""Fixtures' building blocks shared by test modules (never imported from one test module by another)."""
