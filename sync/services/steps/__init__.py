"""The steps of a sync run, one module per kind; ``sync.services.engine`` claims a run and drives them."""
