"""Data files of the stack configuration (the clouds' GPU catalogs), read with importlib.resources."""
