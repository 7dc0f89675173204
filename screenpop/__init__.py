"""screenpop package."""
