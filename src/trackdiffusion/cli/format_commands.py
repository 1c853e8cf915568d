"""``convert`` and ``validate``: data set formats from the command line."""
