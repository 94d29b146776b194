"""The embedded demo: a synthetic generator in the DFDC layout (generator.py) and the function that
builds and prepares it once (build.py). `python -m datasets.demo --help` makes other sets."""
