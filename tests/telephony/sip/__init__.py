"""SIP core tests."""
