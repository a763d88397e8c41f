"""Model families: each an ``expect`` (chunk -> additive statistics), a ``maximize`` and an objective."""
