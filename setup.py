"""Build configuration for the optional C accelerator; everything else is in pyproject.toml.

``chaintrail.chains.btc._fastblock`` speeds up raw block parsing (see the comment at the top of
its source). It is optional: where no C compiler is available the build prints a warning and
installs the pure-Python package, which parses the same blocks to the same columns.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "chaintrail.chains.btc._fastblock",
            sources=["src/chaintrail/chains/btc/_fastblock.c"],
            optional=True,
        )
    ]
)
