"""Operator and developer tools behind ``carbon-ticket``: devnet, benchmarks, load generation.

None of this runs inside a validator: ``node/`` keeps only what a running node needs, and these
modules drive nodes from outside (they may import ``node/``; ``node/`` never imports ``cli/``).
"""
