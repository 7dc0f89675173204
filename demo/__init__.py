"""The demo: softphone agents and a traffic generator around `switchboard serve`."""
