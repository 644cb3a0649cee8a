"""Reviews of submitted reports."""
