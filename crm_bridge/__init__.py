"""crm_bridge: the customer store, customer 360, value scoring, lookups and call write-back.

Other packages use `crm_bridge.interface` (the CustomerDirectory protocol and its value types);
the composition root uses `crm_bridge.app` (open_directory, setup, MIGRATIONS_DIR, VERSION_TABLE).
"""
