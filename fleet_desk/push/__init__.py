"""Telling customers: customer-facing order events go to an outbox in the transaction that caused them, and a
sender drains the outbox to the company's tracking endpoint (signed, retried, in order per order).

Plain Python, no Qt.
"""
