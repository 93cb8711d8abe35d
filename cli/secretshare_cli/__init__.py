"""secretshare's command line and demo: the `secretshare` command (`pip install 'secretshare[cli]'`).

A package apart from the library, so the Lambda layer never ships it, nor click and rich.
"""
