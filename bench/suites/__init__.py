"""External SQL -> Ibis benchmark suites, rebuilt from local checkouts of public datasets."""
