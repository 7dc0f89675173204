"""Call tests: the B2BUA against sipp callers and agents."""
