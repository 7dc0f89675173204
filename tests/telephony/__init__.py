"""Telephony tests."""
