"""API tokens: hashed at rest, named, scoped, expiring; DRF's authentication for them."""
