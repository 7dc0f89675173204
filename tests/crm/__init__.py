"""Tests of crm_bridge and the shared database helpers."""
